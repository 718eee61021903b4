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
#include "output.h"
#include "stop.h"
#include "tool.h"
#include "watch.h"
#include "banned.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [-i ID | -n NAME] [-s HOST[:PORT],...] [-t SECONDS] [-c FILE]\n"
		"       [-p mrp|dmap|companion] [--artwork DIR] [--until-eof] [--text|--json]\n"
		"Print an Apple TV's events (JSON lines) as they happen, until SIGINT or SIGTERM.\n"
		"The device config is the first line of stdin unless -i is given.\n"
		"  -i, --id ID              scan for this device instead of reading a config\n"
		"  -n, --device-name NAME   scan for the device of this name\n"
		"  -s, --hosts H[:P],...    scan these hosts by unicast (default: multicast)\n"
		"  -t, --timeout SECONDS    for scans, connecting and each request (default 5)\n"
		"  -c, --credentials FILE   credentials file\n"
		"  -p, --protocol P         mrp, dmap or companion (default: MRP, else DMAP,\n"
		"                           else Companion; Companion for power when paired)\n"
		"      --artwork DIR        save artwork in DIR; playing events name the file\n"
		"      --until-eof          also stop at the end of standard input\n"
		"      --text               one readable line per event (default on a terminal)\n"
		"      --json               JSON lines even on a terminal\n"
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
	static const char *const protocols[] = {"mrp", "dmap", "companion", NULL};
	static const struct option longopts[] = {
	    ATV_CLI_LONGOPTS,
	    {"protocol", required_argument, NULL, 'p'},
	    {"artwork", required_argument, NULL, 'A'},
	    {"until-eof", no_argument, NULL, 'E'},
	    {"text", no_argument, NULL, 'T'},
	    {"json", no_argument, NULL, 'J'},
	    {NULL, 0, NULL, 0},
	};
	struct atv_watch w = {.o.updates = true};
	struct atv_cli_tool tool;
	struct atv_err err = {0};
	int c, status, until_eof = 0;
	bool text = isatty(STDOUT_FILENO);

	atv_cli_tool_init(&tool, argv[0], 5000);
	while ((c = getopt_long(argc, argv, ATV_CLI_SHORTOPTS "p:", longopts, NULL)) != -1) {
		switch (atv_cli_tool_opt(&tool, c, optarg, usage)) {
		case ATV_CLI_OPT_DONE: continue;
		case ATV_CLI_OPT_EXIT: return atv_cli_tool_end(&tool, tool.status);
		}
		switch (c) {
		case 'p': w.o.protocol = optarg; break;
		case 'A': w.art.dir = optarg; w.o.artwork = true; break;
		case 'E': until_eof = 1; break;
		case 'T': text = true; break;
		case 'J': text = false; break;
		default: usage(stderr); return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
		}
	}
	if ((status = atv_cli_tool_no_operands(argc, argv, optind, usage)) != 0)
		return atv_cli_tool_end(&tool, status);
	if (atv_cli_protocol(w.o.protocol, protocols) < 0)
		return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
	if (w.art.dir && check_dir(w.art.dir) < 0)
		return atv_cli_tool_end(&tool, ATV_EXIT_IO);
	atv_cli_output_text(text);
	w.t = &tool.t;
	w.o.timeout_ms = tool.t.timeout_ms;
	w.in = until_eof ? &tool.in : NULL;
	atv_device_init(&w.d);

	if (atv_cli_stop_signals(&err) < 0 || atv_cli_tool_start(&tool, &err) < 0 ||
	    atv_cli_tool_device(&tool, &w.d, &err) < 0)
		status = atv_watch_fail(&w, &err);
	else
		status = atv_watch_run(&w);
	atv_device_release(&w.d);
	return atv_cli_tool_end(&tool, status);
}
