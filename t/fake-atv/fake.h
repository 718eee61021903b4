/* fake.h - the fake Apple TV: one process, one poll() loop, many servers.
 *
 * main.c runs the event loop (loop.c).  Each server (the mDNS responder,
 * MRP, DMAP, AirPlay) opens its sockets, registers them with
 * fake_loop_add_fd() and does its work in the callbacks.  Callbacks may add
 * and remove fds and timers freely, including their own.  Nothing here is
 * thread-safe; there is one thread. */
#ifndef FAKE_H
#define FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"
#include "err.h"
#include "hap.h"

/* ---- the event loop (loop.c) ---- */

struct fake_loop;

/* A new loop without fds or timers.  0 or -ATV_E_NOMEM. */
int fake_loop_new(struct fake_loop **out, struct atv_err *err);

/* Poll and call back until fake_loop_quit(); returns its status, or
 * -ATV_E_NOMEM / -ATV_E_IO when poll() fails. */
int fake_loop_run(struct fake_loop *loop, struct atv_err *err);

/* Free the loop (NULL is fine); it closes no fd. */
void fake_loop_free(struct fake_loop *loop);

/* Write "ready" and the lines noted so far to PATH.tmp and rename it to
 * path, so a reader sees no file or the whole file.  -ATV_E_USAGE for a
 * path too long, -ATV_E_IO. */
int fake_loop_write_ready(const struct fake_loop *loop, const char *path, struct atv_err *err);

/* revents are poll() revents (POLLIN, POLLOUT, POLLERR, POLLHUP, ...). */
typedef void (*fake_fd_fn)(struct fake_loop *loop, int fd, short revents, void *ctx);
typedef void (*fake_timer_fn)(struct fake_loop *loop, void *ctx);

/* Watch fd for events with fn(ctx).  The loop never closes fd.  An fd is
 * registered at most once.  0, or -ATV_E_NOMEM / -ATV_E_USAGE. */
int fake_loop_add_fd(struct fake_loop *loop, int fd, short events, fake_fd_fn fn, void *ctx,
		     struct atv_err *err);

/* Change the events watched on a registered fd (e.g. add POLLOUT while a
 * TCP server has output queued).  0, or -ATV_E_USAGE if fd is unknown. */
int fake_loop_set_events(struct fake_loop *loop, int fd, short events);

/* Stop watching fd (does not close it).  Safe inside any callback; fn is
 * not called for fd after this returns.  Unknown fds are ignored. */
void fake_loop_remove_fd(struct fake_loop *loop, int fd);

/* Call fn(ctx) once, ms milliseconds from now (ms >= 0).  Returns a timer
 * id > 0 for fake_loop_cancel_timer(), or a negative ATV_E_* code. */
int fake_loop_add_timer(struct fake_loop *loop, int ms, fake_timer_fn fn, void *ctx,
			struct atv_err *err);

/* Cancel a pending timer; unknown or already fired ids are ignored. */
void fake_loop_cancel_timer(struct fake_loop *loop, int id);

/* Make fake_loop_run() return status after the current callback. */
void fake_loop_quit(struct fake_loop *loop, int status);

/* Record one line for the ready file, "PROTO ADDRESS:PORT" by convention
 * ("mdns 127.0.0.2:5353"); servers call it once per bound socket. */
int fake_loop_note_bound(struct fake_loop *loop, const char *proto, const struct sockaddr_in *sa,
			 struct atv_err *err);

/* Record any line (without the newline) for the ready file ("mrp 49152"). */
int fake_loop_note(struct fake_loop *loop, const char *line, struct atv_err *err);

/* ---- the device (config.c) ---- */

#define FAKE_MAX_SERVICES 32
#define FAKE_MAX_TXT 64         /* TXT strings per service */
#define FAKE_MAX_TXT_TOTAL 8192 /* TXT rdata bytes per service; the whole reply fits in 9000 */
#define FAKE_MAX_LABEL 63       /* RFC 1035 2.3.4 */

struct fake_txt {
	uint8_t *data; /* "key=value" (or "key"), not NUL-terminated */
	size_t len;    /* 1..255 */
};

struct fake_service {
	char *type; /* "_airplay._tcp" (two labels, no domain) */
	char *name; /* instance label, UTF-8, may hold spaces, dots, '@' */
	uint16_t port;
	bool served; /* a server of ours listens on port: only these are advertised */
	struct fake_txt *txt;
	size_t n_txt;
	json_t *json; /* the service's object in the file (borrowed from the device) */
};

#define FAKE_DEFAULT_PIN "1111"
#define FAKE_MAX_PIN 32 /* ATV_HAP_PIN_MAX */

struct fake_device {
	char *name;          /* display name */
	char *host;          /* one label: A records are for "<host>.local" */
	bool has_address;    /* "address" given: what A records say */
	struct in_addr address;
	struct fake_service *svcs;
	size_t n_svcs;
	char *pin; /* "pin": the PIN pair-setup expects (FAKE_DEFAULT_PIN) */
	json_t *json; /* the whole file, so later servers can read their own fields */
};

/* Read and check a device file (see fake-atv --help).  Unknown fields are
 * kept in dev->json and otherwise ignored.  On error dev is left empty and
 * err says what is wrong, naming the file.  Release with
 * fake_device_release(). */
int fake_device_load(const char *path, struct fake_device *dev, struct atv_err *err);

void fake_device_release(struct fake_device *dev);

/* The first service of type ("_mediaremotetv._tcp"), or NULL.  Servers may
 * change its port and set served once they listen on it: the mDNS
 * responder announces what is there now, and only services served. */
struct fake_service *fake_device_service(struct fake_device *dev, const char *type);

/* The TXT value of key (matched case-insensitively, RFC 6763 6.4) in s as a
 * new string, or NULL when absent (or out of memory). */
char *fake_service_txt(const struct fake_service *s, const char *key);

/* A PIN: 1..FAKE_MAX_PIN ASCII digits. */
bool fake_pin_valid(const char *pin);

/* ---- the mDNS responder (mdns-responder.c) ---- */

enum fake_hostile {
	FAKE_HOSTILE_NONE = 0,
	FAKE_HOSTILE_TRUNCATED,       /* a valid answer cut in the middle of a record */
	FAKE_HOSTILE_LOOP,            /* a name whose compression pointers form a cycle */
	FAKE_HOSTILE_POINTER_PAST_END, /* a compression pointer beyond the packet */
	FAKE_HOSTILE_LYING_RDLENGTH,  /* rdlength larger than the rest of the packet */
	FAKE_HOSTILE_HUGE_COUNT,      /* ancount 65535 with one record */
	FAKE_HOSTILE_GARBAGE,         /* random bytes behind a reply header */
	FAKE_HOSTILE_QUERY,           /* a valid answer with QR=0 */
	FAKE_HOSTILE_LONG_TXT,        /* a TXT string length byte beyond the packet */
	FAKE_HOSTILE_MANY_SERVICES,   /* 300 PTR answers */
	FAKE_HOSTILE_MAX
};

/* "truncated" → FAKE_HOSTILE_TRUNCATED, ...; -1 for an unknown name. */
int fake_hostile_parse(const char *name);

/* The names fake_hostile_parse() knows, for usage text ("a, b, c"). */
const char *fake_hostile_names(void);

struct fake_mdns_opts {
	bool sleeping;             /* every SRV says port 0, as a sleep proxy does */
	enum fake_hostile hostile; /* answer every query with this instead */
};

struct fake_mdns;

/* A responder for dev (borrowed; must outlive it).  0 or -ATV_E_NOMEM. */
int fake_mdns_new(struct fake_loop *loop, const struct fake_device *dev,
		  const struct fake_mdns_opts *opts, struct fake_mdns **out, struct atv_err *err);

/* Answer legacy unicast queries on UDP "ADDR[:PORT]" (port 5353 by
 * default, 0 for an ephemeral port).  -ATV_E_USAGE for a bad address,
 * -ATV_E_IO when the socket cannot be bound. */
int fake_mdns_add_unicast(struct fake_mdns *m, const char *addrport, struct atv_err *err);

/* Join 224.0.0.251 on the interface with address ifaddr and answer
 * multicast and legacy unicast queries on *:5353; announce every service
 * once.  Only allowed inside a network namespace other than PID 1's
 * (-ATV_E_USAGE otherwise): it must never send on a real interface. */
int fake_mdns_add_multicast(struct fake_mdns *m, const char *ifaddr, struct atv_err *err);

/* Close the sockets (removing them from the loop) and free m (NULL ok). */
void fake_mdns_free(struct fake_mdns *m);

/* ---- paired controllers (pairings.c) ----
 *
 * MRP and AirPlay keep their paired controllers in one --pairings file of
 * JSON lines {"protocol":"mrp"|"airplay","id":HEX,"ltpk":HEX}.  Each
 * server has a store for its own protocol and rewrites only its own lines,
 * keeping every other line as it is.  A line without "protocol" is MRP's:
 * older fakes wrote those. */

#define FAKE_MAX_PAIRINGS 64 /* controllers one store holds at most */

struct fake_pairing {
	uint8_t id[ATV_HAP_ID_MAX]; /* the controller's pairing identifier */
	size_t idlen;               /* 1..ATV_HAP_ID_MAX */
	uint8_t ltpk[ATV_ED25519_PUB_LEN];
};

/* Read the fields, change them only through the functions below. */
struct fake_pairings {
	const char *protocol; /* "mrp", "airplay" (borrowed, a constant) */
	char *path;           /* the file, or NULL: kept in memory only */
	size_t max;           /* capacity, 1..FAKE_MAX_PAIRINGS */
	size_t n;
	struct fake_pairing p[FAKE_MAX_PAIRINGS];
};

/* An empty store for protocol holding up to max (capped at
 * FAKE_MAX_PAIRINGS) controllers, not backed by a file. */
void fake_pairings_init(struct fake_pairings *s, const char *protocol, size_t max);

/* Back s with the file at path (copied): read the lines of s's protocol
 * (a missing file is empty), which later changes rewrite.  -ATV_E_INPUT
 * naming the file and line for a line that is not a JSON object, one of
 * ours that is not {"id":HEX,"ltpk":HEX}, or more than s->max of ours;
 * -ATV_E_NOMEM.  On error s is left empty and without a file. */
int fake_pairings_load(struct fake_pairings *s, const char *path, struct atv_err *err);

/* Rewrite s's lines in the file and keep the others as they are: the new
 * file is written next to it (path.tmp, mode 0600) and renamed over it,
 * so readers see the old file or the new one.  0 without a file;
 * -ATV_E_IO (the file unchanged), -ATV_E_NOMEM. */
int fake_pairings_save(const struct fake_pairings *s, struct atv_err *err);

/* Add the controller id[0..idlen) with key ltpk, replacing the key of the
 * same id, and save.  -ATV_E_USAGE for a bad idlen, -ATV_E_LIMIT when s
 * is full (nothing changed); a failed save (-ATV_E_IO) keeps the pairing
 * in memory. */
int fake_pairings_add(struct fake_pairings *s, const uint8_t *id, size_t idlen,
		      const uint8_t ltpk[ATV_ED25519_PUB_LEN], struct atv_err *err);

/* Forget every controller and save; as fake_pairings_save. */
int fake_pairings_forget(struct fake_pairings *s, struct atv_err *err);

/* An atv_hap_lookup_fn with arg a struct fake_pairings: copy the key of
 * the controller id[0..idlen) to ltpk and return 0, or -1 when unknown. */
int fake_pairings_lookup(void *arg, const uint8_t *id, size_t idlen,
			 uint8_t ltpk[ATV_ED25519_PUB_LEN]);

/* A pairing identifier for logs and states: the text when it is printable
 * ASCII (controllers use UUIDs), else hex, else "(N bytes)" when out (of
 * size bytes) is too small; 2 * ATV_HAP_ID_MAX + 1 bytes always suffice. */
void fake_pairing_id_text(char *out, size_t size, const uint8_t *id, size_t n);

/* Wipe s and free its path; it is empty and without a file afterwards. */
void fake_pairings_release(struct fake_pairings *s);

/* ---- the player (player.c) ----
 *
 * The state every protocol server shares: power, volume, what plays, a
 * 3-track playlist, the keys and commands received.  Servers read the
 * fields and change them through the functions below; every change is
 * told to each listener with the FAKE_PUSH_* bits of what changed. */

#define FAKE_PUSH_PLAYING 0x1u /* what plays, the supported commands */
#define FAKE_PUSH_VOLUME 0x2u
#define FAKE_PUSH_POWER 0x4u

enum { FAKE_ST_IDLE, FAKE_ST_PLAYING, FAKE_ST_PAUSED, FAKE_ST_STOPPED };
enum { FAKE_MT_UNKNOWN, FAKE_MT_MUSIC, FAKE_MT_VIDEO, FAKE_MT_TV };
enum { FAKE_SH_OFF, FAKE_SH_SONGS, FAKE_SH_ALBUMS };
enum { FAKE_RP_OFF, FAKE_RP_TRACK, FAKE_RP_ALL };
extern const char *const fake_shuffle_names[]; /* "off", "songs", "albums" */
extern const char *const fake_repeat_names[];  /* "off", "track", "all" */

/* The commands, by atv-send's names ("play", ..., "set_repeat"). */
enum fake_command {
	FAKE_CMD_PLAY, FAKE_CMD_PAUSE, FAKE_CMD_TOGGLE, FAKE_CMD_STOP, FAKE_CMD_NEXT,
	FAKE_CMD_PREVIOUS, FAKE_CMD_SKIP_FWD, FAKE_CMD_SKIP_BACK, FAKE_CMD_SEEK,
	FAKE_CMD_SHUFFLE, FAKE_CMD_REPEAT, FAKE_N_COMMANDS
};

struct fake_num {
	bool set;
	double v;
};

struct fake_playing {
	int media_type, device_state; /* FAKE_MT_*, FAKE_ST_* */
	char *title, *artist, *album, *genre;
	struct fake_num total_time, elapsed, timestamp, rate; /* timestamp: Cocoa seconds */
	int shuffle, repeat;				      /* FAKE_SH_*, FAKE_RP_* */
	char *series_name;
	struct fake_num season, episode;
	char *content_id, *app, *app_id;
	int track; /* the playlist entry next and previous move from */
};

typedef void (*fake_player_change_fn)(void *ctx, unsigned what);

struct fake_listener {
	fake_player_change_fn fn;
	void *ctx;
};

#define FAKE_MAX_LISTENERS 8

struct fake_player {
	bool power;
	int volume; /* 0..100 */
	struct fake_playing playing;
	bool refused[FAKE_N_COMMANDS];
	json_t *keys, *cmds; /* logs, the last 256 entries */
	char last_key[32];
	int last_press;
	long long last_up_ms;
	struct fake_listener listeners[FAKE_MAX_LISTENERS];
	size_t n_listeners;
};

/* A player: on, volume 50, the first track paused at 42 s in "Music".
 * 0 or -ATV_E_NOMEM.  Free with fake_player_free (NULL is fine). */
int fake_player_new(struct fake_player **out, struct atv_err *err);
void fake_player_free(struct fake_player *pl);

/* Call fn(ctx, what) at every change (in the order added); -ATV_E_LIMIT
 * past FAKE_MAX_LISTENERS.  unlisten removes every listener with ctx. */
int fake_player_listen(struct fake_player *pl, fake_player_change_fn fn, void *ctx,
		       struct atv_err *err);
void fake_player_unlisten(struct fake_player *pl, void *ctx);

/* Tell the listeners that what (FAKE_PUSH_*) changed. */
void fake_player_changed(struct fake_player *pl, unsigned what);

/* Set one now-playing field from its text form ("title", "Some Song"; the
 * string "null" makes it absent).  With apply false only check it.
 * -ATV_E_USAGE naming the problem.  Nobody is told: call
 * fake_player_changed. */
int fake_player_set_field(struct fake_player *pl, const char *field, const char *value,
			  bool apply, struct atv_err *err);

/* Power and volume (0..100; a step is 5, kept within 0..100), told. */
void fake_player_set_power(struct fake_player *pl, bool on);
int fake_player_set_volume(struct fake_player *pl, int volume, struct atv_err *err);
void fake_player_volume_step(struct fake_player *pl, bool up);

/* Command names and indexes (enum fake_command); NULL / -1 when unknown. */
const char *fake_player_command_name(enum fake_command k);
int fake_player_command_index(const char *name);

/* Make these commands (n == 0 clears) refused.  -ATV_E_USAGE for an
 * unknown name (nothing changed). */
int fake_player_refuse(struct fake_player *pl, char *const *names, size_t n, struct atv_err *err);

/* Run a command by name, logged in "commands" and told.  value:
 * set_position seconds, set_shuffle/set_repeat the FAKE_SH_/FAKE_RP_
 * value, skip seconds (0: 15).  -ATV_E_REFUSED when refused (logged
 * "NAME:refused"), -ATV_E_USAGE for an unknown name or a bad value
 * (logged "NAME:failed"). */
int fake_player_command(struct fake_player *pl, const char *name, double value,
			struct atv_err *err);

/* A whole key press (down at down_ms, up at up_ms, fake_mono_ms()): logged
 * as a tap, double tap or hold, and done (power, volume keys, home held
 * then select turns off). */
void fake_player_key(struct fake_player *pl, const char *name, long long down_ms,
		     long long up_ms);

/* Log one tap of a key without doing anything ("select", "top_menu"). */
void fake_player_log_key(struct fake_player *pl, const char *name);

/* Append entry to a log (keys, cmds), keeping the last 256. */
void fake_player_log(json_t *log, const char *entry);

/* The current track's 4x4 PNG artwork (static, borrowed). */
void fake_player_artwork(const struct fake_player *pl, const uint8_t **png, size_t *len);

/* The position now, from elapsed, timestamp and rate (seconds). */
double fake_playing_position(const struct fake_playing *p, double now);

/* Clocks: monotonic ms, and seconds since 2001-01-01 (MRP timestamps). */
long long fake_mono_ms(void);
double fake_cocoa_now(void);

/* power, volume, playing{...,position}, keys, commands, refused as a new
 * object. */
json_t *fake_player_state(const struct fake_player *pl);

/* ---- MRP (mrp-server.c) ----
 *
 * The player served over MRP: TCP, varint framing, HAP
 * pair-setup/pair-verify in CRYPTO_PAIRING, then ChaCha20-Poly1305 with the
 * MediaRemote keys.  The accessory's pairing identifier is the MRP
 * service's UniqueIdentifier, its Ed25519 seed the first 32 bytes of
 * SHA-512("fake-atv:" + UniqueIdentifier), so both survive restarts. */

struct fake_mrp_opts {
	const char *address;  /* IPv4 address to listen on */
	int port;             /* -1: the service's port in the device file; 0: ephemeral */
	const char *pairings; /* JSON lines file keeping paired controllers, or NULL */
};

struct fake_mrp;

/* Serve player (borrowed, must outlive it) over MRP for dev (borrowed; the
 * MRP service's port is updated to the one listened on).  Listens when dev
 * has a _mediaremotetv._tcp service with a UniqueIdentifier, else does
 * nothing.  -ATV_E_INPUT for a bad pairings file, -ATV_E_IO when the port
 * cannot be bound, -ATV_E_NOMEM. */
int fake_mrp_new(struct fake_loop *loop, struct fake_device *dev, struct fake_player *player,
		 const struct fake_mrp_opts *o, struct fake_mrp **out, struct atv_err *err);

/* The port listened on, or -1 when there is no MRP service. */
int fake_mrp_port(const struct fake_mrp *m);

/* Close the listener and every connection, listen on port (0: ephemeral)
 * and announce it in mDNS.  -ATV_E_UNSUPPORTED without an MRP service,
 * -ATV_E_IO when the port cannot be bound (the old one is then tried again). */
int fake_mrp_listen(struct fake_mrp *m, int port, struct atv_err *err);

/* Close every MRP connection; returns how many there were. */
size_t fake_mrp_drop(struct fake_mrp *m);

/* Send hostile bytes (mode as in fake_mrp_hostile_names) to every verified
 * connection; *sent is how many.  -ATV_E_USAGE for an unknown mode,
 * -ATV_E_NOTFOUND when no connection is verified. */
int fake_mrp_hostile(struct fake_mrp *m, const char *mode, size_t *sent, struct atv_err *err);
const char *fake_mrp_hostile_names(void);

/* Forget every paired controller (and rewrite the pairings file). */
void fake_mrp_revoke(struct fake_mrp *m);

/* Change the PIN later pair-setups expect.  -ATV_E_USAGE when not valid. */
int fake_mrp_set_pin(struct fake_mrp *m, const char *pin, struct atv_err *err);

/* The player's state (fake_player_state) with MRP's connections, verified,
 * subscribed, pairings, pairing_ids and mrp_port, as a new object. */
json_t *fake_mrp_state(const struct fake_mrp *m);

/* Close everything and free m (NULL is fine). */
void fake_mrp_free(struct fake_mrp *m);

/* A peer of the AirPlay 2 tunnel (airplay-tunnel.c): an MRP connection
 * without a socket.  send(ctx, msg, len, err) takes each packed
 * ProtocolMessage of ours (0, or an error that closes the peer);
 * closed(ctx) is called once when the MRP side ends the peer (a protocol
 * error, mrp-drop), after which the tunnel must not use it.  NULL with err
 * set when the device has no MRP identity or too many connections. */
typedef int (*fake_mrp_send_fn)(void *ctx, const uint8_t *msg, size_t len, struct atv_err *err);
typedef void (*fake_mrp_closed_fn)(void *ctx);
struct fake_mrp_peer;
struct fake_mrp_peer *fake_mrp_peer_new(struct fake_mrp *m, const char *name,
					fake_mrp_send_fn send, fake_mrp_closed_fn closed, void *ctx,
					struct atv_err *err);

/* One ProtocolMessage from the peer (msg[0..len), unpacked and handled as
 * on a verified direct connection). */
void fake_mrp_peer_message(struct fake_mrp_peer *p, const uint8_t *msg, size_t len);

/* End the peer from the tunnel's side (closed is not called); NULL ok. */
void fake_mrp_peer_free(struct fake_mrp_peer *p);

/* ---- libmicrohttpd on the loop (mhd-loop.c) ----
 *
 * What the DMAP and AirPlay servers share.  MHD runs in external epoll
 * mode: the loop watches MHD's epoll fd and MHD_run() is called when it
 * turns readable or when MHD's timeout is due, so every MHD callback runs
 * on the loop.  The shared access handler collects each request's body
 * (up to a cap) before the server sees the request. */

/* What every request has: a server's request type starts with one. */
struct fake_mhd_req {
	struct atv_buf body; /* up to the server's body_max bytes */
	bool too_big;	     /* the body went past body_max: the server answers 413 */
};

/* The request req is complete, its body read: answer it, or suspend the
 * connection (this is called again after the resume).  The result is an
 * MHD_AccessHandlerCallback's. */
typedef enum MHD_Result (*fake_mhd_request_fn)(void *cls, void *req, struct MHD_Connection *c,
					       const char *url, const char *method);

/* MHD is done with req, which is freed afterwards. */
typedef void (*fake_mhd_completed_fn)(void *cls, void *req, enum MHD_RequestTerminationCode toe);

#define FAKE_MHD_LOG_MAX 64 /* requests kept in log */

/* Read the fields; the server stores its daemon in daemon, the rest is
 * set through the functions below.  A zeroed struct can be released. */
struct fake_mhd {
	struct MHD_Daemon *daemon; /* NULL: none */
	json_t *log;		   /* the last requests, "METHOD /path" (fake_mhd_log_request) */
	struct fake_loop *loop;
	int epfd;  /* MHD's epoll fd while the loop watches it, else -1 */
	int timer; /* the pending MHD_run() timer, or 0 */
	size_t req_size, body_max;
	fake_mhd_request_fn request;
	fake_mhd_completed_fn completed;
	void *cls;
};

/* Prepare m for loop, without a daemon yet: each request gets req_size
 * zeroed bytes (the server's request type, starting with a struct
 * fake_mhd_req) with a body of up to body_max bytes, then request(cls, ...)
 * once it is complete and completed(cls, ...) (NULL: nothing) at the end.
 * 0 or -ATV_E_NOMEM. */
int fake_mhd_init(struct fake_mhd *m, struct fake_loop *loop, size_t req_size, size_t body_max,
		  fake_mhd_request_fn request, fake_mhd_completed_fn completed, void *cls,
		  struct atv_err *err);

/* The access handler and MHD_OPTION_NOTIFY_COMPLETED callback to start
 * m->daemon with, both with m as their cls. */
enum MHD_Result fake_mhd_on_request(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version, const char *upload,
				    size_t *upload_size, void **ctx);
void fake_mhd_on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			   enum MHD_RequestTerminationCode toe);

/* Run m->daemon (started with MHD_USE_EPOLL and the callbacks above) on
 * the loop.  -ATV_E_IO naming who ("dmap") when MHD has no epoll fd; as
 * fake_loop_add_fd.  The daemon stays in m either way. */
int fake_mhd_attach(struct fake_mhd *m, const char *who, struct atv_err *err);

/* MHD_run() now and wait for MHD's next timeout.  Never from inside MHD's
 * own callbacks: use fake_mhd_kick() there. */
void fake_mhd_run(struct fake_mhd *m);

/* MHD_run() from the loop soon (a 0 ms timer), for MHD's callbacks and
 * for what MHD must act on soon (a resumed or closed connection).  Nothing
 * without a daemon. */
void fake_mhd_kick(struct fake_mhd *m);

/* Stop watching the epoll fd, stop the daemon (its completion callbacks
 * run now), cancel the timer and free the log. */
void fake_mhd_release(struct fake_mhd *m);

/* Queue status with a copy of p[0..len) as the body, Content-Type type and
 * one more header (type, header NULL: none).  MHD_NO when out of memory. */
enum MHD_Result fake_mhd_respond(struct MHD_Connection *c, unsigned status, const void *p,
				 size_t len, const char *type, const char *header,
				 const char *value);

/* Add "METHOD URL" (the URL cut at 140 bytes) to m->log, keeping the last
 * FAKE_MHD_LOG_MAX. */
void fake_mhd_log_request(struct fake_mhd *m, const char *method, const char *url);

/* The index of mode in names (NULL-terminated), or -ATV_E_USAGE saying
 * "unknown WHO hostile mode \"MODE\" (one of: LIST)". */
int fake_mhd_hostile(const char *const *names, const char *mode, const char *who, const char *list,
		     struct atv_err *err);

/* ---- DMAP (dmap-server.c) ----
 *
 * DAAP/DACP over HTTP (libmicrohttpd in external-epoll mode on the loop)
 * on the _touch-able._tcp port: login with a known pairing GUID (device
 * "dmap":{"guids":[...]} or paired through fake_dmap_pair) or the hG of
 * _appletv-v2._tcp, then ctrl-int commands on the player and
 * playstatusupdate long polls. */

struct fake_dmap_opts {
	const char *address; /* IPv4 address to listen on */
	int port;            /* -1: the _touch-able._tcp port; 0: ephemeral */
};

struct fake_dmap;

/* Serve DMAP for dev (updating the _touch-able/_appletv-v2 ports to the one
 * listened on) on player (borrowed); without a _touch-able._tcp service only
 * the object is made.  *out is set even on failure (free it). */
int fake_dmap_new(struct fake_loop *loop, struct fake_device *dev, struct fake_player *player,
		  const struct fake_dmap_opts *o, struct fake_dmap **out, struct atv_err *err);

/* The port listened on, or -1. */
int fake_dmap_port(const struct fake_dmap *d);

/* Make DMAP bodies after login hostile: "none", "lying-length",
 * "deep-nesting", "truncated", "garbage".  -ATV_E_USAGE otherwise. */
int fake_dmap_hostile(struct fake_dmap *d, const char *mode, struct atv_err *err);
const char *fake_dmap_hostile_names(void);

/* Forget every session (later requests get 403); returns how many. */
size_t fake_dmap_drop(struct fake_dmap *d);

/* Play the Apple TV in Remote pairing: GET http://hostport/pair with the
 * code for guid ("0x...") and pin, servicename (NULL: the _touch-able
 * name).  hostport or guid NULL: browse _touch-remote._tcp through avahi
 * (up to 5 s) and use the first one's address and TXT Pair.  *status is
 * the HTTP status; on 200 the cmpa's GUID becomes a known pairing GUID.
 * Blocks (up to 15 s). */
int fake_dmap_pair(struct fake_dmap *d, const char *pin, const char *hostport,
		   const char *servicename, const char *guid, long *status, struct atv_err *err);

/* dmap_port, dmap_revision, dmap_sessions, dmap_guids, dmap_hostile,
 * dmap_held, dmap_requests (the last 64 "METHOD /path") as a new object. */
json_t *fake_dmap_state(const struct fake_dmap *d);

void fake_dmap_free(struct fake_dmap *d);

/* ---- AirPlay (airplay-server.c) ----
 *
 * HTTP on the _airplay._tcp port (libmicrohttpd, external epoll on the
 * loop), each TCP connection behind a channel (airplay_channel.h) so that it can
 * turn HAP-encrypted: GET /info, POST /pair-pin-start (logs "airplay pin:
 * PIN"), /pair-setup (HAP, transient on AirPlay 2 devices whose pairing is
 * optional), /pair-verify (then encrypted on AirPlay 2), /play,
 * GET /playback-info, /scrub, /rate, /stop, and 470 before verification on
 * devices whose TXT flags make pairing mandatory (0x208).  The accessory's
 * pairing identity is TXT pi, its Ed25519 seed the first 32 bytes of
 * SHA-512("fake-atv-airplay:" + pi). */

struct fake_airplay_opts {
	const char *address;  /* IPv4 address to listen on */
	int port;	      /* -1: the _airplay._tcp port; 0: ephemeral */
	const char *pairings; /* the pairings file shared with MRP (lines with
				 "protocol":"airplay" are ours), or NULL */
};

struct fake_airplay;

/* Serve AirPlay for dev (updating the _airplay._tcp port, and _raop._tcp's
 * when it was the same, to the one listened on); without an _airplay._tcp
 * service only the object is made.  The device's optional
 * "airplay":{"duration":S,"loading_ms":MS,"error":"URL-SUBSTRING"} sets the
 * video's defaults.  *out is set even on failure (free it). */
int fake_airplay_new(struct fake_loop *loop, struct fake_device *dev,
		     const struct fake_airplay_opts *o, struct fake_airplay **out,
		     struct atv_err *err);

/* The port listened on, or -1. */
int fake_airplay_port(const struct fake_airplay *ap);

/* The PIN later pair-setups expect (default: the device's "pin"). */
int fake_airplay_set_pin(struct fake_airplay *ap, const char *pin, struct atv_err *err);

/* The next n requests to path ("/play"; "*": any) get status with the
 * text/plain body reason ("" for none); replaces an earlier rule for the
 * same path.  -ATV_E_USAGE for a bad path, status or count. */
int fake_airplay_fail(struct fake_airplay *ap, const char *path, unsigned status, unsigned n,
		      const char *reason, struct atv_err *err);
void fake_airplay_fail_clear(struct fake_airplay *ap);

/* The video's settings: what "duration" (seconds), "loading" (ms) or
 * "error" (a /play whose URL contains value fails after loading; NULL or
 * "" clears).  -ATV_E_USAGE otherwise. */
int fake_airplay_video(struct fake_airplay *ap, const char *what, const char *value,
		       struct atv_err *err);

/* Hostile answers until "none": "plist" (/playback-info is a truncated
 * binary plist), "deep-plist" (1000 nested arrays), "plist-bomb" (arrays of
 * 14 references to the next, 12 deep), "huge-body" (/info and
 * /playback-info announce 64 MiB), "bad-block" and "huge-block" (any
 * request on an encrypted connection: a block whose tag does not verify,
 * or a header announcing 65535 bytes, then the connection closes). */
int fake_airplay_hostile(struct fake_airplay *ap, const char *mode, struct atv_err *err);
const char *fake_airplay_hostile_names(void);

/* Close every AirPlay connection; returns how many there were. */
size_t fake_airplay_drop(struct fake_airplay *ap);

/* Forget every AirPlay pairing (and rewrite the pairings file); returns
 * how many there were. */
size_t fake_airplay_revoke(struct fake_airplay *ap);

/* airplay_port, pairings, pairing_ids, connections (open now),
 * verified_connections, encrypted_connections (open now), verified,
 * transient, encrypted (since start), requests (the last 64 "METHOD
 * /path"), video (null or {url, start, state: loading|playing|paused|ended|
 * error, position, rate, duration}), hostile, fail_rules, duration,
 * loading_ms, as a new object.  Moves the video's clock as a request would. */
json_t *fake_airplay_state(struct fake_airplay *ap);

void fake_airplay_free(struct fake_airplay *ap);

/* Serve MRP through the AirPlay 2 tunnel with mrp (borrowed; NULL: the
 * tunnel refuses stream SETUPs). */
void fake_airplay_set_mrp(struct fake_airplay *ap, struct fake_mrp *mrp);

/* Close every tunnel's "control" connection, "event" or "data" channel;
 * *n is how many.  -ATV_E_USAGE for another name. */
int fake_airplay_tunnel_drop(struct fake_airplay *ap, const char *which, size_t *n,
			     struct atv_err *err);

/* The audio receiver (raop.h), or NULL without an AirPlay service. */
struct fake_audio;
struct fake_audio *fake_airplay_audio(struct fake_airplay *ap);

/* The tunnels' hostile mode (fake_tunnels_hostile) and state
 * (fake_tunnels_state with the MRP server's tunnel_peers). */
int fake_airplay_tunnel_hostile(struct fake_airplay *ap, const char *mode, struct atv_err *err);
json_t *fake_airplay_tunnel_state(struct fake_airplay *ap);

/* ---- the MRP tunnel of AirPlay 2 (airplay-tunnel.c) ----
 *
 * The device side of tunnel-companion.md 1: RTSP requests that come on a
 * verified AirPlay 2 control connection (airplay-server.c hands them in),
 * the event channel (a port per session SETUP: the device sends POST
 * /command updateInfo after RECORD, at once under skipRecord) and the data
 * channel (a port per stream SETUP: frames of airplay_frame.h whose MRP
 * messages go to the MRP server as a tunnel peer, and whose pushes come
 * back as sync/cmnd frames).  Each channel is HAP-sealed with keys from the
 * control connection's pairing. */

struct fake_tunnels; /* the device's: settings, hostile mode, counters */
struct fake_tunnel;  /* one RTSP session on one control connection */

/* The device's tunnels for dev (its "tunnel":{"skip_record":BOOL} is
 * read), listening on addr.  0, -ATV_E_INPUT for a bad "tunnel",
 * -ATV_E_NOMEM. */
int fake_tunnels_new(struct fake_loop *loop, const struct fake_device *dev, struct in_addr addr,
		     struct fake_tunnels **out, struct atv_err *err);
void fake_tunnels_set_mrp(struct fake_tunnels *ts, struct fake_mrp *mrp);

/* Close every "event" or "data" channel; as fake_airplay_tunnel_drop. */
int fake_tunnels_drop(struct fake_tunnels *ts, const char *which, size_t *n, struct atv_err *err);

/* Make the tunnels hostile until "none" (fake_tunnels_hostile_names). */
int fake_tunnels_hostile(struct fake_tunnels *ts, const char *mode, struct atv_err *err);
const char *fake_tunnels_hostile_names(void);

/* sessions, event_channels, data_channels (open now), setups, records,
 * feedback, teardowns, updateinfo_sent, updateinfo_answered, frames_in,
 * syncs_in, rplys_in, messages (MRP messages received), message_types
 * (the last 64 names), frames_out, hostile, skip_record, as a new object
 * (JSON null for NULL). */
json_t *fake_tunnels_state(const struct fake_tunnels *ts);

/* Close everything, free ts (NULL is fine).  Free the sessions first. */
void fake_tunnels_free(struct fake_tunnels *ts);

/* The session keys of the control connection's pairing: as
 * atv_hap_verify_cipher on the accessory side (out = read_info's key). */
typedef int (*fake_tunnel_keys_fn)(void *ctx, const char *salt, const char *write_info,
				   const char *read_info, struct atv_hap_cipher *c,
				   struct atv_err *err);

/* A session for the control connection called name; keys(ctx, ...) keys
 * its channels.  NULL with err set when out of memory. */
struct fake_tunnel *fake_tunnel_new(struct fake_tunnels *ts, const char *name,
				    fake_tunnel_keys_fn keys, void *ctx, struct atv_err *err);

/* What to answer an RTSP request: body (a binary plist or nothing; the
 * caller initialises it with a cap and releases it), one more header line
 * (a constant, or NULL) and whether to close the connection afterwards. */
struct fake_tunnel_reply {
	struct atv_buf body;
	const char *header;
	bool close;
};

/* An RTSP request (method, path, body) on t's connection: the status to
 * answer with, r filled. */
int fake_tunnel_request(struct fake_tunnel *t, const char *method, const char *path,
			const uint8_t *body, size_t len, struct fake_tunnel_reply *r);

/* Close t's channels and free it (NULL is fine). */
void fake_tunnel_free(struct fake_tunnel *t);
/* ---- Companion (companion-server.c) ----
 *
 * The device side of Companion on the _companion-link._tcp port: frames,
 * HAP pairing with the PIN (Companion deltas), verify, sealed OPACK
 * messages: _systemInfo, sessions, TVRCSessionStart, touch, _interest with
 * SystemStatus/TVSystemStatus and _iMC pushes, FetchAttentionState, _hidC
 * keys (sleep/wake: the player's power), _mcc, apps and _launchApp, user
 * accounts, RTI text sessions.  The accessory's pairing identifier is TXT
 * rpMRtID, its Ed25519 seed the first 32 bytes of
 * SHA-512("fake-atv-companion:" + rpMRtID). */

struct fake_companion_opts {
	const char *address;  /* IPv4 address to listen on */
	int port;	      /* -1: the service's port; 0: ephemeral */
	const char *pairings; /* the shared pairings file ("protocol":"companion"), or NULL */
};

struct fake_companion;

/* Serve Companion for dev on player (both borrowed); without a
 * _companion-link._tcp service with rpMRtID only the object is made.  The
 * device's optional "companion" object sets apps, accounts, account,
 * url_apps, text, keyboard, attention_needs_tvrc and evict_shared_id.  *out is set even on
 * failure (free it). */
int fake_companion_new(struct fake_loop *loop, struct fake_device *dev, struct fake_player *player,
		       const struct fake_companion_opts *o, struct fake_companion **out,
		       struct atv_err *err);

/* The port listened on, or -1 (also for NULL). */
int fake_companion_port(const struct fake_companion *cp);

/* Close every Companion connection; returns how many there were. */
size_t fake_companion_drop(struct fake_companion *cp);

/* companion_port, connections, verified, pairings, pairing_ids, clients,
 * power, attention, apps, app, url, accounts, account, keyboard, text,
 * keys, requests, touch, system_info, hostile as a new object. */
json_t *fake_companion_state(const struct fake_companion *cp);

/* A control command whose first word starts with "companion-": the reply
 * line ("ok ..." or "error ...") as a new string (NULL: out of memory). */
char *fake_companion_control(struct fake_companion *cp, char **w, size_t n);
const char *fake_companion_usage(void);

void fake_companion_free(struct fake_companion *cp);

/* ---- the control channel (control.c) ----
 *
 * A unix stream socket for the tests: any number of clients, one command
 * a line, exactly one reply line each ("ok [...]" or "error MESSAGE"). */

struct fake_control;

/* Listen on path (an old socket there is replaced).  -ATV_E_USAGE for a
 * path too long, -ATV_E_IO. */
int fake_control_new(struct fake_loop *loop, const char *path, struct fake_player *player,
		     struct fake_mrp *mrp, struct fake_control **out, struct atv_err *err);

/* Let the control channel reach the DMAP server too (NULL: none). */
void fake_control_set_dmap(struct fake_control *c, struct fake_dmap *dmap);

/* Let the control channel reach the AirPlay server too (NULL: none). */
void fake_control_set_airplay(struct fake_control *c, struct fake_airplay *ap);

/* Let the control channel reach the Companion server too (NULL: none). */
void fake_control_set_companion(struct fake_control *c, struct fake_companion *cp);

/* Close the socket and clients, unlink the path, free c (NULL is fine). */
void fake_control_free(struct fake_control *c);

#endif
