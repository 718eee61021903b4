/* player.c - the fake Apple TV's player, shared by its protocol servers.
 *
 * Power, volume, what plays (atvscript's fields), a playlist of three
 * tracks for next/previous, the commands and key presses received (logged
 * for the tests' `state'), and which commands are refused.  MRP, DMAP and
 * the control channel change it through this API only; each change is
 * told to every listener (MRP pushes it, DMAP answers its long polls).
 * Nothing here knows a protocol. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake.h"

#define LOG_MAX	     256  /* keys and commands kept for `state' */
#define HOLD_MS	     800  /* pyatv holds for 1 s; leave room for scheduling */
#define DOUBLE_MS    300  /* a second tap this soon after the first is a double tap */
#define TURN_OFF_MS  5000 /* home held, then select within this: turn off (pyatv turn_off) */
#define VOLUME_STEP  5
#define SKIP_DEFAULT 15.0	 /* seconds, when a skip names no interval */
#define VALUE_MAX    1024	 /* bytes in a text field set through the control channel */
#define COCOA_EPOCH  978307200.0 /* 2001-01-01 in Unix time: MRP timestamps count from it */

static const char *const state_names[] = {"idle", "playing", "paused", "stopped", NULL};
static const char *const media_names[] = {"unknown", "music", "video", "tv", NULL};
const char *const fake_shuffle_names[] = {"off", "songs", "albums", NULL};
const char *const fake_repeat_names[] = {"off", "track", "all", NULL};

enum fkind { F_STR, F_NUM, F_INT, F_ENUM };

struct field {
	const char *name;
	enum fkind kind;
	size_t off;
	double min, max;	  /* F_NUM, F_INT */
	const char *const *names; /* F_ENUM */
};

#define P_OFF(m) offsetof(struct fake_playing, m)
static const struct field fields[] = {
    {"media_type", F_ENUM, P_OFF(media_type), 0, 0, media_names},
    {"device_state", F_ENUM, P_OFF(device_state), 0, 0, state_names},
    {"title", F_STR, P_OFF(title), 0, 0, NULL},
    {"artist", F_STR, P_OFF(artist), 0, 0, NULL},
    {"album", F_STR, P_OFF(album), 0, 0, NULL},
    {"genre", F_STR, P_OFF(genre), 0, 0, NULL},
    {"total_time", F_NUM, P_OFF(total_time), 0, 1e7, NULL},
    {"elapsed", F_NUM, P_OFF(elapsed), 0, 1e7, NULL},
    {"timestamp", F_NUM, P_OFF(timestamp), -1e10, 1e10, NULL},
    {"rate", F_NUM, P_OFF(rate), -64, 64, NULL},
    {"shuffle", F_ENUM, P_OFF(shuffle), 0, 0, fake_shuffle_names},
    {"repeat", F_ENUM, P_OFF(repeat), 0, 0, fake_repeat_names},
    {"series_name", F_STR, P_OFF(series_name), 0, 0, NULL},
    {"season_number", F_INT, P_OFF(season), 0, 1e6, NULL},
    {"episode_number", F_INT, P_OFF(episode), 0, 1e6, NULL},
    {"content_identifier", F_STR, P_OFF(content_id), 0, 0, NULL},
    {"app", F_STR, P_OFF(app), 0, 0, NULL},
    {"app_id", F_STR, P_OFF(app_id), 0, 0, NULL},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

struct track {
	const char *title, *artist, *album, *genre, *id;
	double total_time;
};

static const struct track playlist[] = {
    {"Loopback Blues", "The Fakes", "Localhost", "Blues", "fake-track-1", 185},
    {"Ephemeral Port", "The Fakes", "Localhost", "Rock", "fake-track-2", 211},
    {"Time To Live", "Null Routes", "TTL 10", "Electronic", "fake-track-3", 242},
};
#define N_TRACKS ((int)(sizeof playlist / sizeof playlist[0]))

/* One 4x4 PNG per track (a red, a green and a blue square), made for this
 * fake: artworkData in answers to PLAYBACK_QUEUE_REQUEST. */
#define PNG_LEN 73
static const uint8_t art_png[N_TRACKS][PNG_LEN] = {
    {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
     0x52, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26,
     0x93, 0x09, 0x29, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x38,
     0xa1, 0xa1, 0x01, 0x47, 0x0c, 0xc4, 0x71, 0x00, 0xd1, 0x43, 0x11, 0x81, 0xa0, 0xd3, 0x6e,
     0x64, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82},
    {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
     0x52, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26,
     0x93, 0x09, 0x29, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xd0,
     0x58, 0x60, 0x03, 0x47, 0x0c, 0xc4, 0x71, 0x00, 0xa5, 0x83, 0x10, 0x41, 0x1e, 0x32, 0xe7,
     0x32, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82},
    {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
     0x52, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26,
     0x93, 0x09, 0x29, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xd0,
     0x08, 0x38, 0x01, 0x47, 0x0c, 0xc4, 0x71, 0x00, 0xfe, 0x43, 0x14, 0x01, 0x7b, 0xd2, 0xcb,
     0x15, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82},
};

/* The commands, by atv-send's names, in enum fake_command order. */
static const char *const command_names[FAKE_N_COMMANDS] = {
    "play",	    "pause",	     "play_pause",   "stop",	    "next",	  "previous",
    "skip_forward", "skip_backward", "set_position", "set_shuffle", "set_repeat",
};

enum press { PRESS_NONE, PRESS_TAP, PRESS_DOUBLE, PRESS_HOLD };

long long fake_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double fake_cocoa_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 - COCOA_EPOCH;
}

void fake_player_log(json_t *log, const char *entry)
{
	json_array_append_new(log, json_string(entry));
	while (json_array_size(log) > LOG_MAX)
		json_array_remove(log, 0);
}

static int set_str(char **p, const char *v)
{
	char *copy = NULL;

	if (v && !(copy = strdup(v)))
		return -ATV_E_NOMEM;
	free(*p);
	*p = copy;
	return 0;
}

double fake_playing_position(const struct fake_playing *p, double now)
{
	double pos = p->elapsed.v;

	if (p->timestamp.set && p->rate.set)
		pos += (now - p->timestamp.v) * p->rate.v;
	if (p->total_time.set && pos > p->total_time.v)
		pos = p->total_time.v;
	return pos < 0 ? 0 : pos;
}

/* Fold the time played so far into elapsed, before the rate changes: the
 * position stays continuous. */
static void rebase(struct fake_playing *p)
{
	double now = fake_cocoa_now();

	if (!p->elapsed.set)
		return;
	p->elapsed.v = fake_playing_position(p, now);
	p->timestamp = (struct fake_num){true, now};
}

static void seek(struct fake_playing *p, double pos)
{
	if (pos < 0)
		pos = 0;
	if (p->total_time.set && pos > p->total_time.v)
		pos = p->total_time.v;
	p->elapsed = (struct fake_num){true, pos};
	p->timestamp = (struct fake_num){true, fake_cocoa_now()};
}

static void set_rate(struct fake_playing *p, int state, double rate)
{
	rebase(p);
	p->device_state = state;
	p->rate = (struct fake_num){true, rate};
}

static void load_track(struct fake_playing *p, int idx)
{
	const struct track *t = &playlist[idx];

	/* strdup failing leaves a field absent: acceptable in a test fake */
	set_str(&p->title, t->title);
	set_str(&p->artist, t->artist);
	set_str(&p->album, t->album);
	set_str(&p->genre, t->genre);
	set_str(&p->content_id, t->id);
	set_str(&p->series_name, NULL);
	p->season.set = p->episode.set = false;
	p->media_type = FAKE_MT_MUSIC;
	p->total_time = (struct fake_num){true, t->total_time};
	p->track = idx;
	seek(p, 0);
}

static void playing_init(struct fake_player *pl)
{
	struct fake_playing *p = &pl->playing;

	pl->power = true;
	pl->volume = 50;
	load_track(p, 0);
	seek(p, 42);
	p->device_state = FAKE_ST_PAUSED;
	p->rate = (struct fake_num){true, 0};
	p->shuffle = FAKE_SH_OFF;
	p->repeat = FAKE_RP_OFF;
	set_str(&p->app, "Music");
	set_str(&p->app_id, "com.apple.TVMusic");
}

static void playing_release(struct fake_playing *p)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (fields[i].kind == F_STR)
			free(*(char **)((char *)p + fields[i].off));
	memset(p, 0, sizeof *p);
}

static const struct field *find_field(const char *name)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

static int name_index(const char *const *names, const char *v)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return -1;
}

static void join_names(char *buf, size_t size, const char *const *names)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; names[i] && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "|" : "", names[i]);
}

int fake_player_set_field(struct fake_player *pl, const char *name, const char *value, bool apply,
			  struct atv_err *err)
{
	const struct field *f = find_field(name);
	bool null = strcmp(value, "null") == 0;
	char *p = (char *)&pl->playing, *end, names[128];
	json_t *check;
	double v = 0;
	int e;

	if (!f)
		return atv_err_set(err, ATV_E_USAGE, "unknown field \"%s\"", name);
	switch (f->kind) {
	case F_STR:
		if (strlen(value) > VALUE_MAX)
			return atv_err_set(err, ATV_E_USAGE, "%s: longer than %d bytes", name,
					   VALUE_MAX);
		/* what we send must be valid UTF-8 (protobuf strings, JSON) */
		check = json_string(value);
		if (!check)
			return atv_err_set(err, ATV_E_USAGE, "%s: not valid UTF-8", name);
		json_decref(check);
		if (apply && set_str((char **)(p + f->off), null ? NULL : value) < 0)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return 0;
	case F_NUM:
	case F_INT:
		if (!null) {
			errno = 0;
			v = f->kind == F_INT ? (double)strtol(value, &end, 10)
					     : strtod(value, &end);
			if (errno || end == value || *end || !isfinite(v) || v < f->min ||
			    v > f->max)
				return atv_err_set(err, ATV_E_USAGE,
						   "%s: \"%s\" is not %s from "
						   "%.15g to %.15g",
						   name, value,
						   f->kind == F_INT ? "an integer" : "a number",
						   f->min, f->max);
		}
		if (!apply)
			return 0;
		if (f->off == P_OFF(rate))
			rebase(&pl->playing);
		*(struct fake_num *)(p + f->off) = (struct fake_num){!null, v};
		/* a new elapsed time counts from now unless a timestamp follows */
		if (f->off == P_OFF(elapsed))
			pl->playing.timestamp = (struct fake_num){!null, fake_cocoa_now()};
		return 0;
	case F_ENUM:
		e = name_index(f->names, value);
		if (e < 0) {
			join_names(names, sizeof names, f->names);
			return atv_err_set(err, ATV_E_USAGE, "%s: \"%s\" is not one of %s", name,
					   value, names);
		}
		if (apply)
			*(int *)(p + f->off) = e;
		return 0;
	}
	return atv_err_set(err, ATV_E_USAGE, "%s: bad field", name);
}

static json_t *playing_json(const struct fake_playing *p)
{
	json_t *o = json_object();
	const char *pc = (const char *)p;

	for (size_t i = 0; o && i < N_FIELDS; i++) {
		const struct field *f = &fields[i];
		const struct fake_num *n;
		const char *s;
		json_t *v;

		switch (f->kind) {
		case F_STR:
			s = *(char *const *)(pc + f->off);
			v = s ? json_string(s) : json_null();
			break;
		case F_NUM:
		case F_INT:
			n = (const struct fake_num *)(pc + f->off);
			v = !n->set	       ? json_null()
			    : f->kind == F_NUM ? json_real(n->v)
					       : json_integer((json_int_t)n->v);
			break;
		default: v = json_string(f->names[*(const int *)(pc + f->off)]); break;
		}
		json_object_set_new(o, f->name, v);
	}
	json_object_set_new(o, "position",
			    p->elapsed.set ? json_real(fake_playing_position(p, fake_cocoa_now()))
					   : json_null());
	return o;
}

/* ---- the player ---- */

int fake_player_new(struct fake_player **out, struct atv_err *err)
{
	struct fake_player *pl = calloc(1, sizeof *pl);

	*out = NULL;
	if (!pl)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	pl->keys = json_array();
	pl->cmds = json_array();
	if (!pl->keys || !pl->cmds) {
		fake_player_free(pl);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	playing_init(pl);
	*out = pl;
	return 0;
}

void fake_player_free(struct fake_player *pl)
{
	if (!pl)
		return;
	playing_release(&pl->playing);
	json_decref(pl->keys);
	json_decref(pl->cmds);
	free(pl);
}

int fake_player_listen(struct fake_player *pl, fake_player_change_fn fn, void *ctx,
		       struct atv_err *err)
{
	if (pl->n_listeners == FAKE_MAX_LISTENERS)
		return atv_err_set(err, ATV_E_LIMIT, "more than %d player listeners",
				   FAKE_MAX_LISTENERS);
	pl->listeners[pl->n_listeners++] = (struct fake_listener){fn, ctx};
	return 0;
}

void fake_player_unlisten(struct fake_player *pl, void *ctx)
{
	for (size_t i = 0; i < pl->n_listeners; i++) {
		if (pl->listeners[i].ctx == ctx) {
			memmove(&pl->listeners[i], &pl->listeners[i + 1],
				(pl->n_listeners - i - 1) * sizeof pl->listeners[0]);
			pl->n_listeners--;
			i--;
		}
	}
}

void fake_player_changed(struct fake_player *pl, unsigned what)
{
	for (size_t i = 0; i < pl->n_listeners; i++)
		pl->listeners[i].fn(pl->listeners[i].ctx, what);
}

void fake_player_set_power(struct fake_player *pl, bool on)
{
	pl->power = on;
	fake_player_changed(pl, FAKE_PUSH_POWER);
}

int fake_player_set_volume(struct fake_player *pl, int volume, struct atv_err *err)
{
	if (volume < 0 || volume > 100)
		return atv_err_set(err, ATV_E_USAGE, "volume is 0 to 100");
	pl->volume = volume;
	fake_player_changed(pl, FAKE_PUSH_VOLUME);
	return 0;
}

void fake_player_volume_step(struct fake_player *pl, bool up)
{
	int v = pl->volume + (up ? VOLUME_STEP : -VOLUME_STEP);

	fake_player_set_volume(pl, v < 0 ? 0 : v > 100 ? 100 : v, NULL);
}

const char *fake_player_command_name(enum fake_command k)
{
	return k < FAKE_N_COMMANDS ? command_names[k] : NULL;
}

int fake_player_command_index(const char *name)
{
	for (int k = 0; k < FAKE_N_COMMANDS; k++)
		if (strcmp(command_names[k], name) == 0)
			return k;
	return -1;
}

int fake_player_refuse(struct fake_player *pl, char *const *names, size_t n, struct atv_err *err)
{
	bool refused[FAKE_N_COMMANDS] = {false};

	for (size_t i = 0; i < n; i++) {
		int k = fake_player_command_index(names[i]);

		if (k < 0)
			return atv_err_set(err, ATV_E_USAGE, "unknown command \"%s\"", names[i]);
		refused[k] = true;
	}
	memcpy(pl->refused, refused, sizeof refused);
	fake_player_changed(pl, FAKE_PUSH_PLAYING);
	return 0;
}

/* Apply command k with value; entry gets its log line.  0, or -1 when the
 * value does not fit the command. */
static int run_command(struct fake_player *pl, enum fake_command k, double value, char *entry,
		       size_t size)
{
	struct fake_playing *p = &pl->playing;
	double skip = isfinite(value) && value != 0 ? value : SKIP_DEFAULT;
	int v = isfinite(value) && value == (int)value ? (int)value : -1;

	snprintf(entry, size, "%s", command_names[k]);
	switch (k) {
	case FAKE_CMD_PLAY: set_rate(p, FAKE_ST_PLAYING, 1); break;
	case FAKE_CMD_PAUSE: set_rate(p, FAKE_ST_PAUSED, 0); break;
	case FAKE_CMD_TOGGLE:
		if (p->device_state == FAKE_ST_PLAYING)
			set_rate(p, FAKE_ST_PAUSED, 0);
		else
			set_rate(p, FAKE_ST_PLAYING, 1);
		break;
	case FAKE_CMD_STOP:
		set_rate(p, FAKE_ST_STOPPED, 0);
		seek(p, 0);
		break;
	case FAKE_CMD_NEXT: load_track(p, (p->track + 1) % N_TRACKS); break;
	case FAKE_CMD_PREVIOUS: load_track(p, (p->track + N_TRACKS - 1) % N_TRACKS); break;
	case FAKE_CMD_SKIP_FWD: seek(p, fake_playing_position(p, fake_cocoa_now()) + skip); break;
	case FAKE_CMD_SKIP_BACK: seek(p, fake_playing_position(p, fake_cocoa_now()) - skip); break;
	case FAKE_CMD_SEEK:
		if (!isfinite(value) || value < 0)
			return -1;
		snprintf(entry, size, "set_position=%g", value);
		seek(p, value);
		break;
	case FAKE_CMD_SHUFFLE:
		if (v < FAKE_SH_OFF || v > FAKE_SH_ALBUMS)
			return -1;
		p->shuffle = v;
		snprintf(entry, size, "set_shuffle=%s", fake_shuffle_names[v]);
		break;
	case FAKE_CMD_REPEAT:
		if (v < FAKE_RP_OFF || v > FAKE_RP_ALL)
			return -1;
		p->repeat = v;
		snprintf(entry, size, "set_repeat=%s", fake_repeat_names[v]);
		break;
	default: return -1;
	}
	return 0;
}

int fake_player_command(struct fake_player *pl, const char *name, double value, struct atv_err *err)
{
	char entry[64];
	int k = fake_player_command_index(name);

	if (k < 0)
		return atv_err_set(err, ATV_E_USAGE, "unknown command \"%s\"", name);
	if (pl->refused[k]) {
		snprintf(entry, sizeof entry, "%s:refused", name);
		fake_player_log(pl->cmds, entry);
		return atv_err_set(err, ATV_E_REFUSED, "%s is refused", name);
	}
	if (run_command(pl, (enum fake_command)k, value, entry, sizeof entry) < 0) {
		snprintf(entry, sizeof entry, "%s:failed", name);
		fake_player_log(pl->cmds, entry);
		return atv_err_set(err, ATV_E_USAGE, "%s failed", name);
	}
	fake_player_log(pl->cmds, entry);
	fake_player_changed(pl, FAKE_PUSH_PLAYING);
	return 0;
}

void fake_player_key(struct fake_player *pl, const char *name, long long down_ms, long long up_ms)
{
	char entry[48];
	enum press kind = PRESS_TAP;
	bool after_home_hold = pl->last_press == PRESS_HOLD && strcmp(pl->last_key, "home") == 0 &&
			       down_ms - pl->last_up_ms <= TURN_OFF_MS;

	if (up_ms - down_ms >= HOLD_MS) {
		kind = PRESS_HOLD;
		snprintf(entry, sizeof entry, "%s:hold", name);
		fake_player_log(pl->keys, entry);
	} else if (pl->last_press == PRESS_TAP && strcmp(pl->last_key, name) == 0 &&
		   down_ms - pl->last_up_ms <= DOUBLE_MS && json_array_size(pl->keys) > 0) {
		/* the second tap turns the first one's entry into a double tap */
		kind = PRESS_DOUBLE;
		snprintf(entry, sizeof entry, "%s:double", name);
		json_array_set_new(pl->keys, json_array_size(pl->keys) - 1, json_string(entry));
	} else {
		fake_player_log(pl->keys, name);
	}
	snprintf(pl->last_key, sizeof pl->last_key, "%s", name);
	pl->last_press = kind;
	pl->last_up_ms = up_ms;

	if (strcmp(name, "select") == 0 && after_home_hold) {
		fake_player_set_power(pl, false); /* pyatv's turn_off: home held, then select */
	} else if (strcmp(name, "suspend") == 0) {
		fake_player_set_power(pl, false);
	} else if (strcmp(name, "wakeup") == 0) {
		fake_player_set_power(pl, true);
	} else if (strcmp(name, "volume_up") == 0 || strcmp(name, "volume_down") == 0) {
		fake_player_volume_step(pl, name[7] == 'u');
	}
}

void fake_player_log_key(struct fake_player *pl, const char *name)
{
	fake_player_log(pl->keys, name);
	snprintf(pl->last_key, sizeof pl->last_key, "%s", name);
	pl->last_press = PRESS_TAP;
	pl->last_up_ms = fake_mono_ms();
}

void fake_player_artwork(const struct fake_player *pl, const uint8_t **png, size_t *len)
{
	*png = art_png[pl->playing.track];
	*len = PNG_LEN;
}

json_t *fake_player_state(const struct fake_player *pl)
{
	json_t *o = json_object(), *ref = json_array();

	for (size_t i = 0; i < FAKE_N_COMMANDS; i++)
		if (pl->refused[i])
			json_array_append_new(ref, json_string(command_names[i]));
	json_object_set_new(o, "power", json_string(pl->power ? "on" : "off"));
	json_object_set_new(o, "volume", json_integer(pl->volume));
	json_object_set_new(o, "playing", playing_json(&pl->playing));
	json_object_set_new(o, "keys", json_deep_copy(pl->keys));
	json_object_set_new(o, "commands", json_deep_copy(pl->cmds));
	json_object_set_new(o, "refused", ref);
	return o;
}
