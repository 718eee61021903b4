/* plist-json - print a property list (binary or XML, on stdin) as one
 * line of JSON, for the tests: dicts are objects, arrays arrays, strings,
 * booleans and reals as they are, integers as signed 64-bit numbers, data
 * as a lower-case hex string, dates as seconds since 2001.  Exit 1 when the
 * input is not a plist (or is nested deeper than MAX_DEPTH), 2 for usage.
 *
 *   curl -s http://127.0.0.2:7000/info | plist-json | jq .model */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <plist/plist.h>

#define IN_MAX	  ((size_t)16 << 20)
#define MAX_DEPTH 64

static json_t *convert(plist_t p, int depth);

static json_t *convert_dict(plist_t p, int depth)
{
	json_t *o = json_object();
	plist_dict_iter it = NULL;
	char *key = NULL;
	plist_t v = NULL;

	plist_dict_new_iter(p, &it);
	for (;;) {
		json_t *jv;

		key = NULL;
		v = NULL;
		plist_dict_next_item(p, it, &key, &v);
		if (!key)
			break;
		jv = convert(v, depth + 1);
		if (!jv) {
			free(key);
			free(it);
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, key, jv);
		free(key);
	}
	free(it);
	return o;
}

static json_t *convert(plist_t p, int depth)
{
	char *s = NULL;
	uint64_t u = 0, len = 0;
	uint8_t b = 0;
	double d = 0;
	int32_t sec = 0, usec = 0;
	json_t *a, *jv;

	if (!p || depth > MAX_DEPTH)
		return NULL;
	switch (plist_get_node_type(p)) {
	case PLIST_DICT: return convert_dict(p, depth);
	case PLIST_ARRAY:
		a = json_array();
		for (uint32_t i = 0; i < plist_array_get_size(p); i++) {
			jv = convert(plist_array_get_item(p, i), depth + 1);
			if (!jv) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, jv);
		}
		return a;
	case PLIST_STRING:
		plist_get_string_val(p, &s);
		jv = json_string(s ? s : "");
		free(s);
		return jv;
	case PLIST_BOOLEAN: plist_get_bool_val(p, &b); return json_boolean(b);
	case PLIST_UINT: plist_get_uint_val(p, &u); return json_integer((json_int_t)(int64_t)u);
	case PLIST_REAL: plist_get_real_val(p, &d); return json_real(d);
	case PLIST_DATA: {
		static const char digits[] = "0123456789abcdef";
		char *hex;

		plist_get_data_val(p, &s, &len);
		hex = malloc(2 * len + 1);
		if (!hex) {
			free(s);
			return NULL;
		}
		for (uint64_t i = 0; i < len; i++) {
			hex[2 * i] = digits[(uint8_t)s[i] >> 4];
			hex[2 * i + 1] = digits[(uint8_t)s[i] & 15];
		}
		hex[2 * len] = '\0';
		jv = json_string(hex);
		free(hex);
		free(s);
		return jv;
	}
	case PLIST_DATE: plist_get_date_val(p, &sec, &usec); return json_real(sec + usec / 1e6);
	default: return json_null();
	}
}

int main(int argc, char **argv)
{
	char *buf = malloc(IN_MAX + 1), *out;
	size_t len = 0, n;
	plist_t p = NULL;
	json_t *j;

	if (argc > 1) {
		fputs(argc == 2 && strcmp(argv[1], "--help") == 0
			  ? "usage: plist-json < FILE.plist\n"
			  : "plist-json: no arguments (the plist comes on stdin)\n",
		      argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	if (!buf)
		return 1;
	while (len < IN_MAX && (n = fread(buf + len, 1, IN_MAX - len, stdin)) > 0)
		len += n;
	buf[len] = '\0';
	if (len > 0)
		plist_from_memory(buf, (uint32_t)len, &p);
	free(buf);
	j = convert(p, 0);
	plist_free(p);
	if (!j) {
		fputs("plist-json: not a property list\n", stderr);
		return 1;
	}
	out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	json_decref(j);
	if (!out)
		return 1;
	puts(out);
	free(out);
	return fflush(stdout) ? 1 : 0;
}
