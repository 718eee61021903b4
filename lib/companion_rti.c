/* companion_rti.c - RTI text input payloads and the text session steps. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bplist.h"
#include "companion_rti.h"
#include "plist_dl.h"
#include "banned.h"

#define UUID_LEN 16

/* ---- reading a _tiD ---- */

/* d[key], followed through a UID into objects when it is one. */
static plist_t member(const struct atv_plist *pl, plist_t objects, plist_t d, const char *key)
{
	plist_t v = d && pl->get_node_type(d) == PLIST_DICT ? pl->dict_get_item(d, key) : NULL;
	uint64_t uid = 0;

	if (v && pl->get_node_type(v) == PLIST_UID) {
		pl->get_uid_val(v, &uid);
		v = uid < pl->array_get_size(objects) ? pl->array_get_item(objects, (uint32_t)uid)
						      : NULL;
	}
	return v;
}

int atv_companion_rti_parse(const uint8_t *p, size_t len, uint8_t uuid[16], char **text,
			    struct atv_err *err)
{
	const struct atv_plist *pl;
	plist_t root = NULL, objects, top, v;
	const char *s;
	uint64_t n = 0;
	int r;

	*text = NULL;
	if ((r = atv_plist_load(&pl, err)) < 0)
		return r;
	if (len == 0 || len > ATV_COMPANION_RTI_MAX)
		return atv_err_set(err, len ? ATV_E_LIMIT : ATV_E_PROTO,
				   "text session of %zu bytes (limit %d)", len,
				   ATV_COMPANION_RTI_MAX);
	/* bounds what shared references expand to before libplist copies
	 * them; only members are looked up by name, never iterated (libplist
	 * 2.2 aborts on keys holding a NUL) */
	if ((r = atv_bplist_check(p, len, ATV_BPLIST_NODES_MAX, err)) < 0)
		return r;
	pl->from_memory((const char *)p, (uint32_t)len, &root);
	if (!root || pl->get_node_type(root) != PLIST_DICT) {
		r = atv_err_set(err, ATV_E_PROTO, "text session is not a keyed archive");
		goto out;
	}
	objects = pl->dict_get_item(root, "$objects");
	top = pl->dict_get_item(root, "$top");
	if (!objects || pl->get_node_type(objects) != PLIST_ARRAY || !top) {
		r = atv_err_set(err, ATV_E_PROTO, "text session is not a keyed archive");
		goto out;
	}
	v = member(pl, objects, top, "sessionUUID");
	if (!v || pl->get_node_type(v) != PLIST_DATA || !pl->get_data_ptr(v, &n) || n != UUID_LEN) {
		r = atv_err_set(err, ATV_E_PROTO, "text session without a session uuid");
		goto out;
	}
	memcpy(uuid, pl->get_data_ptr(v, &n), UUID_LEN);
	v = member(pl, objects,
		   member(pl, objects, member(pl, objects, top, "documentState"), "docSt"),
		   "contextBeforeInput");
	s = v && pl->get_node_type(v) == PLIST_STRING ? pl->get_string_ptr(v, NULL) : NULL;
	if (!(*text = strdup(s ? s : "")))
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
out:
	if (root)
		pl->free(root);
	return r;
}

/* ---- writing one ---- */

/* {$classname: name, $classes: [name, NSObject]} */
static plist_t class_object(const struct atv_plist *pl, const char *name)
{
	plist_t d = pl->new_dict(), a = pl->new_array();

	pl->array_append_item(a, pl->new_string(name));
	pl->array_append_item(a, pl->new_string("NSObject"));
	pl->dict_set_item(d, "$classname", pl->new_string(name));
	pl->dict_set_item(d, "$classes", a);
	return d;
}

static plist_t object(const struct atv_plist *pl, const char *k1, uint64_t u1, const char *k2,
		      uint64_t u2)
{
	plist_t d = pl->new_dict();

	pl->dict_set_item(d, k1, pl->new_uid(u1));
	if (k2)
		pl->dict_set_item(d, k2, pl->new_uid(u2));
	return d;
}

int atv_companion_rti_payload(const uint8_t uuid[16], const char *insert, struct atv_buf *out,
			      struct atv_err *err)
{
	const struct atv_plist *pl;
	plist_t root, top, objs, ops, u;
	char *bin = NULL;
	uint32_t len = 0;
	int r;

	if ((r = atv_plist_load(&pl, err)) < 0)
		return r;
	/* $objects as pyatv lays them out: 1 the operations, 5 the session
	 * UUID, 7 its class; an insertion's keyboard output (2) holds the
	 * text (3), a clear asserts the empty string (4) */
	objs = pl->new_array();
	pl->array_append_item(objs, pl->new_string("$null"));
	if (insert) {
		ops = object(pl, "keyboardOutput", 2, "$class", 7);
		pl->dict_set_item(ops, "targetSessionUUID", pl->new_uid(5));
		pl->array_append_item(objs, ops);
		pl->array_append_item(objs, object(pl, "insertionText", 3, "$class", 4));
		pl->array_append_item(objs, pl->new_string(insert));
		pl->array_append_item(objs, class_object(pl, "TIKeyboardOutput"));
	} else {
		ops = object(pl, "$class", 7, "targetSessionUUID", 5);
		pl->dict_set_item(ops, "keyboardOutput", pl->new_uid(2));
		pl->dict_set_item(ops, "textToAssert", pl->new_uid(4));
		pl->array_append_item(objs, ops);
		pl->array_append_item(objs, object(pl, "$class", 3, NULL, 0));
		pl->array_append_item(objs, class_object(pl, "TIKeyboardOutput"));
		pl->array_append_item(objs, pl->new_string(""));
	}
	u = pl->new_dict();
	pl->dict_set_item(u, "NS.uuidbytes", pl->new_data((const char *)uuid, UUID_LEN));
	pl->dict_set_item(u, "$class", pl->new_uid(6));
	pl->array_append_item(objs, u);
	pl->array_append_item(objs, class_object(pl, "NSUUID"));
	pl->array_append_item(objs, class_object(pl, "RTITextOperations"));
	top = pl->new_dict();
	pl->dict_set_item(top, "textOperations", pl->new_uid(1));
	root = pl->new_dict();
	pl->dict_set_item(root, "$version", pl->new_uint(100000));
	pl->dict_set_item(root, "$archiver", pl->new_string("RTIKeyedArchiver"));
	pl->dict_set_item(root, "$top", top);
	pl->dict_set_item(root, "$objects", objs);
	pl->to_bin(root, &bin, &len);
	pl->free(root);
	if (!bin)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	r = atv_buf_append(out, bin, len, err);
	pl->to_bin_free(bin);
	return r;
}

/* ---- the session ---- */

static int send_op(struct atv_companion *s, const uint8_t uuid[16], const char *insert,
		   struct atv_err *err)
{
	struct atv_opack *d = atv_opack_dict();
	struct atv_buf b;
	int r;

	atv_buf_init(&b, ATV_COMPANION_RTI_MAX + 4096);
	r = atv_companion_rti_payload(uuid, insert, &b, err);
	if (r == 0 && (atv_opack_dict_set(d, "_tiV", atv_opack_int(1)) < 0 ||
		       atv_opack_dict_set(d, "_tiD", atv_opack_data(b.data, b.len)) < 0)) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	atv_buf_release(&b);
	if (r < 0) {
		atv_opack_free(d);
		return r;
	}
	return atv_companion_event(s, "_tiC", d, err);
}

int atv_companion_rti_run(struct atv_companion *s, const struct atv_companion_rti_op *op,
			  char **text, struct atv_err *err)
{
	struct atv_opack *reply = NULL, *stopped = NULL;
	uint8_t uuid[UUID_LEN];
	const uint8_t *ti;
	size_t tilen;
	char *now = NULL, *joined;
	int r;

	*text = NULL;
	/* a fresh session has the field's text as it is now (pyatv) */
	r = atv_companion_request(s, "_tiStop", NULL, &stopped, err);
	atv_opack_free(stopped);
	if (r == 0)
		r = atv_companion_request(s, "_tiStart", NULL, &reply, err);
	if (r < 0)
		return r;
	ti = atv_opack_get_data(atv_opack_get_dict(reply, "_c"), "_tiD", &tilen);
	if (!ti) {
		atv_opack_free(reply);
		if (op->clear || op->append)
			return atv_err_set(err, ATV_E_REFUSED, "no text field is focused");
		return 0;
	}
	r = atv_companion_rti_parse(ti, tilen, uuid, &now, err);
	atv_opack_free(reply);
	if (r == 0 && op->clear) {
		r = send_op(s, uuid, NULL, err);
		now[0] = 0;
	}
	if (r == 0 && op->append && op->append[0]) {
		r = send_op(s, uuid, op->append, err);
		joined = r == 0 ? malloc(strlen(now) + strlen(op->append) + 1) : NULL;
		if (r == 0 && !joined) {
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		} else if (r == 0) {
			memcpy(joined, now, strlen(now));
			memcpy(joined + strlen(now), op->append, strlen(op->append) + 1);
			free(now);
			now = joined;
		}
	}
	if (r < 0) {
		free(now);
		return r;
	}
	*text = now;
	return 0;
}
