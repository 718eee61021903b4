/* raop_ap2.c - AirPlay 2 audio's SETUP bodies (raop_ap2.h). */
#include "config.h"

#include <string.h>

#include "airplay.h"
#include "airplay_tunnel.h"
#include "plist_dl.h"
#include "raop_ap2.h"

#include "banned.h"

/* Who we say we are (pyatv's values for its audio sender). */
#define OUR_DEVICE_ID "AA:BB:CC:DD:EE:FF"
#define OUR_MODEL     "iPhone14,3"
#define OUR_OS_BUILD  "20F66"
#define OUR_OS_VER    "16.5"
#define OUR_SOURCE    "690.7.1"

static const struct atv_plist *pl;

int atv_raop_ap2_session_body(int timing_port, const char *session_uuid, const char *name,
			      struct atv_buf *out, struct atv_err *err)
{
	const char *keys[] = {"deviceID",	"sessionUUID", "timingProtocol", "macAddress",
			      "model",		"name",	       "osBuildVersion", "osName",
			      "osVersion",	"sourceVersion"};
	const char *vals[] = {OUR_DEVICE_ID, session_uuid,   "NTP",	      OUR_DEVICE_ID,
			      OUR_MODEL,     name ? name : "", OUR_OS_BUILD, "iPhone OS",
			      OUR_OS_VER,    OUR_SOURCE};
	plist_t d;
	int r;

	if ((r = atv_plist_load(&pl, err)) < 0)
		return r;
	if (!(d = pl->new_dict()))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		pl->dict_set_item(d, keys[i], pl->new_string(vals[i]));
	pl->dict_set_item(d, "timingPort", pl->new_uint((uint64_t)timing_port));
	pl->dict_set_item(d, "isMultiSelectAirPlay", pl->new_bool(1));
	pl->dict_set_item(d, "groupContainsGroupLeader", pl->new_bool(0));
	pl->dict_set_item(d, "senderSupportsRelay", pl->new_bool(0));
	pl->dict_set_item(d, "statsCollectionEnabled", pl->new_bool(0));
	return atv_ap_plist_bin(d, out, err);
}

int atv_raop_ap2_stream_body(int control_port, const uint8_t shk[ATV_RAOP_AP2_SHK_LEN],
			     uint32_t connection_id, struct atv_buf *out, struct atv_err *err)
{
	plist_t d, s;
	int r;

	if ((r = atv_plist_load(&pl, err)) < 0 || (r = atv_ap_streams_body(&d, &s, err)) < 0)
		return r;
	pl->dict_set_item(s, "audioFormat", pl->new_uint(ATV_RAOP_AP2_AUDIO_FORMAT_ALAC));
	pl->dict_set_item(s, "audioMode", pl->new_string("default"));
	pl->dict_set_item(s, "controlPort", pl->new_uint((uint64_t)control_port));
	pl->dict_set_item(s, "ct", pl->new_uint(ATV_RAOP_AP2_CT_ALAC));
	pl->dict_set_item(s, "isMedia", pl->new_bool(1));
	pl->dict_set_item(s, "latencyMax", pl->new_uint(88200));
	pl->dict_set_item(s, "latencyMin", pl->new_uint(11025));
	pl->dict_set_item(s, "shk", pl->new_data((const char *)shk, ATV_RAOP_AP2_SHK_LEN));
	pl->dict_set_item(s, "spf", pl->new_uint(352));
	pl->dict_set_item(s, "sr", pl->new_uint(44100));
	pl->dict_set_item(s, "type", pl->new_uint(ATV_RAOP_AP2_TYPE_REALTIME));
	pl->dict_set_item(s, "supportsDynamicStreamID", pl->new_bool(0));
	pl->dict_set_item(s, "streamConnectionID", pl->new_uint(connection_id));
	return atv_ap_plist_bin(d, out, err);
}

int atv_raop_ap2_stream_reply(const uint8_t *body, size_t len, int *data_port,
			      int *control_port, struct atv_err *err)
{
	plist_t d = NULL, s;
	int r;

	*data_port = *control_port = -1;
	if ((r = atv_plist_load(&pl, err)) < 0)
		return r;
	if ((r = atv_airplay_plist_dict(body, len, &d, err)) < 0) {
		atv_err_prefix(err, "audio stream SETUP reply");
		return r;
	}
	if ((s = atv_ap_plist_stream0(d))) {
		*data_port = atv_ap_plist_port(s, "dataPort");
		*control_port = atv_ap_plist_port(s, "controlPort");
	}
	pl->free(d);
	if (*data_port < 0 || *control_port < 0)
		return atv_err_set(err, ATV_E_PROTO, "audio stream SETUP reply without a usable "
						     "streams[0].dataPort and controlPort");
	return 0;
}
