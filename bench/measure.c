/* measure.c - run a command a number of times and report its wall time, CPU time and
 * peak memory as one JSON line (for `make bench`).
 *
 *   measure [-n RUNS] [-w WARMUP] [--name NAME] [--keep-stdout] [--input FILE]
 *           -- COMMAND [ARGS...]
 *
 * Each run is fork + execvp; the wall time is taken on CLOCK_MONOTONIC
 * around fork .. wait4, and the peak resident set size comes from the
 * child's own rusage (wait4 reports only that child and the descendants it
 * waited for, unlike getrusage(RUSAGE_CHILDREN) which accumulates the
 * maximum over every child so far).  Any run that does not exit 0 fails the
 * whole measurement: a benchmark of a failing command measures nothing.
 *
 * Linux carries the high-water RSS of the pre-exec image over into the
 * child's ru_maxrss (exec_mmap), so the floor of every reading is this
 * process's own RSS at fork time, about 1 MB; that is why measure uses
 * only libc and allocates little before the runs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEASURE_MAX_RUNS 100000

struct run {
	double ms;
	double cpu_ms; /* user + system CPU time */
	long rss_kb;
};

struct opts {
	long runs, warmup;
	const char *name;
	const char *input; /* each run's stdin, reopened per run */
	int keep_stdout;
	char **argv;
};

static const char *progname = "measure";

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-n RUNS] [-w WARMUP] [--name NAME] [--keep-stdout] [--input FILE]\n"
		"       %*s -- COMMAND [ARGS...]\n"
		"Run COMMAND RUNS times (default 20) after WARMUP unmeasured runs (default 0)\n"
		"and print wall time and peak RSS as one JSON line.  COMMAND's stdout goes to\n"
		"/dev/null unless --keep-stdout; its stdin is FILE (default /dev/null).\n",
		progname, (int)strlen(progname), "");
}

static long parse_count(const char *s, const char *what, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > MEASURE_MAX_RUNS) {
		fprintf(stderr, "%s: %s must be an integer from %ld to %d: %s\n", progname, what,
			min, MEASURE_MAX_RUNS, s);
		exit(2);
	}
	return v;
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* In the child: point fd at path (or leave it alone when path is NULL). */
static void child_redirect(int fd, const char *path, int flags)
{
	int f = open(path, flags | O_CLOEXEC);

	if (f < 0 || dup2(f, fd) < 0) {
		fprintf(stderr, "%s: unable to open %s: %s\n", progname, path, strerror(errno));
		_exit(127);
	}
	if (f != fd)
		close(f);
}

static void one_run(const struct opts *o, const char *kind, long idx, struct run *r)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid, w;

	/* Nothing of ours may be buffered twice across the fork. */
	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		fail("unable to fork: %s", strerror(errno));
	if (pid == 0) {
		child_redirect(STDIN_FILENO, o->input ? o->input : "/dev/null", O_RDONLY);
		if (!o->keep_stdout)
			child_redirect(STDOUT_FILENO, "/dev/null", O_WRONLY);
		execvp(o->argv[0], o->argv);
		fprintf(stderr, "%s: unable to run %s: %s\n", progname, o->argv[0],
			strerror(errno));
		_exit(127);
	}
	do
		w = wait4(pid, &status, 0, &ru);
	while (w < 0 && errno == EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (w < 0)
		fail("unable to wait for %s: %s", o->argv[0], strerror(errno));
	if (WIFSIGNALED(status))
		fail("%s %ld: %s killed by signal %d", kind, idx, o->argv[0], WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("%s %ld: %s exited with status %d", kind, idx, o->argv[0],
		     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	r->ms = elapsed_ms(&t0, &t1);
	r->rss_kb = ru.ru_maxrss; /* kilobytes on Linux */
	r->cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* The median of sorted v[0..n): the mean of the middle two for even n. */
static double median_d(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long median_l(const long *v, size_t n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile of sorted v[0..n): the smallest value with at
 * least pct percent of the samples at or below it. */
static double percentile(const double *v, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return v[rank ? rank - 1 : 0];
}

/* A JSON string: quote, backslash and control characters escaped; other
 * bytes (UTF-8) pass through. */
static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void report(const struct opts *o, const struct run *runs, size_t n)
{
	double *ms = calloc(n, sizeof *ms), *cpu = calloc(n, sizeof *cpu);
	long *rss = calloc(n, sizeof *rss);
	double med, p90;
	long rss_med;
	size_t i;

	if (!ms || !rss || !cpu)
		fail("out of memory");
	for (i = 0; i < n; i++) {
		ms[i] = runs[i].ms;
		cpu[i] = runs[i].cpu_ms;
		rss[i] = runs[i].rss_kb;
	}
	qsort(ms, n, sizeof *ms, cmp_double);
	qsort(cpu, n, sizeof *cpu, cmp_double);
	qsort(rss, n, sizeof *rss, cmp_long);
	med = median_d(ms, n);
	p90 = percentile(ms, n, 90);
	rss_med = median_l(rss, n);

	fputs("{\"name\":", stdout);
	put_json_string(stdout, o->name);
	printf(",\"runs\":%zu,\"median_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f,\"p90_ms\":%.3f,"
	       "\"peak_rss_kb_median\":%ld,\"peak_rss_kb_max\":%ld,\"cpu_ms_median\":%.3f}\n",
	       n, med, ms[0], ms[n - 1], p90, rss_med, rss[n - 1], median_d(cpu, n));
	fprintf(stderr,
		"%s: %s: %zu runs: median %.3f ms, min %.3f, p90 %.3f, max %.3f; "
		"peak RSS median %ld kB, max %ld kB\n",
		progname, o->name, n, med, ms[0], p90, ms[n - 1], rss_med, rss[n - 1]);
	free(ms);
	free(cpu);
	free(rss);
	if (fflush(stdout) == EOF || ferror(stdout))
		fail("unable to write the result: %s", strerror(errno));
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"runs", required_argument, NULL, 'n'},
		{"warmup", required_argument, NULL, 'w'},
		{"name", required_argument, NULL, 'N'},
		{"input", required_argument, NULL, 'i'},
		{"keep-stdout", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	/* '+': stop at the command, so its own options are not ours. */
	while ((c = getopt_long(argc, argv, "+n:w:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->runs = parse_count(optarg, "RUNS", 1);
			break;
		case 'w':
			o->warmup = parse_count(optarg, "WARMUP", 0);
			break;
		case 'N':
			o->name = optarg;
			break;
		case 'i':
			o->input = optarg;
			break;
		case 'k':
			o->keep_stdout = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no command given\n", progname);
		usage(stderr);
		exit(2);
	}
	o->argv = argv + optind;
	if (!o->name)
		o->name = o->argv[0];
}

int main(int argc, char **argv)
{
	struct opts o = {.runs = 20};
	struct run *runs;
	long i;

	if (argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		progname = slash ? slash + 1 : argv[0];
	}
	parse_args(argc, argv, &o);
	runs = calloc((size_t)o.runs, sizeof *runs);
	if (!runs)
		fail("out of memory");
	for (i = 0; i < o.warmup; i++) {
		struct run scratch;
		one_run(&o, "warmup run", i + 1, &scratch);
	}
	for (i = 0; i < o.runs; i++)
		one_run(&o, "run", i + 1, &runs[i]);
	report(&o, runs, (size_t)o.runs);
	free(runs);
	return 0;
}
