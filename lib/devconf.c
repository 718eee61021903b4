/* devconf.c - device config model <-> JSON. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "devconf.h"
#include "jsonl.h"
#include "banned.h"

static const char *const protocol_order[] = {"mrp", "dmap", "airplay", "raop", "companion"};

/* Members the model owns; everything else goes to `extra`. */
static const char *const device_keys[] = {"name",	 "address",    "identifier", "all_identifiers",
					  "device_info", "deep_sleep", "services",   NULL};
static const char *const info_keys[] = {"model", "operating_system", "version", "build", "mac", NULL};
static const char *const service_keys[] = {"protocol",	  "port",    "identifier", "credentials",
					   "properties", "enabled", NULL};

int atv_strset(char **dst, const char *src)
{
	char *n = NULL;

	if (src && !(n = strdup(src)))
		return -ATV_E_NOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

static void secret_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void atv_device_init(struct atv_device *d)
{
	memset(d, 0, sizeof *d);
}

static void service_release(struct atv_service *s)
{
	free(s->protocol);
	free(s->identifier);
	secret_free(s->credentials);
	json_decref(s->properties);
	json_decref(s->extra);
	memset(s, 0, sizeof *s);
}

void atv_device_release(struct atv_device *d)
{
	free(d->name);
	free(d->address);
	free(d->identifier);
	for (size_t i = 0; i < d->n_ids; i++)
		free(d->all_ids[i]);
	free(d->all_ids);
	free(d->info.model);
	free(d->info.operating_system);
	free(d->info.version);
	free(d->info.build);
	free(d->info.mac);
	json_decref(d->info.extra);
	for (size_t i = 0; i < d->n_svcs; i++)
		service_release(&d->svcs[i]);
	free(d->svcs);
	json_decref(d->extra);
	memset(d, 0, sizeof *d);
}

int atv_protocol_rank(const char *protocol)
{
	size_t n = sizeof protocol_order / sizeof protocol_order[0];

	for (size_t i = 0; protocol && i < n; i++)
		if (strcmp(protocol, protocol_order[i]) == 0)
			return (int)i;
	return (int)n;
}

struct atv_service *atv_device_service(const struct atv_device *d, const char *protocol)
{
	for (size_t i = 0; i < d->n_svcs; i++)
		if (strcmp(d->svcs[i].protocol, protocol) == 0)
			return &d->svcs[i];
	return NULL;
}

struct atv_service *atv_device_add_service(struct atv_device *d, const char *protocol)
{
	struct atv_service *s = atv_device_service(d, protocol), *n;

	if (s)
		return s;
	if (d->n_svcs >= ATV_DEVCONF_MAX_SERVICES)
		return NULL;
	n = realloc(d->svcs, (d->n_svcs + 1) * sizeof *n);
	if (!n)
		return NULL;
	d->svcs = n;
	s = &d->svcs[d->n_svcs];
	memset(s, 0, sizeof *s);
	s->enabled = true;
	s->protocol = strdup(protocol);
	s->properties = json_object();
	if (!s->protocol || !s->properties) {
		service_release(s);
		return NULL;
	}
	d->n_svcs++;
	return s;
}

bool atv_device_has_id(const struct atv_device *d, const char *id)
{
	for (size_t i = 0; i < d->n_ids; i++)
		if (strcasecmp(d->all_ids[i], id) == 0)
			return true;
	return false;
}

int atv_device_add_id(struct atv_device *d, const char *id)
{
	char **n;

	if (!id || !*id || atv_device_has_id(d, id))
		return 0;
	if (d->n_ids >= ATV_DEVCONF_MAX_IDS)
		return -ATV_E_LIMIT;
	n = realloc(d->all_ids, (d->n_ids + 1) * sizeof *n);
	if (!n)
		return -ATV_E_NOMEM;
	d->all_ids = n;
	if (!(d->all_ids[d->n_ids] = strdup(id)))
		return -ATV_E_NOMEM;
	d->n_ids++;
	return 0;
}

int atv_device_pick_identifier(struct atv_device *d)
{
	const struct atv_service *best = NULL;

	for (size_t i = 0; i < d->n_svcs; i++) {
		const struct atv_service *s = &d->svcs[i];
		if (s->identifier && (!best || atv_protocol_rank(s->protocol) <
						       atv_protocol_rank(best->protocol)))
			best = s;
	}
	if (best)
		return atv_strset(&d->identifier, best->identifier);
	if (!d->identifier && d->n_ids)
		return atv_strset(&d->identifier, d->all_ids[0]);
	return 0;
}

/* ---- JSON -> model ---- */

static bool is_known(const char *const *keys, const char *k)
{
	for (; *keys; keys++)
		if (strcmp(*keys, k) == 0)
			return true;
	return false;
}

/* A new object with the members of j not in keys (NULL on no memory). */
static json_t *extra_of(const json_t *j, const char *const *keys)
{
	json_t *x = json_object(), *v;
	const char *k;

	if (!x)
		return NULL;
	json_object_foreach((json_t *)j, k, v)
	{
		if (!is_known(keys, k) && json_object_set(x, k, v) < 0) {
			json_decref(x);
			return NULL;
		}
	}
	return x;
}

/* Copy an optional string member: absent or null → NULL; other type → error. */
static int get_str(const json_t *j, const char *key, const char *where, char **out,
		   struct atv_err *err)
{
	json_t *v = json_object_get(j, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return atv_err_set(err, ATV_E_INPUT, "%s\"%s\" must be a string", where, key);
	if (atv_strset(out, json_string_value(v)) < 0)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

static int service_from_json(const json_t *j, struct atv_device *d, size_t idx, struct atv_err *err)
{
	char where[48], *proto = NULL;
	struct atv_service *s;
	json_t *v;
	int r;

	snprintf(where, sizeof where, "services[%zu]: ", idx);
	if (!json_is_object(j))
		return atv_err_set(err, ATV_E_INPUT, "%smust be an object", where);
	if ((r = get_str(j, "protocol", where, &proto, err)) < 0)
		return r;
	if (!proto || !*proto || strlen(proto) > 32) {
		free(proto);
		return atv_err_set(err, ATV_E_INPUT, "%s\"protocol\" missing or invalid", where);
	}
	if (atv_device_service(d, proto)) {
		free(proto);
		return atv_err_set(err, ATV_E_INPUT, "%sprotocol listed twice", where);
	}
	s = atv_device_add_service(d, proto);
	free(proto);
	if (!s)
		return atv_err_set(err, ATV_E_LIMIT, "%stoo many services", where);

	v = json_object_get(j, "port");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535)
		return atv_err_set(err, ATV_E_INPUT, "%s\"port\" must be an integer 0-65535", where);
	s->port = (int)json_integer_value(v);
	if ((r = get_str(j, "identifier", where, &s->identifier, err)) < 0 ||
	    (r = get_str(j, "credentials", where, &s->credentials, err)) < 0)
		return r;
	v = json_object_get(j, "enabled");
	if (v && !json_is_boolean(v))
		return atv_err_set(err, ATV_E_INPUT, "%s\"enabled\" must be true or false", where);
	s->enabled = !v || json_is_true(v);
	v = json_object_get(j, "properties");
	if (v && !json_is_null(v)) {
		const char *k;
		json_t *pv;
		if (!json_is_object(v) || json_object_size(v) > ATV_DEVCONF_MAX_PROPERTIES)
			return atv_err_set(err, ATV_E_INPUT,
					   "%s\"properties\" must be an object of at most %d strings",
					   where, ATV_DEVCONF_MAX_PROPERTIES);
		json_object_foreach(v, k, pv)
		{
			if (!json_is_string(pv))
				return atv_err_set(err, ATV_E_INPUT,
						   "%sproperty \"%s\" must be a string", where, k);
		}
		if (json_object_update(s->properties, v) < 0)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	if (!(s->extra = extra_of(j, service_keys)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

int atv_device_from_json(const json_t *j, struct atv_device *d, struct atv_err *err)
{
	json_t *v, *it;
	size_t i;
	int r;

	if (!json_is_object(j))
		return atv_err_set(err, ATV_E_INPUT, "device config must be a JSON object");
	if ((r = get_str(j, "name", "", &d->name, err)) < 0 ||
	    (r = get_str(j, "address", "", &d->address, err)) < 0 ||
	    (r = get_str(j, "identifier", "", &d->identifier, err)) < 0)
		return r;

	v = json_object_get(j, "all_identifiers");
	if (v && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) > ATV_DEVCONF_MAX_IDS)
			return atv_err_set(err, ATV_E_INPUT,
					   "\"all_identifiers\" must be an array of at most %d strings",
					   ATV_DEVCONF_MAX_IDS);
		json_array_foreach(v, i, it)
		{
			if (!json_is_string(it))
				return atv_err_set(err, ATV_E_INPUT,
						   "\"all_identifiers\" must hold strings");
			if ((r = atv_device_add_id(d, json_string_value(it))) < 0)
				return atv_err_set(err, -r, "out of memory");
		}
	}
	if (d->identifier && (r = atv_device_add_id(d, d->identifier)) < 0)
		return atv_err_set(err, -r, "too many identifiers");

	v = json_object_get(j, "device_info");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v))
			return atv_err_set(err, ATV_E_INPUT, "\"device_info\" must be an object");
		if ((r = get_str(v, "model", "device_info: ", &d->info.model, err)) < 0 ||
		    (r = get_str(v, "operating_system", "device_info: ", &d->info.operating_system,
				 err)) < 0 ||
		    (r = get_str(v, "version", "device_info: ", &d->info.version, err)) < 0 ||
		    (r = get_str(v, "build", "device_info: ", &d->info.build, err)) < 0 ||
		    (r = get_str(v, "mac", "device_info: ", &d->info.mac, err)) < 0)
			return r;
		if (!(d->info.extra = extra_of(v, info_keys)))
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}

	v = json_object_get(j, "deep_sleep");
	if (v && !json_is_boolean(v) && !json_is_null(v))
		return atv_err_set(err, ATV_E_INPUT, "\"deep_sleep\" must be true or false");
	d->deep_sleep = json_is_true(v);

	v = json_object_get(j, "services");
	if (v && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) > ATV_DEVCONF_MAX_SERVICES)
			return atv_err_set(err, ATV_E_INPUT,
					   "\"services\" must be an array of at most %d services",
					   ATV_DEVCONF_MAX_SERVICES);
		json_array_foreach(v, i, it)
		{
			if ((r = service_from_json(it, d, i, err)) < 0)
				return r;
		}
	}
	for (i = 0; i < d->n_svcs; i++)
		if (d->svcs[i].identifier && (r = atv_device_add_id(d, d->svcs[i].identifier)) < 0)
			return atv_err_set(err, -r, "too many identifiers");
	if (!d->identifier && (r = atv_device_pick_identifier(d)) < 0)
		return atv_err_set(err, -r, "out of memory");
	if (!d->identifier && !d->address)
		return atv_err_set(err, ATV_E_INPUT,
				   "device config has neither \"identifier\" nor \"address\"");
	if (!(d->extra = extra_of(j, device_keys)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

int atv_device_parse(const char *p, size_t len, struct atv_device *d, struct atv_err *err)
{
	json_t *j;
	int r = atv_jsonl_parse(p, len, &j, err);

	if (r < 0)
		return r;
	r = atv_device_from_json(j, d, err);
	json_decref(j);
	return r;
}

/* ---- model -> JSON ---- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Set key to a new value, stealing the reference; failure is sticky in *ok. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, key, v) < 0)
		*ok = false;
}

static void put_extra(json_t *o, const json_t *extra, bool *ok)
{
	const char *k;
	json_t *v;

	if (!extra)
		return;
	json_object_foreach((json_t *)extra, k, v)
	{
		if (!json_object_get(o, k) && json_object_set(o, k, v) < 0)
			*ok = false;
	}
}

json_t *atv_device_to_json(const struct atv_device *d)
{
	json_t *o = json_object(), *ids = json_array(), *info = json_object(), *svcs = json_array();
	bool ok = o && ids && info && svcs;

	if (!ok)
		goto out;
	put(o, "name", str_or_null(d->name), &ok);
	put(o, "address", str_or_null(d->address), &ok);
	put(o, "identifier", str_or_null(d->identifier), &ok);
	for (size_t i = 0; i < d->n_ids; i++)
		if (json_array_append_new(ids, json_string(d->all_ids[i])) < 0)
			ok = false;
	put(o, "all_identifiers", ids, &ok);
	ids = NULL;
	put(info, "model", str_or_null(d->info.model), &ok);
	put(info, "operating_system", str_or_null(d->info.operating_system), &ok);
	put(info, "version", str_or_null(d->info.version), &ok);
	put(info, "build", str_or_null(d->info.build), &ok);
	put(info, "mac", str_or_null(d->info.mac), &ok);
	put_extra(info, d->info.extra, &ok);
	put(o, "device_info", info, &ok);
	info = NULL;
	put(o, "deep_sleep", json_boolean(d->deep_sleep), &ok);
	for (size_t i = 0; i < d->n_svcs; i++) {
		const struct atv_service *s = &d->svcs[i];
		json_t *so = json_object();
		if (!so) {
			ok = false;
			break;
		}
		put(so, "protocol", json_string(s->protocol), &ok);
		put(so, "port", json_integer(s->port), &ok);
		put(so, "identifier", str_or_null(s->identifier), &ok);
		put(so, "credentials", str_or_null(s->credentials), &ok);
		put(so, "enabled", json_boolean(s->enabled), &ok);
		put(so, "properties", s->properties ? json_deep_copy(s->properties) : json_object(),
		    &ok);
		put_extra(so, s->extra, &ok);
		if (json_array_append_new(svcs, so) < 0)
			ok = false;
	}
	put(o, "services", svcs, &ok);
	svcs = NULL;
	put_extra(o, d->extra, &ok);
out:
	json_decref(ids);
	json_decref(info);
	json_decref(svcs);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *atv_device_to_json_public(const struct atv_device *d)
{
	json_t *o = atv_device_to_json(d), *so;
	size_t i;

	if (!o)
		return NULL;
	json_array_foreach(json_object_get(o, "services"), i, so) {
		if (json_object_set_new(so, "credentials", json_null()) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
