/* err.c - error codes, messages and exit statuses. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "banned.h"

static const struct {
	const char *name;
	int exit;
} codes[ATV_E_MAX] = {
	[ATV_E_OK] = {"ok", ATV_EXIT_OK},
	[ATV_E_NOMEM] = {"no_memory", ATV_EXIT_IO},
	[ATV_E_USAGE] = {"usage", ATV_EXIT_USAGE},
	[ATV_E_NOTFOUND] = {"not_found", ATV_EXIT_NOTFOUND},
	[ATV_E_UNREACHABLE] = {"unreachable", ATV_EXIT_NOTFOUND},
	[ATV_E_AUTH] = {"auth", ATV_EXIT_AUTH},
	[ATV_E_CREDFILE] = {"credentials_file", ATV_EXIT_AUTH},
	[ATV_E_PROTO] = {"protocol", ATV_EXIT_PROTO},
	[ATV_E_LIMIT] = {"limit", ATV_EXIT_PROTO},
	[ATV_E_INPUT] = {"bad_input", ATV_EXIT_INPUT},
	[ATV_E_IO] = {"io", ATV_EXIT_IO},
	[ATV_E_REFUSED] = {"refused", ATV_EXIT_NEGATIVE},
	[ATV_E_UNSUPPORTED] = {"unsupported", ATV_EXIT_NEGATIVE},
};

static int norm(int code)
{
	if (code < 0)
		code = -code;
	return code < ATV_E_MAX ? code : ATV_E_PROTO;
}

__attribute__((format(printf, 4, 0))) static int vset(struct atv_err *err, int code, int errnum,
							 const char *fmt, va_list ap)
{
	code = norm(code);
	if (err) {
		err->code = code;
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		if (errnum) {
			size_t n = strlen(err->msg);
			snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(errnum));
		}
	}
	return -code;
}

int atv_err_set(struct atv_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vset(err, code, 0, fmt, ap);
	va_end(ap);
	return r;
}

int atv_err_sys(struct atv_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vset(err, code, errnum, fmt, ap);
	va_end(ap);
	return r;
}

void atv_err_prefix(struct atv_err *err, const char *fmt, ...)
{
	char old[ATV_ERR_MSGLEN], pre[ATV_ERR_MSGLEN];
	va_list ap;

	if (!err)
		return;
	memcpy(old, err->msg, sizeof old);
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	/* truncation of an over-long message is acceptable */
	size_t n = strlen(pre);
	if (n > sizeof err->msg - 3)
		n = sizeof err->msg - 3;
	memcpy(err->msg, pre, n);
	memcpy(err->msg + n, ": ", 2);
	n += 2;
	size_t m = strnlen(old, sizeof old);
	if (m > sizeof err->msg - 1 - n)
		m = sizeof err->msg - 1 - n;
	memcpy(err->msg + n, old, m);
	err->msg[n + m] = '\0';
}

void atv_err_clear(struct atv_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

const char *atv_err_name(int code)
{
	return codes[norm(code)].name;
}

int atv_exit_status(int code)
{
	return codes[norm(code)].exit;
}

int atv_err_stick(struct atv_err *sticky, struct atv_err *err, int keep_first, const char *tag,
		  int code, const char *fmt, va_list ap)
{
	if (!keep_first || !sticky->code) {
		sticky->code = code;
		vsnprintf(sticky->msg, sizeof sticky->msg, fmt, ap);
		atv_debug("%s: %s", tag, sticky->msg);
	}
	return atv_err_stuck(sticky, err);
}

int atv_err_stuck(const struct atv_err *sticky, struct atv_err *err)
{
	if (err)
		*err = *sticky;
	return -sticky->code;
}
