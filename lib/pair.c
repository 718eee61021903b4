/* pair.c - the pairing facade: MRP pair-setup over CRYPTO_PAIRING.
 *
 * begin: connect, DEVICE_INFO, send M1 {Method 0, State 1}; the device
 * answers M2 {Salt, PublicKey} and shows the PIN.  finish: SRP with the
 * PIN (M3/M4), exchange long-term keys (M5/M6) and format the result as
 * pyatv's "ltpk:ltsk:atv_id:client_id".  Our pairing id is a fresh
 * upper-case UUID: it is the client_id the device stores for us.
 *
 * DMAP ("Remote" pairing, lib/dmap_pair_server.h): begin picks the PIN and
 * the GUID, starts our HTTP server and publishes _touch-remote._tcp; finish
 * waits until the device calls with the right code and returns "0x<GUID>",
 * pyatv's DMAP credential format. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airplay.h"
#include "apinfo.h"
#include "crypto.h"
#include "dmap_pair.h"
#include "dmap_pair_server.h"
#include "hap.h"
#include "mrp.h"
#include "pair.h"
#include "tlv8.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_WAIT_MS	   60000 /* for a person to find the settings and type the PIN */

struct atv_pairing {
	struct atv_mrp *mrp;
	char pairing_id[ATV_UUID_SIZE];
	char *device;
	struct atv_buf m2; /* the device's answer to M1 */
	bool used;
	/* DMAP */
	struct atv_dmap_pair_server *dmap;
	uint64_t guid;
	char pin[5]; /* ours, 4 digits, "" for MRP */
	int wait_ms;
	/* AirPlay */
	struct atv_airplay_pairing *ap;
};

static const char *dev_name(const struct atv_device *d)
{
	if (d->name && d->name[0])
		return d->name;
	if (d->identifier)
		return d->identifier;
	return d->address ? d->address : "the device";
}

/* DMAP: the device needs a dmap service (the credentials are stored under
 * its identifier) but is not contacted: it contacts us. */
static int dmap_begin(const struct atv_device *d, const struct atv_pair_opts *o,
		      struct atv_pairing **out, struct atv_err *err)
{
	struct atv_dmap_pair_server_opts so = {0};
	struct atv_pairing *p = NULL;
	const char *name = dev_name(d);
	unsigned pin;
	int r;

	if (!atv_device_service(d, "dmap"))
		return atv_err_set(err, ATV_E_UNSUPPORTED,
				   "%s has no dmap service (is home sharing on?)", name);
	p = calloc(1, sizeof *p);
	if (!p || !(p->device = strdup(name))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	atv_buf_init(&p->m2, 0);
	if (o && o->pin)
		r = atv_dmap_pin_parse(o->pin, &pin, err);
	else
		r = atv_dmap_pin_random(&pin, err);
	if (r == -ATV_E_INPUT)
		r = -ATV_E_USAGE;
	if (r == 0 && o && o->pairing_guid)
		r = atv_dmap_guid_parse(o->pairing_guid, &p->guid, err);
	else if (r == 0)
		r = atv_dmap_guid_random(&p->guid, err);
	if (r == -ATV_E_INPUT)
		r = -ATV_E_USAGE;
	if (r < 0) {
		if (err)
			err->code = -r;
		goto out;
	}
	snprintf(p->pin, sizeof p->pin, "%04u", pin);
	p->wait_ms = o && o->wait_ms > 0 ? o->wait_ms : DEFAULT_WAIT_MS;
	so.guid = p->guid;
	so.pin = pin;
	so.name = o && o->name ? o->name : "atv-tools";
	so.port = o ? o->port : 0;
	so.publish = true;
	r = atv_dmap_pair_server_start(&so, &p->dmap, err);
out:
	if (r < 0) {
		atv_pair_free(p);
		return r;
	}
	*out = p;
	return 0;
}

static int dmap_finish(struct atv_pairing *p, char **credentials, struct atv_err *err)
{
	char s[ATV_DMAP_GUID_STRLEN];
	int r;

	r = atv_dmap_pair_server_wait(p->dmap, p->wait_ms, err);
	if (r < 0) {
		atv_err_prefix(err, "%s", p->device);
		return r;
	}
	atv_dmap_guid_format(p->guid, s);
	*credentials = strdup(s);
	atv_crypto_wipe(s, sizeof s);
	return *credentials ? 0 : atv_err_set(err, ATV_E_NOMEM, "out of memory");
}

/* AirPlay: POST /pair-pin-start (the device shows a PIN), then HAP
 * pair-setup over HTTP in finish (lib/airplay.h). */
static int airplay_begin(const struct atv_device *d, const struct atv_pair_opts *o,
			 struct atv_pairing **out, struct atv_err *err)
{
	const struct atv_service *svc = atv_device_service(d, "airplay");
	struct atv_airplay_opts ao = {0};
	struct atv_airplay_info info;
	struct atv_pairing *p = NULL;
	const char *name = dev_name(d);
	struct atv_err e = {0};
	int r;

	if (!svc)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no airplay service", name);
	if (!d->address || !d->address[0])
		return atv_err_set(err, ATV_E_UNREACHABLE, "no address known for %s", name);
	if (atv_airplay_info_parse(svc->properties, &info, &e) < 0)
		return atv_err_set(err, ATV_E_PROTO, "airplay service of %s: %s", name, e.msg);
	p = calloc(1, sizeof *p);
	if (!p || !(p->device = strdup(name))) {
		free(p);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	atv_buf_init(&p->m2, 0);
	ao.timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	ao.device = name;
	ao.name = o && o->name ? o->name : "atv-tools";
	r = atv_airplay_pair_begin(d->address, svc->port, &info, &ao, &p->ap, err);
	if (r < 0) {
		atv_pair_free(p);
		return r;
	}
	*out = p;
	return 0;
}

const char *atv_pair_pin(const struct atv_pairing *p)
{
	return p->pin[0] ? p->pin : NULL;
}

int atv_pair_begin(const struct atv_device *d, const char *protocol, const struct atv_pair_opts *o,
		   struct atv_pairing **out, struct atv_err *err)
{
	const struct atv_service *svc;
	struct atv_mrp_opts mo = {0};
	struct atv_pairing *p = NULL;
	struct atv_buf m1;
	const char *name = dev_name(d);
	int r;

	*out = NULL;
	atv_buf_init(&m1, ATV_HAP_MSG_MAX);
	if (protocol && strcmp(protocol, "dmap") == 0)
		return dmap_begin(d, o, out, err);
	if (protocol && strcmp(protocol, "airplay") == 0)
		return airplay_begin(d, o, out, err);
	if (!protocol || strcmp(protocol, "mrp") != 0) {
		if (protocol && strcmp(protocol, "companion") == 0)
			return atv_err_set(err, ATV_E_UNSUPPORTED,
					   "pairing with %s is not supported yet", protocol);
		return atv_err_set(err, ATV_E_USAGE, "unknown pairing protocol %s",
				   protocol ? protocol : "(none)");
	}
	svc = atv_device_service(d, "mrp");
	if (!svc)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no mrp service", name);
	if (!svc->enabled)
		return atv_err_set(err, ATV_E_UNSUPPORTED,
				   "the mrp service of %s is disabled (tvOS 15+)", name);
	if (!d->address || !d->address[0])
		return atv_err_set(err, ATV_E_UNREACHABLE, "no address known for %s", name);
	if (svc->port <= 0)
		return atv_err_set(err, ATV_E_UNREACHABLE, "%s announces no mrp port (asleep?)",
				   name);
	p = calloc(1, sizeof *p);
	if (!p || !(p->device = strdup(name))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	atv_buf_init(&p->m2, ATV_HAP_MSG_MAX);
	r = atv_uuid(p->pairing_id, err);
	if (r < 0)
		goto out;
	mo.timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	mo.device = name;
	mo.pairing_id = p->pairing_id;
	mo.name = o && o->name ? o->name : "atv-tools";
	r = atv_mrp_connect(d->address, svc->port, &mo, &p->mrp, err);
	if (r < 0)
		goto out;
	/* M1 needs no PIN: {Method pair-setup, State 1}. */
	r = atv_tlv8_add_u8(&m1, ATV_TLV8_METHOD, ATV_TLV8_METHOD_PAIR_SETUP, err);
	if (r == 0)
		r = atv_tlv8_add_u8(&m1, ATV_TLV8_STATE, 1, err);
	if (r == 0)
		r = atv_mrp_pair_exchange(p->mrp, &m1, true, true, &p->m2, err);
	if (r < 0)
		goto out;
	/* A refusal (busy, max peers, backoff) already comes in M2. */
	{
		struct atv_tlv8 t = {0};
		const struct atv_tlv8_item *e;
		uint64_t code = 0;
		struct atv_err pe = {0};

		r = atv_tlv8_parse(&t, p->m2.data, p->m2.len, &pe);
		if (r < 0) {
			r = atv_err_set(err, ATV_E_PROTO, "pair-setup M2 from %s: %s", name,
					pe.msg);
		} else if ((e = atv_tlv8_find(&t, ATV_TLV8_ERROR))) {
			atv_tlv8_uint(e, &code, NULL);
			r = atv_err_set(err, ATV_E_REFUSED, "%s refused pairing: %s", name,
					atv_tlv8_error_name(code));
		}
		atv_tlv8_release(&t);
	}
out:
	atv_buf_release(&m1);
	if (r < 0) {
		atv_pair_free(p);
		return r;
	}
	*out = p;
	return 0;
}

int atv_pair_finish(struct atv_pairing *p, const char *pin, char **credentials, struct atv_err *err)
{
	struct atv_hap_setup *h;
	struct atv_buf msg, reply;
	struct atv_err e = {0};
	int r;

	*credentials = NULL;
	if (p->used)
		return atv_err_set(err, ATV_E_USAGE, "pairing already finished");
	p->used = true;
	if (p->dmap)
		return dmap_finish(p, credentials, err);
	if (p->ap)
		return atv_airplay_pair_finish(p->ap, pin, credentials, err);
	h = atv_hap_setup_client_new(pin, p->pairing_id, NULL, err);
	if (!h)
		return err && err->code ? -err->code : -ATV_E_NOMEM;
	atv_buf_init(&msg, ATV_HAP_MSG_MAX);
	atv_buf_init(&reply, ATV_HAP_MSG_MAX);
	/* The context starts at M1, which begin has sent already (it has no
	 * secret in it): step past it, then answer M2. */
	r = atv_hap_setup_step(h, NULL, 0, &msg, &e);
	if (r >= 0)
		r = atv_hap_setup_step(h, p->m2.data, p->m2.len, &msg, &e);
	while (r == ATV_HAP_CONTINUE) {
		r = atv_mrp_pair_exchange(p->mrp, &msg, false, true, &reply, err);
		if (r < 0)
			goto out;
		r = atv_hap_setup_step(h, reply.data, reply.len, &msg, &e);
	}
	if (r == -ATV_E_AUTH) {
		/* "wrong pin" (the device's Authentication error at M4, or its
		 * proof not matching ours) or a signature that does not verify */
		r = atv_err_set(err, ATV_E_AUTH, "%s: %s", p->device, e.msg);
		goto out;
	}
	if (r < 0) {
		r = atv_err_set(err, -r, "pairing with %s failed: %s", p->device, e.msg);
		goto out;
	}
	r = atv_hap_setup_client_creds_string(h, credentials, err);
out:
	atv_buf_release(&msg);
	atv_buf_release(&reply);
	atv_hap_setup_free(h);
	return r;
}

void atv_pair_free(struct atv_pairing *p)
{
	if (!p)
		return;
	atv_mrp_close(p->mrp);
	atv_dmap_pair_server_free(p->dmap);
	atv_airplay_pair_free(p->ap);
	atv_buf_release(&p->m2);
	free(p->device);
	atv_crypto_wipe(p, sizeof *p);
	free(p);
}
