/* airplay_tunnel.h - MRP over AirPlay 2 (tvOS 15 and later, HomePods): the
 * session of three encrypted connections that carries MRP messages.
 *
 *   control  the AirPlay connection (airplay.h): pair-verify with the
 *            stored AirPlay credentials (Control keys), or transient
 *            pair-setup (PIN 3939) on a HomePod; then RTSP on it:
 *            SETUP {isRemoteControlOnly ...} -> eventPort, RECORD (unless
 *            the reply says skipRecord), SETUP {streams:[{type 130, seed
 *            ...}]} -> dataPort, POST /feedback every 2 s, TEARDOWN.
 *   events   we dial eventPort; salt "Events-Salt", our out key
 *            "Events-Read-Encryption-Key", in "Events-Write-..." (the
 *            device's names); the device sends RTSP requests (POST
 *            /command updateInfo), each answered at once with 200.
 *   data     we dial dataPort; salt "DataStream-Salt" + the seed as an
 *            unsigned decimal, out "DataStream-Output-Encryption-Key", in
 *            "DataStream-Input-..."; frames of airplay_frame.h carrying
 *            MRP messages; every device "sync" answered at once.
 *
 * (pyatv/protocols/airplay/ap2_session.py, channels.py; the tunnel notes
 * §1.)  The tunnel is an MRP transport (mrp.h): atv_ap_tunnel_transport
 * sends each message in a "sync" frame of its own with a seqno one above
 * the last, and its sync waits for the device's "rply" to the last frame
 * sent: the device has taken everything sent before.
 *
 * Single-threaded and non-blocking between calls: one epoll fd over the
 * three sockets (atv_ap_tunnel fd) and one timer (feedback, replies, a
 * frame stuck half way); every wait is bounded by the timeout.  What the
 * device sends wrong (a malformed frame or message, an unknown frame
 * type, an unanswered data frame, a reply without CSeq) is -ATV_E_PROTO;
 * a connection that closes, or /feedback unanswered twice in a row,
 * -ATV_E_UNREACHABLE. */
#ifndef ATV_AIRPLAY_TUNNEL_H
#define ATV_AIRPLAY_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

#include "airplay_info.h"
#include "buf.h"
#include "err.h"
#include "httpmsg.h"
#include "mrp.h"

#define ATV_AP_EVENTS_SALT	 "Events-Salt"
#define ATV_AP_EVENTS_WRITE	 "Events-Write-Encryption-Key" /* the device's out key */
#define ATV_AP_EVENTS_READ	 "Events-Read-Encryption-Key"  /* ours */
#define ATV_AP_DATA_SALT	 "DataStream-Salt"	       /* + the seed in decimal */
#define ATV_AP_DATA_OUTPUT	 "DataStream-Output-Encryption-Key" /* ours */
#define ATV_AP_DATA_INPUT	 "DataStream-Input-Encryption-Key"
#define ATV_AP_CLIENT_TYPE_UUID	 "1910A70F-DBC0-4242-AF95-115DB30604E1"
#define ATV_AP_STREAM_TYPE_MRP	 130
#define ATV_AP_FEEDBACK_MS	 2000
#define ATV_AP_USER_AGENT	 "AirPlay/550.10"

/* Room for "DataStream-Salt" and a 20-digit seed. */
#define ATV_AP_DATA_SALT_LEN 40

/* The data channel's salt for seed: "DataStream-Salt" and the seed as an
 * unsigned decimal (a seed of 2^63 and more is not negative). */
void atv_ap_tunnel_data_salt(uint64_t seed, char out[ATV_AP_DATA_SALT_LEN]);

/* Who we say we are in the session SETUP (pyatv's InfoSettings). */
struct atv_ap_tunnel_ident {
	const char *name;	  /* "atv-tools" */
	const char *model;	  /* "iPhone10,6" */
	const char *device_id;	  /* "FF:..." */
	const char *mac;	  /* "02:..." */
	const char *os_name;	  /* "iPhone OS" */
	const char *os_version;	  /* "14.7.1" */
	const char *os_build;	  /* "18G82" */
	const char *session_uuid; /* upper-case UUID */
};

/* The session SETUP's body: a binary plist dict of the strings in id,
 * isRemoteControlOnly true, sourceVersion "550.10", timingProtocol
 * "None".  *out is reset first. */
int atv_ap_tunnel_session_body(const struct atv_ap_tunnel_ident *id, struct atv_buf *out,
			       struct atv_err *err);

/* The stream SETUP's body: {streams:[{controlType 2, channelID, seed,
 * clientUUID, type 130, wantsDedicatedSocket true, clientTypeUUID}]}. */
int atv_ap_tunnel_stream_body(uint64_t seed, const char *channel_id, const char *client_uuid,
			      struct atv_buf *out, struct atv_err *err);

/* From the session SETUP's reply body: eventPort (1..65535) and whether
 * skipRecord is true.  -ATV_E_PROTO when there is no usable eventPort. */
int atv_ap_tunnel_session_reply(const uint8_t *body, size_t len, int *event_port,
				bool *skip_record, struct atv_err *err);

/* From the stream SETUP's reply body: streams[0].dataPort and, when
 * there (else -1), streams[0].streamID. */
int atv_ap_tunnel_stream_reply(const uint8_t *body, size_t len, int *data_port,
			       int64_t *stream_id, struct atv_err *err);

/* The RTSP requests' fixed parts, as pyatv's RtspSession sends them. */
struct atv_ap_rtsp {
	char uri[96];		/* "rtsp://<our address>/<random u32>" */
	char dacp_id[40];	/* "DACP-ID: <random u64, upper-case hex>" */
	char active_remote[40]; /* "Active-Remote: <random u32>" */
	char instance[48];	/* "Client-Instance: <the DACP-ID>" */
	unsigned cseq;		/* the next request's, from 0 */
};

/* d as a binary plist into out (reset first); consumes d.  libplist must
 * be loaded (atv_plist_load). */
int atv_ap_plist_bin(plist_t d, struct atv_buf *out, struct atv_err *err);

/* A SETUP or TEARDOWN body {"streams": [{}]}: *s is its one stream, for the
 * caller to fill, *d the body to hand to atv_ap_plist_bin.  Loads libplist. */
int atv_ap_streams_body(plist_t *d, plist_t *s, struct atv_err *err);

/* streams[0] of a SETUP reply dict d when it is a dict, else NULL. */
plist_t atv_ap_plist_stream0(plist_t d);

/* The integer under key in dict d (NULL is fine) when it is a port
 * (1..65535), else -1. */
int atv_ap_plist_port(plist_t d, const char *key);

/* Our address on the connected socket fd as an IP literal (RTSP URIs,
 * SDP), "127.0.0.1" when it cannot be had. */
void atv_ap_own_address(int fd, char *out, size_t size);

/* Fill r for our address (an IP literal) with these ids. */
void atv_ap_rtsp_init(struct atv_ap_rtsp *r, const char *own_ip, uint64_t dacp_id,
		      uint32_t active_remote, uint32_t session);

/* Append request method (to uri, or r->uri when NULL) with CSeq r->cseq
 * (then incremented), User-Agent, DACP-ID, Active-Remote,
 * Client-Instance and, with a body, Content-Type
 * application/x-apple-binary-plist. */
int atv_ap_rtsp_build(struct atv_ap_rtsp *r, const char *method, const char *uri,
		      const void *body, size_t len, struct atv_buf *out, struct atv_err *err);

/* Our answer to a request the device sent on the event channel: RTSP/1.0
 * (or HTTP/1.1, as it asked) 200 OK, its CSeq and Server echoed,
 * Audio-Latency: 0, no body. */
int atv_ap_tunnel_event_reply(const struct atv_httpmsg *req, struct atv_buf *out,
			      struct atv_err *err);

/* ---- the session ---- */

struct atv_ap_tunnel;

struct atv_ap_tunnel_opts {
	int timeout_ms;	    /* connect and each request/reply (<= 0: 5000) */
	const char *device; /* its name for messages */
	const char *name;   /* ours, in the SETUP ("atv-tools") */
};

/* Open the whole session with the device at host (its _airplay._tcp
 * service at port, TXT facts in info): credentials (pyatv's HAP string)
 * or NULL for transient pairing.  Errors as atv_airplay_open's, and
 * -ATV_E_UNSUPPORTED for a device that is not AirPlay 2. */
int atv_ap_tunnel_open(const char *host, int port, const struct atv_airplay_info *info,
		       const char *credentials, const struct atv_ap_tunnel_opts *o,
		       struct atv_ap_tunnel **out, struct atv_err *err);

/* TEARDOWN the stream, then the session (each waited for within the
 * timeout unless the session is broken), close everything, free (NULL is
 * fine). */
void atv_ap_tunnel_close(struct atv_ap_tunnel *t);

/* The tunnel as an MRP transport: atv_mrp_open_transport(
 * &atv_ap_tunnel_transport, t, ...) hands t over to the session, which
 * closes it with atv_ap_tunnel_close. */
extern const struct atv_mrp_transport atv_ap_tunnel_transport;

#endif
