/* jsonl.h - JSON lines through jansson: one compact object per line,
 * UTF-8, flushed per line.  Input lines are capped. */
#ifndef ATV_JSONL_H
#define ATV_JSONL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

/* The longest JSON line any tool accepts on stdin or from a file. */
#define ATV_JSONL_MAX (256u * 1024u)

/* Read one line from f into line (without the newline, NUL-terminated,
 * line->len excludes the NUL).  Returns 1 for a line, 0 at EOF, or
 * -ATV_E_INPUT (line over line->max or containing NUL) / -ATV_E_IO.
 * After -ATV_E_INPUT for a long line the rest of that line is skipped. */
int atv_jsonl_read(FILE *f, struct atv_buf *line, struct atv_err *err);

/* Parse one JSON object from p[0..len).  On success *out is a new
 * reference the caller must json_decref().  Anything but one object
 * (arrays, trailing garbage, invalid UTF-8, nesting deeper than jansson's
 * limit) is -ATV_E_INPUT. */
int atv_jsonl_parse(const char *p, size_t len, json_t **out, struct atv_err *err);

/* Write obj compactly, a newline, and flush.  -ATV_E_IO on failure. */
int atv_jsonl_write(FILE *f, const json_t *obj, struct atv_err *err);

/* Format t (seconds since the epoch, UTC) as ISO 8601 "2026-11-25T18:17:09Z".
 * buf must hold at least 21 bytes. */
void atv_iso8601(char *buf, size_t size, long long t);

/* Is s (NUL-terminated) strict UTF-8: no overlong forms, surrogates or
 * code points past U+10FFFF, the rule jansson applies when it reads? */
bool atv_utf8_valid(const char *s);

/* jansson's error text (je.text) without the part that quotes the input:
 * its messages append "near '<token>'" and a few carry a byte or code point
 * of the input, which may be part of a secret.  Writes the fixed text
 * before those into out ("malformed" when nothing is left). */
void atv_json_reason(const char *text, char *out, size_t size);

/* Get a string member or NULL when absent / not a string. */
const char *atv_json_str(const json_t *obj, const char *key);

#endif
