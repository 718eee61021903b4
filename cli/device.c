/* device.c - the device a tool works on: from stdin or a scan by -i, and
 * found again by identifier when its address or port went stale. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "device.h"
#include "log.h"
#include "dnssd_scan.h"
#include "banned.h"

struct found {
	struct atv_device *d;
	bool found;
	int status;
	struct atv_err err;
};

/* A deep copy of src into dst (initialised here) through its JSON form,
 * the one copy that is sure to keep every field. */
static int copy_device(const struct atv_device *src, struct atv_device *dst, struct atv_err *err)
{
	json_t *j = atv_device_to_json(src);
	int r;

	atv_device_init(dst);
	if (!j)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	r = atv_device_from_json(j, dst, err);
	json_decref(j);
	return r;
}

static int keep_found(void *ctx, struct atv_device *d)
{
	struct found *f = ctx;

	f->status = copy_device(d, f->d, &f->err);
	f->found = f->status == 0;
	return 1; /* the scan was for this one device: stop */
}

/* Scan for id (unicast to hosts when n > 0, else multicast) into d. */
static int scan_for(const char *id, const struct atv_hostport *hosts, size_t n, int timeout_ms,
		    struct atv_device *d, struct atv_err *err)
{
	struct atv_scan_opts so = {
	    .hosts = hosts, .n_hosts = n, .id = id, .timeout_ms = timeout_ms};
	struct found f = {.d = d};
	int r;

	r = atv_scan(&so, keep_found, &f, err);
	if (f.status < 0) {
		if (err)
			*err = f.err;
		return f.status;
	}
	if (r < 0)
		return r;
	if (!f.found)
		return atv_err_set(err, ATV_E_NOTFOUND, "device %s not found", id);
	return 0;
}

/* Devices a scan by name found: every one (copies), bounded. */
#define NAMED_MAX 64
struct named {
	struct atv_device d[NAMED_MAX];
	size_t n;
	int status;
	struct atv_err err;
};

static int keep_all(void *ctx, struct atv_device *d)
{
	struct named *nm = ctx;

	if (nm->n == NAMED_MAX)
		return 1;
	if ((nm->status = copy_device(d, &nm->d[nm->n], &nm->err)) < 0) {
		atv_device_release(&nm->d[nm->n]);
		return 1;
	}
	nm->n++;
	return 0;
}

/* The devices of nm named name (same case when exact): how many, and the
 * index of the first in *first. */
static size_t match_name(const struct named *nm, const char *name, bool exact, size_t *first)
{
	size_t n = 0;

	for (size_t i = nm->n; i-- > 0;) {
		const char *dn = nm->d[i].name;

		if (dn && (exact ? strcmp(dn, name) : strcasecmp(dn, name)) == 0) {
			*first = i;
			n++;
		}
	}
	return n;
}

/* "A (ID at ADDR), B (...)" for the devices of nm named name. */
static void list_named(const struct named *nm, const char *name, bool exact, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < nm->n && len < size; i++) {
		const struct atv_device *d = &nm->d[i];

		if (!name ||
		    (d->name && (exact ? strcmp(d->name, name) : strcasecmp(d->name, name)) == 0))
			len += (size_t)snprintf(out + len, size - len, "%s'%s' (%s at %s)",
						len ? ", " : "", d->name ? d->name : "",
						d->identifier ? d->identifier : "?",
						d->address ? d->address : "?");
	}
}

/* Scan for the device named name into d: exact match, else one that
 * differs only in case. */
static int scan_for_name(const struct atv_cli_target *t, struct atv_device *d, struct atv_err *err)
{
	struct atv_scan_opts so = {
	    .hosts = t->hosts, .n_hosts = t->n_hosts, .timeout_ms = t->timeout_ms};
	struct named *nm = calloc(1, sizeof *nm);
	char list[ATV_ERR_MSGLEN];
	size_t n, first = 0;
	bool exact = true;
	int r;

	if (!nm)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_info("scanning for a device named '%s' (%d ms)", t->name, t->timeout_ms);
	r = atv_scan(&so, keep_all, nm, err);
	if (r == 0 && nm->status < 0) {
		r = nm->status;
		if (err)
			*err = nm->err;
	}
	if (r < 0)
		goto out;
	n = match_name(nm, t->name, true, &first);
	if (n == 0) {
		exact = false;
		n = match_name(nm, t->name, false, &first);
	}
	if (n == 1) {
		r = copy_device(&nm->d[first], d, err);
	} else if (n > 1) {
		list_named(nm, t->name, exact, list, sizeof list);
		r = atv_err_set(err, ATV_E_USAGE,
				"%zu devices are named '%s': %s; pick one with -i ID", n, t->name,
				list);
	} else {
		list_named(nm, NULL, true, list, sizeof list);
		if (nm->n)
			r = atv_err_set(err, ATV_E_NOTFOUND,
					"no device named '%s' found (found: %s)", t->name, list);
		else
			r = atv_err_set(err, ATV_E_NOTFOUND, "no device named '%s' found", t->name);
	}
out:
	for (size_t i = 0; i < nm->n; i++)
		atv_device_release(&nm->d[i]);
	free(nm);
	return r;
}

int atv_cli_device_parse(const struct atv_cli_target *t, const char *line, size_t len,
			 struct atv_device *d, struct atv_err *err)
{
	int r;

	atv_device_init(d);
	r = atv_device_parse(line, len, d, err);
	if (r < 0) {
		atv_err_prefix(err, "bad device config");
		return r;
	}
	/* {"identifier","protocol","credentials",...} without services: an
	 * entry of the credentials file (atv-credentials(5)), piped by mistake */
	if (d->n_svcs == 0 && json_object_get(d->extra, "credentials") &&
	    json_object_get(d->extra, "protocol"))
		return atv_err_set(
		    err, ATV_E_INPUT,
		    "bad device config: this is a line of the credentials file, not a "
		    "device config (pipe one from atv-scan, or give -i ID)");
	if (t->creds && atv_creds_fill(t->creds, d) < 0)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

int atv_cli_device_get(const struct atv_cli_target *t, struct atv_cli_lines *in,
		       struct atv_device *d, struct atv_err *err)
{
	char *line;
	size_t len;
	int r;

	atv_device_init(d);
	if (t->id || t->name) {
		r = t->id ? scan_for(t->id, t->hosts, t->n_hosts, t->timeout_ms, d, err)
			  : scan_for_name(t, d, err);
		if (r < 0)
			return r;
		if (t->creds && atv_creds_fill(t->creds, d) < 0)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return 0;
	}
	do {
		r = atv_cli_lines_get(in, &line, &len, err);
		if (r < 0)
			return r;
		if (r == 0)
			return atv_err_set(err, ATV_E_INPUT,
					   "no device config on standard input "
					   "(pipe one from atv-scan, or give -i ID)");
	} while (len == 0);
	return atv_cli_device_parse(t, line, len, d, err);
}

/* Keep what d knew that a fresh scan cannot know: its credentials, and
 * the members a tool does not understand (passed on, as every config is). */
static int carry_over(const struct atv_device *old, struct atv_device *nd,
		      const struct atv_creds *creds)
{
	if (json_is_object(old->extra) && json_is_object(nd->extra) &&
	    json_object_update_missing(nd->extra, old->extra) < 0)
		return -ATV_E_NOMEM;
	for (size_t i = 0; i < old->n_svcs; i++) {
		const struct atv_service *s = &old->svcs[i];
		struct atv_service *ns;

		if (!s->credentials || !s->protocol)
			continue;
		ns = atv_device_service(nd, s->protocol);
		if (ns && !ns->credentials && atv_strset(&ns->credentials, s->credentials) < 0)
			return -ATV_E_NOMEM;
	}
	if (creds && atv_creds_fill(creds, nd) < 0)
		return -ATV_E_NOMEM;
	return 0;
}

int atv_cli_device_rescan(const struct atv_cli_target *t, struct atv_device *d, struct atv_err *err)
{
	const char *id = d->identifier ? d->identifier : (d->n_ids ? d->all_ids[0] : t->id);
	struct atv_hostport *hosts = NULL;
	struct atv_device nd;
	size_t n = 0;
	int r;

	atv_device_init(&nd);
	if (!id)
		return atv_err_set(err, ATV_E_NOTFOUND, "the device config has no identifier");
	hosts = calloc(t->n_hosts + 1, sizeof *hosts);
	if (!hosts)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (d->address && *d->address) {
		snprintf(hosts[n].host, sizeof hosts[n].host, "%s", d->address);
		hosts[n++].port = 5353;
	}
	for (size_t i = 0; i < t->n_hosts; i++)
		hosts[n++] = t->hosts[i];
	r = n ? scan_for(id, hosts, n, t->timeout_ms, &nd, err) : -ATV_E_NOTFOUND;
	if (r == -ATV_E_NOTFOUND) {
		atv_info("device %s: not found by unicast, trying multicast", id);
		atv_device_release(&nd);
		r = scan_for(id, NULL, 0, t->timeout_ms, &nd, err);
		if (r < 0)
			r = atv_err_set(err, ATV_E_NOTFOUND, "device %s not found again", id);
	}
	if (r < 0)
		goto out;
	if (carry_over(d, &nd, t->creds) < 0) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	atv_info("device %s found again at %s", id, nd.address ? nd.address : "?");
	atv_device_release(d);
	*d = nd;
	atv_device_init(&nd);
out:
	atv_device_release(&nd);
	free(hosts);
	return r;
}

int atv_cli_with_rescan(const struct atv_cli_target *t, struct atv_device *d,
			int (*fn)(void *ctx, struct atv_device *d, struct atv_err *err), void *ctx,
			struct atv_err *err)
{
	struct atv_err local = {0}, scan_err = {0};
	int r;

	if (!err)
		err = &local;
	r = fn(ctx, d, err);
	if (r != -ATV_E_UNREACHABLE)
		return r;
	atv_info("%s; looking for the device again", err->msg);
	if (atv_cli_device_rescan(t, d, &scan_err) < 0) {
		atv_info("%s", scan_err.msg);
		return r;
	}
	return fn(ctx, d, err);
}

int atv_cli_target_opt(int c, const char *arg, struct atv_cli_target *t,
		       struct atv_hostport **hosts, const char **cred)
{
	switch (c) {
	case 'i': t->id = arg; return 1;
	case 'n': t->name = arg; return 1;
	case 'c': *cred = arg; return 1;
	case 't': return atv_cli_timeout(arg, &t->timeout_ms) < 0 ? -1 : 1;
	case 's':
		if (atv_cli_hosts(arg, hosts, &t->n_hosts) < 0)
			return -1;
		t->hosts = *hosts;
		return 1;
	default: return 0;
	}
}
