/* pairings.c - the paired controllers of the fake's servers, kept in
 * memory and in the --pairings file that MRP and AirPlay share.
 *
 * The file is JSON lines, one controller each:
 * {"protocol":"mrp","id":HEX,"ltpk":HEX} with the controller's pairing
 * identifier and its Ed25519 long-term public key, as a real accessory
 * stores them after pair-setup M5 (protocols.md 4.4).  Each store owns the
 * lines of its protocol; a line without "protocol" is MRP's, as the fakes
 * before AirPlay wrote them, and is rewritten with it on MRP's next save.
 * Lines of other protocols are copied byte for byte, so one server saving
 * never loses the other's controllers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "bytes.h"
#include "crypto.h"
#include "fake.h"
#include "jsonl.h"

#define DEFAULT_PROTOCOL "mrp" /* what a line without "protocol" belongs to */

void fake_pairings_init(struct fake_pairings *s, const char *protocol, size_t max)
{
	memset(s, 0, sizeof *s);
	s->protocol = protocol;
	s->max = max < 1 ? 1 : max > FAKE_MAX_PAIRINGS ? FAKE_MAX_PAIRINGS : max;
}

void fake_pairings_release(struct fake_pairings *s)
{
	const char *protocol = s->protocol;
	size_t max = s->max;

	free(s->path);
	atv_crypto_wipe(s, sizeof *s);
	fake_pairings_init(s, protocol, max);
}

static void hex_encode(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void fake_pairing_id_text(char *out, size_t size, const uint8_t *id, size_t n)
{
	bool text = n > 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (id[i] < 0x20 || id[i] > 0x7e)
			text = false;
	if (text && n < size) {
		memcpy(out, id, n);
		out[n] = '\0';
	} else if (2 * n < size) {
		hex_encode(out, id, n);
	} else {
		snprintf(out, size, "(%zu bytes)", n);
	}
}

/* The protocol a parsed line belongs to: its "protocol", or MRP's for the
 * lines older fakes wrote without one.  NULL when "protocol" is there but
 * not a string. */
static const char *line_protocol(const json_t *o)
{
	const json_t *v = json_object_get(o, "protocol");

	if (!v)
		return DEFAULT_PROTOCOL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static struct fake_pairing *find(struct fake_pairings *s, const uint8_t *id, size_t idlen)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].idlen == idlen && memcmp(s->p[i].id, id, idlen) == 0)
			return &s->p[i];
	return NULL;
}

/* Put one controller in memory: its key replaces that of the same id. */
static int put(struct fake_pairings *s, const uint8_t *id, size_t idlen,
	       const uint8_t ltpk[ATV_ED25519_PUB_LEN], struct atv_err *err)
{
	struct fake_pairing *p;

	if (idlen == 0 || idlen > ATV_HAP_ID_MAX)
		return atv_err_set(err, ATV_E_USAGE, "pairing identifier of %zu bytes", idlen);
	p = find(s, id, idlen);
	if (!p) {
		if (s->n == s->max)
			return atv_err_set(err, ATV_E_LIMIT, "more than %zu %s pairings", s->max,
					   s->protocol);
		p = &s->p[s->n++];
		memcpy(p->id, id, idlen);
		p->idlen = idlen;
	}
	memcpy(p->ltpk, ltpk, ATV_ED25519_PUB_LEN);
	return 0;
}

/* One of our lines: {"id":HEX,"ltpk":HEX} into s. */
static int load_line(struct fake_pairings *s, const json_t *o, struct atv_err *err)
{
	const char *id = atv_json_str(o, "id"), *pk = atv_json_str(o, "ltpk");
	uint8_t idb[ATV_HAP_ID_MAX], ltpk[ATV_ED25519_PUB_LEN];
	size_t idlen, pklen;
	int r;

	if (!id || !pk || atv_unhex(id, strlen(id), idb, sizeof idb, &idlen) < 0 || idlen == 0 ||
	    atv_unhex(pk, strlen(pk), ltpk, sizeof ltpk, &pklen) < 0 || pklen != sizeof ltpk)
		return atv_err_set(err, ATV_E_INPUT, "not {\"id\":HEX,\"ltpk\":HEX}");
	r = put(s, idb, idlen, ltpk, err);
	return r == -ATV_E_LIMIT ? -ATV_E_INPUT : r;
}

int fake_pairings_load(struct fake_pairings *s, const char *path, struct atv_err *err)
{
	struct atv_buf line;
	FILE *f = NULL;
	int r = 0, n = 0;

	fake_pairings_release(s);
	if (!(s->path = strdup(path)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		r = atv_err_sys(err, ATV_E_INPUT, errno, "unable to open %s", path);
		goto out;
	}
	atv_buf_init(&line, ATV_JSONL_MAX);
	/* n counts the line being read, for the messages */
	while (++n, (r = atv_jsonl_read(f, &line, err)) > 0) {
		const char *proto;
		json_t *o = NULL;

		if (line.len == 0)
			continue;
		if ((r = atv_jsonl_parse((const char *)line.data, line.len, &o, err)) < 0)
			break;
		proto = line_protocol(o);
		if (!proto)
			r = atv_err_set(err, ATV_E_INPUT, "\"protocol\" is not a string");
		else if (strcmp(proto, s->protocol) == 0)
			r = load_line(s, o, err);
		json_decref(o);
		if (r < 0)
			break;
	}
	if (r == -ATV_E_IO)
		atv_err_prefix(err, "%s", path);
	else if (r < 0)
		atv_err_prefix(err, "%s, line %d", path, n);
	atv_buf_release(&line);
	fclose(f);
out:
	if (r < 0)
		fake_pairings_release(s);
	return r < 0 ? r : 0;
}

/* Copy the lines of path that are not ours to f as they are (a missing
 * file has none).  Lines that do not parse are not ours either: what we
 * cannot read we do not throw away. */
static int copy_others(const struct fake_pairings *s, FILE *f, struct atv_err *err)
{
	struct atv_buf line;
	FILE *in = fopen(s->path, "r");
	int r, n = 0;

	if (!in)
		return errno == ENOENT
			   ? 0
			   : atv_err_sys(err, ATV_E_IO, errno, "unable to read %s", s->path);
	atv_buf_init(&line, ATV_JSONL_MAX);
	while (++n, (r = atv_jsonl_read(in, &line, err)) > 0) {
		const char *proto;
		json_t *o = NULL;
		bool ours;

		if (line.len == 0)
			continue;
		ours = atv_jsonl_parse((const char *)line.data, line.len, &o, NULL) == 0 &&
		       (proto = line_protocol(o)) && strcmp(proto, s->protocol) == 0;
		json_decref(o);
		if (!ours &&
		    (fwrite(line.data, 1, line.len, f) != line.len || putc('\n', f) == EOF))
			break;
	}
	/* a line too long to copy whole fails the save: the file stays */
	if (r == -ATV_E_IO)
		atv_err_prefix(err, "%s", s->path);
	else if (r < 0)
		atv_err_prefix(err, "%s, line %d", s->path, n);
	atv_buf_release(&line);
	fclose(in);
	return r < 0 ? -ATV_E_IO : 0;
}

int fake_pairings_save(const struct fake_pairings *s, struct atv_err *err)
{
	char id[2 * ATV_HAP_ID_MAX + 1], pk[2 * ATV_ED25519_PUB_LEN + 1];
	size_t plen;
	char *tmp;
	FILE *f = NULL;
	int fd, r;

	if (!s->path)
		return 0;
	plen = strlen(s->path);
	if (!(tmp = malloc(plen + sizeof ".tmp")))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	memcpy(tmp, s->path, plen);
	memcpy(tmp + plen, ".tmp", sizeof ".tmp");
	/* 0600: the keys let a controller in, as a credentials file does */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", tmp);
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	if ((r = copy_others(s, f, err)) < 0)
		goto fail;
	for (size_t i = 0; i < s->n; i++) {
		hex_encode(id, s->p[i].id, s->p[i].idlen);
		hex_encode(pk, s->p[i].ltpk, sizeof s->p[i].ltpk);
		fprintf(f, "{\"protocol\":\"%s\",\"id\":\"%s\",\"ltpk\":\"%s\"}\n", s->protocol, id,
			pk);
	}
	r = ferror(f) ? EIO : 0;
	if (fclose(f) == EOF && !r)
		r = errno;
	f = NULL;
	/* readers see the old file or the new one, never a part */
	if (r || rename(tmp, s->path) < 0) {
		r = atv_err_sys(err, ATV_E_IO, r ? r : errno, "unable to write %s", s->path);
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	free(tmp);
	return r;
}

int fake_pairings_add(struct fake_pairings *s, const uint8_t *id, size_t idlen,
		      const uint8_t ltpk[ATV_ED25519_PUB_LEN], struct atv_err *err)
{
	int r = put(s, id, idlen, ltpk, err);

	return r < 0 ? r : fake_pairings_save(s, err);
}

int fake_pairings_forget(struct fake_pairings *s, struct atv_err *err)
{
	atv_crypto_wipe(s->p, sizeof s->p);
	s->n = 0;
	return fake_pairings_save(s, err);
}

int fake_pairings_lookup(void *arg, const uint8_t *id, size_t idlen,
			 uint8_t ltpk[ATV_ED25519_PUB_LEN])
{
	const struct fake_pairing *p = find(arg, id, idlen);

	if (!p)
		return -1;
	memcpy(ltpk, p->ltpk, ATV_ED25519_PUB_LEN);
	return 0;
}
