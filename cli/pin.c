/* pin.c - the pairing PIN from an option, a file or the terminal. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "pin.h"
#include "banned.h"

#define LINE_MAX_PIN 256 /* bytes of a file or an answer looked at */

/* Strip white space around s[0..n) in place and check it is a PIN; copy
 * it to buf.  code is the error to return for a bad one. */
static int take_pin(char *s, size_t n, int code, const char *from, char *buf, size_t size,
		    struct atv_err *err)
{
	char *p = s, *end = s + n;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	n = (size_t)(end - p);
	if (n == 0)
		return atv_err_set(err, code, "no pin in %s", from);
	if (n > ATV_CLI_PIN_MAX || n >= size)
		return atv_err_set(err, code, "the pin in %s is too long (at most %d digits)", from,
				   ATV_CLI_PIN_MAX);
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return atv_err_set(err, code, "the pin in %s is not all digits", from);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

int atv_cli_pin_check(const char *pin, struct atv_err *err)
{
	char s[LINE_MAX_PIN], buf[ATV_CLI_PIN_MAX + 1];
	size_t n = strnlen(pin, sizeof s - 1);
	int r;

	memcpy(s, pin, n);
	r = take_pin(s, n, ATV_E_USAGE, "--pin", buf, sizeof buf, err);
	atv_crypto_wipe(s, sizeof s);
	atv_crypto_wipe(buf, sizeof buf);
	return r;
}

/* The first line (at most LINE_MAX_PIN bytes) of the file at fd. */
static int read_line(int fd, char *s, size_t size, size_t *len, struct atv_err *err,
		     const char *what)
{
	size_t n = 0;

	while (n < size) {
		ssize_t got = read(fd, s + n, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return atv_err_sys(err, ATV_E_IO, errno, "unable to read %s", what);
		if (got == 0 || s[n] == '\n')
			break;
		n++;
	}
	*len = n;
	return 0;
}

int atv_cli_pin(const char *pin, const char *pin_file, const char *device, char *buf, size_t size,
		struct atv_err *err)
{
	char s[LINE_MAX_PIN];
	size_t n = 0;
	int fd = -1, r;

	if (pin) {
		n = strnlen(pin, sizeof s - 1);
		memcpy(s, pin, n);
		r = take_pin(s, n, ATV_E_USAGE, "--pin", buf, size, err);
		goto out;
	}
	if (pin_file) {
		fd = open(pin_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = atv_err_sys(err, ATV_E_IO, errno, "unable to open %s", pin_file);
			goto out;
		}
		r = read_line(fd, s, sizeof s, &n, err, pin_file);
		if (r == 0)
			r = take_pin(s, n, ATV_E_INPUT, pin_file, buf, size, err);
		goto out;
	}
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = atv_err_sys(err, ATV_E_USAGE, errno,
				"no --pin or --pin-file, and no terminal to ask on");
		goto out;
	}
	dprintf(fd, "PIN shown on %s: ", device && *device ? device : "the device");
	r = read_line(fd, s, sizeof s, &n, err, "/dev/tty");
	if (r == 0)
		r = take_pin(s, n, ATV_E_INPUT, "the answer", buf, size, err);
out:
	if (fd >= 0)
		close(fd);
	atv_crypto_wipe(s, sizeof s);
	return r;
}
