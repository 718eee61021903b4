/* text.h - atv-scan's human-readable summary (--text, or a terminal). */
#ifndef ATV_SCAN_TEXT_H
#define ATV_SCAN_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "devconf.h"
#include "err.h"

/* Print d as an indented block; first: no separating blank line before. */
int atv_scan_print_text(FILE *f, const struct atv_device *d, bool first, struct atv_err *err);

#endif
