/* airplay.h - AirPlay control over HTTP: pairing, the verified control
 * connection, and video URL playback.
 *
 * One struct atv_airplay is one TCP connection to the _airplay._tcp port.
 * HTTP on it is our own (lib/httpmsg.h), written to and read from a direct
 * channel (lib/airplay_channel.h) so that the bytes after pair-verify can be
 * sealed; every wait is bounded by the timeout:
 *
 *   AirPlay 2 (features bit 38 or 48) with HAP credentials: POST
 *     /pair-verify (TLV8, X-Apple-HKP: 3), then every byte in HAP blocks
 *     with the Control keys (HKDF-SHA512 on the verify secret, salt
 *     "Control-Salt", "Control-Write-/Read-Encryption-Key").
 *   AirPlay 2 without credentials on a device that does not insist on
 *     pairing: transient pair-setup (Flags 0x10, PIN 3939, X-Apple-HKP: 4)
 *     up to M4, then the same blocks with keys from the SRP session key.
 *   AirPlay 1: pair-verify when there are credentials, then plain HTTP.
 *
 * Pairing (atv-pair -p airplay): POST /pair-pin-start makes the device show
 * a PIN, then HAP pair-setup M1..M6 over POST /pair-setup; the credentials
 * are pyatv's HAP string "ltpk:ltsk:atv_id:client_id".
 *
 * Video: POST /play (binary plist: Content-Location and the start; sent
 * to AirPlay 1 as pyatv does, with User-Agent MediaControl/1.0, Start-
 * Position and X-Apple-Session-ID; to AirPlay 2 with Start-Position-Seconds,
 * uuid ...), then GET /playback-info until the video plays (and,
 * when asked, until it ends), /scrub, /rate, /stop.  The device's refusals
 * are errors naming the status: 470 (pairing required) -ATV_E_AUTH, 403
 * and 500 (with its reason) -ATV_E_REFUSED. */
#ifndef ATV_AIRPLAY_H
#define ATV_AIRPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

#include "airplay_info.h"
#include "err.h"

#define ATV_AIRPLAY_BODY_MAX	  (64 * 1024) /* a /playback-info or /info answer */
#define ATV_AIRPLAY_URL_MAX	  8192	      /* a URL to play */
#define ATV_AIRPLAY_POLL_MS	  500	      /* between /playback-info requests */

struct atv_airplay;

struct atv_airplay_opts {
	int timeout_ms;	    /* connect and each request (default 5000) */
	const char *device; /* the device's name for messages */
	const char *name;   /* pairing: our name the device shows (X-Apple-Client-Name) */
};

/* Connect to host:port (the _airplay._tcp service, facts parsed from its
 * TXT) and make the connection usable as described above; credentials is
 * the HAP string or NULL.  Errors: -ATV_E_UNREACHABLE; -ATV_E_AUTH when
 * the device requires pairing and there are no credentials, or it rejects
 * them; -ATV_E_REFUSED when AirPlay is disabled (acl) or password
 * protected; -ATV_E_PROTO for hostile answers. */
int atv_airplay_open(const char *host, int port, const struct atv_airplay_info *info,
		     const char *credentials, const struct atv_airplay_opts *o,
		     struct atv_airplay **out, struct atv_err *err);

/* Close and free (NULL is fine). */
void atv_airplay_close(struct atv_airplay *a);

/* "hap" (verified, encrypted), "hap-plain" (verified, AirPlay 1),
 * "transient" or "none": how the connection was made usable. */
const char *atv_airplay_auth(const struct atv_airplay *a);

/* ---- what the MRP tunnel (airplay_tunnel.h) builds on ---- */

struct atv_channel;
struct atv_hap_cipher;

/* The connection's channel (airplay_channel.h, direct), for RTSP. */
struct atv_channel *atv_airplay_channel(struct atv_airplay *a);

/* The device's name for messages. */
const char *atv_airplay_device(const struct atv_airplay *a);

/* Keys for another channel of the same AirPlay 2 session: c's out key is
 * HKDF-SHA512(secret, salt, out_info), its in key the same with in_info,
 * counters from 0; the secret is the pair-verify shared secret, or the
 * SRP session key K after transient pairing.  -ATV_E_USAGE for a
 * connection that is not an encrypted AirPlay 2 one. */
int atv_airplay_cipher(const struct atv_airplay *a, const char *salt, const char *out_info,
		       const char *in_info, struct atv_hap_cipher *c, struct atv_err *err);

/* ---- pairing ---- */

struct atv_airplay_pairing;

/* Connect and ask the device to show a PIN (POST /pair-pin-start). */
int atv_airplay_pair_begin(const char *host, int port, const struct atv_airplay_info *info,
			   const struct atv_airplay_opts *o, struct atv_airplay_pairing **out,
			   struct atv_err *err);

/* Pair-setup with pin; *credentials is a new HAP string (wipe, free).
 * A wrong PIN is -ATV_E_AUTH "wrong pin". */
int atv_airplay_pair_finish(struct atv_airplay_pairing *p, const char *pin, char **credentials,
			    struct atv_err *err);

void atv_airplay_pair_free(struct atv_airplay_pairing *p);

/* ---- playback ---- */

enum atv_airplay_state {
	ATV_AP_IDLE,	/* no video (never started, stopped or ended) */
	ATV_AP_LOADING, /* accepted, not playing yet */
	ATV_AP_PLAYING,
	ATV_AP_PAUSED, /* playing at rate 0 */
	ATV_AP_ENDED,  /* was playing, now gone (only from atv_airplay_play_url) */
	ATV_AP_FAILED  /* the device reports an error */
};

struct atv_airplay_playback {
	enum atv_airplay_state state;
	bool has_duration;
	double duration, position, rate;
	long long error_code;
	char error[256]; /* the device's localizedDescription when FAILED */
};

/* Parse body as a plist dictionary (binary or XML, at most
 * ATV_AIRPLAY_BODY_MAX bytes, bounded by atv_bplist_check first) into
 * *out (free with libplist's plist_free, plist_dl.h).  -ATV_E_PROTO for
 * anything else, -ATV_E_LIMIT, -ATV_E_UNSUPPORTED without libplist. */
int atv_airplay_plist_dict(const uint8_t *body, size_t len, plist_t *out, struct atv_err *err);

/* "idle", "loading", "playing", "paused", "ended", "failed". */
const char *atv_airplay_state_name(enum atv_airplay_state s);

/* Parse a /playback-info body (binary or XML plist dict; at most
 * ATV_AIRPLAY_BODY_MAX bytes) into pb (state IDLE, LOADING, PLAYING,
 * PAUSED or FAILED).  -ATV_E_PROTO for anything else. */
int atv_airplay_parse_playback(const uint8_t *body, size_t len, struct atv_airplay_playback *pb,
			       struct atv_err *err);

/* GET /playback-info. */
int atv_airplay_playback(struct atv_airplay *a, struct atv_airplay_playback *pb,
			 struct atv_err *err);

/* Called for each state change while atv_airplay_play_url follows the
 * video (LOADING, PLAYING, PAUSED, ENDED). */
typedef void (*atv_airplay_progress_fn)(void *ctx, const struct atv_airplay_playback *pb);

/* POST /play url from start seconds, then follow /playback-info until it
 * plays (wait_end false) or until it has ended (wait_end true), calling
 * progress (may be NULL) at every state change.  pb is the last state.
 * A video that fails is -ATV_E_REFUSED with the device's description; one
 * that does not start within the load time -ATV_E_UNREACHABLE. */
int atv_airplay_play_url(struct atv_airplay *a, const char *url, double start, bool wait_end,
			 atv_airplay_progress_fn progress, void *ctx,
			 struct atv_airplay_playback *pb, struct atv_err *err);

/* POST /scrub?position=, /rate?value=, /stop. */
int atv_airplay_scrub(struct atv_airplay *a, double seconds, struct atv_err *err);
int atv_airplay_rate(struct atv_airplay *a, double rate, struct atv_err *err);
int atv_airplay_stop(struct atv_airplay *a, struct atv_err *err);

#endif
