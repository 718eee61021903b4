/* bplist.c - count the nodes a binary plist expands to (see bplist.h).
 *
 * Format facts (Apple's CFBinaryPList.c, as libplist reads it): "bplist00",
 * the objects, the offset table, and a 32-byte trailer: 6 unused bytes,
 * the offset size, the reference size (1, 2, 4 or 8 bytes each), then
 * 64-bit big-endian the object count, the top object and where the offset
 * table starts.  An object's marker byte has its type in the high nibble
 * and a count in the low one; a count of 15 means an integer object
 * (marker 0x1n, 2^n bytes) follows with the real count.  Arrays (0xA) and
 * sets (0xC) hold count references, dictionaries (0xD) count key
 * references and then count value references. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bplist.h"
#include "banned.h"

#define TRAILER 32

struct walk {
	const uint8_t *p;
	size_t len, table; /* where the offset table starts */
	unsigned off_size, ref_size;
	uint64_t n;
};

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static bool size_ok(unsigned s)
{
	return s == 1 || s == 2 || s == 4 || s == 8;
}

/* Object i's references: *refs (where they start) and *count, 0 for a
 * leaf.  -1 when it is out of bounds. */
static int refs_of(const struct walk *w, uint64_t i, size_t *refs, uint64_t *count)
{
	uint64_t off = be(w->p + w->table + i * w->off_size, w->off_size), c;
	size_t at;
	uint8_t m;

	*count = 0;
	if (off < 8 || off >= w->table)
		return -1;
	m = w->p[off];
	if ((m >> 4) != 0xA && (m >> 4) != 0xC && (m >> 4) != 0xD)
		return 0;
	c = m & 0x0f;
	at = (size_t)off + 1;
	if (c == 0x0f) {
		unsigned ib;

		if (at >= w->table || (w->p[at] >> 4) != 0x1 || (w->p[at] & 0x0f) > 3)
			return -1;
		ib = 1u << (w->p[at] & 0x0f);
		if (w->table - at - 1 < ib)
			return -1;
		c = be(w->p + at + 1, ib);
		at += 1 + ib;
	}
	if ((m >> 4) == 0xD) {
		if (c > UINT64_MAX / 2)
			return -1;
		c *= 2;
	}
	if (c > (w->table - at) / w->ref_size)
		return -1;
	*refs = at;
	*count = c;
	return 0;
}

int atv_bplist_check(const uint8_t *p, size_t len, uint64_t max_nodes, struct atv_err *err)
{
	struct walk w = {.p = p, .len = len};
	uint64_t top, *total = NULL, *stack = NULL, *next = NULL;
	uint8_t *state = NULL;
	const uint8_t *t;
	size_t depth = 0;
	int r = 0;

	if (len < 6 || memcmp(p, "bplist", 6) != 0)
		return 0;
	if (len < 8 + 1 + 1 + TRAILER)
		return atv_err_set(err, ATV_E_PROTO, "binary plist too short");
	t = p + len - TRAILER;
	w.off_size = t[6];
	w.ref_size = t[7];
	w.n = be(t + 8, 8);
	top = be(t + 16, 8);
	w.table = (size_t)be(t + 24, 8);
	if (!size_ok(w.off_size) || !size_ok(w.ref_size) || w.n == 0 || top >= w.n ||
	    be(t + 24, 8) < 9 || be(t + 24, 8) > len - TRAILER ||
	    w.n > (len - TRAILER - w.table) / w.off_size)
		return atv_err_set(err, ATV_E_PROTO, "binary plist with a bad trailer");
	total = calloc(w.n, sizeof *total);
	stack = calloc(w.n, sizeof *stack);
	next = calloc(w.n, sizeof *next);
	state = calloc(w.n, 1);
	if (!total || !stack || !next || !state) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	/* depth-first from the top object, without recursion (a chain may be
	 * as deep as there are objects); state: 0 new, 1 on the path, 2 done */
	stack[depth++] = top;
	state[top] = 1;
	total[top] = 1;
	while (depth) {
		uint64_t i = stack[depth - 1], count, child;
		size_t refs = 0;

		if (refs_of(&w, i, &refs, &count) < 0) {
			r = atv_err_set(err, ATV_E_PROTO, "binary plist object out of range");
			goto out;
		}
		if (next[i] == count) {
			state[i] = 2;
			depth--;
			if (depth) {
				uint64_t parent = stack[depth - 1];

				total[parent] += total[i];
				if (total[parent] > max_nodes)
					goto limit;
			}
			continue;
		}
		child = be(p + refs + next[i] * w.ref_size, w.ref_size);
		next[i]++;
		if (child >= w.n) {
			r = atv_err_set(err, ATV_E_PROTO, "binary plist reference out of range");
			goto out;
		}
		if (state[child] == 1) {
			r = atv_err_set(err, ATV_E_PROTO, "binary plist with a reference cycle");
			goto out;
		}
		if (state[child] == 2) {
			/* counted before: add its size again, no second walk */
			total[i] += total[child];
			if (total[i] > max_nodes)
				goto limit;
			continue;
		}
		state[child] = 1;
		total[child] = 1;
		stack[depth++] = child;
	}
	goto out;
limit:
	r = atv_err_set(err, ATV_E_LIMIT, "binary plist expands to over %llu nodes",
			(unsigned long long)max_nodes);
out:
	free(total);
	free(stack);
	free(next);
	free(state);
	return r;
}
