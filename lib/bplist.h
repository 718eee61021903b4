/* bplist.h - a bound on what a binary plist expands to, checked before
 * libplist parses it.
 *
 * A binary plist ("bplist00") is a table of objects that refer to each
 * other by index, so one object may be referenced many times: arrays of
 * 14 references to the next array, 12 deep, are 464 bytes but 14^12 nodes
 * once expanded, and libplist builds a tree, copying every shared object
 * (it grows by ~170 MB/s on that input).  atv_bplist_check walks the
 * offset table itself and counts the nodes the tree would have, counting
 * each object once (memoised), and refuses the input before libplist
 * sees it when the total passes max_nodes or a reference cycles. */
#ifndef ATV_BPLIST_H
#define ATV_BPLIST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ATV_BPLIST_NODES_MAX 100000 /* a /playback-info answer has ~50 */

/* 0 when p is not a binary plist (nothing to check: XML is left to
 * libplist) or expands to at most max_nodes nodes; -ATV_E_LIMIT past
 * that, -ATV_E_PROTO for a malformed one (a trailer, offset or reference
 * out of range, a cycle); -ATV_E_NOMEM. */
int atv_bplist_check(const uint8_t *p, size_t len, uint64_t max_nodes, struct atv_err *err);

#endif
