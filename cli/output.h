/* output.h - the lines tools print on standard output (atv-tools(7)):
 * one compact JSON object per line, flushed per line.
 *
 *   results  {"command":"play","ok":true}
 *            {"command":"x","ok":false,"error":{"code":"refused","message":"…"}}
 *   events   {"event":"volume","time":"2026-…Z","device":"ID","volume":42}
 *
 * Each returns 0 or -ATV_E_IO / -ATV_E_NOMEM (stdout is gone: stop). */
#ifndef ATV_CLI_OUTPUT_H
#define ATV_CLI_OUTPUT_H

#include <stdbool.h>

#include <jansson.h>

#include "err.h"

/* Print the results and events below as one readable line each
 * (textout.h) instead of JSON: --text. */
void atv_cli_output_text(bool on);

/* {"command":item,"ok":true} followed by the members of extra (may be
 * NULL; not consumed). */
int atv_cli_result_ok(const char *item, const json_t *extra, struct atv_err *err);

/* {"command":item,"ok":false,"error":{"code":…,"message":…}} for failure,
 * and "prog: item: message" on stderr. */
int atv_cli_result_fail(const char *item, const struct atv_err *failure, struct atv_err *err);

/* A result line built by the tool (a tool with one result of its own
 * shape, atv-stream's), as JSON or text like the others; j is not
 * consumed (NULL: out of memory). */
int atv_cli_result_line(const json_t *j, struct atv_err *err);

/* A failure before any result, e.g. a device not found: the message on
 * stderr (as atv_cli_fail) and {"ok":false,"error":{"code":…,"message":…}}
 * on stdout, so that a script that reads only stdout sees why.  Returns
 * failure's exit status (ATV_EXIT_IO when stdout failed too). */
int atv_cli_fail_line(const struct atv_err *failure);

/* event's "event" member first, then "time" (now, ISO 8601 UTC) and
 * "device", then its other members (event is not consumed). */
int atv_cli_event(const char *device, const json_t *event, struct atv_err *err);

/* A connection event: {"event":"connection","state":state,"message":msg}
 * (msg may be NULL) plus extra members (may be NULL, not consumed). */
int atv_cli_connection_event(const char *device, const char *state, const char *msg,
			     const json_t *extra, struct atv_err *err);

/* Any JSON object as one line (a device config, say; not consumed). */
int atv_cli_print(const json_t *j, struct atv_err *err);

#endif
