/* cli.h - what the tools share and lib/ must not do: the program name,
 * error lines on stderr, the -v log hook, the shared option vocabulary. */
#ifndef ATV_CLI_H
#define ATV_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "dnssd_unicast.h"

extern const char *atv_progname;

/* Open /dev/null on any of fds 0-2 that is closed, forbid core dumps
 * (RLIMIT_CORE 0, PR_SET_DUMPABLE 0: our memory holds keys), set
 * atv_progname from argv[0], ignore SIGPIPE (EPIPE is reported instead).
 * First thing in main, before anything is opened. */
void atv_cli_init(const char *argv0);

/* Standard output failed (err says how; the caller reports it once):
 * later writes are not tried, atv_cli_finish prints nothing more and
 * exits ATV_EXIT_IO.  Returns -ATV_E_IO. */
int atv_cli_output_failed(const struct atv_err *err);

/* 0 while standard output works, else -ATV_E_IO with the first failure in
 * err (may be NULL). */
int atv_cli_output_check(struct atv_err *err);

/* Drop what stdout still buffers and write nothing more, quietly (a stop
 * by a signal while output was blocked on a full pipe). */
void atv_cli_output_discard(void);

/* "prog: message\n" on stderr. */
void atv_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print err's message and return its exit status. */
int atv_cli_fail(const struct atv_err *err);

/* Install a stderr logger; verbosity 1 = info, 2+ = debug. */
void atv_cli_verbose(int verbosity);

/* Parse a timeout in seconds (decimal allowed, > 0, <= 3600) into ms. */
int atv_cli_timeout(const char *s, int *ms);

/* -p: 0 when p is NULL (the tool picks) or one of the NULL-terminated
 * known names; else prints "unknown protocol 'P' (a, b or c)" and returns
 * -1 (exit with usage). */
int atv_cli_protocol(const char *p, const char *const *known);

/* Parse "-s H[:P],H[:P]..." appending to *hosts (realloc'd). */
int atv_cli_hosts(const char *s, struct atv_hostport **hosts, size_t *n);

/* Print "prog (atv-tools) VERSION" to stdout. */
void atv_cli_version(void);

/* Flush stdout and report a write error (not one already reported);
 * returns the status to exit with (status unchanged when all is well,
 * ATV_EXIT_IO otherwise). */
int atv_cli_finish(int status);

/* The worse of two exit statuses (the higher one: the table is ordered). */
int atv_cli_worst(int a, int b);

#endif
