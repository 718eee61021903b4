/* textout.h - a result or event line for people (--text, the default on a
 * terminal), instead of JSON:
 *
 *   play: ok
 *   playing: paused: Title - Artist - Album [Music] 1:02/3:45
 *   paly: failed (usage)
 *   19:42:07 volume: volume=40
 *   19:42:09 connection: lost (connection reset by peer)
 *
 * Device strings are printed with control characters as '?'. */
#ifndef ATV_CLI_TEXTOUT_H
#define ATV_CLI_TEXTOUT_H

#include <stdio.h>

#include <jansson.h>

#include "err.h"

/* One line for j (an event when it has "event", else a result), flushed.
 * 0, or -ATV_E_IO. */
int atv_cli_text_write(FILE *f, const json_t *j, struct atv_err *err);

#endif
