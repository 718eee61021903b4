/* mrp-server.c - the accessory side of MRP, serving the fake Apple TV's
 * player (player.c) as a peer of the DMAP and AirPlay servers.
 *
 * MRP (pyatv protocols/mrp; protocols.md 4.4-4.5): on a TCP connection
 * every message is a varint-length frame holding one ProtocolMessage.  The
 * controller starts with DEVICE_INFO (answered in the clear), pairs or
 * verifies with HAP TLV8 inside CRYPTO_PAIRING, and after pair-verify M4
 * both directions are ChaCha20-Poly1305 with the MediaRemote keys.  Until
 * then only DEVICE_INFO and CRYPTO_PAIRING are allowed.
 *
 * Every message with an identifier that we handle gets exactly one reply
 * carrying it: DEVICE_INFO, SEND_COMMAND_RESULT, GET_VOLUME_RESULT,
 * SET_STATE (for PLAYBACK_QUEUE_REQUEST), KEYBOARD, GENERIC, or else an
 * empty message of type 0 (as pyatv's own fake device answers key
 * presses, SET_VOLUME and CLIENT_UPDATES_CONFIG), so a controller may wait
 * for any of them.  What a message changed is pushed to the subscribed
 * connections before that reply, so a controller that waits for the reply
 * already has the new state.  Pushes carry no identifier.
 *
 * Every length from the peer is bounded (frames, TLV8, the protobuf unpack
 * budget, keys held down); a peer that breaks the protocol is disconnected.
 *
 * A connection has one of two transports: a TCP socket of its own (the
 * direct MRP service), or a peer of the AirPlay 2 tunnel
 * (fake_mrp_peer_new: airplay-tunnel.c hands in each message from its data
 * channel and takes each of ours to send).  A tunnel peer is verified from
 * the start (the AirPlay pair-verify did that), has no cipher of its own
 * and needs no CRYPTO_PAIRING (tunnel-companion.md 1.3); everything else,
 * the player included, is the same.  pyatv still runs MRP's pair-verify in
 * the tunnel when it holds MRP credentials for the device (an Apple TV
 * before tvOS 15 with both pairings): that is answered as on a direct
 * connection, but nothing more is sealed (pyatv's AirPlayMrpConnection
 * ignores the keys: the data channel is sealed already).
 *
 * A device whose MRP service says tvOS 15 or later (SystemBuildVersion 19
 * and up) still announces the service but closes every direct connection
 * at once, as such devices do (pyatv #1357): only the tunnel serves MRP.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "fake.h"
#include "hap.h"
#include "jsonl.h"
#include "log.h"
#include "mrp_frame.h"
#include "mrp_msg.h"
#include "tlv8.h"

#define MRP_SERVICE "_mediaremotetv._tcp"
#define MAX_CONNS 64
#define IN_FRAME_MAX ((size_t)256 << 10) /* controllers send small messages */
#define OUT_MAX ((size_t)8 << 20)        /* queued for a peer that does not read */
#define READ_ROUNDS 8                    /* reads per wakeup, so one peer cannot starve others */
#define MAX_PRESSED 16  /* keys one connection may hold down at once */
#define SKIP_DEFAULT 15.0 /* seconds: the preferred interval SET_STATE offers */
#define DEFAULT_PLAYER_ID "MediaRemote-DefaultPlayer"
#define ART_SIDE 4 /* the artwork PNGs are 4x4 */
#define MAX_OUTPUTS 64   /* output devices a device file may list */
#define OUTPUT_ID_MAX 255 /* bytes in an output device identifier */
#define HOSTILE_OUTPUTS 1000 /* grouped devices of the many-outputs push */
#define HOSTILE_NAME 4096    /* bytes of the long-output-name push's name */

/* The player's commands (enum fake_command order) as MRP commands: what
 * SEND_COMMAND handles, and the supported-commands list of SET_STATE. */
static const Mrp__Command commands[FAKE_N_COMMANDS] = {
    MRP__COMMAND__CMD_PLAY,
    MRP__COMMAND__CMD_PAUSE,
    MRP__COMMAND__CMD_TOGGLE_PLAY_PAUSE,
    MRP__COMMAND__CMD_STOP,
    MRP__COMMAND__CMD_NEXT_TRACK,
    MRP__COMMAND__CMD_PREVIOUS_TRACK,
    MRP__COMMAND__CMD_SKIP_FORWARD,
    MRP__COMMAND__CMD_SKIP_BACKWARD,
    MRP__COMMAND__CMD_SEEK_TO_PLAYBACK_POSITION,
    MRP__COMMAND__CMD_CHANGE_SHUFFLE_MODE,
    MRP__COMMAND__CMD_CHANGE_REPEAT_MODE,
};
#define N_COMMANDS FAKE_N_COMMANDS

/* HID keys (usage page, usage) as pyatv sends them (protocols.md 4.5). */
struct key {
	uint16_t page, usage;
	const char *name;
};

static const struct key keys[] = {
	{1, 0x8C, "up"},         {1, 0x8D, "down"},         {1, 0x8B, "left"},
	{1, 0x8A, "right"},      {1, 0x89, "select"},       {1, 0x86, "menu"},
	{1, 0x82, "suspend"},    {1, 0x83, "wakeup"},       {12, 0x40, "home"},
	{12, 0x60, "top_menu"},  {12, 0xE9, "volume_up"},   {12, 0xEA, "volume_down"},
	{12, 0xB7, "stop"},      {12, 0xB5, "next"},        {12, 0xB6, "previous"},
};

/* ---- the server ---- */

struct pressed {
	uint16_t page, usage;
	long long down_ms;
};

enum exchange { X_NONE, X_SETUP, X_VERIFY };

struct conn {
	struct fake_mrp *m;
	struct conn *next;
	int fd;
	bool dead; /* closed; freed by the reaper, so lists may be walked while closing */
	char name[INET_ADDRSTRLEN + 8];
	struct atv_mrp_frame_dec dec;
	struct atv_buf out; /* framed bytes not written yet */
	enum exchange exch;
	struct atv_hap_setup *setup;
	struct atv_hap_verify *verify;
	bool encrypted; /* pair-verify done (tunnel peers: from the start) */
	bool sealed;    /* the MediaRemote cipher is on */
	struct atv_hap_cipher cipher;
	bool subscribed;  /* sent CLIENT_UPDATES_CONFIG: gets every push */
	/* tunnel peers (fd -1): where our messages go, who hears of the end */
	fake_mrp_send_fn tsend;
	fake_mrp_closed_fn tclosed;
	void *tctx;
	char *np_client;  /* the now-playing client it was told last ("" idle, NULL never) */
	struct pressed pressed[MAX_PRESSED];
	size_t n_pressed;
};

/* An AirPlay output device the Apple TV knows (another speaker) and
 * whether it plays in the group now. */
struct output {
	char *id, *name;
	int volume; /* 0..100 */
	bool grouped;
};

struct fake_mrp {
	struct fake_loop *loop;
	struct fake_device *dev;
	struct fake_service *svc; /* NULL: no MRP service, only the player */
	char *unique_id, *build, *model;
	bool direct_off; /* tvOS 15+: direct connections are closed at once */
	uint8_t seed[ATV_ED25519_SEED_LEN];
	struct in_addr addr;
	int lfd, port;
	struct conn *conns;
	int reap_timer;
	char pin[FAKE_MAX_PIN + 1];
	struct fake_pairings pairings; /* ours: "protocol":"mrp" */

	struct fake_player *pl; /* borrowed */

	/* the speaker group: the device itself (its volume the player's),
	 * then the others of its file's "output_devices" */
	bool self_grouped;
	struct output outs[MAX_OUTPUTS];
	size_t n_outs;

	struct atv_buf in, pt, ct; /* scratch: decrypted input, packed and sealed output */
};

/* ---- pairings ---- */

static void add_pairing(struct fake_mrp *m, const struct atv_hap_peer *peer)
{
	struct atv_err err = {0, ""};

	/* the same controller pairing again replaces its key; a full store
	 * was refused at M1 already */
	if (fake_pairings_add(&m->pairings, peer->id, peer->idlen, peer->ltpk, &err) < 0)
		atv_warn("mrp: %s", err.msg);
}

void fake_mrp_revoke(struct fake_mrp *m)
{
	struct atv_err err = {0, ""};

	atv_info("mrp: forgetting %zu pairings", m->pairings.n);
	if (fake_pairings_forget(&m->pairings, &err) < 0)
		atv_warn("mrp: %s", err.msg);
}

int fake_mrp_set_pin(struct fake_mrp *m, const char *pin, struct atv_err *err)
{
	if (!fake_pin_valid(pin))
		return atv_err_set(err, ATV_E_USAGE, "a pin is 1 to %d digits", FAKE_MAX_PIN);
	snprintf(m->pin, sizeof m->pin, "%s", pin);
	return 0;
}

/* ---- connections: life cycle and output ---- */

static void exch_free(struct conn *c)
{
	atv_hap_setup_free(c->setup);
	atv_hap_verify_free(c->verify);
	c->setup = NULL;
	c->verify = NULL;
	c->exch = X_NONE;
}

static void conn_free(struct conn *c)
{
	exch_free(c);
	atv_hap_cipher_wipe(&c->cipher);
	atv_mrp_frame_dec_release(&c->dec);
	atv_buf_release(&c->out);
	free(c->np_client);
	free(c);
}

static void reap(struct fake_loop *loop, void *ctx)
{
	struct fake_mrp *m = ctx;
	struct conn **pp = &m->conns;

	(void)loop;
	m->reap_timer = 0;
	while (*pp) {
		struct conn *c = *pp;

		if (c->dead) {
			*pp = c->next;
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

/* Close now; the struct is freed later by reap(), so a caller walking the
 * list, or the connection's own callback, may go on using it. */
static void conn_kill(struct conn *c)
{
	struct fake_mrp *m = c->m;

	if (c->dead)
		return;
	c->dead = true;
	if (c->fd >= 0) {
		fake_loop_remove_fd(m->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	if (c->tclosed) {
		fake_mrp_closed_fn fn = c->tclosed;

		/* the tunnel forgets this peer before anything else happens */
		c->tclosed = NULL;
		c->tsend = NULL;
		fn(c->tctx);
	}
	exch_free(c);
	atv_hap_cipher_wipe(&c->cipher);
	if (!m->reap_timer) {
		int t = fake_loop_add_timer(m->loop, 0, reap, m, NULL);

		/* without a timer it is freed with m */
		m->reap_timer = t > 0 ? t : 0;
	}
}

static void conn_fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conn_fail(struct conn *c, const char *fmt, ...)
{
	char msg[ATV_ERR_MSGLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	atv_info("mrp %s: disconnecting: %s", c->name, msg);
	conn_kill(c);
}

static void want_write(struct conn *c)
{
	if (!c->dead && c->fd >= 0 && c->out.len)
		fake_loop_set_events(c->m->loop, c->fd, POLLIN | POLLOUT);
}

/* Queue len bytes at p, encrypted when the cipher is on (corrupt: with a
 * broken tag), as one frame. */
static int conn_frame(struct conn *c, const uint8_t *p, size_t len, bool corrupt,
		      struct atv_err *err)
{
	struct fake_mrp *m = c->m;
	int r = 0;

	if (c->sealed) {
		atv_buf_reset(&m->ct);
		if ((r = atv_hap_cipher_seal(&c->cipher, p, len, &m->ct, err)) < 0)
			return r;
		if (corrupt)
			m->ct.data[m->ct.len - 1] ^= 0x5a;
		p = m->ct.data;
		len = m->ct.len;
	}
	if (c->fd < 0)
		/* a tunnel peer: the data channel frames it */
		return c->tsend ? c->tsend(c->tctx, p, len, err)
				: atv_err_set(err, ATV_E_IO, "the tunnel is gone");
	if ((r = atv_mrp_frame_encode(&c->out, p, len, err)) < 0)
		return r;
	want_write(c);
	return 0;
}

/* Send msg as type, replying to identifier reply_to ("" or NULL: none),
 * with errorCode errcode. */
static void conn_send_err(struct conn *c, Mrp__ProtocolMessage *msg, int type,
			  const char *reply_to, Mrp__ErrorCode errcode)
{
	struct fake_mrp *m = c->m;
	struct atv_mrp_ids ids;
	struct atv_err err = {0, ""};
	int r;

	if (c->dead)
		return;
	msg->has_type = 1;
	msg->type = (Mrp__ProtocolMessage__Type)type;
	atv_buf_reset(&m->pt);
	r = atv_mrp_msg_stamp(msg, &ids, reply_to ? reply_to : "", &err);
	msg->errorcode = errcode;
	if (r == 0)
		r = atv_mrp_msg_pack(msg, &m->pt, &err);
	if (r == 0)
		r = conn_frame(c, m->pt.data, m->pt.len, false, &err);
	if (r < 0) {
		conn_fail(c, "unable to send %s: %s", atv_mrp_msg_type_name(type), err.msg);
		return;
	}
	atv_debug("mrp %s > %s%s%s", c->name, atv_mrp_msg_type_name(type),
		  ids.identifier[0] ? " " : "", ids.identifier);
}

static void conn_send(struct conn *c, Mrp__ProtocolMessage *msg, int type, const char *reply_to)
{
	conn_send_err(c, msg, type, reply_to, MRP__ERROR_CODE__ERROR_NONE);
}

/* The empty reply: type 0 with the request's identifier. */
static void ack(struct conn *c, const Mrp__ProtocolMessage *req)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;

	if (req->identifier)
		conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__UNKNOWN_MESSAGE, req->identifier);
}

static void conn_flush(struct conn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(c, "write: %s", strerror(errno));
			return;
		}
		atv_buf_consume(&c->out, (size_t)n);
	}
}

/* ---- what the device sends ---- */

/* Room for DEVICE_INFO's grouped devices. */
struct grouped {
	Mrp__GroupedDevice gd[MAX_OUTPUTS];
	Mrp__GroupedDevice *gdp[MAX_OUTPUTS];
};

static void fill_device_info(const struct fake_mrp *m, Mrp__DeviceInfoMessage *info,
			     struct grouped *g)
{
	info->uniqueidentifier = m->unique_id;
	info->name = m->dev->name;
	info->localizedmodelname = (char *)"Apple TV";
	info->systembuildversion = m->build;
	info->applicationbundleidentifier = (char *)"com.apple.mediaremoted";
	info->has_protocolversion = 1;
	info->protocolversion = 1;
	info->has_lastsupportedmessagetype = 1;
	info->lastsupportedmessagetype = 108;
	info->has_supportssystempairing = 1;
	info->supportssystempairing = 1;
	info->has_allowspairing = 1;
	info->allowspairing = 1;
	info->systemmediaapplication = (char *)"com.apple.TVMusic";
	info->has_supportsacl = 1;
	info->supportsacl = 1;
	info->has_supportssharedqueue = 1;
	info->supportssharedqueue = 1;
	info->has_sharedqueueversion = 1;
	info->sharedqueueversion = 2;
	/* our one output device: VOLUME_DID_CHANGE names it */
	info->deviceuid = m->unique_id;
	info->has_deviceclass = 1;
	info->deviceclass = MRP__DEVICE_CLASS__DEVICE_CLASS_APPLE_TV;
	/* pyatv's power state: on when the device has logical devices */
	info->has_logicaldevicecount = 1;
	info->logicaldevicecount = m->pl->power ? 1 : 0;
	/* an Apple TV leads its AirPlay group (a group of one when it has no
	 * other speakers); when it does not play itself it is a proxy group
	 * player.  The other speakers are its grouped devices.  pyatv lists
	 * the leader, unless a proxy, and then the grouped devices. */
	info->has_isgroupleader = 1;
	info->isgroupleader = 1;
	info->has_isproxygroupplayer = 1;
	info->isproxygroupplayer = !m->self_grouped;
	info->groupeddevices = g->gdp;
	for (size_t i = 0; i < m->n_outs; i++) {
		Mrp__GroupedDevice *d = &g->gd[info->n_groupeddevices];

		if (!m->outs[i].grouped)
			continue;
		*d = (Mrp__GroupedDevice)MRP__GROUPED_DEVICE__INIT;
		d->uniqueidentifier = d->deviceuid = m->outs[i].id;
		d->name = m->outs[i].name;
		g->gdp[info->n_groupeddevices++] = d;
	}
	info->modelid = m->model;
}

static void send_device_info(struct conn *c, const char *reply_to, bool update)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__DeviceInfoMessage info = MRP__DEVICE_INFO_MESSAGE__INIT;
	struct grouped *g = malloc(sizeof *g);

	if (!g) {
		conn_fail(c, "out of memory");
		return;
	}
	fill_device_info(c->m, &info, g);
	msg.deviceinfomessage = &info;
	conn_send(c, &msg,
		  update ? MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_UPDATE_MESSAGE
			 : MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE,
		  reply_to);
	free(g);
}

static void send_volume(struct conn *c)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__VolumeDidChangeMessage v = MRP__VOLUME_DID_CHANGE_MESSAGE__INIT;

	v.has_volume = 1;
	v.volume = (float)c->m->pl->volume / 100.0f;
	v.outputdeviceuid = c->m->unique_id;
	msg.volumedidchangemessage = &v;
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_DID_CHANGE_MESSAGE, NULL);
}

/* The level of another output device of the group. */
static void send_output_volume(struct conn *c, const struct output *o)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__VolumeDidChangeMessage v = MRP__VOLUME_DID_CHANGE_MESSAGE__INIT;

	v.has_volume = 1;
	v.volume = (float)o->volume / 100.0f;
	v.outputdeviceuid = o->id;
	msg.volumedidchangemessage = &v;
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_DID_CHANGE_MESSAGE, NULL);
}

static void send_volume_availability(struct conn *c)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__VolumeControlAvailabilityMessage v = MRP__VOLUME_CONTROL_AVAILABILITY_MESSAGE__INIT;

	v.has_volumecontrolavailable = 1;
	v.volumecontrolavailable = 1;
	v.has_volumecapabilities = 1;
	v.volumecapabilities = MRP__VOLUME_CAPABILITIES__VOLUME_CAP_BOTH;
	msg.volumecontrolavailabilitymessage = &v;
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__VOLUME_CONTROL_AVAILABILITY_MESSAGE, NULL);
}

/* Storage for one SET_STATE: protobuf-c messages point at their parts. */
struct set_state {
	Mrp__SetStateMessage ss;
	Mrp__NowPlayingInfo npi;
	Mrp__SupportedCommands sc;
	Mrp__CommandInfo ci[N_COMMANDS];
	Mrp__CommandInfo *cip[N_COMMANDS];
	double skip;
	Mrp__PlaybackQueue queue;
	Mrp__ContentItem item;
	Mrp__ContentItem *items[1];
	Mrp__ContentItemMetadata md;
	Mrp__PlayerPath path;
	Mrp__Origin origin;
	Mrp__NowPlayingClient client;
	Mrp__NowPlayingPlayer player;
	char item_id[32], art_id[32];
};

/* Our SH_* and RP_* values (the index) as MRP's enums, both ways. */
static const Mrp__ShuffleMode shuffle_wire[] = {MRP__SHUFFLE_MODE__SHUFFLE_OFF,
						 MRP__SHUFFLE_MODE__SHUFFLE_SONGS,
						 MRP__SHUFFLE_MODE__SHUFFLE_ALBUMS};
static const Mrp__RepeatMode repeat_wire[] = {MRP__REPEAT_MODE__REPEAT_OFF,
					      MRP__REPEAT_MODE__REPEAT_ONE,
					      MRP__REPEAT_MODE__REPEAT_ALL};

static Mrp__ShuffleMode shuffle_mode(int s)
{
	return s >= FAKE_SH_OFF && s <= FAKE_SH_ALBUMS ? shuffle_wire[s] : shuffle_wire[FAKE_SH_OFF];
}

static Mrp__RepeatMode repeat_mode(int r)
{
	return r >= FAKE_RP_OFF && r <= FAKE_RP_ALL ? repeat_wire[r] : repeat_wire[FAKE_RP_OFF];
}

static void fill_commands(const struct fake_mrp *m, struct set_state *s)
{
	s->sc = (Mrp__SupportedCommands)MRP__SUPPORTED_COMMANDS__INIT;
	s->skip = SKIP_DEFAULT;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		Mrp__CommandInfo *ci = &s->ci[i];

		*ci = (Mrp__CommandInfo)MRP__COMMAND_INFO__INIT;
		ci->has_command = 1;
		ci->command = commands[i];
		ci->has_enabled = 1;
		ci->enabled = !m->pl->refused[i];
		/* pyatv reads the shuffle and repeat modes from these entries */
		if (i == FAKE_CMD_SHUFFLE) {
			ci->has_shufflemode = 1;
			ci->shufflemode = shuffle_mode(m->pl->playing.shuffle);
		} else if (i == FAKE_CMD_REPEAT) {
			ci->has_repeatmode = 1;
			ci->repeatmode = repeat_mode(m->pl->playing.repeat);
		} else if (i == FAKE_CMD_SKIP_FWD || i == FAKE_CMD_SKIP_BACK) {
			ci->n_preferredintervals = 1;
			ci->preferredintervals = &s->skip;
		}
		s->cip[i] = ci;
	}
	s->sc.n_supportedcommands = N_COMMANDS;
	s->sc.supportedcommands = s->cip;
}

static void fill_path(const struct fake_mrp *m, struct set_state *s)
{
	const struct fake_playing *p = &m->pl->playing;

	s->origin = (Mrp__Origin)MRP__ORIGIN__INIT;
	s->origin.has_type = 1;
	s->origin.type = MRP__ORIGIN__TYPE__ORIGIN_LOCAL;
	s->origin.displayname = m->dev->name;
	s->client = (Mrp__NowPlayingClient)MRP__NOW_PLAYING_CLIENT__INIT;
	s->client.bundleidentifier = p->app_id;
	s->client.displayname = p->app;
	s->player = (Mrp__NowPlayingPlayer)MRP__NOW_PLAYING_PLAYER__INIT;
	s->player.identifier = (char *)DEFAULT_PLAYER_ID;
	s->player.displayname = (char *)"Default Player";
	s->path = (Mrp__PlayerPath)MRP__PLAYER_PATH__INIT;
	s->path.origin = &s->origin;
	s->path.client = &s->client;
	s->path.player = &s->player;
}

static void fill_metadata(const struct fake_mrp *m, struct set_state *s, bool artwork)
{
	const struct fake_playing *p = &m->pl->playing;
	Mrp__ContentItemMetadata *md = &s->md;

	*md = (Mrp__ContentItemMetadata)MRP__CONTENT_ITEM_METADATA__INIT;
	md->title = p->title;
	md->trackartistname = p->artist;
	md->albumname = p->album;
	md->genre = p->genre;
	md->has_duration = p->total_time.set;
	md->duration = p->total_time.v;
	md->has_elapsedtime = p->elapsed.set;
	md->elapsedtime = p->elapsed.v;
	md->has_elapsedtimetimestamp = p->timestamp.set;
	md->elapsedtimetimestamp = p->timestamp.v;
	md->has_playbackrate = p->rate.set;
	md->playbackrate = (float)p->rate.v;
	/* MRP knows audio and video only (pyatv maps them to music and
	 * video): a TV show is a video with a series name */
	md->has_mediatype = 1;
	if (p->media_type == FAKE_MT_MUSIC)
		md->mediatype = MRP__CONTENT_ITEM_METADATA__MEDIA_TYPE__MEDIA_TYPE_AUDIO;
	else if (p->media_type == FAKE_MT_VIDEO || p->media_type == FAKE_MT_TV)
		md->mediatype = MRP__CONTENT_ITEM_METADATA__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
	else
		md->mediatype = MRP__CONTENT_ITEM_METADATA__MEDIA_TYPE__MEDIA_TYPE_UNKNOWN;
	if (p->media_type == FAKE_MT_MUSIC) {
		md->has_mediasubtype = 1;
		md->mediasubtype = MRP__CONTENT_ITEM_METADATA__MEDIA_SUB_TYPE__MEDIA_SUBTYPE_MUSIC;
	}
	md->seriesname = p->series_name;
	md->has_seasonnumber = p->season.set;
	md->seasonnumber = (int32_t)p->season.v;
	md->has_episodenumber = p->episode.set;
	md->episodenumber = (int32_t)p->episode.v;
	md->contentidentifier = p->content_id;
	snprintf(s->art_id, sizeof s->art_id, "fake-art-%d", p->track + 1);
	md->has_artworkavailable = 1;
	md->artworkavailable = 1;
	md->artworkmimetype = (char *)"image/png";
	md->artworkidentifier = s->art_id;
	md->has_iscurrentlyplaying = 1;
	md->iscurrentlyplaying = p->device_state == FAKE_ST_PLAYING;

	s->item = (Mrp__ContentItem)MRP__CONTENT_ITEM__INIT;
	snprintf(s->item_id, sizeof s->item_id, "fake-item-%d", p->track + 1);
	s->item.identifier = p->content_id ? p->content_id : s->item_id;
	s->item.metadata = md;
	if (artwork) {
		const uint8_t *png;

		fake_player_artwork(m->pl, &png, &s->item.artworkdata.len);
		s->item.has_artworkdata = 1;
		s->item.artworkdata.data = (uint8_t *)png;
		s->item.has_artworkdatawidth = s->item.has_artworkdataheight = 1;
		s->item.artworkdatawidth = s->item.artworkdataheight = ART_SIDE;
		md->has_artworkdatawidth = md->has_artworkdataheight = 1;
		md->artworkdatawidth = md->artworkdataheight = ART_SIDE;
	}
	s->items[0] = &s->item;
	s->queue = (Mrp__PlaybackQueue)MRP__PLAYBACK_QUEUE__INIT;
	s->queue.has_location = 1;
	s->queue.location = 0;
	s->queue.n_contentitems = 1;
	s->queue.contentitems = s->items;
}

/* The whole state of the player as one SET_STATE (the older flat
 * NowPlayingInfo too, for controllers that read that). */
static void fill_set_state(const struct fake_mrp *m, struct set_state *s, bool artwork)
{
	const struct fake_playing *p = &m->pl->playing;
	Mrp__NowPlayingInfo *n = &s->npi;

	fill_commands(m, s);
	fill_path(m, s);
	fill_metadata(m, s, artwork);
	*n = (Mrp__NowPlayingInfo)MRP__NOW_PLAYING_INFO__INIT;
	n->title = p->title;
	n->artist = p->artist;
	n->album = p->album;
	n->has_duration = p->total_time.set;
	n->duration = p->total_time.v;
	n->has_elapsedtime = p->elapsed.set;
	n->elapsedtime = p->elapsed.v;
	n->has_timestamp = p->timestamp.set;
	n->timestamp = p->timestamp.v;
	n->has_playbackrate = p->rate.set;
	n->playbackrate = (float)p->rate.v;
	n->has_shufflemode = n->has_repeatmode = 1;
	n->shufflemode = shuffle_mode(p->shuffle);
	n->repeatmode = repeat_mode(p->repeat);

	s->ss = (Mrp__SetStateMessage)MRP__SET_STATE_MESSAGE__INIT;
	s->ss.nowplayinginfo = n;
	s->ss.supportedcommands = &s->sc;
	s->ss.playbackqueue = &s->queue;
	s->ss.displayid = p->app_id;
	s->ss.displayname = p->app;
	if (p->device_state != FAKE_ST_IDLE) {
		s->ss.has_playbackstate = 1;
		s->ss.playbackstate = p->device_state == FAKE_ST_PLAYING
					      ? MRP__PLAYBACK_STATE__PLAYBACK_PLAYING
				      : p->device_state == FAKE_ST_PAUSED
					      ? MRP__PLAYBACK_STATE__PLAYBACK_PAUSED
					      : MRP__PLAYBACK_STATE__PLAYBACK_STOPPED;
	}
	s->ss.has_playbackstatetimestamp = 1;
	s->ss.playbackstatetimestamp = fake_cocoa_now();
	s->ss.playerpath = &s->path;
}

static void send_set_state(struct conn *c, const char *reply_to, bool artwork)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	struct set_state *s = calloc(1, sizeof *s);

	if (!s) {
		conn_fail(c, "out of memory");
		return;
	}
	fill_set_state(c->m, s, artwork);
	msg.setstatemessage = &s->ss;
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__SET_STATE_MESSAGE, reply_to);
	free(s);
}

/* What plays, as pyatv's player state expects it: SET_STATE for the app's
 * default player, then SET_NOW_PLAYING_CLIENT naming the app when that
 * changed.  Idle is a now-playing client without bundle identifier (no
 * player, so no playback state): what pyatv's own fake sends for
 * "nothing playing". */
static void send_playing(struct conn *c)
{
	const struct fake_playing *p = &c->m->pl->playing;
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SetNowPlayingClientMessage np = MRP__SET_NOW_PLAYING_CLIENT_MESSAGE__INIT;
	Mrp__NowPlayingClient client = MRP__NOW_PLAYING_CLIENT__INIT;
	bool idle = p->device_state == FAKE_ST_IDLE;
	const char *now = idle ? "" : p->app_id ? p->app_id : "-";

	if (!idle)
		send_set_state(c, NULL, false);
	if (c->np_client && strcmp(c->np_client, now) == 0)
		return;
	free(c->np_client);
	c->np_client = strdup(now);
	if (!idle) {
		client.bundleidentifier = p->app_id;
		client.displayname = p->app;
	}
	np.client = &client;
	msg.setnowplayingclientmessage = &np;
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__SET_NOW_PLAYING_CLIENT_MESSAGE, NULL);
}

/* A fake_player_change_fn: push what changed to every subscriber. */
static void on_player_change(void *ctx, unsigned what)
{
	struct fake_mrp *m = ctx;

	for (struct conn *c = m->conns; c; c = c->next) {
		if (c->dead || !c->subscribed)
			continue;
		if (what & FAKE_PUSH_PLAYING)
			send_playing(c);
		if (what & FAKE_PUSH_VOLUME)
			send_volume(c);
		if (what & FAKE_PUSH_POWER)
			send_device_info(c, NULL, true);
	}
}

/* ---- what the controller sends ---- */

static void send_pairing(struct conn *c, const struct atv_buf *tlv)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__CryptoPairingMessage cp = MRP__CRYPTO_PAIRING_MESSAGE__INIT;

	cp.has_pairingdata = 1;
	cp.pairingdata.data = tlv->data;
	cp.pairingdata.len = tlv->len;
	cp.has_status = 1;
	cp.status = 0;
	msg.cryptopairingmessage = &cp;
	/* pairing replies carry no identifier (protocols.md 4.5) */
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__CRYPTO_PAIRING_MESSAGE, NULL);
}

/* Which exchange a pairing message belongs to: both start with State 1,
 * pair-setup's M1 with a Method as well. */
static int pairing_state(const uint8_t *p, size_t len, uint64_t *state, bool *method,
			 struct atv_err *err)
{
	struct atv_tlv8 t;
	const struct atv_tlv8_item *it;
	int r = atv_tlv8_parse(&t, p, len, err);

	if (r == 0) {
		it = atv_tlv8_find(&t, ATV_TLV8_STATE);
		r = it ? atv_tlv8_uint(it, state, err)
		       : atv_err_set(err, ATV_E_PROTO, "pairing data without a state");
		*method = atv_tlv8_find(&t, ATV_TLV8_METHOD) != NULL;
	}
	atv_tlv8_release(&t);
	return r;
}

static void pairing_done(struct conn *c)
{
	struct fake_mrp *m = c->m;
	struct atv_hap_peer peer;
	struct atv_err err = {0, ""};
	char id[2 * ATV_HAP_ID_MAX + 1];

	if (c->exch == X_SETUP) {
		if (atv_hap_setup_server_peer(c->setup, &peer, &err) == 0) {
			add_pairing(m, &peer);
			fake_pairing_id_text(id, sizeof id, peer.id, peer.idlen);
			atv_info("mrp %s: paired with controller %s", c->name, id);
		}
	} else if (atv_hap_verify_server_peer(c->verify, &peer, &err) < 0 ||
		   atv_hap_verify_cipher(c->verify, ATV_HAP_MRP_SALT, ATV_HAP_MRP_WRITE,
					 ATV_HAP_MRP_READ, &c->cipher, &err) < 0) {
		conn_fail(c, "%s", err.msg);
		return;
	} else {
		/* M4 is queued in the clear already; from here on both ways
		 * are encrypted (pyatv enables its cipher after M4) */
		c->encrypted = true;
		/* not in the tunnel: the data channel seals already, and
		 * pyatv's tunnel connection ignores the keys it derives */
		c->sealed = c->fd >= 0;
		fake_pairing_id_text(id, sizeof id, peer.id, peer.idlen);
		atv_info("mrp %s: verified controller %s", c->name, id);
	}
	exch_free(c);
}

static void on_pairing(struct conn *c, const Mrp__ProtocolMessage *req)
{
	struct fake_mrp *m = c->m;
	const Mrp__CryptoPairingMessage *cp = req->cryptopairingmessage;
	struct atv_err err = {0, ""};
	struct atv_buf out;
	uint64_t state = 0;
	bool method = false;
	int r;

	if (!cp || !cp->has_pairingdata) {
		conn_fail(c, "CRYPTO_PAIRING without pairing data");
		return;
	}
	if (c->sealed) {
		atv_debug("mrp %s: ignoring pairing on a verified connection", c->name);
		return;
	}
	if (pairing_state(cp->pairingdata.data, cp->pairingdata.len, &state, &method, &err) < 0) {
		conn_fail(c, "bad pairing data: %s", err.msg);
		return;
	}
	atv_buf_init(&out, ATV_HAP_MSG_MAX);
	if (state == 1) {
		exch_free(c);
		if (method && m->pairings.n == m->pairings.max) {
			atv_info("mrp %s: pair-setup refused: %zu pairings", c->name,
				 m->pairings.n);
			if (atv_hap_error_message(&out, 2, ATV_TLV8_ERR_MAX_PEERS, 0, &err) == 0)
				send_pairing(c, &out);
			goto out;
		}
		if (method) {
			c->setup = atv_hap_setup_server_new(m->pin, m->unique_id, m->seed, &err);
			c->exch = c->setup ? X_SETUP : X_NONE;
			/* a real device shows the PIN now; the tests know it */
			atv_info("mrp %s: pair-setup started, showing the pin", c->name);
		} else {
			c->verify = atv_hap_verify_server_new(
			    m->unique_id, m->seed, fake_pairings_lookup, &m->pairings, &err);
			c->exch = c->verify ? X_VERIFY : X_NONE;
		}
		if (c->exch == X_NONE) {
			conn_fail(c, "%s", err.msg);
			goto out;
		}
	} else if (c->exch == X_NONE) {
		conn_fail(c, "pairing message M%llu without M1", (unsigned long long)state);
		goto out;
	}
	atv_debug("mrp %s: pair-%s M%llu", c->name, c->exch == X_SETUP ? "setup" : "verify",
		  (unsigned long long)state);
	if (c->exch == X_SETUP)
		r = atv_hap_setup_step(c->setup, cp->pairingdata.data, cp->pairingdata.len, &out,
				       &err);
	else
		r = atv_hap_verify_step(c->verify, cp->pairingdata.data, cp->pairingdata.len, &out,
					&err);
	/* on failure out holds the error for the controller (HAP: M4 with
	 * Authentication for a wrong PIN or an unknown controller) */
	if (out.len)
		send_pairing(c, &out);
	if (r < 0) {
		atv_info("mrp %s: pair-%s failed: %s", c->name,
			 c->exch == X_SETUP ? "setup" : "verify", err.msg);
		exch_free(c);
	} else if (r == ATV_HAP_DONE) {
		pairing_done(c);
	}
out:
	atv_buf_release(&out);
}

static void on_updates_config(struct conn *c, const Mrp__ProtocolMessage *req)
{
	/* Real devices push now-playing, volume and power to a client that
	 * sent CLIENT_UPDATES_CONFIG whatever its flags say: pyatv sends
	 * nowPlayingUpdates=false and still gets SET_STATE and
	 * UPDATE_CONTENT_ITEM, and pyatv's own fake device ignores the flags
	 * too.  So the flags are not read. */
	c->subscribed = true;
	send_playing(c);
	send_volume_availability(c);
	send_volume(c);
	send_device_info(c, NULL, true);
	for (size_t i = 0; i < c->m->n_outs; i++)
		if (c->m->outs[i].grouped)
			send_output_volume(c, &c->m->outs[i]);
	ack(c, req);
}

static void send_command_result(struct conn *c, const char *reply_to, Mrp__SendError e,
				Mrp__HandlerStatus status)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SendCommandResultMessage res = MRP__SEND_COMMAND_RESULT_MESSAGE__INIT;

	res.has_senderror = 1;
	res.senderror = e;
	/* a handler status only when a handler ran */
	if (e == MRP__SEND_ERROR__SEND_ERROR_NONE) {
		res.has_handlerreturnstatus = 1;
		res.handlerreturnstatus = status;
	}
	msg.sendcommandresultmessage = &res;
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__SEND_COMMAND_RESULT_MESSAGE, reply_to);
}

/* The player's value for command k from MRP's options: NAN when they lack
 * what the command needs (the player then fails it). */
static double command_value(size_t k, const Mrp__CommandOptions *o)
{
	switch (k) {
	case FAKE_CMD_SEEK:
		return o && o->has_playbackposition ? o->playbackposition : NAN;
	case FAKE_CMD_SHUFFLE:
		for (int i = FAKE_SH_OFF; o && o->has_shufflemode && i <= FAKE_SH_ALBUMS; i++)
			if (shuffle_wire[i] == o->shufflemode)
				return i;
		return NAN;
	case FAKE_CMD_REPEAT:
		for (int i = FAKE_RP_OFF; o && o->has_repeatmode && i <= FAKE_RP_ALL; i++)
			if (repeat_wire[i] == o->repeatmode)
				return i;
		return NAN;
	case FAKE_CMD_SKIP_FWD:
	case FAKE_CMD_SKIP_BACK:
		return o && o->has_skipinterval ? o->skipinterval : 0;
	default: return 0;
	}
}

static void on_command(struct conn *c, const Mrp__ProtocolMessage *req)
{
	struct fake_mrp *m = c->m;
	const Mrp__SendCommandMessage *sc = req->sendcommandmessage;
	Mrp__HandlerStatus status = MRP__HANDLER_STATUS__HANDLER_SUCCESS;
	Mrp__SendError e = MRP__SEND_ERROR__SEND_ERROR_NONE;
	char entry[64];
	size_t k = N_COMMANDS;

	if (sc && sc->has_command)
		for (k = 0; k < N_COMMANDS; k++)
			if (commands[k] == sc->command)
				break;
	if (k == N_COMMANDS) {
		snprintf(entry, sizeof entry, "command-%d",
			 sc && sc->has_command ? (int)sc->command : -1);
		fake_player_log(m->pl->cmds, entry);
		e = MRP__SEND_ERROR__SEND_ERROR_NO_COMMAND_HANDLERS;
	} else if (fake_player_command(m->pl, fake_player_command_name((enum fake_command)k),
				       command_value(k, sc->options), NULL) < 0) {
		status = MRP__HANDLER_STATUS__HANDLER_COMMAND_FAILED;
	}
	send_command_result(c, req->identifier, e, status);
}

static const char *key_name(uint16_t page, uint16_t usage, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (keys[i].page == page && keys[i].usage == usage)
			return keys[i].name;
	snprintf(buf, size, "hid-%u-0x%02x", page, usage);
	return buf;
}

static void on_key(struct conn *c, uint16_t page, uint16_t usage, bool down)
{
	long long now = fake_mono_ms(), down_ms = now;
	char buf[32];
	size_t i;

	for (i = 0; i < c->n_pressed; i++)
		if (c->pressed[i].page == page && c->pressed[i].usage == usage)
			break;
	if (down) {
		if (i < c->n_pressed)
			c->pressed[i].down_ms = now; /* a repeated down restarts the press */
		else if (c->n_pressed < MAX_PRESSED)
			c->pressed[c->n_pressed++] = (struct pressed){page, usage, now};
		else
			atv_debug("mrp %s: ignoring key down: %d keys held", c->name, MAX_PRESSED);
		return;
	}
	if (i < c->n_pressed) {
		down_ms = c->pressed[i].down_ms;
		c->pressed[i] = c->pressed[--c->n_pressed];
	} else {
		atv_debug("mrp %s: key up without key down, taken as a tap", c->name);
	}
	fake_player_key(c->m->pl, key_name(page, usage, buf, sizeof buf), down_ms, now);
}

static void on_hid(struct conn *c, const Mrp__ProtocolMessage *req)
{
	const Mrp__SendHIDEventMessage *h = req->sendhideventmessage;
	struct atv_err err = {0, ""};
	uint16_t page, usage;
	bool down;

	/* other HID events (touch, game pads) exist: ignored, not fatal */
	if (h && h->has_hideventdata &&
	    atv_mrp_hid_decode(h->hideventdata.data, h->hideventdata.len, &page, &usage, &down,
			       &err) == 0)
		on_key(c, page, usage, down);
	else
		atv_debug("mrp %s: ignoring HID event: %s", c->name,
			  err.msg[0] ? err.msg : "no data");
	ack(c, req);
}

static void on_button(struct conn *c, const Mrp__ProtocolMessage *req)
{
	const Mrp__SendButtonEventMessage *b = req->sendbuttoneventmessage;

	if (b && b->has_usagepage && b->has_usage && b->has_buttondown && b->usagepage <= 0xffff &&
	    b->usage <= 0xffff)
		on_key(c, (uint16_t)b->usagepage, (uint16_t)b->usage, b->buttondown);
	else
		atv_debug("mrp %s: ignoring incomplete button event", c->name);
	ack(c, req);
}

static void on_set_volume(struct conn *c, const Mrp__ProtocolMessage *req)
{
	struct fake_mrp *m = c->m;
	const Mrp__SetVolumeMessage *v = req->setvolumemessage;
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	char entry[32];

	if (!v || !v->has_volume || !isfinite(v->volume) || v->volume < 0 || v->volume > 1) {
		fake_player_log(m->pl->cmds, "set_volume:failed");
		if (req->identifier)
			conn_send_err(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__UNKNOWN_MESSAGE,
				      req->identifier, MRP__ERROR_CODE__ERROR_VOLUME_OUT_OF_RANGE);
		return;
	}
	/* another output device of the group: its own level */
	for (size_t i = 0; v->outputdeviceuid && i < m->n_outs; i++) {
		if (strcmp(v->outputdeviceuid, m->outs[i].id) != 0)
			continue;
		fake_mrp_output_volume(m, m->outs[i].id, (int)(v->volume * 100 + 0.5f), NULL);
		ack(c, req);
		return;
	}
	snprintf(entry, sizeof entry, "set_volume=%d", (int)(v->volume * 100 + 0.5f));
	fake_player_log(m->pl->cmds, entry);
	fake_player_set_volume(m->pl, (int)(v->volume * 100 + 0.5f), NULL);
	ack(c, req);
}

/* ---- the speaker group ---- */

static struct output *find_output(struct fake_mrp *m, const char *id)
{
	for (size_t i = 0; i < m->n_outs; i++)
		if (strcmp(m->outs[i].id, id) == 0)
			return &m->outs[i];
	return NULL;
}

/* DEVICE_INFO_UPDATE with the new group to every verified connection (a
 * real device tells every controller: pyatv reads it from there). */
static void push_group(struct fake_mrp *m, const bool *was)
{
	for (struct conn *c = m->conns; c; c = c->next) {
		if (c->dead || !c->encrypted)
			continue;
		send_device_info(c, NULL, true);
		/* and the level of each speaker that joined */
		for (size_t i = 0; c->subscribed && i < m->n_outs; i++)
			if (m->outs[i].grouped && !was[i])
				send_output_volume(c, &m->outs[i]);
	}
}

enum group_op { G_ADD, G_REMOVE, G_SET };

/* Apply op with ids to the group: every id must be the device's own or a
 * known output device (else ERROR_OUTPUT_DEVICE_NOT_FOUND), and the group
 * may not end up empty (ERROR_INVALID_OUTPUT_CONTEXT).  Nothing changes on
 * an error.  Pushed when it changed. */
static Mrp__ErrorCode change_group(struct fake_mrp *m, enum group_op op, char *const *ids,
				   size_t n)
{
	bool self = m->self_grouped, grouped[MAX_OUTPUTS], was[MAX_OUTPUTS], any;
	size_t i;

	for (i = 0; i < m->n_outs; i++)
		grouped[i] = op == G_SET ? false : m->outs[i].grouped;
	if (op == G_SET)
		self = false;
	for (size_t k = 0; k < n; k++) {
		struct output *o = find_output(m, ids[k]);
		bool mine = strcmp(ids[k], m->unique_id) == 0;

		if (!o && !mine)
			return MRP__ERROR_CODE__ERROR_OUTPUT_DEVICE_NOT_FOUND;
		if (mine)
			self = op != G_REMOVE;
		else
			grouped[o - m->outs] = op != G_REMOVE;
	}
	any = self;
	for (i = 0; i < m->n_outs; i++)
		any |= grouped[i];
	if (!any)
		return MRP__ERROR_CODE__ERROR_INVALID_OUTPUT_CONTEXT;
	any = self != m->self_grouped;
	m->self_grouped = self;
	for (i = 0; i < m->n_outs; i++) {
		any |= grouped[i] != m->outs[i].grouped;
		was[i] = m->outs[i].grouped;
		m->outs[i].grouped = grouped[i];
	}
	if (any)
		push_group(m, was);
	return MRP__ERROR_CODE__ERROR_NONE;
}

static void on_modify_outputs(struct conn *c, const Mrp__ProtocolMessage *req)
{
	static const char *const names[] = {"add_output_devices", "remove_output_devices",
					    "set_output_devices"};
	const Mrp__ModifyOutputContextRequestMessage *mo = req->modifyoutputcontextrequestmessage;
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__ErrorCode e = MRP__ERROR_CODE__ERROR_INVALID_OPERATION;
	enum group_op op = G_ADD;
	char *const *ids = NULL;
	size_t n = 0;
	char entry[512];
	int used;

	/* the plain lists, else the cluster-aware ones (pyatv fills both) */
	if (mo && (mo->n_addingdevices || mo->n_clusterawareaddingdevices)) {
		ids = mo->n_addingdevices ? mo->addingdevices : mo->clusterawareaddingdevices;
		n = mo->n_addingdevices ? mo->n_addingdevices : mo->n_clusterawareaddingdevices;
	} else if (mo && (mo->n_removingdevices || mo->n_clusterawareremovingdevices)) {
		op = G_REMOVE;
		ids = mo->n_removingdevices ? mo->removingdevices : mo->clusterawareremovingdevices;
		n = mo->n_removingdevices ? mo->n_removingdevices
					  : mo->n_clusterawareremovingdevices;
	} else if (mo && (mo->n_settingdevices || mo->n_clusterawaresettingdevices)) {
		op = G_SET;
		ids = mo->n_settingdevices ? mo->settingdevices : mo->clusterawaresettingdevices;
		n = mo->n_settingdevices ? mo->n_settingdevices : mo->n_clusterawaresettingdevices;
	}
	if (n)
		e = change_group(c->m, op, ids, n);
	used = snprintf(entry, sizeof entry, "%s", names[op]);
	for (size_t k = 0; k < n && used > 0 && (size_t)used < sizeof entry; k++)
		used += snprintf(entry + used, sizeof entry - (size_t)used, "%c%s", k ? ',' : '=',
				 ids[k]);
	if (e != MRP__ERROR_CODE__ERROR_NONE && used > 0 && (size_t)used + 8 < sizeof entry)
		snprintf(entry + used, sizeof entry - (size_t)used, ":failed");
	fake_player_log(c->m->pl->cmds, entry);
	if (req->identifier)
		conn_send_err(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__UNKNOWN_MESSAGE, req->identifier,
			      e);
}

int fake_mrp_group(struct fake_mrp *m, const char *list, struct atv_err *err)
{
	char *copy, *ids[MAX_OUTPUTS + 1], *save = NULL;
	size_t n = 0;
	Mrp__ErrorCode e;

	if (!m->unique_id)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "the device has no mrp identity");
	if (!(copy = strdup(list)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	for (char *t = strtok_r(copy, ",", &save); t && n <= MAX_OUTPUTS;
	     t = strtok_r(NULL, ",", &save))
		ids[n++] = t;
	e = n && n <= MAX_OUTPUTS ? change_group(m, G_SET, ids, n)
				  : MRP__ERROR_CODE__ERROR_INVALID_OUTPUT_CONTEXT;
	free(copy);
	if (e == MRP__ERROR_CODE__ERROR_OUTPUT_DEVICE_NOT_FOUND)
		return atv_err_set(err, ATV_E_NOTFOUND, "no such output device");
	if (e != MRP__ERROR_CODE__ERROR_NONE)
		return atv_err_set(err, ATV_E_USAGE, "a group has 1 to %d output devices",
				   MAX_OUTPUTS);
	return 0;
}

int fake_mrp_output_volume(struct fake_mrp *m, const char *id, int volume, struct atv_err *err)
{
	struct output *o = find_output(m, id);

	if (!o)
		return atv_err_set(err, ATV_E_NOTFOUND, "no such output device (the device's own "
							"level is \"volume\")");
	if (volume < 0 || volume > 100)
		return atv_err_set(err, ATV_E_USAGE, "volume is 0 to 100");
	if (o->volume == volume)
		return 0;
	o->volume = volume;
	if (!o->grouped)
		return 0;
	for (struct conn *c = m->conns; c; c = c->next)
		if (!c->dead && c->subscribed)
			send_output_volume(c, o);
	return 0;
}

json_t *fake_mrp_outputs(const struct fake_mrp *m)
{
	json_t *a = json_array();

	if (m->unique_id && a)
		json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:b}", "identifier", m->unique_id,
						   "name", m->dev->name, "volume", m->pl->volume,
						   "grouped", m->self_grouped));
	for (size_t i = 0; a && i < m->n_outs; i++)
		json_array_append_new(a, json_pack("{s:s,s:s?,s:i,s:b}", "identifier",
						   m->outs[i].id, "name", m->outs[i].name, "volume",
						   m->outs[i].volume, "grouped", m->outs[i].grouped));
	return a;
}

/* The device file's "output_devices": [{"identifier", "name", "volume"
 * (0..100, default 50), "grouped" (default false)}]. */
static int load_outputs(struct fake_mrp *m, struct atv_err *err)
{
	json_t *a = json_object_get(m->dev->json, "output_devices"), *o;
	size_t i;

	m->self_grouped = true;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MAX_OUTPUTS)
		return atv_err_set(err, ATV_E_INPUT, "\"output_devices\" is an array of at most %d",
				   MAX_OUTPUTS);
	json_array_foreach (a, i, o) {
		const char *id = json_string_value(json_object_get(o, "identifier"));
		json_t *name = json_object_get(o, "name"), *vol = json_object_get(o, "volume");
		json_t *gr = json_object_get(o, "grouped");
		struct output *d = &m->outs[m->n_outs];

		if (!id || !*id || strlen(id) > OUTPUT_ID_MAX || (name && !json_is_string(name)) ||
		    (vol && (!json_is_integer(vol) || json_integer_value(vol) < 0 ||
			     json_integer_value(vol) > 100)) ||
		    (gr && !json_is_boolean(gr)) || (m->unique_id && !strcmp(id, m->unique_id)) ||
		    find_output(m, id))
			return atv_err_set(err, ATV_E_INPUT,
					   "output_devices[%zu]: {\"identifier\":ID (unique, not "
					   "the device's),\"name\":S,\"volume\":0..100,"
					   "\"grouped\":BOOL}",
					   i);
		d->id = strdup(id);
		d->name = name ? strdup(json_string_value(name)) : NULL;
		d->volume = vol ? (int)json_integer_value(vol) : 50;
		d->grouped = json_is_true(gr);
		m->n_outs++;
		if (!d->id || (name && !d->name))
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return 0;
}

static void on_get_volume(struct conn *c, const Mrp__ProtocolMessage *req)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__GetVolumeResultMessage v = MRP__GET_VOLUME_RESULT_MESSAGE__INIT;

	v.has_volume = 1;
	v.volume = (float)c->m->pl->volume / 100.0f;
	msg.getvolumeresultmessage = &v;
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__GET_VOLUME_RESULT_MESSAGE,
		  req->identifier);
}

static void on_wake(struct conn *c, const Mrp__ProtocolMessage *req)
{
	fake_player_log(c->m->pl->cmds, "wake");
	fake_player_set_power(c->m->pl, true);
	send_command_result(c, req->identifier, MRP__SEND_ERROR__SEND_ERROR_NONE,
			    MRP__HANDLER_STATUS__HANDLER_SUCCESS);
}

static void on_queue_request(struct conn *c, const Mrp__ProtocolMessage *req)
{
	const Mrp__PlaybackQueueRequestMessage *q = req->playbackqueuerequestmessage;
	/* Any artwork size asks for the artwork: a width of -1 means any width
	 * at that height, and pyatv's default request says width 0 and height
	 * -1 ("whatever size you have").  Only a request that names no size
	 * at all gets the queue without artwork. */
	bool artwork = q && (q->has_artworkwidth || q->has_artworkheight);

	send_set_state(c, req->identifier, artwork);
}

static void reply_empty(struct conn *c, const Mrp__ProtocolMessage *req, int type)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;

	conn_send(c, &msg, type, req->identifier);
}

static void dispatch(struct conn *c, const Mrp__ProtocolMessage *req, int type)
{
	switch (type) {
	case MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE:
		send_device_info(c, req->identifier, false);
		break;
	case MRP__PROTOCOL_MESSAGE__TYPE__CRYPTO_PAIRING_MESSAGE: on_pairing(c, req); break;
	case MRP__PROTOCOL_MESSAGE__TYPE__SET_CONNECTION_STATE_MESSAGE: ack(c, req); break;
	case MRP__PROTOCOL_MESSAGE__TYPE__CLIENT_UPDATES_CONFIG_MESSAGE:
		on_updates_config(c, req);
		break;
	case MRP__PROTOCOL_MESSAGE__TYPE__SEND_COMMAND_MESSAGE: on_command(c, req); break;
	case MRP__PROTOCOL_MESSAGE__TYPE__SEND_HID_EVENT_MESSAGE: on_hid(c, req); break;
	case MRP__PROTOCOL_MESSAGE__TYPE__SEND_BUTTON_EVENT_MESSAGE: on_button(c, req); break;
	case MRP__PROTOCOL_MESSAGE__TYPE__SET_VOLUME_MESSAGE: on_set_volume(c, req); break;
	case MRP__PROTOCOL_MESSAGE__TYPE__GET_VOLUME_MESSAGE: on_get_volume(c, req); break;
	case MRP__PROTOCOL_MESSAGE__TYPE__WAKE_DEVICE_MESSAGE: on_wake(c, req); break;
	case MRP__PROTOCOL_MESSAGE__TYPE__PLAYBACK_QUEUE_REQUEST_MESSAGE:
		on_queue_request(c, req);
		break;
	case MRP__PROTOCOL_MESSAGE__TYPE__MODIFY_OUTPUT_CONTEXT_REQUEST_MESSAGE:
		on_modify_outputs(c, req);
		break;
	case MRP__PROTOCOL_MESSAGE__TYPE__GENERIC_MESSAGE:
		/* the heartbeat */
		reply_empty(c, req, MRP__PROTOCOL_MESSAGE__TYPE__GENERIC_MESSAGE);
		break;
	case MRP__PROTOCOL_MESSAGE__TYPE__GET_KEYBOARD_SESSION_MESSAGE:
		reply_empty(c, req, MRP__PROTOCOL_MESSAGE__TYPE__KEYBOARD_MESSAGE);
		break;
	default:
		/* the protocol has many more types; a device ignores what it
		 * does not handle */
		break;
	}
}

static void on_frame(struct conn *c, const uint8_t *p, size_t len)
{
	struct fake_mrp *m = c->m;
	struct atv_err err = {0, ""};
	Mrp__ProtocolMessage *req = NULL;
	static const uint8_t empty[1];
	int type;

	if (c->sealed) {
		atv_buf_reset(&m->in);
		if (atv_hap_cipher_open(&c->cipher, p, len, &m->in, &err) < 0) {
			conn_fail(c, "%s", err.msg);
			return;
		}
		p = m->in.len ? m->in.data : empty;
		len = m->in.len;
	}
	if (atv_mrp_msg_unpack(p, len, &req, &err) < 0) {
		conn_fail(c, "%s", err.msg);
		return;
	}
	type = req->has_type ? (int)req->type : 0;
	atv_debug("mrp %s < %s%s%s", c->name, atv_mrp_msg_type_name(type),
		  req->identifier ? " " : "", req->identifier ? req->identifier : "");
	if (!c->encrypted && type != MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE &&
	    type != MRP__PROTOCOL_MESSAGE__TYPE__CRYPTO_PAIRING_MESSAGE)
		conn_fail(c, "%s before pair-verify", atv_mrp_msg_type_name(type));
	else if (req->identifier && strlen(req->identifier) >= ATV_UUID_SIZE)
		conn_fail(c, "identifier longer than %d characters", ATV_UUID_SIZE - 1);
	else
		dispatch(c, req, type);
	atv_mrp_msg_free(req);
}

static void conn_read(struct conn *c)
{
	struct atv_err err = {0, ""};
	uint8_t buf[16384];

	for (int round = 0; round < READ_ROUNDS && !c->dead; round++) {
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		const uint8_t *p = buf;
		size_t len;

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				conn_fail(c, "read: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			atv_debug("mrp %s: closed by the controller%s", c->name,
				  atv_mrp_frame_dec_partial(&c->dec) ? " in the middle of a frame"
								     : "");
			conn_kill(c);
			return;
		}
		len = (size_t)n;
		while (len > 0 && !c->dead) {
			const uint8_t *frame;
			size_t used, flen;
			int r = atv_mrp_frame_dec_push(&c->dec, p, len, &used, &frame, &flen, &err);

			if (r < 0) {
				conn_fail(c, "%s", err.msg);
				return;
			}
			p += used;
			len -= used;
			if (r > 0)
				on_frame(c, frame, flen);
		}
	}
}

static void on_conn(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct conn *c = ctx;

	(void)fd;
	if (revents & POLLOUT)
		conn_flush(c);
	if (!c->dead && (revents & (POLLIN | POLLHUP | POLLERR)))
		conn_read(c);
	if (!c->dead)
		fake_loop_set_events(loop, c->fd, c->out.len ? POLLIN | POLLOUT : POLLIN);
}

static size_t live_conns(const struct fake_mrp *m, bool verified)
{
	size_t n = 0;

	for (const struct conn *c = m->conns; c; c = c->next)
		if (!c->dead && (!verified || c->encrypted))
			n++;
	return n;
}

static void on_accept(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct fake_mrp *m = ctx;
	struct atv_err err = {0, ""};

	(void)revents;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof sa;
		char a[INET_ADDRSTRLEN];
		int one = 1, cfd = accept4(fd, (struct sockaddr *)&sa, &sl,
					   SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				atv_warn("mrp: accept: %s", strerror(errno));
			return;
		}
		if (m->direct_off) {
			atv_info("mrp: closing a direct connection: tvOS %s serves mrp only "
				 "through the airplay tunnel", m->build);
			close(cfd);
			continue;
		}
		if (live_conns(m, false) >= MAX_CONNS) {
			atv_warn("mrp: refusing a connection: %d open already", MAX_CONNS);
			close(cfd);
			continue;
		}
		/* replies are small and a controller waits for each */
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = calloc(1, sizeof *c);
		if (!c) {
			close(cfd);
			continue;
		}
		c->m = m;
		c->fd = cfd;
		inet_ntop(AF_INET, &sa.sin_addr, a, sizeof a);
		snprintf(c->name, sizeof c->name, "%s:%u", a, ntohs(sa.sin_port));
		atv_mrp_frame_dec_init(&c->dec, IN_FRAME_MAX);
		atv_buf_init(&c->out, OUT_MAX);
		if (fake_loop_add_fd(loop, cfd, POLLIN, on_conn, c, &err) < 0) {
			atv_warn("mrp: %s", err.msg);
			close(cfd);
			conn_free(c);
			continue;
		}
		c->next = m->conns;
		m->conns = c;
		atv_debug("mrp %s: connected", c->name);
	}
}

/* ---- tunnel peers ---- */

struct fake_mrp_peer *fake_mrp_peer_new(struct fake_mrp *m, const char *name,
					fake_mrp_send_fn send, fake_mrp_closed_fn closed, void *ctx,
					struct atv_err *err)
{
	struct conn *c;

	if (!m->unique_id) {
		atv_err_set(err, ATV_E_UNSUPPORTED, "the device has no mrp identity");
		return NULL;
	}
	if (live_conns(m, false) >= MAX_CONNS) {
		atv_err_set(err, ATV_E_LIMIT, "%d mrp connections open already", MAX_CONNS);
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	c->m = m;
	c->fd = -1;
	c->encrypted = true; /* verified by AirPlay's pair-verify */
	c->tsend = send;
	c->tclosed = closed;
	c->tctx = ctx;
	snprintf(c->name, sizeof c->name, "%s", name);
	atv_buf_init(&c->out, 1);
	c->next = m->conns;
	m->conns = c;
	atv_debug("mrp %s: tunnel peer", c->name);
	return (struct fake_mrp_peer *)c;
}

void fake_mrp_peer_message(struct fake_mrp_peer *p, const uint8_t *msg, size_t len)
{
	struct conn *c = (struct conn *)p;

	if (!c->dead)
		on_frame(c, msg, len);
}

void fake_mrp_peer_free(struct fake_mrp_peer *p)
{
	struct conn *c = (struct conn *)p;

	if (!c)
		return;
	/* the tunnel closes it: nobody to tell */
	c->tclosed = NULL;
	c->tsend = NULL;
	conn_kill(c);
}

/* ---- listening, control ---- */

static void close_listener(struct fake_mrp *m)
{
	if (m->lfd < 0)
		return;
	fake_loop_remove_fd(m->loop, m->lfd);
	close(m->lfd);
	m->lfd = -1;
}

static int listen_on(struct fake_mrp *m, int port, struct atv_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr = m->addr};
	socklen_t sl = sizeof sa;
	char a[INET_ADDRSTRLEN];
	int one = 1, r, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	inet_ntop(AF_INET, &m->addr, a, sizeof a);
	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "socket");
	/* a restarted fake gets its port back despite TIME_WAIT connections */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to listen on %s:%d", a, port);
		close(fd);
		return r;
	}
	if ((r = fake_loop_add_fd(m->loop, fd, POLLIN, on_accept, m, err)) < 0) {
		close(fd);
		return r;
	}
	m->lfd = fd;
	m->port = ntohs(sa.sin_port);
	/* the mDNS responder reads the port from the service when it answers */
	m->svc->port = (uint16_t)m->port;
	m->svc->served = true;
	atv_info("mrp on %s:%d", a, m->port);
	return 0;
}

int fake_mrp_port(const struct fake_mrp *m)
{
	return m->svc ? m->port : -1;
}

size_t fake_mrp_drop(struct fake_mrp *m)
{
	size_t n = 0;

	for (struct conn *c = m->conns; c; c = c->next) {
		if (!c->dead) {
			n++;
			atv_debug("mrp %s: dropping", c->name);
			conn_kill(c);
		}
	}
	return n;
}

int fake_mrp_listen(struct fake_mrp *m, int port, struct atv_err *err)
{
	int old = m->port, r;

	if (!m->svc)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "the device has no mrp service");
	if (port < 0 || port > 65535)
		return atv_err_set(err, ATV_E_USAGE, "a port is 0 to 65535");
	fake_mrp_drop(m);
	close_listener(m);
	if ((r = listen_on(m, port, err)) < 0 && listen_on(m, old, NULL) < 0)
		atv_warn("mrp: not listening any more");
	return r;
}

static const char *const hostile_names[] = {"huge-varint",	   "truncated",
					    "bad-ciphertext",	   "garbage-protobuf",
					    "unknown-type",	   "many-outputs",
					    "long-output-name", NULL};

const char *fake_mrp_hostile_names(void)
{
	return "huge-varint, truncated, bad-ciphertext, garbage-protobuf, unknown-type, "
	       "many-outputs, long-output-name";
}

/* A DEVICE_INFO_UPDATE whose group is hostile: HOSTILE_OUTPUTS grouped
 * devices, or one whose name is HOSTILE_NAME bytes. */
static int send_hostile_group(struct conn *c, bool many, struct atv_err *err)
{
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__DeviceInfoMessage info = MRP__DEVICE_INFO_MESSAGE__INIT;
	size_t n = many ? HOSTILE_OUTPUTS : 1;
	Mrp__GroupedDevice *gd = calloc(n, sizeof *gd), **gdp = calloc(n, sizeof *gdp);
	char(*ids)[40] = calloc(n, sizeof *ids), *name = malloc(HOSTILE_NAME + 1);
	struct grouped *g = malloc(sizeof *g);

	if (!gd || !gdp || !ids || !name || !g) {
		free(gd), free(gdp), free(ids), free(name), free(g);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	memset(name, 'x', HOSTILE_NAME);
	name[HOSTILE_NAME] = '\0';
	fill_device_info(c->m, &info, g);
	for (size_t i = 0; i < n; i++) {
		gd[i] = (Mrp__GroupedDevice)MRP__GROUPED_DEVICE__INIT;
		snprintf(ids[i], sizeof ids[i], "HOSTILE-%06zu", i);
		gd[i].deviceuid = gd[i].uniqueidentifier = ids[i];
		gd[i].name = many ? ids[i] : name;
		gdp[i] = &gd[i];
	}
	info.groupeddevices = gdp;
	info.n_groupeddevices = n;
	msg.deviceinfomessage = &info;
	conn_send(c, &msg, MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_UPDATE_MESSAGE, NULL);
	free(gd), free(gdp), free(ids), free(name), free(g);
	return c->dead ? atv_err_set(err, ATV_E_IO, "the connection is gone") : 0;
}

static int send_hostile(struct conn *c, int mode, struct atv_err *err)
{
	struct fake_mrp *m = c->m;
	Mrp__ProtocolMessage msg = MRP__PROTOCOL_MESSAGE__INIT;
	struct atv_mrp_ids ids;
	/* field 2 (identifier) claiming 127 bytes of which 7 follow: no
	 * ProtocolMessage parser accepts that */
	static const uint8_t garbage[] = {0x12, 0x7f, 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
	uint8_t v[ATV_MRP_VARINT_MAX + 10] = {0};
	size_t n;
	int r;

	switch (mode) {
	case 0: /* huge-varint: a frame of 2^40 bytes, none of them sent */
		n = atv_mrp_varint_put(v, (uint64_t)1 << 40);
		r = atv_buf_append(&c->out, v, n, err);
		break;
	case 1: /* truncated: 100 bytes announced, 10 sent, the connection kept */
		n = atv_mrp_varint_put(v, 100);
		r = atv_buf_append(&c->out, v, n + 10, err);
		break;
	case 2: /* bad-ciphertext: a real message whose tag does not verify */
		msg.has_type = 1;
		msg.type = MRP__PROTOCOL_MESSAGE__TYPE__GENERIC_MESSAGE;
		atv_buf_reset(&m->pt);
		r = atv_mrp_msg_stamp(&msg, &ids, "", err);
		if (r == 0)
			r = atv_mrp_msg_pack(&msg, &m->pt, err);
		if (r == 0)
			r = conn_frame(c, m->pt.data, m->pt.len, true, err);
		break;
	case 3: /* garbage-protobuf: well encrypted, not a ProtocolMessage */
		r = conn_frame(c, garbage, sizeof garbage, false, err);
		break;
	case 5: /* many-outputs */
	case 6: /* long-output-name */
		r = send_hostile_group(c, mode == 5, err);
		break;
	default: /* unknown-type: well formed, of a type no schema has */
		conn_send(c, &msg, 999, NULL);
		r = c->dead ? -ATV_E_IO : 0;
		break;
	}
	want_write(c);
	return r;
}

int fake_mrp_hostile(struct fake_mrp *m, const char *mode, size_t *sent, struct atv_err *err)
{
	int k = -1;

	*sent = 0;
	for (int i = 0; hostile_names[i]; i++)
		if (strcmp(hostile_names[i], mode) == 0)
			k = i;
	if (k < 0)
		return atv_err_set(err, ATV_E_USAGE, "unknown hostile mode \"%s\" (one of: %s)",
				   mode, fake_mrp_hostile_names());
	for (struct conn *c = m->conns; c; c = c->next) {
		if (c->dead || !c->encrypted || c->fd < 0)
			continue;
		atv_info("mrp %s: sending hostile %s", c->name, mode);
		if (send_hostile(c, k, err) < 0)
			conn_fail(c, "%s", err->msg);
		else
			(*sent)++;
	}
	if (*sent == 0)
		return atv_err_set(err, ATV_E_NOTFOUND, "no verified mrp connection");
	return 0;
}

json_t *fake_mrp_state(const struct fake_mrp *m)
{
	json_t *o = fake_player_state(m->pl), *ids = json_array();
	char id[2 * ATV_HAP_ID_MAX + 1];
	size_t subscribed = 0, tunnel = 0;

	for (const struct conn *c = m->conns; c; c = c->next) {
		if (!c->dead && c->subscribed)
			subscribed++;
		if (!c->dead && c->fd < 0)
			tunnel++;
	}
	for (size_t i = 0; i < m->pairings.n; i++) {
		fake_pairing_id_text(id, sizeof id, m->pairings.p[i].id, m->pairings.p[i].idlen);
		json_array_append_new(ids, json_string(id));
	}
	json_object_set_new(o, "connections", json_integer((json_int_t)live_conns(m, false)));
	json_object_set_new(o, "verified", json_integer((json_int_t)live_conns(m, true)));
	json_object_set_new(o, "subscribed", json_integer((json_int_t)subscribed));
	json_object_set_new(o, "tunnel_peers", json_integer((json_int_t)tunnel));
	json_object_set_new(o, "pairings", json_integer((json_int_t)m->pairings.n));
	json_object_set_new(o, "pairing_ids", ids);
	json_object_set_new(o, "mrp_port", m->svc ? json_integer(m->port) : json_null());
	json_object_set_new(o, "output_devices", fake_mrp_outputs(m));
	return o;
}

/* The accessory's long-term key: derived from its identifier, so a
 * restarted fake is the same accessory to controllers paired before. */
static int derive_seed(struct fake_mrp *m, struct atv_err *err)
{
	uint8_t h[ATV_SHA512_LEN];
	size_t n = strlen(m->unique_id);
	char *s = malloc(n + 10);
	int r;

	if (!s)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	memcpy(s, "fake-atv:", 9);
	memcpy(s + 9, m->unique_id, n + 1);
	r = atv_sha512(s, n + 9, h, err);
	free(s);
	if (r == 0)
		memcpy(m->seed, h, sizeof m->seed);
	atv_crypto_wipe(h, sizeof h);
	return r;
}

static int setup_service(struct fake_mrp *m, const struct fake_mrp_opts *o, struct atv_err *err)
{
	struct fake_service *air = fake_device_service(m->dev, "_airplay._tcp");
	int r;

	m->svc = fake_device_service(m->dev, MRP_SERVICE);
	if (!m->svc) {
		/* no MRP service (a HomePod): MRP only through the tunnel,
		 * under the AirPlay identity */
		if (air && !(m->unique_id = fake_service_txt(air, "pi")))
			m->unique_id = fake_service_txt(air, "deviceid");
		if (m->unique_id && (!*m->unique_id || strlen(m->unique_id) >= ATV_UUID_SIZE)) {
			free(m->unique_id);
			m->unique_id = NULL;
		}
		m->model = air ? fake_service_txt(air, "model") : NULL;
		if ((m->unique_id && !m->build && !(m->build = strdup("21K69"))) ||
		    (m->unique_id && !m->model && !(m->model = strdup("AudioAccessory5,1"))))
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return 0;
	}
	m->unique_id = fake_service_txt(m->svc, "UniqueIdentifier");
	if (!m->unique_id || !*m->unique_id || strlen(m->unique_id) > ATV_HAP_ID_MAX) {
		atv_warn("mrp: the %s service has no usable UniqueIdentifier: not serving mrp",
			 MRP_SERVICE);
		free(m->unique_id);
		m->unique_id = NULL;
		m->svc = NULL;
		return 0;
	}
	m->build = fake_service_txt(m->svc, "SystemBuildVersion");
	m->direct_off = m->build && atoi(m->build) >= 19;
	m->model = air ? fake_service_txt(air, "model") : NULL;
	if ((!m->build && !(m->build = strdup("21K69"))) ||
	    (!m->model && !(m->model = strdup("AppleTV6,2"))))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (!o->address || inet_pton(AF_INET, o->address, &m->addr) != 1)
		return atv_err_set(err, ATV_E_USAGE, "mrp: no IPv4 address to listen on");
	if ((r = derive_seed(m, err)) < 0)
		return r;
	if (o->pairings && (r = fake_pairings_load(&m->pairings, o->pairings, err)) < 0)
		return r;
	return listen_on(m, o->port < 0 ? m->svc->port : o->port, err);
}

int fake_mrp_new(struct fake_loop *loop, struct fake_device *dev, struct fake_player *player,
		 const struct fake_mrp_opts *o,
		 struct fake_mrp **out, struct atv_err *err)
{
	struct fake_mrp *m = calloc(1, sizeof *m);
	int r;

	*out = NULL;
	if (!m)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	m->loop = loop;
	m->dev = dev;
	m->lfd = -1;
	m->port = -1;
	fake_pairings_init(&m->pairings, "mrp", FAKE_MAX_PAIRINGS);
	snprintf(m->pin, sizeof m->pin, "%s", dev->pin ? dev->pin : FAKE_DEFAULT_PIN);
	atv_buf_init(&m->in, ATV_MRP_MAX_FRAME);
	atv_buf_init(&m->pt, ATV_MRP_MAX_FRAME);
	atv_buf_init(&m->ct, ATV_MRP_MAX_FRAME + ATV_AEAD_TAG_LEN);
	m->pl = player;
	if ((r = fake_player_listen(player, on_player_change, m, err)) < 0) {
		m->pl = NULL;
		fake_mrp_free(m);
		return r;
	}
	if ((r = setup_service(m, o, err)) < 0 || (r = load_outputs(m, err)) < 0) {
		fake_mrp_free(m);
		return r;
	}
	*out = m;
	return 0;
}

void fake_mrp_free(struct fake_mrp *m)
{
	if (!m)
		return;
	fake_mrp_drop(m);
	if (m->reap_timer)
		fake_loop_cancel_timer(m->loop, m->reap_timer);
	reap(m->loop, m);
	close_listener(m);
	if (m->pl)
		fake_player_unlisten(m->pl, m);
	atv_buf_release(&m->in);
	atv_buf_release(&m->pt);
	atv_buf_release(&m->ct);
	free(m->unique_id);
	free(m->build);
	free(m->model);
	for (size_t i = 0; i < m->n_outs; i++) {
		free(m->outs[i].id);
		free(m->outs[i].name);
	}
	fake_pairings_release(&m->pairings);
	atv_crypto_wipe(m, sizeof *m);
	free(m);
}
