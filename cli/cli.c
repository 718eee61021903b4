/* cli.c - shared tool plumbing: messages, the -v logger, option parsing. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "banned.h"

const char *atv_progname = "atv";

/* What became of standard output: a write error is reported once. */
static enum { OUT_OK, OUT_BROKEN, OUT_DISCARDED } out_state;
static struct atv_err out_err;

/* Make sure fds 0, 1 and 2 are open before anything else is: a tool run
 * with one of them closed (>&-) would otherwise open a device socket or the
 * credentials file on it, then print configs into the socket or read
 * commands from it.  A closed one gets /dev/null. */
static void open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free descriptor: fd itself */
		n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n != fd)
			_exit(ATV_EXIT_IO); /* no stderr to say so on, perhaps */
	}
}

/* Our memory holds long-term keys and session keys: no core file, and no
 * ptrace or /proc/PID/mem by other processes of the same user. */
static void no_core_dumps(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void atv_cli_init(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;

	open_std_fds();
	no_core_dumps();
	atv_progname = s ? s + 1 : (argv0 && *argv0 ? argv0 : atv_progname);
	/* a closed pipe is reported as a write error, not a silent death */
	signal(SIGPIPE, SIG_IGN);
}

int atv_cli_output_failed(const struct atv_err *err)
{
	if (out_state == OUT_OK) {
		out_state = OUT_BROKEN;
		out_err = *err;
	}
	return -ATV_E_IO;
}

int atv_cli_output_check(struct atv_err *err)
{
	if (out_state == OUT_OK)
		return 0;
	if (err)
		*err = out_err;
	return -ATV_E_IO;
}

void atv_cli_output_discard(void)
{
	__fpurge(stdout);
	out_state = OUT_DISCARDED;
}

void atv_cli_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", atv_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int atv_cli_fail(const struct atv_err *err)
{
	atv_cli_error("%s", err->msg[0] ? err->msg : atv_err_name(err->code));
	return atv_exit_status(err->code);
}

static void log_stderr(enum atv_loglevel level, const char *msg, void *ctx)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};

	(void)ctx;
	fprintf(stderr, "%s: %s: %s\n", atv_progname, names[level], msg);
}

void atv_cli_verbose(int verbosity)
{
	/* warnings always show; -v adds info, -vv debug */
	atv_log_set(log_stderr,
		    verbosity >= 2   ? ATV_LOG_DEBUG
		    : verbosity == 1 ? ATV_LOG_INFO
				     : ATV_LOG_WARN,
		    NULL);
}

int atv_cli_timeout(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 3600) {
		atv_cli_error("invalid timeout '%s' (seconds, 0 < t <= 3600)", s);
		return -1;
	}
	*ms = (int)(v * 1000 + 0.5);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

int atv_cli_hosts(const char *s, struct atv_hostport **hosts, size_t *n)
{
	char *copy = strdup(s), *tok, *save = NULL;
	struct atv_err err;
	int r = -1;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct atv_hostport *nh;
		if (*n >= 256) {
			atv_cli_error("too many hosts (at most 256)");
			goto out;
		}
		nh = realloc(*hosts, (*n + 1) * sizeof *nh);
		if (!nh)
			goto out;
		*hosts = nh;
		if (atv_hostport_parse(tok, &nh[*n], &err) < 0) {
			atv_cli_fail(&err);
			goto out;
		}
		(*n)++;
	}
	if (*n == 0) {
		atv_cli_error("no host given to --hosts");
		goto out;
	}
	r = 0;
out:
	free(copy);
	return r;
}

void atv_cli_version(void)
{
	printf("%s (%s) %s\n", atv_progname, PACKAGE_NAME, PACKAGE_VERSION);
}

int atv_cli_finish(int status)
{
	if (out_state == OUT_DISCARDED)
		return status;
	if (out_state == OUT_BROKEN) {
		/* reported where it happened; the rest would fail (or block) again */
		__fpurge(stdout);
		return atv_cli_worst(status, ATV_EXIT_IO);
	}
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		atv_cli_error("unable to write output: %s", strerror(errno ? errno : EIO));
		return ATV_EXIT_IO;
	}
	return status;
}

int atv_cli_worst(int a, int b)
{
	return a > b ? a : b;
}

int atv_cli_protocol(const char *p, const char *const *known)
{
	char list[128] = "";
	size_t n = 0, len = 0;

	if (!p)
		return 0;
	for (; known[n]; n++)
		if (strcmp(p, known[n]) == 0)
			return 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "%s%s",
					i == 0 ? "" : i + 1 == n ? " or " : ", ", known[i]);
	atv_cli_error("unknown protocol '%s' (%s)", p, list);
	return -1;
}
