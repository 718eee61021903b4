/* atv-watch - print an Apple TV's events (now playing, power, volume,
 * connection) as JSON lines while they happen. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"
#include "input.h"
#include "watch.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [-i ID] [-s HOST[:PORT],...] [-t SECONDS] [-c FILE] [-p mrp]\n"
		"       [--artwork DIR] [--until-eof]\n"
		"Print an Apple TV's events (JSON lines) as they happen, until SIGINT or SIGTERM.\n"
		"The device config is the first line of stdin unless -i is given.\n"
		"  -i, --id ID              scan for this device instead of reading a config\n"
		"  -s, --hosts H[:P],...    scan these hosts by unicast (default: multicast)\n"
		"  -t, --timeout SECONDS    for scans, connecting and each request (default 5)\n"
		"  -c, --credentials FILE   credentials file\n"
		"  -p, --protocol P         the protocol to watch over (default: MRP)\n"
		"      --artwork DIR        save artwork in DIR; playing events name the file\n"
		"      --until-eof          also stop at the end of standard input\n"
		"  -v, --verbose            more messages on stderr (twice: debug)\n"
		"  -h, --help               this help;  -V, --version  the version\n",
		atv_progname);
}

/* --artwork must name a directory we can write into, checked up front. */
static int check_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0 || access(dir, W_OK | X_OK) < 0) {
		atv_cli_error("unable to use artwork directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		atv_cli_error("unable to use artwork directory %s: %s", dir, strerror(ENOTDIR));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const protocols[] = {"mrp", "dmap", NULL};
	static const struct option longopts[] = {
	    ATV_CLI_TARGET_LONGOPTS,
	    {"protocol", required_argument, NULL, 'p'},
	    {"artwork", required_argument, NULL, 'A'},
	    {"until-eof", no_argument, NULL, 'E'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct atv_watch w = {.t.timeout_ms = 5000, .o.updates = true};
	struct atv_hostport *hosts = NULL;
	struct atv_creds creds = {0};
	struct atv_cli_lines in;
	const char *cred_opt = NULL;
	char path[4096];
	struct atv_err err = {0};
	int c, verbose = 0, status, until_eof = 0;

	atv_cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "i:s:t:c:p:vhV", longopts, NULL)) != -1) {
		switch (atv_cli_target_opt(c, optarg, &w.t, &hosts, &cred_opt)) {
		case 1: continue;
		case -1: free(hosts); return ATV_EXIT_USAGE;
		}
		switch (c) {
		case 'p': w.o.protocol = optarg; break;
		case 'A': w.art.dir = optarg; w.o.artwork = true; break;
		case 'E': until_eof = 1; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); free(hosts); return atv_cli_finish(ATV_EXIT_OK);
		case 'V': atv_cli_version(); free(hosts); return atv_cli_finish(ATV_EXIT_OK);
		default: usage(stderr); free(hosts); return ATV_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		atv_cli_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		free(hosts);
		return ATV_EXIT_USAGE;
	}
	if (atv_cli_protocol(w.o.protocol, protocols) < 0) {
		free(hosts);
		return ATV_EXIT_USAGE;
	}
	if (w.art.dir && check_dir(w.art.dir) < 0) {
		free(hosts);
		return ATV_EXIT_IO;
	}
	atv_cli_verbose(verbose);
	w.t.creds = &creds;
	w.o.timeout_ms = w.t.timeout_ms;
	w.in = until_eof ? &in : NULL;
	atv_device_init(&w.d);
	atv_cli_lines_init(&in, STDIN_FILENO);

	if (atv_watch_signals(&err) < 0 || atv_creds_path(cred_opt, path, sizeof path, &err) < 0 ||
	    atv_creds_load(path, &creds, &err) < 0 || atv_cli_device_get(&w.t, &in, &w.d, &err) < 0)
		status = atv_cli_fail(&err);
	else
		status = atv_watch_run(&w);
	atv_cli_lines_release(&in);
	atv_device_release(&w.d);
	atv_creds_release(&creds);
	free(hosts);
	return atv_cli_finish(status);
}
