/* pin.h - the PIN a device shows while pairing: from --pin, from the first
 * line of --pin-file, or typed on the controlling terminal (/dev/tty, so
 * that standard input stays free for device configs).  The PIN is never
 * printed or logged. */
#ifndef ATV_CLI_PIN_H
#define ATV_CLI_PIN_H

#include <stddef.h>

#include "err.h"

#define ATV_CLI_PIN_MAX 16 /* digits */

/* Put the PIN in buf (at least ATV_CLI_PIN_MAX + 1 bytes): pin when not
 * NULL, else the first line of pin_file when not NULL, else asked for on
 * /dev/tty with a prompt naming device.  A PIN is 1 to ATV_CLI_PIN_MAX
 * digits; surrounding white space is dropped.  -ATV_E_USAGE for a bad
 * --pin or no terminal to ask on, -ATV_E_INPUT for a bad file or answer,
 * -ATV_E_IO. */
int atv_cli_pin(const char *pin, const char *pin_file, const char *device, char *buf, size_t size,
		struct atv_err *err);

/* Check a PIN given on the command line before any device is contacted. */
int atv_cli_pin_check(const char *pin, struct atv_err *err);

#endif
