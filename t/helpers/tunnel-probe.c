/* tunnel-probe - an AirPlay 2 MRP-tunnel controller that runs the steps it
 * is given, for the fake Apple TV's tests (t/0033-fake-tunnel.t).
 *
 *   tunnel-probe HOST PORT STEP...   (HAP credentials on stdin for verify)
 *
 * One JSON line per step result and per frame the device sends:
 *   transient        transient pair-setup (X-Apple-HKP: 4), then sealed
 *   verify           pair-verify with the credentials line on stdin
 *   setup            session SETUP: {"step":"setup","status","eventPort",
 *                    "skipRecord","timingPort"}
 *   events           dial the event port (Events keys)
 *   record           RECORD: {"step":"record","status","latency"}
 *   info             wait for the device's request on the event channel,
 *                    answer 200: {"step":"info","request":"METHOD URI PROTO",
 *                    "cseq","type","name","hex"} (hex: the body)
 *   stream SEED      stream SETUP (type 130): {"step":"stream","status",
 *                    "type","streamID","dataPort"}
 *   data             dial the data port (DataStream-Salt + SEED)
 *   hello            one frame with DEVICE_INFO, SET_CONNECTION_STATE and
 *                    CLIENT_UPDATES_CONFIG (three messages, one frame)
 *   bare             one frame whose data is a bare DEVICE_INFO (no length)
 *   sync SEQNO       an empty sync/comm frame with SEQNO
 *   raw HEX          HEX (a whole frame) sealed onto the data channel
 *   params HEX       a sync/comm frame whose params.data is HEX
 *   play | pause     SEND_COMMAND
 *   pump MS          print what comes for MS ms: {"frame":TYPE,"cmd",
 *                    "seqno","size","types":[MRP types],"hex":first 64 bytes}
 *                    (device syncs are answered with an empty rply, as
 *                    pyatv does, unless norply came before)
 *   norply           stop answering device syncs
 *   feedback         POST /feedback: {"step":"feedback","status"}
 *   teardown-stream  TEARDOWN {streams:[{streamID 1}]}; teardown: no body
 * Errors: "tunnel-probe: message" on stderr, exit status from
 * atv_exit_status() (a channel the device closes: 3). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <plist/plist.h>

#include "airplay_channel.h"
#include "airplay_frame.h"
#include "buf.h"
#include "err.h"
#include "hap.h"
#include "httpmsg.h"
#include "mrp_msg.h"
#include "bytes.h"
#include "tcp.h"

#define TIMEOUT_MS 5000
#define SESSION	   "rtsp://127.0.0.1/1234567"

struct probe {
	const char *host;
	struct atv_channel *ctl, *ev, *data;
	struct atv_hap_setup *transient;
	struct atv_hap_verify *verify;
	unsigned cseq;
	int event_port, data_port;
	uint64_t seed;
	bool norply;
	struct atv_ap_frame_dec dec;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* Keys of the control connection's pairing, controller side. */
static int keys(struct probe *pr, const char *salt, const char *w, const char *r,
		struct atv_hap_cipher *c, struct atv_err *err)
{
	if (pr->verify)
		return atv_hap_verify_cipher(pr->verify, salt, w, r, c, err);
	if (pr->transient)
		return atv_hap_setup_cipher(pr->transient, salt, w, r, c, err);
	return atv_err_set(err, ATV_E_USAGE, "transient or verify first");
}

static int dial(struct probe *pr, int port, struct atv_channel **out, struct atv_err *err)
{
	int fd = -1, r = atv_tcp_connect(pr->host, port, TIMEOUT_MS, &fd, err);

	if (r < 0)
		return r;
	*out = atv_channel_new_direct(fd, err);
	return *out ? 0 : -err->code;
}

/* One HTTP or RTSP exchange on the control connection. */
static int exchange(struct probe *pr, const char *method, const char *uri, const char *proto,
		    const char *const *headers, const void *body, size_t len,
		    struct atv_httpmsg *reply, struct atv_err *err)
{
	struct atv_httpmsg_req req = {method, uri, proto, headers, body, len, pr->cseq++};

	return atv_httpmsg_exchange(pr->ctl, &req, reply, TIMEOUT_MS, err);
}

static int pair(struct probe *pr, bool transient, struct atv_err *err)
{
	static const char *const h3[] = {"Content-Type: application/octet-stream", "X-Apple-HKP: 3",
					 NULL};
	static const char *const h4[] = {"Content-Type: application/octet-stream", "X-Apple-HKP: 4",
					 NULL};
	struct atv_hap_creds creds;
	struct atv_hap_cipher c;
	struct atv_httpmsg reply;
	struct atv_buf out;
	char line[1024];
	int r = 0;

	if (transient) {
		pr->transient = atv_hap_setup_client_new_transient(err);
		if (!pr->transient)
			return -err->code;
	} else {
		if (!fgets(line, sizeof line, stdin))
			return atv_err_set(err, ATV_E_USAGE, "no credentials on stdin");
		line[strcspn(line, "\r\n")] = '\0';
		if ((r = atv_hap_creds_parse(line, &creds, err)) < 0)
			return r;
		pr->verify = atv_hap_verify_client_new(&creds, err);
		atv_hap_creds_wipe(&creds);
		if (!pr->verify)
			return -err->code;
	}
	atv_httpmsg_init(&reply, ATV_HTTPMSG_REPLY, ATV_HAP_MSG_MAX);
	atv_buf_init(&out, ATV_HAP_MSG_MAX);
	for (;;) {
		atv_buf_reset(&out);
		r = transient ? atv_hap_setup_step(pr->transient, reply.body.data, reply.body.len,
						   &out, err)
			      : atv_hap_verify_step(pr->verify, reply.body.data, reply.body.len,
						    &out, err);
		if (r < 0 || r == ATV_HAP_DONE)
			break;
		r = exchange(pr, "POST", transient ? "/pair-setup" : "/pair-verify", NULL,
			     transient ? h4 : h3, out.data, out.len, &reply, err);
		if (r == 0 && reply.status != 200)
			r = atv_err_set(err, ATV_E_AUTH, "pairing answered %d", reply.status);
		if (r < 0)
			break;
	}
	if (r >= 0)
		r = keys(pr, "Control-Salt", "Control-Write-Encryption-Key",
			 "Control-Read-Encryption-Key", &c, err);
	if (r >= 0)
		r = atv_channel_encrypt(pr->ctl, &c, err);
	atv_hap_cipher_wipe(&c);
	atv_buf_release(&out);
	atv_httpmsg_release(&reply);
	if (r >= 0)
		printf("{\"step\":\"%s\",\"ok\":true}\n", transient ? "transient" : "verify");
	return r < 0 ? r : 0;
}

static int setup(struct probe *pr, plist_t body, plist_t *answer, int *status, struct atv_err *err)
{
	static const char *const h[] = {"Content-Type: application/x-apple-binary-plist", NULL};
	struct atv_httpmsg reply;
	char *bin = NULL;
	uint32_t len = 0;
	int r;

	plist_to_bin(body, &bin, &len);
	plist_free(body);
	atv_httpmsg_init(&reply, ATV_HTTPMSG_REPLY, 65536);
	r = exchange(pr, "SETUP", SESSION, "RTSP/1.0", h, bin, len, &reply, err);
	plist_to_bin_free(bin);
	*answer = NULL;
	if (r == 0) {
		*status = reply.status;
		if (reply.body.len)
			plist_from_memory((const char *)reply.body.data, (uint32_t)reply.body.len,
					  answer);
	}
	atv_httpmsg_release(&reply);
	return r;
}

static uint64_t uint_of(plist_t d, const char *key)
{
	plist_t v = d ? plist_dict_get_item(d, key) : NULL;
	uint64_t u = 0;

	if (v && plist_get_node_type(v) == PLIST_UINT)
		plist_get_uint_val(v, &u);
	return u;
}

static int step_setup(struct probe *pr, struct atv_err *err)
{
	plist_t d = plist_new_dict(), a;
	int status = 0, r;

	plist_dict_set_item(d, "isRemoteControlOnly", plist_new_bool(1));
	plist_dict_set_item(d, "timingProtocol", plist_new_string("None"));
	plist_dict_set_item(d, "osName", plist_new_string("iPhone OS"));
	plist_dict_set_item(d, "sessionUUID",
			    plist_new_string("5E1F0D2C-3B4A-4C5D-8E6F-708192A3B4C5"));
	if ((r = setup(pr, d, &a, &status, err)) < 0)
		return r;
	pr->event_port = (int)uint_of(a, "eventPort");
	printf("{\"step\":\"setup\",\"status\":%d,\"eventPort\":%d,\"skipRecord\":%s,"
	       "\"timingPort\":%s}\n",
	       status, pr->event_port, a && plist_dict_get_item(a, "skipRecord") ? "true" : "false",
	       a && plist_dict_get_item(a, "timingPort") ? "true" : "false");
	plist_free(a);
	return 0;
}

static int step_stream(struct probe *pr, const char *seed, struct atv_err *err)
{
	plist_t d = plist_new_dict(), arr = plist_new_array(), s = plist_new_dict(), a, st = NULL;
	int status = 0, r;

	pr->seed = strtoull(seed, NULL, 0);
	plist_dict_set_item(s, "type", plist_new_uint(130));
	plist_dict_set_item(s, "controlType", plist_new_uint(2));
	plist_dict_set_item(s, "seed", plist_new_uint(pr->seed));
	plist_dict_set_item(s, "wantsDedicatedSocket", plist_new_bool(1));
	plist_dict_set_item(s, "clientTypeUUID",
			    plist_new_string("1910A70F-DBC0-4242-AF95-115DB30604E1"));
	plist_array_append_item(arr, s);
	plist_dict_set_item(d, "streams", arr);
	if ((r = setup(pr, d, &a, &status, err)) < 0)
		return r;
	if (a && (st = plist_dict_get_item(a, "streams")) &&
	    plist_get_node_type(st) == PLIST_ARRAY && plist_array_get_size(st) > 0)
		st = plist_array_get_item(st, 0);
	else
		st = NULL;
	pr->data_port = (int)uint_of(st, "dataPort");
	printf("{\"step\":\"stream\",\"status\":%d,\"type\":%" PRIu64 ",\"streamID\":%" PRIu64
	       ",\"dataPort\":%d}\n",
	       status, uint_of(st, "type"), uint_of(st, "streamID"), pr->data_port);
	plist_free(a);
	return 0;
}

static int simple(struct probe *pr, const char *step, const char *method, const char *uri,
		  const void *body, size_t len, struct atv_err *err)
{
	static const char *const h[] = {"Content-Type: application/x-apple-binary-plist", NULL};
	struct atv_httpmsg reply;
	const char *lat;
	int r;

	atv_httpmsg_init(&reply, ATV_HTTPMSG_REPLY, 65536);
	r = exchange(pr, method, uri, "RTSP/1.0", len ? h : NULL, body, len, &reply, err);
	if (r == 0) {
		lat = atv_httpmsg_header(&reply, "Audio-Latency");
		printf("{\"step\":\"%s\",\"status\":%d,\"latency\":%s%s%s}\n", step, reply.status,
		       lat ? "\"" : "", lat ? lat : "null", lat ? "\"" : "");
	}
	atv_httpmsg_release(&reply);
	return r;
}

static int open_channel(struct probe *pr, bool data, struct atv_err *err)
{
	struct atv_hap_cipher c;
	char salt[64];
	int r;

	if (data) {
		snprintf(salt, sizeof salt, "DataStream-Salt%" PRIu64, pr->seed);
		r = dial(pr, pr->data_port, &pr->data, err);
		if (r == 0)
			r = keys(pr, salt, "DataStream-Output-Encryption-Key",
				 "DataStream-Input-Encryption-Key", &c, err);
	} else {
		r = dial(pr, pr->event_port, &pr->ev, err);
		/* the controller writes with Events-Read, the device with
		 * Events-Write (pyatv ap2_session) */
		if (r == 0)
			r = keys(pr, "Events-Salt", "Events-Read-Encryption-Key",
				 "Events-Write-Encryption-Key", &c, err);
	}
	if (r == 0)
		r = atv_channel_encrypt(data ? pr->data : pr->ev, &c, err);
	atv_hap_cipher_wipe(&c);
	if (r == 0)
		printf("{\"step\":\"%s\",\"ok\":true}\n", data ? "data" : "events");
	return r;
}

/* Wait up to ms for ch to have input or end; pump it.  0, or an error
 * (-ATV_E_UNREACHABLE when the device closed it). */
static int wait_input(struct atv_channel *ch, int ms, struct atv_err *err)
{
	struct pollfd p[2];
	size_t n = atv_channel_pollfds(ch, p);

	if (n > 0 && poll(p, (nfds_t)n, ms) < 0 && errno != EINTR)
		return atv_err_sys(err, ATV_E_IO, errno, "poll");
	return atv_channel_pump(ch, err);
}

static int step_info(struct probe *pr, struct atv_err *err)
{
	struct atv_httpmsg rq;
	struct atv_buf out;
	long long end = now_ms() + TIMEOUT_MS;
	int r = 0, done = 0;

	if (!pr->ev)
		return atv_err_set(err, ATV_E_USAGE, "events first");
	atv_httpmsg_init(&rq, ATV_HTTPMSG_REQUEST, 65536);
	atv_buf_init(&out, 65536);
	while (!done && r == 0 && now_ms() < end) {
		struct atv_buf *in = atv_channel_input(pr->ev);
		size_t used = 0;

		if (in->len) {
			done = atv_httpmsg_parse(&rq, in->data, in->len, &used, err);
			atv_buf_consume(in, used);
			if (done < 0)
				r = done;
			continue;
		}
		r = wait_input(pr->ev, (int)(end - now_ms()), err);
	}
	if (r == 0 && done != 1)
		r = atv_err_set(err, ATV_E_UNREACHABLE, "no request on the event channel");
	if (r == 0) {
		plist_t p = NULL, t, v, nm;
		char *type = NULL, *name = NULL, *h = malloc(2 * rq.body.len + 1);
		const char *cseq = atv_httpmsg_header(&rq, "CSeq");

		if (rq.body.len)
			plist_from_memory((const char *)rq.body.data, (uint32_t)rq.body.len, &p);
		if (p && (t = plist_dict_get_item(p, "type")))
			plist_get_string_val(t, &type);
		if (p && (v = plist_dict_get_item(p, "value")) &&
		    (nm = plist_dict_get_item(v, "name")))
			plist_get_string_val(nm, &name);
		if (h)
			hex(h, rq.body.data ? rq.body.data : (const uint8_t *)"", rq.body.len);
		printf(
		    "{\"step\":\"info\",\"request\":\"%s %s %s\",\"cseq\":\"%s\",\"type\":\"%s\","
		    "\"name\":\"%s\",\"hex\":\"%s\"}\n",
		    rq.method, rq.uri, rq.proto, cseq ? cseq : "", type ? type : "",
		    name ? name : "", h ? h : "");
		free(h);
		free(type);
		free(name);
		plist_free(p);
		static const char *const hdr[] = {"Audio-Latency: 0", NULL};
		r = atv_httpmsg_build_reply(&rq, 200, "OK", hdr, NULL, 0, &out, err);
		if (r == 0)
			r = atv_channel_send(pr->ev, out.data, out.len, err);
		if (r == 0)
			r = atv_channel_pump(pr->ev, err);
	}
	atv_httpmsg_release(&rq);
	atv_buf_release(&out);
	return r;
}

/* Send one sync/comm frame carrying the messages in data (may be empty). */
static int send_frame(struct probe *pr, uint64_t seqno, const struct atv_buf *data, bool bare,
		      struct atv_err *err)
{
	struct atv_buf payload, f;
	int r = 0;

	if (!pr->data)
		return atv_err_set(err, ATV_E_USAGE, "data first");
	atv_buf_init(&payload, ATV_AP_FRAME_MAX);
	atv_buf_init(&f, ATV_AP_FRAME_MAX);
	if (data && data->len)
		r = atv_ap_payload_encode(&payload, data->data, data->len, err);
	(void)bare;
	if (r == 0)
		r = atv_ap_frame_encode(&f, "sync", "comm", seqno, payload.data, payload.len, err);
	if (r == 0)
		r = atv_channel_send(pr->data, f.data, f.len, err);
	if (r == 0)
		r = atv_channel_pump(pr->data, err);
	atv_buf_release(&payload);
	atv_buf_release(&f);
	return r;
}

static int add_msg(struct atv_buf *data, struct atv_buf *m, bool bare, struct atv_err *err)
{
	int r = bare ? atv_buf_append(data, m->data, m->len, err)
		     : atv_ap_data_add(data, m->data, m->len, err);

	atv_buf_reset(m);
	return r;
}

static int step_messages(struct probe *pr, const char *what, struct atv_err *err)
{
	struct atv_mrp_identity me = {NULL, "tunnel-probe", NULL, NULL};
	struct atv_mrp_ids ids;
	struct atv_buf m, data;
	bool bare = strcmp(what, "bare") == 0;
	int r;

	atv_buf_init(&m, 65536);
	atv_buf_init(&data, 65536);
	if (strcmp(what, "play") == 0 || strcmp(what, "pause") == 0) {
		r = atv_mrp_msg_command(
		    &m, &ids, what[1] == 'l' ? MRP__COMMAND__CMD_PLAY : MRP__COMMAND__CMD_PAUSE,
		    NULL, err);
		if (r == 0)
			r = add_msg(&data, &m, false, err);
	} else {
		r = atv_mrp_msg_device_info(&m, &ids, &me, false, err);
		if (r == 0)
			r = add_msg(&data, &m, bare, err);
		if (r == 0 && !bare)
			r = atv_mrp_msg_set_connection_state(
			    &m, &ids, MRP__SET_CONNECTION_STATE_MESSAGE__STATE__STATE_CONNECTED,
			    err);
		if (r == 0 && !bare)
			r = add_msg(&data, &m, false, err);
		if (r == 0 && !bare)
			r = atv_mrp_msg_client_updates_config(&m, &ids, 0x1d, err);
		if (r == 0 && !bare)
			r = add_msg(&data, &m, false, err);
	}
	if (r == 0)
		r = send_frame(pr, 0x100000001ull, &data, bare, err);
	if (r == 0)
		printf("{\"step\":\"%s\",\"ok\":true}\n", what);
	atv_buf_release(&m);
	atv_buf_release(&data);
	return r;
}

static void print_frame(const struct atv_ap_frame *f)
{
	const uint8_t *data, *msg;
	size_t dlen, mlen, n = 0;
	char h[2 * 96 + 1], type[13] = {0}, cmd[5] = {0};
	uint8_t head[96];
	bool first = true;

	memcpy(type, f->type, 12);
	memcpy(cmd, f->command, 4);
	/* the header again, as it came, then the payload's start */
	atv_put_be32(head, (uint32_t)(32 + f->payload_len));
	memcpy(head + 4, f->type, 12);
	memcpy(head + 16, f->command, 4);
	atv_put_be64(head + 20, f->seqno);
	atv_put_be32(head + 28, f->padding);
	/* small frames whole (a rply is 74 bytes), else the start */
	n = f->payload_len <= 64 ? f->payload_len : 32;
	memcpy(head + 32, f->payload, n);
	hex(h, head, 32 + n);
	printf("{\"frame\":\"%s\",\"cmd\":\"%s\",\"seqno\":%" PRIu64 ",\"size\":%zu,\"hex\":\"%s\","
	       "\"payload_ok\":%s,\"types\":[",
	       type, cmd, f->seqno, 32 + f->payload_len, h,
	       f->payload_len == 0 ||
		       atv_ap_payload_data(f->payload, f->payload_len, &data, &dlen, NULL) >= 0
		   ? "true"
		   : "false");
	if (f->payload_len &&
	    atv_ap_payload_data(f->payload, f->payload_len, &data, &dlen, NULL) > 0) {
		while (atv_ap_data_next(&data, &dlen, &msg, &mlen, NULL) > 0) {
			Mrp__ProtocolMessage *pm = NULL;

			if (atv_mrp_msg_unpack(msg, mlen, &pm, NULL) == 0) {
				printf("%s\"%s\"", first ? "" : ",",
				       atv_mrp_msg_type_name(pm->has_type ? (int)pm->type : 0));
				first = false;
				atv_mrp_msg_free(pm);
			}
		}
	}
	printf("]}\n");
}

static int step_pump(struct probe *pr, int ms, struct atv_err *err)
{
	long long end = now_ms() + ms;
	int r = 0;

	if (!pr->data)
		return atv_err_set(err, ATV_E_USAGE, "data first");
	while (r == 0 && now_ms() < end) {
		struct atv_buf *in = atv_channel_input(pr->data);

		while (r == 0 && in->len) {
			struct atv_ap_frame f;
			size_t used = 0;
			int got =
			    atv_ap_frame_dec_push(&pr->dec, in->data, in->len, &used, &f, err);

			if (got < 0)
				return got;
			if (got > 0) {
				print_frame(&f);
				fflush(stdout);
				if (atv_ap_frame_is(&f, "sync") && !pr->norply) {
					struct atv_buf rp;

					atv_buf_init(&rp, 64);
					r = atv_ap_frame_reply(&rp, f.seqno, false, err);
					if (r == 0)
						r = atv_channel_send(pr->data, rp.data, rp.len,
								     err);
					atv_buf_release(&rp);
				}
			}
			atv_buf_consume(in, used);
		}
		if (r == 0)
			r = wait_input(pr->data, (int)(end - now_ms() > 0 ? end - now_ms() : 0),
				       err);
	}
	return r;
}

static int step_raw(struct probe *pr, const char *h, bool params, struct atv_err *err)
{
	struct atv_buf b;
	int r = 0;

	atv_buf_init(&b, ATV_AP_FRAME_MAX);
	for (size_t i = 0; r == 0 && h[i] && h[i + 1]; i += 2) {
		uint8_t v = 0;

		sscanf(h + i, "%2hhx", &v);
		r = atv_buf_append(&b, &v, 1, err);
	}
	if (r == 0 && params)
		r = send_frame(pr, 0x100000002ull, &b, false, err);
	else if (r == 0 && !pr->data)
		r = atv_err_set(err, ATV_E_USAGE, "data first");
	else if (r == 0)
		r = atv_channel_send(pr->data, b.data, b.len, err);
	if (r == 0 && !params)
		r = atv_channel_pump(pr->data, err);
	atv_buf_release(&b);
	if (r == 0)
		printf("{\"step\":\"%s\",\"ok\":true}\n", params ? "params" : "raw");
	return r;
}

static int teardown(struct probe *pr, bool stream, struct atv_err *err)
{
	plist_t d = plist_new_dict(), a = plist_new_array(), s = plist_new_dict();
	char *bin = NULL;
	uint32_t len = 0;
	int r;

	plist_dict_set_item(s, "streamID", plist_new_uint(1));
	plist_array_append_item(a, s);
	plist_dict_set_item(d, "streams", a);
	plist_to_bin(d, &bin, &len);
	plist_free(d);
	r = simple(pr, stream ? "teardown-stream" : "teardown", "TEARDOWN", SESSION,
		   stream ? bin : NULL, stream ? len : 0, err);
	plist_to_bin_free(bin);
	return r;
}

static int run(int argc, char **argv, struct probe *pr, struct atv_err *err)
{
	int r = dial(pr, atoi(argv[2]), &pr->ctl, err);

	for (int i = 3; r == 0 && i < argc; i++) {
		const char *s = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(s, "transient") == 0 || strcmp(s, "verify") == 0)
			r = pair(pr, s[0] == 't', err);
		else if (strcmp(s, "setup") == 0)
			r = step_setup(pr, err);
		else if (strcmp(s, "events") == 0 || strcmp(s, "data") == 0)
			r = open_channel(pr, s[0] == 'd', err);
		else if (strcmp(s, "record") == 0)
			r = simple(pr, "record", "RECORD", SESSION, NULL, 0, err);
		else if (strcmp(s, "feedback") == 0)
			r = simple(pr, "feedback", "POST", "/feedback", NULL, 0, err);
		else if (strcmp(s, "info") == 0)
			r = step_info(pr, err);
		else if (strcmp(s, "stream") == 0 && arg && ++i)
			r = step_stream(pr, arg, err);
		else if (strcmp(s, "hello") == 0 || strcmp(s, "bare") == 0 ||
			 strcmp(s, "play") == 0 || strcmp(s, "pause") == 0)
			r = step_messages(pr, s, err);
		else if (strcmp(s, "sync") == 0 && arg && ++i)
			r = send_frame(pr, strtoull(arg, NULL, 0), NULL, false, err);
		else if ((strcmp(s, "raw") == 0 || strcmp(s, "params") == 0) && arg && ++i)
			r = step_raw(pr, arg, s[0] == 'p', err);
		else if (strcmp(s, "pump") == 0 && arg && ++i)
			r = step_pump(pr, atoi(arg), err);
		else if (strcmp(s, "norply") == 0)
			pr->norply = true;
		else if (strcmp(s, "teardown-stream") == 0 || strcmp(s, "teardown") == 0)
			r = teardown(pr, s[8] == '-', err);
		else
			r = atv_err_set(err, ATV_E_USAGE, "unknown step %s", s);
		fflush(stdout);
	}
	return r;
}

int main(int argc, char **argv)
{
	struct atv_err err = {0, ""};
	struct probe pr = {0};
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: tunnel-probe HOST PORT STEP...\n");
		return ATV_EXIT_USAGE;
	}
	pr.host = argv[1];
	atv_ap_frame_dec_init(&pr.dec, 0);
	r = run(argc, argv, &pr, &err);
	/* the channels before the control connection, whose end ends them */
	atv_channel_free(pr.data);
	atv_channel_free(pr.ev);
	atv_channel_free(pr.ctl);
	atv_hap_setup_free(pr.transient);
	atv_hap_verify_free(pr.verify);
	atv_ap_frame_dec_release(&pr.dec);
	if (r < 0) {
		fprintf(stderr, "tunnel-probe: %s\n", err.msg);
		return atv_exit_status(err.code);
	}
	return 0;
}
