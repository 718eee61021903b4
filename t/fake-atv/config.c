/* config.c - the fake device's description, read from a JSON file. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fake.h"
#include "jsonl.h"

/* A device file is one JSON object, possibly spread over many lines. */
static int read_file(const char *path, struct atv_buf *b, struct atv_err *err)
{
	uint8_t chunk[4096];
	size_t n;
	int r = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return atv_err_sys(err, ATV_E_INPUT, errno, "unable to open the file");
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (atv_buf_append(b, chunk, n, err) < 0) {
			r = atv_err_set(err, ATV_E_INPUT, "larger than %zu bytes", b->max);
			goto out;
		}
	}
	if (ferror(f))
		r = atv_err_sys(err, ATV_E_INPUT, errno, "unable to read the file");
out:
	fclose(f);
	return r;
}

static int get_string(const json_t *obj, const char *key, const char *where, bool required,
		      char **out, struct atv_err *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v) {
		if (required)
			return atv_err_set(err, ATV_E_INPUT, "%s: missing \"%s\"", where, key);
		return 0;
	}
	if (!json_is_string(v))
		return atv_err_set(err, ATV_E_INPUT, "%s: \"%s\" is not a string", where, key);
	*out = strdup(json_string_value(v));
	if (!*out)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

/* A DNS label: 1..63 bytes (RFC 1035 2.3.4); any bytes are allowed in
 * DNS-SD instance labels (RFC 6763 4.3), but NUL would end our C string
 * early, and jansson already rejects \u0000. */
static int check_label(const char *s, const char *what, const char *where, struct atv_err *err)
{
	size_t n = strlen(s);

	if (n == 0 || n > FAKE_MAX_LABEL)
		return atv_err_set(err, ATV_E_INPUT, "%s: %s must be 1 to %d bytes", where, what,
				   FAKE_MAX_LABEL);
	return 0;
}

/* A service type is "_name._tcp" or "_name._udp" (RFC 6763 7). */
static int check_type(const char *s, const char *where, struct atv_err *err)
{
	const char *dot = strchr(s, '.');

	if (s[0] != '_' || !dot || dot - s < 2 || dot - s > FAKE_MAX_LABEL ||
	    (strcmp(dot, "._tcp") != 0 && strcmp(dot, "._udp") != 0))
		return atv_err_set(err, ATV_E_INPUT,
				   "%s: type \"%s\" is not of the form _name._tcp or _name._udp",
				   where, s);
	return 0;
}

static int add_txt(struct fake_service *s, const char *key, const json_t *v, const char *where,
		   struct atv_err *err)
{
	const char *val = NULL;
	size_t klen = strlen(key), vlen = 0, len;
	struct fake_txt *t;

	if (klen == 0 || strchr(key, '='))
		return atv_err_set(err, ATV_E_INPUT, "%s: TXT key \"%s\" is empty or holds '='",
				   where, key);
	/* null: a key with no '=' at all, a boolean attribute (RFC 6763 6.4) */
	if (json_is_string(v)) {
		val = json_string_value(v);
		vlen = json_string_length(v);
	} else if (!json_is_null(v)) {
		return atv_err_set(err, ATV_E_INPUT, "%s: TXT value of \"%s\" is not a string",
				   where, key);
	}
	len = klen + (val ? 1 + vlen : 0);
	/* RFC 6763 6.1: each TXT string is one length byte plus its bytes */
	if (len > 255)
		return atv_err_set(err, ATV_E_INPUT, "%s: TXT \"%s\" is %zu bytes, more than 255",
				   where, key, len);
	if (s->n_txt >= FAKE_MAX_TXT)
		return atv_err_set(err, ATV_E_INPUT, "%s: more than %d TXT keys", where,
				   FAKE_MAX_TXT);
	t = &s->txt[s->n_txt];
	t->data = malloc(len);
	if (!t->data)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	memcpy(t->data, key, klen);
	if (val) {
		t->data[klen] = '=';
		memcpy(t->data + klen + 1, val, vlen);
	}
	t->len = len;
	s->n_txt++;
	return 0;
}

static int load_service(json_t *j, size_t idx, struct fake_service *s, struct atv_err *err)
{
	char where[64];
	const json_t *port, *txt, *v;
	const char *key;
	size_t total = 0;
	int r;

	snprintf(where, sizeof where, "services[%zu]", idx);
	if (!json_is_object(j))
		return atv_err_set(err, ATV_E_INPUT, "%s is not an object", where);
	s->json = j;
	if ((r = get_string(j, "type", where, true, &s->type, err)) < 0 ||
	    (r = check_type(s->type, where, err)) < 0 ||
	    (r = get_string(j, "name", where, true, &s->name, err)) < 0 ||
	    (r = check_label(s->name, "name", where, err)) < 0)
		return r;
	port = json_object_get(j, "port");
	if (!json_is_integer(port) || json_integer_value(port) < 0 ||
	    json_integer_value(port) > 65535)
		return atv_err_set(err, ATV_E_INPUT, "%s: \"port\" must be an integer 0..65535",
				   where);
	s->port = (uint16_t)json_integer_value(port);
	txt = json_object_get(j, "txt");
	if (!txt)
		return 0;
	if (!json_is_object(txt))
		return atv_err_set(err, ATV_E_INPUT, "%s: \"txt\" is not an object", where);
	s->txt = calloc(FAKE_MAX_TXT, sizeof *s->txt);
	if (!s->txt)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	/* jansson keeps object members in file order, so TXT order is the file's */
	json_object_foreach((json_t *)txt, key, v) {
		if ((r = add_txt(s, key, v, where, err)) < 0)
			return r;
		total += 1 + s->txt[s->n_txt - 1].len;
	}
	if (total > FAKE_MAX_TXT_TOTAL)
		return atv_err_set(err, ATV_E_INPUT, "%s: TXT record is %zu bytes, more than %d",
				   where, total, FAKE_MAX_TXT_TOTAL);
	return 0;
}

static int load_device(json_t *root, struct fake_device *dev, struct atv_err *err)
{
	char *addr = NULL;
	json_t *svcs;
	int r;

	if ((r = get_string(root, "name", "device", true, &dev->name, err)) < 0 ||
	    (r = get_string(root, "host", "device", true, &dev->host, err)) < 0 ||
	    (r = check_label(dev->host, "host", "device", err)) < 0)
		return r;
	if (strchr(dev->host, '.'))
		return atv_err_set(err, ATV_E_INPUT, "device: host must be one label, without '.'");
	if ((r = get_string(root, "address", "device", false, &addr, err)) < 0)
		return r;
	if (addr) {
		dev->has_address = true;
		r = inet_pton(AF_INET, addr, &dev->address) == 1
			    ? 0
			    : atv_err_set(err, ATV_E_INPUT,
					  "device: address \"%s\" is not an IPv4 address", addr);
		free(addr);
		if (r < 0)
			return r;
	}
	if ((r = get_string(root, "pin", "device", false, &dev->pin, err)) < 0)
		return r;
	if (!dev->pin && !(dev->pin = strdup(FAKE_DEFAULT_PIN)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (!fake_pin_valid(dev->pin))
		return atv_err_set(err, ATV_E_INPUT, "device: \"pin\" must be 1 to %d digits",
				   FAKE_MAX_PIN);
	svcs = json_object_get(root, "services");
	if (!json_is_array(svcs))
		return atv_err_set(err, ATV_E_INPUT, "device: \"services\" is not an array");
	if (json_array_size(svcs) > FAKE_MAX_SERVICES)
		return atv_err_set(err, ATV_E_INPUT, "device: more than %d services",
				   FAKE_MAX_SERVICES);
	dev->svcs = calloc(json_array_size(svcs) + 1, sizeof *dev->svcs);
	if (!dev->svcs)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(svcs); i++) {
		struct fake_service *s = &dev->svcs[i];

		dev->n_svcs++;
		if ((r = load_service(json_array_get(svcs, i), i, s, err)) < 0)
			return r;
		/* two services may not share an instance name and type: one
		 * SRV answer per name (RFC 6762 9) */
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(dev->svcs[k].type, s->type) == 0 &&
			    strcasecmp(dev->svcs[k].name, s->name) == 0)
				return atv_err_set(err, ATV_E_INPUT,
						   "services[%zu]: same type and name as "
						   "services[%zu]", i, k);
	}
	return 0;
}

int fake_device_load(const char *path, struct fake_device *dev, struct atv_err *err)
{
	struct atv_buf b;
	json_t *root = NULL;
	int r;

	memset(dev, 0, sizeof *dev);
	atv_buf_init(&b, ATV_JSONL_MAX);
	if ((r = read_file(path, &b, err)) < 0)
		goto out;
	if ((r = atv_jsonl_parse((const char *)b.data, b.len, &root, err)) < 0)
		goto out;
	dev->json = root;
	r = load_device(root, dev, err);
out:
	atv_buf_release(&b);
	if (r < 0) {
		atv_err_prefix(err, "%s", path);
		fake_device_release(dev);
		return r;
	}
	return 0;
}

void fake_device_release(struct fake_device *dev)
{
	for (size_t i = 0; i < dev->n_svcs; i++) {
		struct fake_service *s = &dev->svcs[i];

		for (size_t k = 0; k < s->n_txt; k++)
			free(s->txt[k].data);
		free(s->txt);
		free(s->type);
		free(s->name);
	}
	free(dev->svcs);
	free(dev->pin);
	free(dev->name);
	free(dev->host);
	json_decref(dev->json);
	memset(dev, 0, sizeof *dev);
}

struct fake_service *fake_device_service(struct fake_device *dev, const char *type)
{
	for (size_t i = 0; i < dev->n_svcs; i++)
		if (strcasecmp(dev->svcs[i].type, type) == 0)
			return &dev->svcs[i];
	return NULL;
}

char *fake_service_txt(const struct fake_service *s, const char *key)
{
	const json_t *txt = json_object_get(s->json, "txt"), *v;
	const char *k;

	/* load_service() checked every value is a string or null */
	json_object_foreach((json_t *)txt, k, v)
		if (strcasecmp(k, key) == 0 && json_is_string(v))
			return strdup(json_string_value(v));
	return NULL;
}

bool fake_pin_valid(const char *pin)
{
	size_t n = strspn(pin, "0123456789");

	return n > 0 && n <= FAKE_MAX_PIN && pin[n] == '\0';
}
