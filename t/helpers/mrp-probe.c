/* mrp-probe - an MRP controller that sends what other clients send, for
 * the fake Apple TV's tests (t/0023-fake-mrp-interop.t).
 *
 *   mrp-probe HOST PORT STEP...   (HAP credentials on stdin, one line)
 *
 * Connects, pair-verifies with the credentials and runs the steps in
 * order, printing one JSON line per message the device pushes
 * ({"type":N,...}) and per step result:
 *   updates FLAGS   SET_CONNECTION_STATE, then CLIENT_UPDATES_CONFIG with
 *                   the ATV_MRP_UPDATES_* bits FLAGS (0x1d: what pyatv
 *                   sends, nowPlayingUpdates false); prints {"step":"updates"}
 *                   once the device has answered a GENERIC sent after it
 *   queue W H       PLAYBACK_QUEUE_REQUEST with artworkWidth W and
 *                   artworkHeight H; prints {"step":"queue","artwork":BYTES}
 *   pump MS         handle pushes for MS milliseconds
 * A pushed SET_STATE or UPDATE_CONTENT_ITEM shows the first item's title,
 * SET_NOW_PLAYING_CLIENT the bundle identifier, VOLUME_DID_CHANGE the
 * volume.  Errors: "mrp-probe: message", exit status from
 * atv_exit_status(). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "err.h"
#include "hap.h"
#include "mrp.h"
#include "mrp_frame.h"
#include "mrp_msg.h"

#define TIMEOUT_MS 5000

static const Mrp__ContentItem *first_item(const Mrp__ProtocolMessage *m)
{
	if (m->setstatemessage && m->setstatemessage->playbackqueue &&
	    m->setstatemessage->playbackqueue->n_contentitems > 0)
		return m->setstatemessage->playbackqueue->contentitems[0];
	if (m->updatecontentitemmessage && m->updatecontentitemmessage->n_contentitems > 0)
		return m->updatecontentitemmessage->contentitems[0];
	return NULL;
}

static void print_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (s) {
		printf("%s\n", s);
		fflush(stdout);
	}
	free(s);
	json_decref(j);
}

static void on_push(void *ctx, const Mrp__ProtocolMessage *m)
{
	const Mrp__ContentItem *it = first_item(m);
	json_t *j = json_pack("{si}", "type", (int)m->type);

	(void)ctx;
	if (!j)
		return;
	if (it && it->metadata && it->metadata->title)
		json_object_set_new(j, "title", json_string(it->metadata->title));
	if (m->setnowplayingclientmessage && m->setnowplayingclientmessage->client &&
	    m->setnowplayingclientmessage->client->bundleidentifier)
		json_object_set_new(
		    j, "client",
		    json_string(m->setnowplayingclientmessage->client->bundleidentifier));
	if (m->volumedidchangemessage && m->volumedidchangemessage->has_volume)
		json_object_set_new(j, "volume", json_real(m->volumedidchangemessage->volume));
	print_json(j);
}

static int queue(struct atv_mrp *s, double w, double h, struct atv_err *err)
{
	Mrp__ProtocolMessage *reply = NULL;
	const Mrp__ContentItem *it;
	struct atv_mrp_ids ids;
	struct atv_buf req;
	int r;

	atv_buf_init(&req, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_playback_queue_request(&req, &ids, 0, w, h, err);
	if (r == 0)
		r = atv_mrp_request(s, &req, ids.identifier, &reply, err);
	atv_buf_release(&req);
	if (r < 0)
		return r;
	it = first_item(reply);
	print_json(json_pack("{sssI}", "step", "queue", "artwork",
			     (json_int_t)(it && it->has_artworkdata ? it->artworkdata.len : 0)));
	atv_mrp_msg_free(reply);
	return 0;
}

static int run(int argc, char **argv, struct atv_err *err)
{
	struct atv_mrp_opts o = {.timeout_ms = TIMEOUT_MS, .device = "device", .push = on_push};
	struct atv_hap_creds creds;
	struct atv_mrp *s = NULL;
	char line[1024], client_id[ATV_HAP_ID_MAX + 1];
	int r, i;

	if (!fgets(line, sizeof line, stdin))
		return atv_err_set(err, ATV_E_INPUT, "no credentials on stdin");
	line[strcspn(line, "\n")] = '\0';
	r = atv_hap_creds_parse(line, &creds, err);
	OPENSSL_cleanse(line, sizeof line);
	if (r < 0)
		return r;
	memcpy(client_id, creds.client_id, creds.client_id_len);
	client_id[creds.client_id_len] = '\0';
	o.pairing_id = client_id;
	if ((r = atv_mrp_connect(argv[1], atoi(argv[2]), &o, &s, err)) < 0 ||
	    (r = atv_mrp_verify(s, &creds, err)) < 0)
		goto out;
	for (i = 3; i < argc && r == 0; i++) {
		if (strcmp(argv[i], "updates") == 0 && i + 1 < argc) {
			r = atv_mrp_start(s, (unsigned)strtoul(argv[++i], NULL, 0), err);
			if (r == 0)
				r = atv_mrp_sync(s, err);
			if (r == 0)
				print_json(json_pack("{ss}", "step", "updates"));
		} else if (strcmp(argv[i], "queue") == 0 && i + 2 < argc) {
			r = queue(s, atof(argv[i + 1]), atof(argv[i + 2]), err);
			i += 2;
		} else if (strcmp(argv[i], "pump") == 0 && i + 1 < argc) {
			r = atv_mrp_pump(s, atoi(argv[++i]), err);
		} else {
			r = atv_err_set(err, ATV_E_USAGE, "bad step \"%s\"", argv[i]);
		}
	}
out:
	atv_hap_creds_wipe(&creds);
	atv_mrp_close(s);
	return r;
}

int main(int argc, char **argv)
{
	struct atv_err err = {0};
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: mrp-probe HOST PORT STEP... < credentials\n");
		return ATV_EXIT_USAGE;
	}
	r = run(argc, argv, &err);
	if (r < 0) {
		fprintf(stderr, "mrp-probe: %s\n", err.msg);
		return atv_exit_status(err.code);
	}
	return 0;
}
