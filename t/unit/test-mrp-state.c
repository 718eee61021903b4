/* test-mrp-state - the MRP now-playing cache and its "playing" object
 * (cmocka): field mapping, null handling, position math, hash, power,
 * volume and the client/player bookkeeping. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mrp_state.h"

#define MUSIC "com.apple.TVMusic"
/* protobuf-c string fields are char *; the literals here are never written */
#define S(lit) ((char *)(lit))
#define TS     700000000.0		    /* an elapsedTimeTimestamp: seconds since 2001-01-01 */
#define AT(s)  (TS + ATV_COCOA_EPOCH + (s)) /* Unix time s seconds after TS */

/* A SET_STATE for bundle/player with one queue item of metadata md. */
struct set_state {
	Mrp__ProtocolMessage m;
	Mrp__SetStateMessage st;
	Mrp__PlayerPath path;
	Mrp__NowPlayingClient client;
	Mrp__NowPlayingPlayer player;
	Mrp__PlaybackQueue q;
	Mrp__ContentItem item, *items[1];
	Mrp__ContentItemMetadata md;
	Mrp__SupportedCommands sc;
	Mrp__CommandInfo ci[2], *cis[2];
};

static void set_state_init(struct set_state *s, const char *bundle, const char *player, int state)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SetStateMessage st = MRP__SET_STATE_MESSAGE__INIT;
	Mrp__PlayerPath path = MRP__PLAYER_PATH__INIT;
	Mrp__NowPlayingClient client = MRP__NOW_PLAYING_CLIENT__INIT;
	Mrp__NowPlayingPlayer pl = MRP__NOW_PLAYING_PLAYER__INIT;
	Mrp__PlaybackQueue q = MRP__PLAYBACK_QUEUE__INIT;
	Mrp__ContentItem item = MRP__CONTENT_ITEM__INIT;
	Mrp__ContentItemMetadata md = MRP__CONTENT_ITEM_METADATA__INIT;

	memset(s, 0, sizeof *s);
	s->m = m;
	s->st = st;
	s->path = path;
	s->client = client;
	s->player = pl;
	s->q = q;
	s->item = item;
	s->md = md;
	s->m.has_type = 1;
	s->m.type = MRP__PROTOCOL_MESSAGE__TYPE__SET_STATE_MESSAGE;
	s->m.setstatemessage = &s->st;
	s->st.playerpath = &s->path;
	s->path.client = &s->client;
	s->client.bundleidentifier = (char *)bundle;
	if (player) {
		s->path.player = &s->player;
		s->player.identifier = (char *)player;
	}
	if (state >= 0) {
		s->st.has_playbackstate = 1;
		s->st.playbackstate = state;
	}
	s->st.playbackqueue = &s->q;
	s->q.has_location = 1;
	s->q.n_contentitems = 1;
	s->items[0] = &s->item;
	s->q.contentitems = s->items;
	s->item.identifier = S("item-1");
	s->item.metadata = &s->md;
}

static void song(Mrp__ContentItemMetadata *md)
{
	md->title = S("Song");
	md->trackartistname = S("Artist");
	md->albumname = S("Album");
	md->genre = S("Pop");
	md->has_duration = 1;
	md->duration = 200.7;
	md->has_elapsedtime = 1;
	md->elapsedtime = 10.0;
	md->has_elapsedtimetimestamp = 1;
	md->elapsedtimetimestamp = TS;
	md->has_playbackrate = 1;
	md->playbackrate = 1.0f;
	md->has_mediatype = 1;
	md->mediatype = MRP__CONTENT_ITEM_METADATA__MEDIA_TYPE__MEDIA_TYPE_AUDIO;
}

static void modes(struct set_state *s, int shuffle, int repeat)
{
	Mrp__SupportedCommands sc = MRP__SUPPORTED_COMMANDS__INIT;
	Mrp__CommandInfo ci = MRP__COMMAND_INFO__INIT;

	s->sc = sc;
	s->ci[0] = ci;
	s->ci[1] = ci;
	s->ci[0].has_command = 1;
	s->ci[0].command = MRP__COMMAND__CMD_CHANGE_SHUFFLE_MODE;
	s->ci[0].has_shufflemode = 1;
	s->ci[0].shufflemode = shuffle;
	s->ci[1].has_command = 1;
	s->ci[1].command = MRP__COMMAND__CMD_CHANGE_REPEAT_MODE;
	s->ci[1].has_repeatmode = 1;
	s->ci[1].repeatmode = repeat;
	s->cis[0] = &s->ci[0];
	s->cis[1] = &s->ci[1];
	s->sc.n_supportedcommands = 2;
	s->sc.supportedcommands = s->cis;
	s->st.supportedcommands = &s->sc;
}

static void now_playing_client(struct atv_mrp_state *st, const char *bundle, const char *name)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SetNowPlayingClientMessage n = MRP__SET_NOW_PLAYING_CLIENT_MESSAGE__INIT;
	Mrp__NowPlayingClient c = MRP__NOW_PLAYING_CLIENT__INIT;

	c.bundleidentifier = (char *)bundle;
	c.displayname = (char *)name;
	n.client = &c;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__SET_NOW_PLAYING_CLIENT_MESSAGE;
	m.setnowplayingclientmessage = &n;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_PLAYING);
}

static void feed(struct atv_mrp_state *st, struct set_state *s)
{
	assert_int_equal(atv_mrp_state_update(st, &s->m, NULL), ATV_MRP_STATE_PLAYING);
}

/* The playing object at now, compact JSON; the caller frees it. */
static char *playing(const struct atv_mrp_state *st, double now)
{
	json_t *p = atv_mrp_state_playing(st, now);
	char *s;

	assert_non_null(p);
	s = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	assert_non_null(s);
	return s;
}

static json_t *field(const struct atv_mrp_state *st, double now, const char *key)
{
	json_t *p = atv_mrp_state_playing(st, now), *v;

	assert_non_null(p);
	v = json_object_get(p, key);
	assert_non_null(v);
	json_incref(v);
	json_decref(p);
	return v;
}

static long long int_field(const struct atv_mrp_state *st, double now, const char *key)
{
	json_t *v = field(st, now, key);
	long long n;

	assert_true(json_is_integer(v));
	n = json_integer_value(v);
	json_decref(v);
	return n;
}

static void assert_str_field(const struct atv_mrp_state *st, double now, const char *key,
			     const char *want)
{
	json_t *v = field(st, now, key);

	if (!want) {
		assert_true(json_is_null(v));
	} else {
		assert_true(json_is_string(v));
		assert_string_equal(json_string_value(v), want);
	}
	json_decref(v);
}

static void test_empty(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	char *s;

	(void)state;
	assert_non_null(st);
	assert_int_equal(atv_mrp_state_power(st), -1);
	assert_int_equal(atv_mrp_state_volume(st), -1);
	assert_int_equal(atv_mrp_state_location(st), -1);
	s = playing(st, AT(0));
	/* every field present, in atvscript's order, nothing invented;
	 * the hash is pyatv's over four Nones */
	assert_string_equal(
	    s, "{\"media_type\":\"unknown\",\"device_state\":\"idle\",\"title\":null,"
	       "\"artist\":null,\"album\":null,\"genre\":null,\"total_time\":null,"
	       "\"position\":null,\"shuffle\":\"off\",\"repeat\":\"off\",\"series_name\":null,"
	       "\"season_number\":null,\"episode_number\":null,\"content_identifier\":null,"
	       "\"app\":null,\"app_id\":null,\"hash\":"
	       "\"ca496c14642c78af6dd4250191fe175f6dafd72b4c33bcbab43c454aae051da1\"}");
	free(s);
	atv_mrp_state_free(st);
	atv_mrp_state_free(NULL);
}

static void test_mapping(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	struct set_state s;
	char *j;

	(void)state;
	set_state_init(&s, MUSIC, "player-1", MRP__PLAYBACK_STATE__PLAYBACK_PLAYING);
	song(&s.md);
	modes(&s, MRP__SHUFFLE_MODE__SHUFFLE_ALBUMS, MRP__REPEAT_MODE__REPEAT_ONE);
	feed(st, &s);
	/* no active client yet: nothing is shown (as pyatv) */
	assert_str_field(st, AT(0), "device_state", "idle");
	now_playing_client(st, MUSIC, "Music");
	/* the player sent without SET_NOW_PLAYING_PLAYER is not the default */
	assert_str_field(st, AT(0), "device_state", "idle");
	set_state_init(&s, MUSIC, NULL, MRP__PLAYBACK_STATE__PLAYBACK_PLAYING);
	song(&s.md);
	modes(&s, MRP__SHUFFLE_MODE__SHUFFLE_ALBUMS, MRP__REPEAT_MODE__REPEAT_ONE);
	feed(st, &s);
	j = playing(st, AT(5));
	assert_string_equal(
	    j, "{\"media_type\":\"music\",\"device_state\":\"playing\",\"title\":\"Song\","
	       "\"artist\":\"Artist\",\"album\":\"Album\",\"genre\":\"Pop\",\"total_time\":200,"
	       "\"position\":15,\"shuffle\":\"albums\",\"repeat\":\"track\","
	       "\"series_name\":null,\"season_number\":null,\"episode_number\":null,"
	       "\"content_identifier\":null,\"app\":\"Music\",\"app_id\":\"com.apple.TVMusic\","
	       "\"hash\":\"aec3f112a35d2e2c5bc4f80e883f280d92938e4c77815b565be86772a6733189\"}");
	free(j);
	assert_int_equal(atv_mrp_state_location(st), 0);

	/* TV episode fields, video, a content identifier as the hash */
	set_state_init(&s, MUSIC, NULL, MRP__PLAYBACK_STATE__PLAYBACK_PAUSED);
	s.md.title = S("Pilot");
	s.md.seriesname = S("Show");
	s.md.has_seasonnumber = 1;
	s.md.seasonnumber = 2;
	s.md.has_episodenumber = 1;
	s.md.episodenumber = 7;
	s.md.contentidentifier = S("tt-123");
	s.md.has_mediatype = 1;
	s.md.mediatype = MRP__CONTENT_ITEM_METADATA__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
	modes(&s, MRP__SHUFFLE_MODE__SHUFFLE_SONGS, MRP__REPEAT_MODE__REPEAT_ALL);
	feed(st, &s);
	assert_str_field(st, AT(0), "media_type", "video");
	assert_str_field(st, AT(0), "device_state", "paused");
	assert_str_field(st, AT(0), "series_name", "Show");
	assert_int_equal(int_field(st, AT(0), "season_number"), 2);
	assert_int_equal(int_field(st, AT(0), "episode_number"), 7);
	assert_str_field(st, AT(0), "content_identifier", "tt-123");
	assert_str_field(st, AT(0), "hash", "tt-123");
	assert_str_field(st, AT(0), "shuffle", "songs");
	assert_str_field(st, AT(0), "repeat", "all");
	/* a new queue replaced the old item: its fields are gone */
	assert_str_field(st, AT(0), "artist", NULL);
	assert_str_field(st, AT(0), "total_time", NULL);
	assert_str_field(st, AT(0), "position", NULL);
	atv_mrp_state_free(st);
}

static void test_zero_and_empty_kept(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	struct set_state s;

	(void)state;
	now_playing_client(st, MUSIC, NULL);
	set_state_init(&s, MUSIC, NULL, MRP__PLAYBACK_STATE__PLAYBACK_PAUSED);
	s.md.title = S("");
	s.md.trackartistname = S("Artist");
	s.md.albumname = S("Album");
	s.md.genre = S("");
	s.md.has_duration = 1;
	s.md.duration = 0;
	s.md.has_seasonnumber = 1;
	s.md.seasonnumber = 0;
	s.md.has_episodenumber = 1;
	s.md.episodenumber = 0;
	s.md.has_elapsedtime = 1;
	s.md.elapsedtime = 0;
	s.md.contentidentifier = S("");
	feed(st, &s);
	assert_str_field(st, AT(0), "title", "");
	assert_str_field(st, AT(0), "genre", "");
	assert_int_equal(int_field(st, AT(0), "total_time"), 0);
	assert_int_equal(int_field(st, AT(0), "season_number"), 0);
	assert_int_equal(int_field(st, AT(0), "episode_number"), 0);
	assert_int_equal(int_field(st, AT(0), "position"), 0);
	assert_str_field(st, AT(0), "content_identifier", "");
	/* an empty content identifier is not a hash: pyatv's sha256 of
	 * "" + "Artist" + "Album" + "0" */
	assert_str_field(st, AT(0), "hash",
			 "ad329ad34621708321c799099c433399ada222387e6eea2bddabfa60d1a8c4b1");
	/* a client without display name: app null, app_id set */
	assert_str_field(st, AT(0), "app", NULL);
	assert_str_field(st, AT(0), "app_id", MUSIC);
	atv_mrp_state_free(st);
}

/* A new cache where Music plays song() as item item_id (NULL: none) of
 * its default player; s stays usable for more SET_STATEs. */
static struct atv_mrp_state *music_playing(struct set_state *s, const char *item_id)
{
	struct atv_mrp_state *st = atv_mrp_state_new();

	assert_non_null(st);
	now_playing_client(st, MUSIC, "Music");
	set_state_init(s, MUSIC, NULL, MRP__PLAYBACK_STATE__PLAYBACK_PLAYING);
	song(&s->md);
	s->item.identifier = (char *)item_id;
	feed(st, s);
	return st;
}

static void test_position(void **state)
{
	struct set_state s;
	struct atv_mrp_state *st = music_playing(&s, "item-1");

	(void)state;
	/* elapsedTime + (now - elapsedTimeTimestamp) * playbackRate, Cocoa epoch */
	assert_int_equal(int_field(st, AT(0), "position"), 10);
	assert_int_equal(int_field(st, AT(0.9), "position"), 10);
	assert_int_equal(int_field(st, AT(60.5), "position"), 70);
	/* never past the duration, never below 0 */
	assert_int_equal(int_field(st, AT(5000), "position"), 200);
	assert_int_equal(int_field(st, AT(-100), "position"), 0);
	assert_true(atv_mrp_state_rate(st) == 1.0);

	/* rate 2 fast forward: seeking, twice as fast */
	s.md.playbackrate = 2.0f;
	feed(st, &s);
	assert_str_field(st, AT(0), "device_state", "seeking");
	assert_int_equal(int_field(st, AT(30), "position"), 70);

	/* playing at rate 0 is paused and does not move */
	s.md.playbackrate = 0.0f;
	feed(st, &s);
	assert_str_field(st, AT(0), "device_state", "paused");
	assert_int_equal(int_field(st, AT(100), "position"), 10);
	assert_true(atv_mrp_state_rate(st) == 0.0);

	/* paused with a stale rate 1: the state wins */
	s.st.playbackstate = MRP__PLAYBACK_STATE__PLAYBACK_PAUSED;
	s.md.playbackrate = 1.0f;
	feed(st, &s);
	assert_int_equal(int_field(st, AT(100), "position"), 10);

	/* no timestamp: the elapsed time as it is */
	s.st.playbackstate = MRP__PLAYBACK_STATE__PLAYBACK_PLAYING;
	s.md.has_elapsedtimetimestamp = 0;
	feed(st, &s);
	assert_int_equal(int_field(st, AT(100), "position"), 10);

	/* no elapsed time: null; non-finite numbers are absent */
	s.md.has_elapsedtime = 0;
	s.md.duration = 0.0 / 0.0;
	feed(st, &s);
	assert_str_field(st, AT(0), "position", NULL);
	assert_str_field(st, AT(0), "total_time", NULL);
	atv_mrp_state_free(st);
}

/* An UPDATE_CONTENT_ITEM for MUSIC's default player with n items. */
static void update_content(struct atv_mrp_state *st, Mrp__ContentItem **items, size_t n)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__UpdateContentItemMessage u = MRP__UPDATE_CONTENT_ITEM_MESSAGE__INIT;
	Mrp__PlayerPath path = MRP__PLAYER_PATH__INIT;
	Mrp__NowPlayingClient c = MRP__NOW_PLAYING_CLIENT__INIT;

	c.bundleidentifier = S(MUSIC);
	path.client = &c;
	u.n_contentitems = n;
	u.contentitems = items;
	u.playerpath = &path;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__UPDATE_CONTENT_ITEM_MESSAGE;
	m.updatecontentitemmessage = &u;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_PLAYING);
}

/* One item: id (NULL: none) gets the title. */
static void update_item(struct atv_mrp_state *st, const char *id, const char *title)
{
	Mrp__ContentItem it = MRP__CONTENT_ITEM__INIT, *items[1] = {&it};
	Mrp__ContentItemMetadata md = MRP__CONTENT_ITEM_METADATA__INIT;

	md.title = (char *)title;
	it.identifier = (char *)id;
	it.metadata = &md;
	update_content(st, items, 1);
}

static void test_update_items(void **state)
{
	struct set_state s;
	struct atv_mrp_state *st = music_playing(&s, "item-1");
	Mrp__ContentItem a = MRP__CONTENT_ITEM__INIT, b = MRP__CONTENT_ITEM__INIT, *items[2];
	Mrp__ContentItemMetadata ma = MRP__CONTENT_ITEM_METADATA__INIT;
	Mrp__ContentItemMetadata mb = MRP__CONTENT_ITEM_METADATA__INIT;

	(void)state;
	/* item-1 gets a new title and elapsed time, other-item is not shown */
	ma.title = S("New Title");
	ma.has_elapsedtime = 1;
	ma.elapsedtime = 50;
	a.identifier = S("item-1");
	a.metadata = &ma;
	mb.title = S("Other");
	b.identifier = S("other-item");
	b.metadata = &mb;
	items[0] = &b;
	items[1] = &a;
	update_content(st, items, 2);
	assert_str_field(st, AT(0), "title", "New Title");
	assert_str_field(st, AT(0), "artist", "Artist"); /* merged, not replaced */
	assert_int_equal(int_field(st, AT(0), "position"), 50);
	assert_int_equal(int_field(st, AT(0), "total_time"), 200);
	atv_mrp_state_free(st);
}

/* pyatv matches items by identifier with absent equal to "" (protobuf
 * strings): an update without identifier merges into a shown item that
 * has none (or ""), and only into such an item. */
static void test_update_items_without_identifier(void **state)
{
	struct set_state s;
	struct atv_mrp_state *st = music_playing(&s, NULL);

	(void)state;
	update_item(st, NULL, "Retitled");
	assert_str_field(st, AT(0), "title", "Retitled");
	assert_str_field(st, AT(0), "artist", "Artist");
	update_item(st, "", "Empty identifier");
	assert_str_field(st, AT(0), "title", "Empty identifier");
	update_item(st, "item-1", "Someone else's");
	assert_str_field(st, AT(0), "title", "Empty identifier");
	/* "" on the shown item, absent on the update */
	s.item.identifier = S("");
	feed(st, &s);
	update_item(st, NULL, "Again");
	assert_str_field(st, AT(0), "title", "Again");
	/* an item with an identifier takes no update without one */
	s.item.identifier = S("item-1");
	feed(st, &s);
	update_item(st, NULL, "Not this one");
	assert_str_field(st, AT(0), "title", "Song");
	update_item(st, "item-1", "This one");
	assert_str_field(st, AT(0), "title", "This one");
	atv_mrp_state_free(st);
}

static void test_clients_players(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	struct set_state s;
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SetNowPlayingPlayerMessage np = MRP__SET_NOW_PLAYING_PLAYER_MESSAGE__INIT;
	Mrp__RemovePlayerMessage rp = MRP__REMOVE_PLAYER_MESSAGE__INIT;
	Mrp__RemoveClientMessage rc = MRP__REMOVE_CLIENT_MESSAGE__INIT;
	Mrp__UpdateClientMessage uc = MRP__UPDATE_CLIENT_MESSAGE__INIT;
	Mrp__SetDefaultSupportedCommandsMessage dc =
	    MRP__SET_DEFAULT_SUPPORTED_COMMANDS_MESSAGE__INIT;
	Mrp__PlayerPath path = MRP__PLAYER_PATH__INIT;
	Mrp__NowPlayingClient c = MRP__NOW_PLAYING_CLIENT__INIT;
	Mrp__NowPlayingPlayer p = MRP__NOW_PLAYING_PLAYER__INIT;

	(void)state;
	c.bundleidentifier = S("com.example.tv");
	p.identifier = S("pip");
	path.client = &c;
	path.player = &p;
	set_state_init(&s, "com.example.tv", "pip", MRP__PLAYBACK_STATE__PLAYBACK_PLAYING);
	s.md.title = S("Picture");
	feed(st, &s);
	now_playing_client(st, "com.example.tv", "Example");
	assert_str_field(st, AT(0), "title", NULL);
	/* SET_NOW_PLAYING_PLAYER picks the player */
	np.playerpath = &path;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__SET_NOW_PLAYING_PLAYER_MESSAGE;
	m.setnowplayingplayermessage = &np;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_PLAYING);
	assert_str_field(st, AT(0), "title", "Picture");
	assert_str_field(st, AT(0), "app", "Example");

	/* UPDATE_CLIENT renames the app */
	c.displayname = S("Example TV");
	uc.client = &c;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__UPDATE_CLIENT_MESSAGE;
	m.setnowplayingplayermessage = NULL;
	m.updateclientmessage = &uc;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_PLAYING);
	assert_str_field(st, AT(0), "app", "Example TV");

	/* default supported commands of the client fill in the modes */
	set_state_init(&s, "com.example.tv", NULL, -1);
	modes(&s, MRP__SHUFFLE_MODE__SHUFFLE_SONGS, MRP__REPEAT_MODE__REPEAT_ALL);
	dc.playerpath = &path;
	dc.supportedcommands = &s.sc;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__SET_DEFAULT_SUPPORTED_COMMANDS_MESSAGE;
	m.updateclientmessage = NULL;
	m.setdefaultsupportedcommandsmessage = &dc;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_PLAYING);
	assert_str_field(st, AT(0), "shuffle", "songs");
	assert_str_field(st, AT(0), "repeat", "all");

	/* the active player removed: back to the default player (none) */
	rp.playerpath = &path;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__REMOVE_PLAYER_MESSAGE;
	m.setdefaultsupportedcommandsmessage = NULL;
	m.removeplayermessage = &rp;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_PLAYING);
	assert_str_field(st, AT(0), "title", NULL);
	assert_str_field(st, AT(0), "device_state", "idle");
	assert_str_field(st, AT(0), "app", "Example TV");
	/* removing it again changes nothing */
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);

	/* the active client removed: nothing plays */
	rc.client = &c;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__REMOVE_CLIENT_MESSAGE;
	m.removeplayermessage = NULL;
	m.removeclientmessage = &rc;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_PLAYING);
	assert_str_field(st, AT(0), "app", NULL);
	assert_str_field(st, AT(0), "app_id", NULL);

	/* types without state, and messages without payload, are ignored */
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__REMOVE_CLIENT_MESSAGE;
	m.removeclientmessage = NULL;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);
	m.type = 999;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);
	m.has_type = 0;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);
	atv_mrp_state_free(st);
}

static void test_paused_without_item_is_idle(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	struct set_state s;

	(void)state;
	now_playing_client(st, MUSIC, "Music");
	set_state_init(&s, MUSIC, NULL, MRP__PLAYBACK_STATE__PLAYBACK_PAUSED);
	s.q.n_contentitems = 0;
	feed(st, &s);
	assert_str_field(st, AT(0), "device_state", "idle");
	assert_int_equal(atv_mrp_state_location(st), -1);
	/* a location past the items is no item either */
	set_state_init(&s, MUSIC, NULL, MRP__PLAYBACK_STATE__PLAYBACK_STOPPED);
	s.q.location = 3;
	s.md.title = S("Hidden");
	feed(st, &s);
	assert_str_field(st, AT(0), "device_state", "stopped");
	assert_str_field(st, AT(0), "title", NULL);
	atv_mrp_state_free(st);
}

static void test_power_volume(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__DeviceInfoMessage di = MRP__DEVICE_INFO_MESSAGE__INIT;
	Mrp__VolumeDidChangeMessage v = MRP__VOLUME_DID_CHANGE_MESSAGE__INIT;
	Mrp__VolumeControlCapabilitiesDidChangeMessage cap =
	    MRP__VOLUME_CONTROL_CAPABILITIES_DID_CHANGE_MESSAGE__INIT;

	(void)state;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE;
	m.deviceinfomessage = &di;
	/* without logicalDeviceCount the power stays unknown */
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);
	assert_int_equal(atv_mrp_state_power(st), -1);
	di.has_logicaldevicecount = 1;
	di.logicaldevicecount = 1;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_POWER);
	assert_int_equal(atv_mrp_state_power(st), 1);
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0); /* no change */
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_UPDATE_MESSAGE;
	di.logicaldevicecount = 0;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_POWER);
	assert_int_equal(atv_mrp_state_power(st), 0);

	m.type = MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_DID_CHANGE_MESSAGE;
	m.deviceinfomessage = NULL;
	m.volumedidchangemessage = &v;
	v.has_volume = 1;
	v.volume = 0.424f;
	v.outputdeviceuid = S("speaker");
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_VOLUME);
	assert_int_equal(atv_mrp_state_volume(st), 42);
	/* once the output device is known, others' changes are ignored */
	cap.outputdeviceuid = S("tv");
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_CONTROL_CAPABILITIES_DID_CHANGE_MESSAGE;
	m.volumedidchangemessage = NULL;
	m.volumecontrolcapabilitiesdidchangemessage = &cap;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);
	assert_string_equal(atv_mrp_state_output(st), "tv");
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_DID_CHANGE_MESSAGE;
	m.volumecontrolcapabilitiesdidchangemessage = NULL;
	m.volumedidchangemessage = &v;
	v.volume = 0.9f;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);
	assert_int_equal(atv_mrp_state_volume(st), 42);
	v.outputdeviceuid = S("tv");
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_VOLUME);
	assert_int_equal(atv_mrp_state_volume(st), 90);
	/* out of range and non-finite values */
	v.volume = 7.0f;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_VOLUME);
	assert_int_equal(atv_mrp_state_volume(st), 100);
	v.volume = 0.0f / 0.0f;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);
	assert_int_equal(atv_mrp_state_volume(st), 100);
	assert_int_equal(atv_mrp_state_set_output(st, NULL, NULL), 0);
	assert_null(atv_mrp_state_output(st));
	atv_mrp_state_free(st);
}

/* The output devices as a compact JSON string (freed by the caller). */
static char *outputs(const struct atv_mrp_state *st)
{
	json_t *a = atv_mrp_state_outputs(st);
	char *s;

	assert_non_null(a);
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	assert_non_null(s);
	return s;
}

static void assert_outputs(const struct atv_mrp_state *st, const char *want)
{
	char *got = outputs(st);

	assert_string_equal(got, want);
	free(got);
}

/* pyatv's list from DEVICE_INFO: the leader unless a proxy, then each
 * grouped device by deviceUID; levels from VOLUME_DID_CHANGE. */
static void test_output_devices(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__ProtocolMessage vm = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__DeviceInfoMessage di = MRP__DEVICE_INFO_MESSAGE__INIT;
	Mrp__VolumeDidChangeMessage v = MRP__VOLUME_DID_CHANGE_MESSAGE__INIT;
	Mrp__GroupedDevice g[ATV_MRP_STATE_MAX_OUTPUTS + 1], *gp[ATV_MRP_STATE_MAX_OUTPUTS + 1];
	char *big = malloc(ATV_MRP_STATE_MAX_STRING + 2);
	struct atv_err err = {0};
	bool self = false;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i <= ATV_MRP_STATE_MAX_OUTPUTS; i++) {
		g[i] = (Mrp__GroupedDevice)MRP__GROUPED_DEVICE__INIT;
		g[i].deviceuid = S("HP");
		gp[i] = &g[i];
	}
	assert_outputs(st, "[]");
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE;
	m.deviceinfomessage = &di;
	/* not a group leader: no output device of its own */
	di.uniqueidentifier = S("TV");
	di.deviceuid = S("TV-OUT");
	di.name = S("Den");
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0);
	assert_outputs(st, "[]");
	/* pyatv's device_uid: deviceUID, our volume's output device */
	assert_string_equal(atv_mrp_state_output(st), "TV-OUT");
	di.has_isgroupleader = di.isgroupleader = 1;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_OUTPUTS);
	assert_outputs(st, "[{\"identifier\":\"TV\",\"name\":\"Den\",\"volume\":null}]");
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), 0); /* no change */
	/* a speaker joins: by deviceUID, not uniqueIdentifier */
	g[0].uniqueidentifier = S("not-this");
	g[0].deviceuid = S("HP1");
	g[0].name = S("Kitchen");
	di.groupeddevices = gp;
	di.n_groupeddevices = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_UPDATE_MESSAGE;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_OUTPUTS);
	assert_outputs(st, "[{\"identifier\":\"TV\",\"name\":\"Den\",\"volume\":null},"
			   "{\"identifier\":\"HP1\",\"name\":\"Kitchen\",\"volume\":null}]");
	/* the speaker's level: an output device's, not our volume */
	vm.has_type = 1;
	vm.type = MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_DID_CHANGE_MESSAGE;
	vm.volumedidchangemessage = &v;
	v.has_volume = 1;
	v.volume = 0.4f;
	v.outputdeviceuid = S("HP1");
	assert_int_equal(atv_mrp_state_update(st, &vm, NULL), ATV_MRP_STATE_OUTPUTS);
	assert_int_equal(atv_mrp_state_volume(st), -1);
	/* ours: the volume and the leader's entry (its own identifier aside) */
	v.volume = 0.5f;
	v.outputdeviceuid = S("TV-OUT");
	assert_int_equal(atv_mrp_state_update(st, &vm, NULL),
			 ATV_MRP_STATE_OUTPUTS | ATV_MRP_STATE_VOLUME);
	assert_outputs(st, "[{\"identifier\":\"TV\",\"name\":\"Den\",\"volume\":50},"
			   "{\"identifier\":\"HP1\",\"name\":\"Kitchen\",\"volume\":40}]");
	/* a proxy group player does not play itself; levels are kept, a
	 * grouped device without deviceUID is left out */
	di.has_isproxygroupplayer = di.isproxygroupplayer = 1;
	g[1].deviceuid = NULL;
	di.n_groupeddevices = 2;
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_OUTPUTS);
	assert_outputs(st, "[{\"identifier\":\"HP1\",\"name\":\"Kitchen\",\"volume\":40}]");
	assert_string_equal(atv_mrp_state_output_id(st, 0, &self), "HP1");
	assert_false(self);
	assert_null(atv_mrp_state_output_id(st, 1, NULL));
	/* a rename is a change; bytes that are not UTF-8 become U+FFFD */
	g[0].name = S("Kitchen \xff");
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_OUTPUTS);
	assert_outputs(st, "[{\"identifier\":\"HP1\",\"name\":\"Kitchen \xef\xbf\xbd\","
			   "\"volume\":40}]");
	g[0].name = S("Kitchen 2");
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_OUTPUTS);
	/* hostile: too many devices, or an over-long name or identifier: the
	 * whole list refused, the old one kept */
	di.n_groupeddevices = ATV_MRP_STATE_MAX_OUTPUTS + 1;
	g[1].deviceuid = S("HP");
	assert_int_equal(atv_mrp_state_update(st, &m, &err), -ATV_E_LIMIT);
	assert_non_null(strstr(err.msg, "65 output devices (at most 64)"));
	memset(big, 'x', ATV_MRP_STATE_MAX_STRING + 1);
	big[ATV_MRP_STATE_MAX_STRING + 1] = '\0';
	di.n_groupeddevices = 2;
	g[1].name = big;
	assert_int_equal(atv_mrp_state_update(st, &m, &err), -ATV_E_LIMIT);
	g[1].name = NULL;
	g[1].deviceuid = big;
	assert_int_equal(atv_mrp_state_update(st, &m, &err), -ATV_E_LIMIT);
	assert_outputs(st, "[{\"identifier\":\"HP1\",\"name\":\"Kitchen 2\",\"volume\":40}]");
	/* exactly at the bounds: kept */
	big[ATV_MRP_STATE_MAX_STRING] = '\0';
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_OUTPUTS);
	assert_string_equal(atv_mrp_state_output_id(st, 1, NULL), big);
	di.n_groupeddevices = ATV_MRP_STATE_MAX_OUTPUTS;
	g[1].deviceuid = S("HP");
	assert_int_equal(atv_mrp_state_update(st, &m, NULL), ATV_MRP_STATE_OUTPUTS);
	assert_string_equal(atv_mrp_state_output_id(st, ATV_MRP_STATE_MAX_OUTPUTS - 1, NULL), "HP");
	free(big);
	atv_mrp_state_free(st);
}

static void test_hostile_strings_and_caps(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	struct set_state s;
	char bundle[32];
	json_t *v;

	(void)state;
	now_playing_client(st, MUSIC, "Music");
	set_state_init(&s, MUSIC, NULL, MRP__PLAYBACK_STATE__PLAYBACK_PLAYING);
	s.md.title = S("ok\xff\xc3(\xe2\x82\xac");
	feed(st, &s);
	v = field(st, AT(0), "title");
	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), "ok\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac");
	json_decref(v);
	/* more clients than the cap are dropped, not stored */
	for (int i = 0; i < 2 * ATV_MRP_STATE_MAX_CLIENTS; i++) {
		snprintf(bundle, sizeof bundle, "app.%d", i);
		set_state_init(&s, bundle, NULL, 1);
		assert_true(atv_mrp_state_update(st, &s.m, NULL) >= 0);
	}
	for (int i = 0; i < 2 * ATV_MRP_STATE_MAX_PLAYERS; i++) {
		snprintf(bundle, sizeof bundle, "player.%d", i);
		set_state_init(&s, MUSIC, bundle, 1);
		assert_true(atv_mrp_state_update(st, &s.m, NULL) >= 0);
	}
	assert_str_field(st, AT(0), "app_id", MUSIC);
	atv_mrp_state_free(st);
}

/* Strings a device sends are kept to ATV_MRP_STATE_MAX_STRING bytes:
 * text cut at a character boundary, a client or player named by a longer
 * identifier not kept at all. */
static void test_string_caps(void **state)
{
	struct atv_mrp_state *st = atv_mrp_state_new();
	struct set_state s;
	size_t big = (size_t)ATV_MRP_STATE_MAX_STRING * 4;
	char *text = malloc(big + 1), *id = malloc(big + 1);
	json_t *v;

	(void)state;
	assert_non_null(text);
	assert_non_null(id);
	/* "x" then two-byte characters: the cap falls inside one */
	text[0] = 'x';
	for (size_t i = 1; i + 1 < big; i += 2)
		memcpy(text + i, "\xc3\xa9", 2);
	text[big - 1] = 0;
	memset(id, 'p', big);
	id[big] = 0;
	now_playing_client(st, MUSIC, "Music");
	set_state_init(&s, MUSIC, NULL, MRP__PLAYBACK_STATE__PLAYBACK_PLAYING);
	s.md.title = text;
	s.md.albumname = text;
	feed(st, &s);
	v = field(st, AT(0), "title");
	assert_int_equal(strlen(json_string_value(v)), ATV_MRP_STATE_MAX_STRING - 1);
	assert_memory_equal(json_string_value(v), text, ATV_MRP_STATE_MAX_STRING - 1);
	json_decref(v);
	update_item(st, "item-1", text);
	v = field(st, AT(0), "title");
	assert_int_equal(strlen(json_string_value(v)), ATV_MRP_STATE_MAX_STRING - 1);
	json_decref(v);
	/* an over-long player or client: the message is dropped */
	set_state_init(&s, MUSIC, id, MRP__PLAYBACK_STATE__PLAYBACK_PAUSED);
	assert_int_equal(atv_mrp_state_update(st, &s.m, NULL), 0);
	set_state_init(&s, id, NULL, MRP__PLAYBACK_STATE__PLAYBACK_PAUSED);
	assert_int_equal(atv_mrp_state_update(st, &s.m, NULL), 0);
	assert_str_field(st, AT(0), "app_id", MUSIC);
	assert_str_field(st, AT(0), "device_state", "playing");
	/* exactly at the cap is kept */
	id[ATV_MRP_STATE_MAX_STRING] = 0;
	now_playing_client(st, id, "Long");
	assert_str_field(st, AT(0), "app_id", id);
	free(text);
	free(id);
	atv_mrp_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_mapping),
	    cmocka_unit_test(test_zero_and_empty_kept),
	    cmocka_unit_test(test_position),
	    cmocka_unit_test(test_update_items),
	    cmocka_unit_test(test_update_items_without_identifier),
	    cmocka_unit_test(test_clients_players),
	    cmocka_unit_test(test_paused_without_item_is_idle),
	    cmocka_unit_test(test_power_volume),
	    cmocka_unit_test(test_output_devices),
	    cmocka_unit_test(test_hostile_strings_and_caps),
	    cmocka_unit_test(test_string_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
