/* companion_rti.h - text input over Companion (RTI: remote text input).
 *
 * A focused text field is a text input session: _tiStart answers with
 * _c._tiD, an NSKeyedArchiver binary plist whose $top.sessionUUID is the
 * session's 16-byte UUID and $top.documentState.docSt.contextBeforeInput
 * the text so far (each step through a UID into $objects).  Text goes back
 * as _tiC events {_tiV 1, _tiD: an RTIKeyedArchiver plist of
 * RTITextOperations}: textToAssert "" clears the field, keyboardOutput's
 * insertionText appends (pyatv plist_payloads/rti_text_operations.py, the
 * same objects in the same order).  libplist is loaded on first use
 * (plist_dl.h). */
#ifndef ATV_COMPANION_RTI_H
#define ATV_COMPANION_RTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "companion.h"
#include "err.h"

#define ATV_COMPANION_RTI_MAX (64 * 1024) /* bytes of a _tiD we read */

/* Parse a _tiD: the session UUID into uuid and the text (a new string,
 * "" when the field is empty; the caller frees it) into *text.
 * -ATV_E_PROTO for something else than such an archive, -ATV_E_LIMIT past
 * ATV_COMPANION_RTI_MAX or the node cap, -ATV_E_UNSUPPORTED without
 * libplist. */
int atv_companion_rti_parse(const uint8_t *p, size_t len, uint8_t uuid[16], char **text,
			    struct atv_err *err);

/* Append to out the _tiD of an operation on session uuid: clear the field
 * (insert NULL) or insert the text insert. */
int atv_companion_rti_payload(const uint8_t uuid[16], const char *insert, struct atv_buf *out,
			      struct atv_err *err);

struct atv_companion_rti_op {
	bool clear;	    /* empty the field first */
	const char *append; /* then type this (NULL: nothing) */
};

/* Restart the text session (_tiStop, _tiStart) to read the field, apply
 * op, and set *text (a new string; NULL when no field is focused) to the
 * text as it is now.  An op that changes the text when no field is
 * focused is -ATV_E_REFUSED. */
int atv_companion_rti_run(struct atv_companion *s, const struct atv_companion_rti_op *op,
			  char **text, struct atv_err *err);

#endif
