/* fake.h - the fake Apple TV: one process, one poll() loop, many servers.
 *
 * main.c owns the event loop.  Each server (the mDNS responder now; MRP,
 * DMAP and AirPlay later) opens its sockets, registers them with
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

#include "err.h"

/* ---- the event loop (main.c) ---- */

struct fake_loop;

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
	struct fake_txt *txt;
	size_t n_txt;
	json_t *json; /* the service's object in the file (borrowed from the device) */
};

struct fake_device {
	char *name;          /* display name */
	char *host;          /* one label: A records are for "<host>.local" */
	bool has_address;    /* "address" given: what A records say */
	struct in_addr address;
	struct fake_service *svcs;
	size_t n_svcs;
	json_t *json; /* the whole file, so later servers can read their own fields */
};

/* Read and check a device file (see fake-atv --help).  Unknown fields are
 * kept in dev->json and otherwise ignored.  On error dev is left empty and
 * err says what is wrong, naming the file.  Release with
 * fake_device_release(). */
int fake_device_load(const char *path, struct fake_device *dev, struct atv_err *err);

void fake_device_release(struct fake_device *dev);

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

#endif
