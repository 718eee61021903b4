/* mrp_msg.c - building and unpacking MRP ProtocolMessages. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "mrp_frame.h"
#include "mrp_msg.h"
#include "banned.h"

/* What Apple's Remote app says about itself in DEVICE_INFO; devices that
 * check the client expect these (values as sent by pyatv). */
#define REMOTE_BUNDLE_ID "com.apple.TVRemote"
#define REMOTE_BUNDLE_VERSION "344.28"
#define REMOTE_MEDIA_APP "com.apple.TVMusic"
#define REMOTE_LAST_MESSAGE_TYPE 108
#define REMOTE_SHARED_QUEUE_VERSION 2

/* hidEventData is an IOHIDEvent keyboard event serialised: an 8-byte mach
 * absolute time (tvOS accepts any, so a fixed one), 35 fixed bytes, the
 * key as three big-endian 16-bit words (usage page, usage, 1 when down)
 * and an 11-byte fixed trailer. */
#define HID_KEY_OFF 43
#define HID_TRAILER_OFF 49
static const uint8_t hid_head[HID_KEY_OFF] = {
	0x43, 0x89, 0x22, 0xcf, 0x08, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x20, 0x00,
	0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t hid_trailer[ATV_MRP_HID_LEN - HID_TRAILER_OFF] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
};
#define HID_TIME_LEN 8

int atv_mrp_msg_stamp(Mrp__ProtocolMessage *m, struct atv_mrp_ids *ids, const char *identifier,
                      struct atv_err *err)
{
	int r;

	if (!identifier) {
		r = atv_uuid(ids->identifier, err);
		if (r < 0)
			return r;
	} else if (strlen(identifier) >= sizeof ids->identifier) {
		return atv_err_set(err, ATV_E_LIMIT, "mrp identifier longer than %zu characters",
		                   sizeof ids->identifier - 1);
	} else {
		memmove(ids->identifier, identifier, strlen(identifier) + 1);
	}
	r = atv_uuid(ids->unique_id, err);
	if (r < 0)
		return r;
	m->identifier = ids->identifier[0] ? ids->identifier : NULL;
	m->uniqueidentifier = ids->unique_id;
	m->has_errorcode = 1;
	m->errorcode = MRP__ERROR_CODE__ERROR_NONE;
	return 0;
}

int atv_mrp_msg_pack(const Mrp__ProtocolMessage *m, struct atv_buf *out, struct atv_err *err)
{
	size_t n = mrp__protocol_message__get_packed_size(m);
	int r;

	if (n > ATV_MRP_MAX_FRAME)
		return atv_err_set(err, ATV_E_LIMIT,
		                   "mrp message of %zu bytes exceeds the %zu byte limit", n,
		                   ATV_MRP_MAX_FRAME);
	if (n == 0)
		return 0; /* an empty message is no bytes (and out may have no data yet) */
	r = atv_buf_reserve(out, n, err);
	if (r < 0)
		return r;
	if (mrp__protocol_message__pack(m, out->data + out->len) != n)
		return atv_err_set(err, ATV_E_PROTO, "mrp message packed to an unexpected size");
	out->len += n;
	return 0;
}

/* protobuf-c allocator that refuses once an unpack has taken its budget.
 * Blocks come from malloc, so the default allocator frees them. */
struct budget {
	size_t left;
};

static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;

	if (size > b->left)
		return NULL;
	b->left -= size;
	return malloc(size ? size : 1);
}

static void budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

int atv_mrp_msg_unpack(const uint8_t *p, size_t len, Mrp__ProtocolMessage **out,
                       struct atv_err *err)
{
	struct budget b;
	ProtobufCAllocator a = { budget_alloc, budget_free, &b };

	*out = NULL;
	if (len > ATV_MRP_MAX_FRAME)
		return atv_err_set(err, ATV_E_LIMIT,
		                   "mrp message of %zu bytes exceeds the %zu byte limit", len,
		                   ATV_MRP_MAX_FRAME);
	/* Room for the copies of strings and bytes plus the C structs of
	 * what real devices send; 64 x the input covers that with margin. */
	b.left = len * 64 + ((size_t)64 << 10);
	if (b.left > ATV_MRP_UNPACK_MAX)
		b.left = ATV_MRP_UNPACK_MAX;
	*out = mrp__protocol_message__unpack(&a, len, p);
	if (!*out)
		return atv_err_set(err, ATV_E_PROTO, "malformed mrp message (%zu bytes)", len);
	return 0;
}

void atv_mrp_msg_free(Mrp__ProtocolMessage *m)
{
	if (m)
		mrp__protocol_message__free_unpacked(m, NULL);
}

const char *atv_mrp_msg_type_name(int type)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	        &mrp__protocol_message__type__descriptor, type);

	return v ? v->name : "UNKNOWN";
}

/* Stamp m (identifier as for atv_mrp_msg_stamp) and append it to out. */
static int finish(Mrp__ProtocolMessage *m, Mrp__ProtocolMessage__Type type, struct atv_mrp_ids *ids,
                  const char *identifier, struct atv_buf *out, struct atv_err *err)
{
	struct atv_mrp_ids local;
	int r;

	if (!ids)
		ids = &local;
	m->has_type = 1;
	m->type = type;
	r = atv_mrp_msg_stamp(m, ids, identifier, err);
	if (r < 0)
		return r;
	return atv_mrp_msg_pack(m, out, err);
}

int atv_mrp_msg_device_info(struct atv_buf *out, struct atv_mrp_ids *ids,
                            const struct atv_mrp_identity *me, bool update, struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__DeviceInfoMessage info = MRP__DEVICE_INFO_MESSAGE__INIT;
	char uuid[ATV_UUID_SIZE];
	int r;

	if (me->unique_id) {
		info.uniqueidentifier = (char *)me->unique_id;
	} else {
		r = atv_uuid(uuid, err);
		if (r < 0)
			return r;
		info.uniqueidentifier = uuid;
	}
	info.name = (char *)(me->name ? me->name : "atv-tools");
	info.localizedmodelname = (char *)(me->model ? me->model : "iPhone");
	info.systembuildversion = (char *)(me->build ? me->build : "18G82");
	info.applicationbundleidentifier = (char *)REMOTE_BUNDLE_ID;
	info.applicationbundleversion = (char *)REMOTE_BUNDLE_VERSION;
	info.has_protocolversion = 1;
	info.protocolversion = 1;
	info.has_lastsupportedmessagetype = 1;
	info.lastsupportedmessagetype = REMOTE_LAST_MESSAGE_TYPE;
	info.has_supportssystempairing = 1;
	info.supportssystempairing = 1;
	info.has_allowspairing = 1;
	info.allowspairing = 1;
	info.systemmediaapplication = (char *)REMOTE_MEDIA_APP;
	info.has_supportsacl = 1;
	info.supportsacl = 1;
	info.has_supportssharedqueue = 1;
	info.supportssharedqueue = 1;
	info.has_supportsextendedmotion = 1;
	info.supportsextendedmotion = 1;
	info.has_sharedqueueversion = 1;
	info.sharedqueueversion = REMOTE_SHARED_QUEUE_VERSION;
	info.has_deviceclass = 1;
	info.deviceclass = MRP__DEVICE_CLASS__DEVICE_CLASS_IPHONE;
	info.has_logicaldevicecount = 1;
	info.logicaldevicecount = 1;
	m.deviceinfomessage = &info;
	return finish(&m,
	              update ? MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_UPDATE_MESSAGE
	                     : MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE,
	              ids, NULL, out, err);
}

int atv_mrp_msg_crypto_pairing(struct atv_buf *out, struct atv_mrp_ids *ids, const uint8_t *tlv,
                               size_t len, bool first_setup, struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__CryptoPairingMessage c = MRP__CRYPTO_PAIRING_MESSAGE__INIT;

	c.has_pairingdata = 1;
	c.pairingdata.data = (uint8_t *)tlv;
	c.pairingdata.len = len;
	c.has_status = 1;
	c.status = 0;
	c.has_isretrying = 1;
	c.isretrying = 0;
	c.has_isusingsystempairing = 1;
	c.isusingsystempairing = 0;
	c.has_state = 1;
	c.state = first_setup ? 2 : 0;
	m.cryptopairingmessage = &c;
	/* Pairing replies come without identifier: none to match. */
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__CRYPTO_PAIRING_MESSAGE, ids, "", out, err);
}

int atv_mrp_msg_set_connection_state(struct atv_buf *out, struct atv_mrp_ids *ids,
                                     Mrp__SetConnectionStateMessage__State state,
                                     struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SetConnectionStateMessage s = MRP__SET_CONNECTION_STATE_MESSAGE__INIT;

	s.has_state = 1;
	s.state = state;
	m.setconnectionstatemessage = &s;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__SET_CONNECTION_STATE_MESSAGE, ids, NULL, out,
	              err);
}

int atv_mrp_msg_client_updates_config(struct atv_buf *out, struct atv_mrp_ids *ids, unsigned flags,
                                      struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__ClientUpdatesConfigMessage c = MRP__CLIENT_UPDATES_CONFIG_MESSAGE__INIT;

	c.has_artworkupdates = 1;
	c.artworkupdates = !!(flags & ATV_MRP_UPDATES_ARTWORK);
	c.has_nowplayingupdates = 1;
	c.nowplayingupdates = !!(flags & ATV_MRP_UPDATES_NOW_PLAYING);
	c.has_volumeupdates = 1;
	c.volumeupdates = !!(flags & ATV_MRP_UPDATES_VOLUME);
	c.has_keyboardupdates = 1;
	c.keyboardupdates = !!(flags & ATV_MRP_UPDATES_KEYBOARD);
	c.has_outputdeviceupdates = 1;
	c.outputdeviceupdates = !!(flags & ATV_MRP_UPDATES_OUTPUT_DEVICES);
	m.clientupdatesconfigmessage = &c;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__CLIENT_UPDATES_CONFIG_MESSAGE, ids, NULL,
	              out, err);
}

int atv_mrp_msg_command(struct atv_buf *out, struct atv_mrp_ids *ids, Mrp__Command command,
                        const struct atv_mrp_cmd_opts *opts, struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SendCommandMessage c = MRP__SEND_COMMAND_MESSAGE__INIT;
	Mrp__CommandOptions o = MRP__COMMAND_OPTIONS__INIT;

	c.has_command = 1;
	c.command = command;
	if (opts && (opts->has_position || opts->has_skip_interval || opts->has_rate ||
	             opts->has_shuffle || opts->has_repeat)) {
		o.has_playbackposition = opts->has_position;
		o.playbackposition = opts->position;
		o.has_skipinterval = opts->has_skip_interval;
		o.skipinterval = opts->skip_interval;
		o.has_playbackrate = opts->has_rate;
		o.playbackrate = opts->rate;
		o.has_shufflemode = opts->has_shuffle;
		o.shufflemode = opts->shuffle;
		o.has_repeatmode = opts->has_repeat;
		o.repeatmode = opts->repeat;
		/* Mode changes go out with sendOptions 0, as the Remote app does. */
		if (opts->has_shuffle || opts->has_repeat) {
			o.has_sendoptions = 1;
			o.sendoptions = 0;
		}
		c.options = &o;
	}
	m.sendcommandmessage = &c;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__SEND_COMMAND_MESSAGE, ids, NULL, out, err);
}

void atv_mrp_hid_encode(uint8_t out[ATV_MRP_HID_LEN], uint16_t usage_page, uint16_t usage,
                        bool down)
{
	memcpy(out, hid_head, sizeof hid_head);
	atv_put_be16(out + HID_KEY_OFF, usage_page);
	atv_put_be16(out + HID_KEY_OFF + 2, usage);
	atv_put_be16(out + HID_KEY_OFF + 4, down ? 1 : 0);
	memcpy(out + HID_TRAILER_OFF, hid_trailer, sizeof hid_trailer);
}

int atv_mrp_hid_decode(const uint8_t *p, size_t len, uint16_t *usage_page, uint16_t *usage,
                       bool *down, struct atv_err *err)
{
	uint16_t d;

	/* The timestamp may be anything; the rest must be the known layout. */
	if (len != ATV_MRP_HID_LEN ||
	    memcmp(p + HID_TIME_LEN, hid_head + HID_TIME_LEN, HID_KEY_OFF - HID_TIME_LEN) != 0 ||
	    memcmp(p + HID_TRAILER_OFF, hid_trailer, sizeof hid_trailer) != 0)
		return atv_err_set(err, ATV_E_PROTO, "unknown hid event layout (%zu bytes)", len);
	d = atv_get_be16(p + HID_KEY_OFF + 4);
	if (d > 1)
		return atv_err_set(err, ATV_E_PROTO,
		                   "hid event key state %u is neither up nor down", d);
	*usage_page = atv_get_be16(p + HID_KEY_OFF);
	*usage = atv_get_be16(p + HID_KEY_OFF + 2);
	*down = d == 1;
	return 0;
}

int atv_mrp_msg_hid_event(struct atv_buf *out, struct atv_mrp_ids *ids, uint16_t usage_page,
                          uint16_t usage, bool down, struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SendHIDEventMessage h = MRP__SEND_HIDEVENT_MESSAGE__INIT;
	uint8_t blob[ATV_MRP_HID_LEN];

	atv_mrp_hid_encode(blob, usage_page, usage, down);
	h.has_hideventdata = 1;
	h.hideventdata.data = blob;
	h.hideventdata.len = sizeof blob;
	m.sendhideventmessage = &h;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__SEND_HID_EVENT_MESSAGE, ids, NULL, out, err);
}

int atv_mrp_msg_button_event(struct atv_buf *out, struct atv_mrp_ids *ids, uint32_t usage_page,
                             uint32_t usage, bool down, struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SendButtonEventMessage b = MRP__SEND_BUTTON_EVENT_MESSAGE__INIT;

	b.has_usagepage = 1;
	b.usagepage = usage_page;
	b.has_usage = 1;
	b.usage = usage;
	b.has_buttondown = 1;
	b.buttondown = down;
	m.sendbuttoneventmessage = &b;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__SEND_BUTTON_EVENT_MESSAGE, ids, NULL, out,
	              err);
}

int atv_mrp_msg_set_volume(struct atv_buf *out, struct atv_mrp_ids *ids, const char *device_uid,
                           float volume, struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SetVolumeMessage v = MRP__SET_VOLUME_MESSAGE__INIT;

	v.has_volume = 1;
	v.volume = volume;
	v.outputdeviceuid = (char *)device_uid;
	m.setvolumemessage = &v;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__SET_VOLUME_MESSAGE, ids, NULL, out, err);
}

int atv_mrp_msg_get_volume(struct atv_buf *out, struct atv_mrp_ids *ids, const char *device_uid,
                           struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__GetVolumeMessage v = MRP__GET_VOLUME_MESSAGE__INIT;

	v.outputdeviceuid = (char *)device_uid;
	m.getvolumemessage = &v;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__GET_VOLUME_MESSAGE, ids, NULL, out, err);
}

int atv_mrp_msg_modify_outputs(struct atv_buf *out, struct atv_mrp_ids *ids,
                               enum atv_mrp_outputs_op op, const char *const *uids, size_t n,
                               struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__ModifyOutputContextRequestMessage mo = MRP__MODIFY_OUTPUT_CONTEXT_REQUEST_MESSAGE__INIT;
	/* protobuf-c's repeated strings are char **: the caller's stay const */
	char **list = (char **)(uintptr_t)uids;

	mo.has_type = 1;
	mo.type = ATV_MRP_OUTPUT_CONTEXT_SHARED_AUDIO;
	switch (op) {
	case ATV_MRP_OUTPUTS_ADD:
		mo.n_addingdevices = mo.n_clusterawareaddingdevices = n;
		mo.addingdevices = mo.clusterawareaddingdevices = list;
		break;
	case ATV_MRP_OUTPUTS_REMOVE:
		mo.n_removingdevices = mo.n_clusterawareremovingdevices = n;
		mo.removingdevices = mo.clusterawareremovingdevices = list;
		break;
	default:
		mo.n_settingdevices = mo.n_clusterawaresettingdevices = n;
		mo.settingdevices = mo.clusterawaresettingdevices = list;
		break;
	}
	m.modifyoutputcontextrequestmessage = &mo;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__MODIFY_OUTPUT_CONTEXT_REQUEST_MESSAGE, ids,
	              NULL, out, err);
}

int atv_mrp_msg_playback_queue_request(struct atv_buf *out, struct atv_mrp_ids *ids, int location,
                                       double width, double height, struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__PlaybackQueueRequestMessage q = MRP__PLAYBACK_QUEUE_REQUEST_MESSAGE__INIT;

	q.has_location = 1;
	q.location = location;
	q.has_length = 1;
	q.length = 1;
	q.has_artworkwidth = 1;
	q.artworkwidth = width;
	q.has_artworkheight = 1;
	q.artworkheight = height;
	q.has_returncontentitemassetsinusercompletion = 1;
	q.returncontentitemassetsinusercompletion = 1;
	m.playbackqueuerequestmessage = &q;
	return finish(&m, MRP__PROTOCOL_MESSAGE__TYPE__PLAYBACK_QUEUE_REQUEST_MESSAGE, ids, NULL,
	              out, err);
}

int atv_mrp_msg_empty(struct atv_buf *out, struct atv_mrp_ids *ids, Mrp__ProtocolMessage__Type type,
                      struct atv_err *err)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;

	return finish(&m, type, ids, NULL, out, err);
}

int atv_mrp_msg_wake(struct atv_buf *out, struct atv_mrp_ids *ids, struct atv_err *err)
{
	return atv_mrp_msg_empty(out, ids, MRP__PROTOCOL_MESSAGE__TYPE__WAKE_DEVICE_MESSAGE, err);
}
