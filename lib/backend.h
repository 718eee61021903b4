/* backend.h - one remote-control protocol, as the connect and pairing
 * facades (conn.h, pair.h) see it.
 *
 * Each protocol fills one struct atv_backend in its own file (MRP:
 * mrp_remote.c, DMAP: dmap_remote.c, AirPlay: airplay_player.c), in the
 * spirit of curl's protocol handler structs: the facade chooses a backend
 * by what the device offers and what is paired, parses command items once
 * into a struct atv_cmd, routes each to a backend that serves it, and
 * turns what the backend knows of the device (struct atv_now) into events.
 * Nothing protocol-specific is above this line, nothing generic below it.
 *
 * One I/O model for all: a backend that has events exposes one pollable fd
 * and a timer, and its step function (never blocking) reads what arrived,
 * runs due timers and calls changed() each time its state moved on.  The
 * tool's poll loop drives every backend of a connection (cli/input.c).
 * Commands block until the device answered, within the timeout. */
#ifndef ATV_BACKEND_H
#define ATV_BACKEND_H

#include <stdbool.h>

#include <jansson.h>

#include "buf.h"
#include "devconf.h"
#include "err.h"

/* The commands atv-send knows, protocol-neutral: each backend maps them to
 * its own messages (HID usages, DACP paths, AirPlay endpoints). */
enum atv_cmd_id {
	ATV_CMD_UP,
	ATV_CMD_DOWN,
	ATV_CMD_LEFT,
	ATV_CMD_RIGHT,
	ATV_CMD_SELECT,
	ATV_CMD_MENU,
	ATV_CMD_HOME,
	ATV_CMD_HOME_HOLD,
	ATV_CMD_TOP_MENU,
	ATV_CMD_SUSPEND,
	ATV_CMD_WAKEUP,
	ATV_CMD_PLAY,
	ATV_CMD_PAUSE,
	ATV_CMD_PLAY_PAUSE,
	ATV_CMD_STOP,
	ATV_CMD_NEXT,
	ATV_CMD_PREVIOUS,
	ATV_CMD_SKIP_FORWARD,
	ATV_CMD_SKIP_BACKWARD,
	ATV_CMD_SET_POSITION,
	ATV_CMD_SET_SHUFFLE,
	ATV_CMD_SET_REPEAT,
	ATV_CMD_VOLUME_UP,
	ATV_CMD_VOLUME_DOWN,
	ATV_CMD_SET_VOLUME,
	ATV_CMD_TURN_ON,
	ATV_CMD_TURN_OFF,
	ATV_CMD_PLAYING,
	ATV_CMD_PLAY_URL,
	/* The speaker group (MRP): list, add, remove, set. */
	ATV_CMD_OUTPUT_DEVICES,
	ATV_CMD_ADD_OUTPUT_DEVICES,
	ATV_CMD_REMOVE_OUTPUT_DEVICES,
	ATV_CMD_SET_OUTPUT_DEVICES,
	/* From here on Companion's alone (power, apps, accounts, text, keys
	 * MRP has not): no other backend serves them. */
	ATV_CMD_POWER_STATE,
	ATV_CMD_VOLUME,
	ATV_CMD_APP_LIST,
	ATV_CMD_LAUNCH_APP,
	ATV_CMD_ACCOUNT_LIST,
	ATV_CMD_SWITCH_ACCOUNT,
	ATV_CMD_TEXT_GET,
	ATV_CMD_TEXT_SET,
	ATV_CMD_TEXT_APPEND,
	ATV_CMD_TEXT_CLEAR,
	ATV_CMD_CHANNEL_UP,
	ATV_CMD_CHANNEL_DOWN,
	ATV_CMD_GUIDE,
	ATV_CMD_SCREENSAVER,
	ATV_CMD_CONTROL_CENTER,
	/* Read-only, answered by the facade (conn.c) from the config and
	 * what the backends know: no backend serves them itself. */
	ATV_CMD_DEVICE_INFO,
	ATV_CMD_FEATURES,
	ATV_CMD_ARTWORK,
	ATV_CMD_APP,
	ATV_CMD_COUNT
};

/* How a remote key is pressed. */
enum atv_key_action { ATV_KEY_TAP, ATV_KEY_DOUBLE_TAP, ATV_KEY_HOLD };

/* Seconds skip_forward/skip_backward move, as pyatv's default. */
#define ATV_SKIP_SECONDS 15.0

/* Output device identifiers one command takes at most, and the bytes of
 * each (AirPlay device ids are UUIDs or MAC addresses). */
#define ATV_CMD_MAX_IDS 32
#define ATV_CMD_MAX_ID_LEN 255

/* One command item, parsed and checked by the facade. */
struct atv_cmd {
	enum atv_cmd_id id;
	const char *name;	    /* "set_volume" */
	const char *item;	    /* as given ("set_volume=40"), for messages */
	enum atv_key_action action; /* remote keys */
	double number; /* set_position, play_url's start and skip_* (s; skip: 0 is
			  ATV_SKIP_SECONDS), set_volume (0..100) */
	int mode;      /* set_shuffle: off, songs, albums; set_repeat: off, track, all (0..2) */
	const char *url; /* play_url */
	const char *text; /* launch_app, switch_account, text_set, text_append */
	const char *ids[ATV_CMD_MAX_IDS]; /* add/remove/set_output_devices: 1.. */
	size_t n_ids;
};

/* What a backend knows of the device now, for events. */
struct atv_now {
	json_t *playing; /* atvscript's "playing" object (a new reference), NULL: unknown */
	double rate;	 /* playback rate the position moves with (0 unless playing) */
	int power;	 /* 1 on, 0 off, -1 unknown */
	int volume;	 /* 0..100, -1 unknown */
	int attention;	 /* Companion's attention state: 1 asleep, 2 screensaver,
			  * 3 awake, 4 idle; 0 unknown */
	json_t *output_devices; /* [{"identifier","name","volume"}] (a new reference),
				 * NULL: the protocol has none */
};

/* Called by step (and while a command waits) each time the state changed. */
typedef void (*atv_backend_changed_fn)(void *ctx);

/* Called with each "playback" event of play_url --wait (a borrowed object). */
typedef void (*atv_backend_progress_fn)(void *ctx, json_t *event);

struct atv_backend_opts {
	const char *device; /* its name, for messages */
	int timeout_ms;	    /* connect and each request/reply */
	bool updates;	    /* keep the state up to date (atv-watch) */
	bool artwork;	    /* ... including artwork */
	bool lazy;	    /* connect on the first command, not in open */
	bool wait;	    /* play_url follows the video to its end */
	atv_backend_progress_fn progress;
	atv_backend_changed_fn changed; /* may be NULL */
	void *ctx;			/* for progress and changed */
};

struct atv_pair_opts;

struct atv_backend {
	const char *name; /* "mrp": the -p value and the service's protocol */

	/* Connect to d's service svc (credentials in svc).  *out is the
	 * backend's own state.  Errors as atv_conn_open's. */
	int (*open)(const struct atv_device *d, const struct atv_service *svc,
		    const struct atv_backend_opts *o, void **out, struct atv_err *err);
	void (*close)(void *b); /* NULL is fine */

	/* Whether command id can be run over this protocol at all. */
	bool (*serves)(enum atv_cmd_id id);
	/* Run it; on success *result may be set to members for the result
	 * line, or to an array of such objects for one line each (app_list). */
	int (*command)(void *b, const struct atv_cmd *cmd, json_t **result, struct atv_err *err);

	/* Events (all NULL for a backend without): the fd to poll (-1:
	 * none), ms until step must run for timers (-1: no timer), and step
	 * itself: -ATV_E_UNREACHABLE when the connection dropped (what came
	 * before is reported first). */
	int (*fd)(const void *b);
	int (*timeout_ms)(const void *b);
	int (*step)(void *b, struct atv_err *err);
	/* Make the state complete and keep it so (a watcher's start). */
	int (*watch)(void *b, struct atv_err *err);
	/* The state now; fills *now (now->playing owned by the caller). */
	int (*now)(void *b, struct atv_now *now, struct atv_err *err);
	/* The artwork of what plays into png (left empty when there is none). */
	int (*artwork)(void *b, struct atv_buf *png, struct atv_err *err);
	/* Whether the device offers id now (MRP's supported commands): 1 yes,
	 * 0 no, -1 not known; after watch.  NULL: whatever serves does. */
	int (*supports)(void *b, enum atv_cmd_id id);

};

extern const struct atv_backend atv_mrp_backend;
extern const struct atv_backend atv_dmap_backend;
extern const struct atv_backend atv_airplay_backend;
extern const struct atv_backend atv_companion_backend; /* companion_remote.c */
/* MRP over the AirPlay 2 tunnel (mrp_remote.c), opened on the airplay
 * service; "mrp" too, not in the table atv_backend_find searches. */
extern const struct atv_backend atv_mrp_tunnel_backend;

/* Whether d's MRP runs over the AirPlay tunnel (pyatv's rule: an Apple TV
 * on tvOS 13+ with AirPlay credentials, or a HomePod, transiently): 1 and
 * *ap its airplay service, 0 when d is no such device, -ATV_E_AUTH naming
 * the atv-pair command when it is an Apple TV without credentials. */
int atv_mrp_tunnel_usable(const struct atv_device *d, const struct atv_service **ap,
			  struct atv_err *err);

/* A protocol's pairing steps (pair.h), in a table of their own so that
 * the tools that only connect do not link what pairing needs (DMAP's
 * pairing is an HTTP server: libmicrohttpd).  begin connects and starts,
 * pin is the PIN the user types on the device when it is ours (else NULL:
 * the device shows one), finish completes with the PIN and returns the
 * credential string (pyatv's format; the caller wipes and frees it). */
struct atv_pairer {
	const char *name; /* "mrp": the -p value and the service's protocol */
	/* Check o before any device is contacted (NULL: nothing to check
	 * but that the DMAP-only options are absent). */
	int (*check)(const struct atv_pair_opts *o, struct atv_err *err);
	int (*begin)(const struct atv_device *d, const struct atv_service *svc,
		     const struct atv_pair_opts *o, void **out, struct atv_err *err);
	const char *(*pin)(const void *p);
	int (*finish)(void *p, const char *pin, char **credentials, struct atv_err *err);
	void (*free)(void *p);
	/* After finish: members to store next to the credentials (a new
	 * object: Companion's client id "rp_id"), or NULL (may be NULL). */
	json_t *(*stored)(const void *p);
};

extern const struct atv_pairer atv_mrp_pairer;	   /* mrp_remote.c */
extern const struct atv_pairer atv_dmap_pairer;	   /* dmap_remote_pair.c */
extern const struct atv_pairer atv_airplay_pairer; /* airplay_player.c */
extern const struct atv_pairer atv_companion_pairer; /* companion_remote.c */

/* The backend named name ("mrp", "dmap", "airplay", "companion"), or NULL. */
const struct atv_backend *atv_backend_find(const char *name);

/* d's name for messages: its name, else its identifier, else its address. */
const char *atv_device_label(const struct atv_device *d);

/* Whether s is there and has credentials. */
bool atv_service_paired(const struct atv_service *s);

#endif
