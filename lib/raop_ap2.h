/* raop_ap2.h - the binary plist bodies of AirPlay 2 audio's SETUPs and
 * the parser of the stream SETUP's reply.
 *
 * Facts: pyatv raop/protocols/airplayv2.py (the session SETUP with NTP
 * timing, the stream SETUP), OwnTone outputs/airplay.c
 * (payload_make_setup_stream: ALAC is ct 2, audioFormat 0x40000 =
 * ALAC/44100/16/2).  The session SETUP's reply (eventPort) is read with
 * airplay_tunnel.h's atv_ap_tunnel_session_reply. */
#ifndef ATV_RAOP_AP2_H
#define ATV_RAOP_AP2_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"

#define ATV_RAOP_AP2_AUDIO_FORMAT_ALAC 0x40000 /* ALAC/44100/16/2 */
#define ATV_RAOP_AP2_CT_ALAC	       2
#define ATV_RAOP_AP2_TYPE_REALTIME     96
#define ATV_RAOP_AP2_SHK_LEN	       ATV_AEAD_KEY_LEN

/* {deviceID, sessionUUID, timingPort, timingProtocol "NTP",
 * isMultiSelectAirPlay true, groupContainsGroupLeader false, macAddress,
 * model, name, osBuildVersion, osName, osVersion, senderSupportsRelay
 * false, sourceVersion, statsCollectionEnabled false}; *out is reset. */
int atv_raop_ap2_session_body(int timing_port, const char *session_uuid, const char *name,
			      struct atv_buf *out, struct atv_err *err);

/* {streams:[{audioFormat 0x40000, audioMode "default", controlPort, ct 2,
 * isMedia true, latencyMax 88200, latencyMin 11025, shk, spf 352, sr
 * 44100, type 96, supportsDynamicStreamID false, streamConnectionID}]}. */
int atv_raop_ap2_stream_body(int control_port, const uint8_t shk[ATV_RAOP_AP2_SHK_LEN],
			     uint32_t connection_id, struct atv_buf *out, struct atv_err *err);

/* streams[0].dataPort and .controlPort (each 1..65535, else
 * -ATV_E_PROTO). */
int atv_raop_ap2_stream_reply(const uint8_t *body, size_t len, int *data_port,
			      int *control_port, struct atv_err *err);

#endif
