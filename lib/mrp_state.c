/* mrp_state.c - the now-playing cache of an MRP connection.
 *
 * The model follows pyatv's player state manager (pyatv/protocols/mrp/
 * player_state.py) so that the "playing" object matches what atvscript
 * prints for the same device: clients by bundle identifier, players by
 * identifier inside them, an active client (SET_NOW_PLAYING_CLIENT) whose
 * active player (SET_NOW_PLAYING_PLAYER, else "MediaRemote-DefaultPlayer")
 * is what plays. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrp_state.h"
#include "nowplaying.h"
#include "banned.h"

#define DEFAULT_PLAYER "MediaRemote-DefaultPlayer"

/* The metadata fields shown, with has_ flags: absent is not zero. */
struct meta {
	char *title, *artist, *album, *genre, *series, *content_id;
	bool has_duration, has_elapsed, has_ts, has_rate, has_season, has_episode, has_media_type;
	double duration, elapsed, ts, rate;
	int32_t season, episode;
	int media_type;
};

/* What the ChangeShuffleMode / ChangeRepeatMode entries of a supported
 * command list say: the current modes are reported there. */
struct modes {
	bool has_shuffle, has_repeat;
	int shuffle, repeat;
	bool listed;	     /* a supported command list was seen */
	uint64_t enabled[4]; /* its enabled commands (values 0..255) */
};

struct player {
	char *id;
	bool has_state;
	int state; /* Mrp__PlaybackState */
	/* the queue's item at its location, the only one shown */
	bool has_item;
	int location;
	char *item_id;
	struct meta m;
	struct modes cmds;
};

struct client {
	char *bundle, *name;
	struct player *players[ATV_MRP_STATE_MAX_PLAYERS];
	size_t n;
	struct player *active; /* NULL: the default player */
	struct modes cmds;     /* SET_DEFAULT_SUPPORTED_COMMANDS */
};

/* An output device of the group. */
struct outdev {
	char *id, *name; /* name NULL: none given */
	int volume;	 /* 0..100, -1 unknown */
	bool self;	 /* the device we talk to */
};

struct atv_mrp_state {
	struct client *clients[ATV_MRP_STATE_MAX_CLIENTS];
	size_t n;
	struct client *active;
	int power, volume;
	char *output;
	struct outdev outs[ATV_MRP_STATE_MAX_OUTPUTS];
	size_t n_outs;
};

/* ---- the cache ---- */

/* A copy of s cut to ATV_MRP_STATE_MAX_STRING bytes (at a character
 * boundary), or NULL when out of memory: what a device can make us keep
 * stays bounded. */
static char *copy_str(const char *s)
{
	size_t n = strnlen(s, ATV_MRP_STATE_MAX_STRING + 1);
	char *c;

	if (n > ATV_MRP_STATE_MAX_STRING) {
		n = ATV_MRP_STATE_MAX_STRING;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if ((c = malloc(n + 1))) {
		memcpy(c, s, n);
		c[n] = '\0';
	}
	return c;
}

/* An identifier we key on (bundle, player): longer ones are not kept (a
 * cut one could stand for two). */
static bool key_ok(const char *s)
{
	return strnlen(s, ATV_MRP_STATE_MAX_STRING + 1) <= ATV_MRP_STATE_MAX_STRING;
}

static void meta_clear(struct meta *m)
{
	free(m->title);
	free(m->artist);
	free(m->album);
	free(m->genre);
	free(m->series);
	free(m->content_id);
	memset(m, 0, sizeof *m);
}

static void player_free(struct player *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->item_id);
	meta_clear(&p->m);
	free(p);
}

static void client_free(struct client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		player_free(c->players[i]);
	free(c->bundle);
	free(c->name);
	free(c);
}

struct atv_mrp_state *atv_mrp_state_new(void)
{
	struct atv_mrp_state *s = calloc(1, sizeof *s);

	if (s) {
		s->power = -1;
		s->volume = -1;
	}
	return s;
}

static void outs_clear(struct outdev *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].id);
		free(o[i].name);
	}
}

void atv_mrp_state_free(struct atv_mrp_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		client_free(s->clients[i]);
	outs_clear(s->outs, s->n_outs);
	free(s->output);
	free(s);
}

int atv_mrp_state_set_output(struct atv_mrp_state *s, const char *uid, struct atv_err *err)
{
	char *copy = NULL;

	if (uid && !(copy = copy_str(uid)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	free(s->output);
	s->output = copy;
	return 0;
}

const char *atv_mrp_state_output(const struct atv_mrp_state *s)
{
	return s->output;
}

int atv_mrp_state_power(const struct atv_mrp_state *s)
{
	return s->power;
}

int atv_mrp_state_volume(const struct atv_mrp_state *s)
{
	return s->volume;
}

/* Replace *dst with a copy of src when src is set (a merge: absent fields
 * keep their value).  -1 when out of memory. */
static int merge_str(char **dst, const char *src)
{
	char *copy;

	if (!src)
		return 0;
	if (!(copy = copy_str(src)))
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

static int meta_merge(struct meta *d, const Mrp__ContentItemMetadata *m)
{
	int r = 0;

	r |= merge_str(&d->title, m->title);
	r |= merge_str(&d->artist, m->trackartistname);
	r |= merge_str(&d->album, m->albumname);
	r |= merge_str(&d->genre, m->genre);
	r |= merge_str(&d->series, m->seriesname);
	r |= merge_str(&d->content_id, m->contentidentifier);
	/* Non-finite numbers from a peer are treated as absent. */
	if (m->has_duration && isfinite(m->duration))
		d->has_duration = true, d->duration = m->duration;
	if (m->has_elapsedtime && isfinite(m->elapsedtime))
		d->has_elapsed = true, d->elapsed = m->elapsedtime;
	if (m->has_elapsedtimetimestamp && isfinite(m->elapsedtimetimestamp))
		d->has_ts = true, d->ts = m->elapsedtimetimestamp;
	if (m->has_playbackrate && isfinite(m->playbackrate))
		d->has_rate = true, d->rate = m->playbackrate;
	if (m->has_seasonnumber)
		d->has_season = true, d->season = m->seasonnumber;
	if (m->has_episodenumber)
		d->has_episode = true, d->episode = m->episodenumber;
	if (m->has_mediatype)
		d->has_media_type = true, d->media_type = m->mediatype;
	return r;
}

static void modes_from(struct modes *d, const Mrp__SupportedCommands *sc)
{
	memset(d, 0, sizeof *d);
	d->listed = sc != NULL;
	for (size_t i = 0; sc && i < sc->n_supportedcommands; i++) {
		const Mrp__CommandInfo *ci = sc->supportedcommands[i];

		if (!ci || !ci->has_command)
			continue;
		if ((!ci->has_enabled || ci->enabled) && ci->command >= 0 && ci->command < 256)
			d->enabled[ci->command / 64] |= 1ull << (ci->command % 64);
		if (ci->command == MRP__COMMAND__CMD_CHANGE_SHUFFLE_MODE) {
			d->has_shuffle = true;
			d->shuffle = ci->has_shufflemode ? (int)ci->shufflemode : 0;
		} else if (ci->command == MRP__COMMAND__CMD_CHANGE_REPEAT_MODE) {
			d->has_repeat = true;
			d->repeat = ci->has_repeatmode ? (int)ci->repeatmode : 0;
		}
	}
}

static struct client *find_client(const struct atv_mrp_state *s, const char *bundle, size_t *idx)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->clients[i]->bundle, bundle) == 0) {
			if (idx)
				*idx = i;
			return s->clients[i];
		}
	}
	return NULL;
}

/* The client for c (bundle identifier "" when absent), created on first
 * sight; its display name updated when c has one.  NULL when out of memory
 * or when it cannot be kept: the table is full or the identifier too long
 * (*full set). */
static struct client *get_client(struct atv_mrp_state *s, const Mrp__NowPlayingClient *c,
				 bool *full)
{
	const char *bundle = c && c->bundleidentifier ? c->bundleidentifier : "";
	struct client *cl = find_client(s, bundle, NULL);

	*full = false;
	if (!cl) {
		if (s->n == ATV_MRP_STATE_MAX_CLIENTS || !key_ok(bundle)) {
			*full = true;
			return NULL;
		}
		cl = calloc(1, sizeof *cl);
		if (!cl || !(cl->bundle = strdup(bundle))) {
			free(cl);
			return NULL;
		}
		s->clients[s->n++] = cl;
	}
	if (c && c->displayname && c->displayname[0] && merge_str(&cl->name, c->displayname) < 0)
		return NULL;
	return cl;
}

/* A player without identifier is the client's default player. */
static const char *player_id(const Mrp__NowPlayingPlayer *p)
{
	return p && p->identifier && p->identifier[0] ? p->identifier : DEFAULT_PLAYER;
}

static struct player *find_player(const struct client *cl, const char *id, size_t *idx)
{
	for (size_t i = 0; i < cl->n; i++) {
		if (strcmp(cl->players[i]->id, id) == 0) {
			if (idx)
				*idx = i;
			return cl->players[i];
		}
	}
	return NULL;
}

static struct player *get_player(struct atv_mrp_state *s, const Mrp__PlayerPath *path, bool *full)
{
	struct client *cl = get_client(s, path ? path->client : NULL, full);
	const char *id = player_id(path ? path->player : NULL);
	struct player *p;

	if (!cl)
		return NULL;
	p = find_player(cl, id, NULL);
	if (p)
		return p;
	if (cl->n == ATV_MRP_STATE_MAX_PLAYERS || !key_ok(id)) {
		*full = true;
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (!p || !(p->id = strdup(id))) {
		free(p);
		return NULL;
	}
	cl->players[cl->n++] = p;
	return p;
}

/* NULL from get_client/get_player: a full table or an over-long
 * identifier drops the message (a device with that many apps, or such
 * names, is hostile or broken), no memory is an error. */
static int lookup_failed(bool full, struct atv_err *err)
{
	if (full)
		return 0;
	return atv_err_set(err, ATV_E_NOMEM, "out of memory");
}

static struct client *client_of(const struct atv_mrp_state *s, const struct player *p)
{
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->clients[i]->n; j++)
			if (s->clients[i]->players[j] == p)
				return s->clients[i];
	return NULL;
}

/* SET_STATE and SET_DEFAULT_SUPPORTED_COMMANDS share their layout; only
 * the fields used here differ in meaning. */
static int set_state(struct atv_mrp_state *s, const Mrp__SetStateMessage *m, struct atv_err *err)
{
	bool full;
	struct player *p = get_player(s, m->playerpath, &full);
	struct client *cl;
	const Mrp__PlaybackQueue *q = m->playbackqueue;

	if (!p)
		return lookup_failed(full, err);
	cl = client_of(s, p);
	if (m->displayname && m->displayname[0] && merge_str(&cl->name, m->displayname) < 0)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (m->has_playbackstate) {
		p->has_state = true;
		p->state = m->playbackstate;
	}
	if (m->supportedcommands)
		modes_from(&p->cmds, m->supportedcommands);
	if (q) {
		/* The queue replaces the items; keep the one at location. */
		const Mrp__ContentItem *it = NULL;
		int loc = q->has_location ? q->location : 0;

		if (loc >= 0 && (size_t)loc < q->n_contentitems)
			it = q->contentitems[loc];
		meta_clear(&p->m);
		free(p->item_id);
		p->item_id = NULL;
		p->has_item = it != NULL;
		p->location = loc;
		if (it) {
			if ((it->identifier && !(p->item_id = copy_str(it->identifier))) ||
			    (it->metadata && meta_merge(&p->m, it->metadata) < 0))
				return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		}
	}
	return ATV_MRP_STATE_PLAYING;
}

static int update_items(struct atv_mrp_state *s, const Mrp__UpdateContentItemMessage *m,
			struct atv_err *err)
{
	bool full;
	struct player *p = get_player(s, m->playerpath, &full);

	if (!p)
		return lookup_failed(full, err);
	for (size_t i = 0; i < m->n_contentitems; i++) {
		const Mrp__ContentItem *it = m->contentitems[i];

		/* Items are matched by identifier, an absent one equal to ""
		 * (pyatv compares the protobuf strings): an update without
		 * identifier goes to the shown item when it has none either.
		 * Only the shown item is kept. */
		if (!p->has_item || !it || !it->metadata ||
		    strcmp(it->identifier ? it->identifier : "", p->item_id ? p->item_id : "") != 0)
			continue;
		if (meta_merge(&p->m, it->metadata) < 0)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return ATV_MRP_STATE_PLAYING;
}

static int remove_client(struct atv_mrp_state *s, const Mrp__NowPlayingClient *c)
{
	size_t i;
	struct client *cl = find_client(s, c && c->bundleidentifier ? c->bundleidentifier : "", &i);

	if (!cl)
		return 0;
	if (s->active == cl)
		s->active = NULL;
	client_free(cl);
	memmove(s->clients + i, s->clients + i + 1, (s->n - i - 1) * sizeof s->clients[0]);
	s->n--;
	return ATV_MRP_STATE_PLAYING;
}

static int remove_player(struct atv_mrp_state *s, const Mrp__PlayerPath *path)
{
	const Mrp__NowPlayingClient *c = path ? path->client : NULL;
	struct client *cl =
	    find_client(s, c && c->bundleidentifier ? c->bundleidentifier : "", NULL);
	struct player *p;
	size_t i;

	if (!cl || !(p = find_player(cl, player_id(path ? path->player : NULL), &i)))
		return 0;
	if (cl->active == p)
		cl->active = NULL;
	player_free(p);
	memmove(cl->players + i, cl->players + i + 1, (cl->n - i - 1) * sizeof cl->players[0]);
	cl->n--;
	return ATV_MRP_STATE_PLAYING;
}

static int set_power(struct atv_mrp_state *s, const Mrp__DeviceInfoMessage *d)
{
	int power;

	/* pyatv: logicalDeviceCount >= 1 is on, 0 off, absent unknown. */
	if (!d || !d->has_logicaldevicecount)
		return 0;
	power = d->logicaldevicecount > 0;
	if (power == s->power)
		return 0;
	s->power = power;
	return ATV_MRP_STATE_POWER;
}

/* A string of the output device list: NULL (absent) is fine, longer than
 * the bound is not (the list is refused whole). */
static bool out_str_ok(const char *v)
{
	return !v || strnlen(v, ATV_MRP_STATE_MAX_STRING + 1) <= ATV_MRP_STATE_MAX_STRING;
}

/* One entry of the new list o[*n]: copies of id and name, the level it
 * had in the old list.  -1 when out of memory. */
static int out_add(const struct atv_mrp_state *s, struct outdev *o, size_t *n, const char *id,
		   const char *name, bool self)
{
	struct outdev *d = &o[*n];

	d->id = strdup(id);
	d->name = name ? strdup(name) : NULL;
	d->volume = self ? s->volume : -1;
	d->self = self;
	if (!d->id || (name && !d->name)) {
		free(d->id);
		free(d->name);
		return -1;
	}
	for (size_t i = 0; i < s->n_outs; i++)
		if (strcmp(s->outs[i].id, id) == 0 && s->outs[i].volume >= 0)
			d->volume = s->outs[i].volume;
	(*n)++;
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* DEVICE_INFO (_UPDATE): the output devices as pyatv lists them.  Entries
 * without identifier cannot be named in a command and are left out. */
static int set_outputs(struct atv_mrp_state *s, const Mrp__DeviceInfoMessage *d,
		       struct atv_err *err)
{
	struct outdev o[ATV_MRP_STATE_MAX_OUTPUTS];
	bool self = d->has_isgroupleader && d->isgroupleader &&
		    !(d->has_isproxygroupplayer && d->isproxygroupplayer) && d->uniqueidentifier;
	size_t n = 0, total = d->n_groupeddevices + self;
	bool changed, ok;

	if (total > ATV_MRP_STATE_MAX_OUTPUTS)
		return atv_err_set(err, ATV_E_LIMIT, "the device lists %zu output devices (at most %d)",
				   total, ATV_MRP_STATE_MAX_OUTPUTS);
	ok = out_str_ok(d->uniqueidentifier) && (!self || out_str_ok(d->name));
	for (size_t i = 0; ok && i < d->n_groupeddevices; i++)
		ok = out_str_ok(d->groupeddevices[i]->deviceuid) &&
		     out_str_ok(d->groupeddevices[i]->name);
	if (!ok)
		return atv_err_set(err, ATV_E_LIMIT,
				   "the device names an output device with more than %d bytes",
				   ATV_MRP_STATE_MAX_STRING);
	if (self && out_add(s, o, &n, d->uniqueidentifier, d->name, true) < 0)
		goto nomem;
	for (size_t i = 0; i < d->n_groupeddevices; i++) {
		const Mrp__GroupedDevice *g = d->groupeddevices[i];

		if (g->deviceuid && out_add(s, o, &n, g->deviceuid, g->name, false) < 0)
			goto nomem;
	}
	changed = n != s->n_outs;
	for (size_t i = 0; i < n && !changed; i++)
		changed = strcmp(o[i].id, s->outs[i].id) != 0 || !same_str(o[i].name, s->outs[i].name);
	outs_clear(s->outs, s->n_outs);
	memcpy(s->outs, o, n * sizeof o[0]);
	s->n_outs = n;
	return changed ? ATV_MRP_STATE_OUTPUTS : 0;
nomem:
	outs_clear(o, n);
	return atv_err_set(err, ATV_E_NOMEM, "out of memory");
}

/* What DEVICE_INFO (_UPDATE) says: power, the output devices, and our
 * output device (pyatv's device_uid) until the device names another. */
static int device_info(struct atv_mrp_state *s, const Mrp__DeviceInfoMessage *d,
		       struct atv_err *err)
{
	const char *uid;
	int r;

	if (!d)
		return 0;
	uid = d->clusterid ? d->clusterid : d->deviceuid;
	if (!s->output && uid && (r = atv_mrp_state_set_output(s, uid, err)) < 0)
		return r;
	if ((r = set_outputs(s, d, err)) < 0)
		return r;
	return r | set_power(s, d);
}

static int set_volume(struct atv_mrp_state *s, const Mrp__VolumeDidChangeMessage *v)
{
	const char *uid;
	double pct;
	int vol, r = 0;
	bool mine;

	if (!v || !v->has_volume || !isfinite(v->volume))
		return 0;
	uid = v->outputdeviceuid;
	pct = v->volume * 100.0;
	vol = pct <= 0 ? 0 : pct >= 100 ? 100 : (int)(pct + 0.5);
	mine = !s->output || !uid || strcmp(uid, s->output) == 0;
	/* the level of the output device it names (ours: the device itself,
	 * whatever identifier its entry has) */
	for (size_t i = 0; i < s->n_outs; i++)
		if (((uid && strcmp(s->outs[i].id, uid) == 0) || (mine && s->outs[i].self)) &&
		    s->outs[i].volume != vol) {
			s->outs[i].volume = vol;
			r = ATV_MRP_STATE_OUTPUTS;
		}
	/* Only changes of our output device (when we know it). */
	if (!mine || vol == s->volume)
		return r;
	s->volume = vol;
	return r | ATV_MRP_STATE_VOLUME;
}

int atv_mrp_state_update(struct atv_mrp_state *s, const Mrp__ProtocolMessage *m,
			 struct atv_err *err)
{
	bool full;
	struct client *cl;
	struct player *p;

	if (!m->has_type)
		return 0;
	switch ((int)m->type) {
	case MRP__PROTOCOL_MESSAGE__TYPE__SET_STATE_MESSAGE:
		return m->setstatemessage ? set_state(s, m->setstatemessage, err) : 0;
	case MRP__PROTOCOL_MESSAGE__TYPE__UPDATE_CONTENT_ITEM_MESSAGE:
		return m->updatecontentitemmessage
			   ? update_items(s, m->updatecontentitemmessage, err)
			   : 0;
	case MRP__PROTOCOL_MESSAGE__TYPE__SET_NOW_PLAYING_CLIENT_MESSAGE:
		if (!m->setnowplayingclientmessage)
			return 0;
		cl = get_client(s, m->setnowplayingclientmessage->client, &full);
		if (!cl)
			return lookup_failed(full, err);
		s->active = cl;
		return ATV_MRP_STATE_PLAYING;
	case MRP__PROTOCOL_MESSAGE__TYPE__SET_NOW_PLAYING_PLAYER_MESSAGE:
		if (!m->setnowplayingplayermessage)
			return 0;
		p = get_player(s, m->setnowplayingplayermessage->playerpath, &full);
		if (!p)
			return lookup_failed(full, err);
		client_of(s, p)->active = p;
		return ATV_MRP_STATE_PLAYING;
	case MRP__PROTOCOL_MESSAGE__TYPE__UPDATE_CLIENT_MESSAGE:
		if (!m->updateclientmessage)
			return 0;
		cl = get_client(s, m->updateclientmessage->client, &full);
		return cl ? ATV_MRP_STATE_PLAYING : lookup_failed(full, err);
	case MRP__PROTOCOL_MESSAGE__TYPE__REMOVE_CLIENT_MESSAGE:
		return m->removeclientmessage ? remove_client(s, m->removeclientmessage->client)
					      : 0;
	case MRP__PROTOCOL_MESSAGE__TYPE__REMOVE_PLAYER_MESSAGE:
		return m->removeplayermessage ? remove_player(s, m->removeplayermessage->playerpath)
					      : 0;
	case MRP__PROTOCOL_MESSAGE__TYPE__SET_DEFAULT_SUPPORTED_COMMANDS_MESSAGE: {
		const Mrp__SetDefaultSupportedCommandsMessage *d =
		    m->setdefaultsupportedcommandsmessage;

		if (!d)
			return 0;
		cl = get_client(s, d->playerpath ? d->playerpath->client : NULL, &full);
		if (!cl)
			return lookup_failed(full, err);
		modes_from(&cl->cmds, d->supportedcommands);
		return ATV_MRP_STATE_PLAYING;
	}
	case MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE:
	case MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_UPDATE_MESSAGE:
		return device_info(s, m->deviceinfomessage, err);
	case MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_DID_CHANGE_MESSAGE:
		return set_volume(s, m->volumedidchangemessage);
	case MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_CONTROL_CAPABILITIES_DID_CHANGE_MESSAGE:
		/* pyatv learns the output device whose volume we see here. */
		if (!m->volumecontrolcapabilitiesdidchangemessage ||
		    !m->volumecontrolcapabilitiesdidchangemessage->outputdeviceuid)
			return 0;
		return atv_mrp_state_set_output(
		    s, m->volumecontrolcapabilitiesdidchangemessage->outputdeviceuid, err);
	default: return 0;
	}
}

/* ---- the output devices ---- */

json_t *atv_mrp_state_outputs(const struct atv_mrp_state *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->n_outs; i++) {
		const struct outdev *d = &s->outs[i];
		json_t *o = json_pack("{s:o,s:o,s:o}", "identifier", atv_nowplaying_str(d->id),
				      "name", atv_nowplaying_str(d->name), "volume",
				      d->volume >= 0 ? json_integer(d->volume) : json_null());

		if (json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

const char *atv_mrp_state_output_id(const struct atv_mrp_state *s, size_t i, bool *self)
{
	if (i >= s->n_outs)
		return NULL;
	if (self)
		*self = s->outs[i].self;
	return s->outs[i].id;
}

/* ---- the "playing" object ---- */

/* The player shown: the active client's active player, else its default
 * player; NULL when nothing plays. */
static const struct player *playing(const struct atv_mrp_state *s)
{
	const struct client *cl = s->active;

	if (!cl)
		return NULL;
	if (cl->active)
		return cl->active;
	return find_player(cl, DEFAULT_PLAYER, NULL);
}

/* pyatv compares rates with math.isclose. */
static bool near(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

enum dstate { DS_IDLE, DS_PLAYING, DS_PAUSED, DS_STOPPED, DS_LOADING, DS_SEEKING };

/* pyatv's playback_state/device_state: no state yet is idle, paused with
 * nothing queued is idle, playing at rate 0 is paused and at a rate other
 * than 1 seeking, and a state it does not know is paused. */
static enum dstate device_state(const struct player *p)
{
	if (!p || !p->has_state)
		return DS_IDLE;
	switch (p->state) {
	case MRP__PLAYBACK_STATE__PLAYBACK_PAUSED: return p->has_item ? DS_PAUSED : DS_IDLE;
	case MRP__PLAYBACK_STATE__PLAYBACK_PLAYING:
		if (!p->has_item || !p->m.has_rate)
			return DS_PLAYING;
		if (near(p->m.rate, 0.0))
			return DS_PAUSED;
		if (near(p->m.rate, 1.0))
			return DS_PLAYING;
		return DS_SEEKING;
	case MRP__PLAYBACK_STATE__PLAYBACK_STOPPED: return DS_STOPPED;
	case MRP__PLAYBACK_STATE__PLAYBACK_INTERRUPTED: return DS_LOADING;
	case MRP__PLAYBACK_STATE__PLAYBACK_SEEKING: return DS_SEEKING;
	default: return DS_PAUSED;
	}
}

static const char *const dstate_names[] = {"idle",    "playing", "paused",
					   "stopped", "loading", "seeking"};

int atv_mrp_state_location(const struct atv_mrp_state *s)
{
	const struct player *p = playing(s);

	return p && p->has_item ? p->location : -1;
}

double atv_mrp_state_rate(const struct atv_mrp_state *s)
{
	const struct player *p = playing(s);

	switch (device_state(p)) {
	case DS_PLAYING: return p->has_item && p->m.has_rate ? p->m.rate : 1.0;
	case DS_SEEKING: return p->has_item && p->m.has_rate ? p->m.rate : 0.0;
	default: return 0.0;
	}
}

static const char *media_type_name(const struct player *p)
{
	if (p && p->has_item && p->m.has_media_type) {
		if (p->m.media_type == MRP__CONTENT_ITEM_METADATA__MEDIA_TYPE__MEDIA_TYPE_AUDIO)
			return "music";
		if (p->m.media_type == MRP__CONTENT_ITEM_METADATA__MEDIA_TYPE__MEDIA_TYPE_VIDEO)
			return "video";
	}
	return "unknown";
}

static int enabled_in(const struct modes *m, int cmd)
{
	return cmd >= 0 && cmd < 256 && (m->enabled[cmd / 64] >> (cmd % 64) & 1);
}

int atv_mrp_state_supports(const struct atv_mrp_state *s, int cmd)
{
	const struct player *p = playing(s);
	const struct client *cl = p ? client_of(s, p) : s->active;

	if (p && p->cmds.listed)
		return enabled_in(&p->cmds, cmd);
	if (cl && cl->cmds.listed)
		return enabled_in(&cl->cmds, cmd);
	return -1;
}

/* The mode from the player's supported commands, else its client's
 * defaults, as pyatv's command_info looks them up. */
static const char *shuffle_name(const struct atv_mrp_state *s, const struct player *p)
{
	const struct client *cl = p ? client_of(s, p) : NULL;
	int mode = 0;

	if (p && p->cmds.has_shuffle)
		mode = p->cmds.shuffle;
	else if (cl && cl->cmds.has_shuffle)
		mode = cl->cmds.shuffle;
	if (mode == MRP__SHUFFLE_MODE__SHUFFLE_ALBUMS)
		return "albums";
	if (mode == MRP__SHUFFLE_MODE__SHUFFLE_SONGS)
		return "songs";
	return "off";
}

static const char *repeat_name(const struct atv_mrp_state *s, const struct player *p)
{
	const struct client *cl = p ? client_of(s, p) : NULL;
	int mode = 0;

	if (p && p->cmds.has_repeat)
		mode = p->cmds.repeat;
	else if (cl && cl->cmds.has_repeat)
		mode = cl->cmds.repeat;
	if (mode == MRP__REPEAT_MODE__REPEAT_ONE)
		return "track";
	if (mode == MRP__REPEAT_MODE__REPEAT_ALL)
		return "all";
	return "off";
}

/* Seconds into the item: elapsedTime at elapsedTimeTimestamp (Cocoa
 * epoch) advancing with the rate; never below 0 or past the duration.
 * -1 when there is no elapsed time, or one too large to be a whole number
 * in JSON. */
static long long position(const struct atv_mrp_state *s, const struct player *p, double now)
{
	double pos;

	if (!p || !p->has_item || !p->m.has_elapsed)
		return -1;
	pos = p->m.elapsed;
	if (p->m.has_ts && p->m.ts != 0)
		pos += (now - (p->m.ts + ATV_COCOA_EPOCH)) * atv_mrp_state_rate(s);
	if (!isfinite(pos) || pos < 0)
		pos = 0;
	if (p->m.has_duration && p->m.duration > 0 && pos > p->m.duration)
		pos = p->m.duration;
	/* whole seconds, as pyatv's int() */
	return pos < 9.0e15 ? (long long)pos : -1;
}

json_t *atv_mrp_state_playing(const struct atv_mrp_state *s, double now)
{
	const struct player *p = playing(s);
	const struct meta *m = p && p->has_item ? &p->m : NULL;
	const struct client *cl = p ? client_of(s, p) : s->active;
	struct atv_nowplaying np = {
	    .media_type = media_type_name(p),
	    .device_state = dstate_names[device_state(p)],
	    .total_time = -1,
	    .position = position(s, p, now),
	    .shuffle = shuffle_name(s, p),
	    .repeat = repeat_name(s, p),
	    .app = cl ? cl->name : NULL,
	    .app_id = cl && cl->bundle[0] ? cl->bundle : NULL,
	};

	if (m) {
		np.title = m->title;
		np.artist = m->artist;
		np.album = m->album;
		np.genre = m->genre;
		np.series_name = m->series;
		np.has_season = m->has_season;
		np.season = m->season;
		np.has_episode = m->has_episode;
		np.episode = m->episode;
		np.content_id = m->content_id;
		if (m->has_duration && m->duration >= 0 && m->duration < 9.0e15)
			np.total_time = (long long)m->duration;
	}
	return atv_nowplaying_json(&np);
}
