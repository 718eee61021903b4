/* err.h - error codes and the caller-owned error detail shared by every layer.
 *
 * Library functions return 0 on success or a negative ATV_E_* code, and fill
 * an optional struct atv_err with a one-line, lowercase human message.  They
 * never print or exit; tools turn the code into an exit status with
 * atv_exit_status() and print the message. */
#ifndef ATV_ERR_H
#define ATV_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum atv_errcode {
	ATV_E_OK = 0,
	ATV_E_NOMEM,       /* out of memory */
	ATV_E_USAGE,       /* bad argument from the caller / command line */
	ATV_E_NOTFOUND,    /* device not found */
	ATV_E_UNREACHABLE, /* device found but not reachable (connect, timeout) */
	ATV_E_AUTH,        /* authentication failed, credentials missing/wrong */
	ATV_E_CREDFILE,    /* credentials file unusable (permissions, syntax) */
	ATV_E_PROTO,       /* protocol error or hostile device input */
	ATV_E_LIMIT,       /* a length or count bound was exceeded by peer data */
	ATV_E_INPUT,       /* bad input on stdin or in a config */
	ATV_E_IO,          /* local I/O error */
	ATV_E_REFUSED,     /* the device refused the command (negative result) */
	ATV_E_UNSUPPORTED, /* the device or protocol cannot do this */
	ATV_E_MAX
};

/* Exit statuses shared by every tool; see atv-tools(7). */
enum atv_exit {
	ATV_EXIT_OK = 0,
	ATV_EXIT_NEGATIVE = 1,
	ATV_EXIT_USAGE = 2,
	ATV_EXIT_NOTFOUND = 3,
	ATV_EXIT_AUTH = 4,
	ATV_EXIT_PROTO = 5,
	ATV_EXIT_INPUT = 6,
	ATV_EXIT_IO = 7
};

#define ATV_ERR_MSGLEN 256

struct atv_err {
	int code; /* positive enum atv_errcode, 0 when unset */
	char msg[ATV_ERR_MSGLEN];
};

/* Record code and a printf-style message in err (which may be NULL).
 * Returns -code, so `return atv_err_set(err, ATV_E_IO, "...")` works. */
int atv_err_set(struct atv_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like atv_err_set, appending ": strerror(errnum)". */
int atv_err_sys(struct atv_err *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the existing message with "what: " (for adding context upward). */
void atv_err_prefix(struct atv_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A session's sticky error: once a session is broken, every later call
 * fails the same way.  sticky->code 0: not broken.
 * atv_err_stick records code and message in sticky (unless keep_first and
 * it already holds one), logs it under tag at debug level, copies it to err
 * (which may be NULL) and returns -code of what sticky holds;
 * atv_err_stuck copies it and returns -sticky->code. */
int atv_err_stick(struct atv_err *sticky, struct atv_err *err, int keep_first, const char *tag,
		  int code, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
int atv_err_stuck(const struct atv_err *sticky, struct atv_err *err);

/* Reset err to "no error". */
void atv_err_clear(struct atv_err *err);

/* Stable short name of a code, used as "code" in JSON results
 * ("auth", "not_found", "protocol", ...). Accepts positive or negative. */
const char *atv_err_name(int code);

/* Exit status for an error code (positive or negative); 0 for 0. */
int atv_exit_status(int code);

#endif
