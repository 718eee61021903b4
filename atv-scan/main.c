/* atv-scan - find Apple TVs and print one device config per line. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "dnssd_scan.h"
#include "text.h"
#include "tool.h"
#include "banned.h"

struct out {
	const struct atv_cli_tool *tool;
	bool text;
	size_t count;
	struct atv_err err;
	int failed;
};

static int print_device(void *ctx, struct atv_device *d)
{
	struct out *o = ctx;
	json_t *j;
	int r;

	/* -n: only the devices of that name, in any case */
	if (o->tool->t.name && (!d->name || strcasecmp(d->name, o->tool->t.name) != 0))
		return 0;
	/* the summary says only whether a service is paired, never how */
	if ((o->tool->with_credentials || o->text) && atv_creds_fill(&o->tool->creds, d) < 0) {
		r = atv_err_set(&o->err, ATV_E_NOMEM, "out of memory");
	} else if (o->text) {
		r = atv_scan_print_text(stdout, d, o->count == 0, &o->err);
		if (r < 0)
			atv_cli_output_failed(&o->err);
	} else {
		/* without --with-credentials: what the device announces, a Home
		 * Sharing id (hG, sent to the whole network) included, and no
		 * secret from the credentials file */
		j = atv_device_to_json(d);
		r = atv_cli_print(j, &o->err);
		json_decref(j);
	}
	o->count++;
	if (r < 0) {
		o->failed = r;
		return 1; /* stdout is gone: stop scanning */
	}
	return 0;
}

/* Without avahi-daemon a multicast scan cannot run: say what else works. */
static struct atv_err *hint(const struct atv_scan_opts *opts, struct atv_err *err)
{
	char msg[ATV_ERR_MSGLEN];

	if (opts->n_hosts == 0 && strstr(err->msg, "avahi-daemon")) {
		memcpy(msg, err->msg, sizeof msg);
		atv_err_set(err, err->code,
			    "%s (start avahi-daemon, or scan hosts directly: -s HOST)", msg);
	}
	return err;
}

/* Nothing found: exit 1, and on a terminal (or with -v) say how it looked. */
static int nothing_found(const struct atv_cli_tool *tool, const struct atv_scan_opts *opts)
{
	char how[64];

	if (opts->n_hosts)
		snprintf(how, sizeof how, "unicast to %zu host%s", opts->n_hosts,
			 opts->n_hosts == 1 ? "" : "s");
	else
		snprintf(how, sizeof how, "multicast");
	if (isatty(STDERR_FILENO) || tool->verbose)
		atv_cli_error("no Apple TV found (%s%s, %g s)", how,
			      opts->id	     ? ", by identifier"
			      : tool->t.name ? ", by name"
					     : "",
			      opts->timeout_ms / 1000.0);
	return ATV_EXIT_NEGATIVE;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [--text|--json] [-t SECONDS] [-s HOST[:PORT],...]\n"
		"       [-i ID | -n NAME] [-c FILE] [--with-credentials]\n"
		"Find Apple TVs; print one device config (JSON) per line.\n"
		"  -s, --hosts H[:P],...    unicast scan of these hosts (default: multicast)\n"
		"  -i, --id ID              only this device; exit as soon as it is found\n"
		"  -n, --device-name NAME   only the devices of this name (in any case)\n"
		"  -t, --timeout SECONDS    scan time (default 3)\n"
		"  -c, --credentials FILE   credentials file (for --with-credentials)\n"
		"      --with-credentials   fill in the credentials from the file (keep such\n"
		"                           output as secret as the file: chmod 600)\n"
		"      --text               human-readable summary (default on a terminal)\n"
		"      --json               JSON lines even on a terminal\n"
		"  -v, --verbose            more messages on stderr (twice: debug)\n"
		"  -h, --help               this help;  -V, --version  the version\n",
		atv_progname);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    ATV_CLI_LONGOPTS,
	    ATV_CLI_WITH_CREDENTIALS_LONGOPT,
	    {"text", no_argument, NULL, 'T'},
	    {"json", no_argument, NULL, 'J'},
	    {NULL, 0, NULL, 0},
	};
	struct atv_scan_opts opts = {0};
	struct atv_cli_tool tool;
	struct out o = {.tool = &tool};
	struct atv_err err = {0};
	int c, status = ATV_EXIT_OK;

	atv_cli_tool_init(&tool, argv[0], 3000);
	o.text = isatty(STDOUT_FILENO);
	while ((c = getopt_long(argc, argv, ATV_CLI_SHORTOPTS, longopts, NULL)) != -1) {
		switch (atv_cli_tool_opt(&tool, c, optarg, usage)) {
		case ATV_CLI_OPT_DONE: continue;
		case ATV_CLI_OPT_EXIT: return atv_cli_tool_end(&tool, tool.status);
		}
		switch (c) {
		case 'T': o.text = true; break;
		case 'J': o.text = false; break;
		default: usage(stderr); return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
		}
	}
	if ((status = atv_cli_tool_no_operands(argc, argv, optind, usage)) != 0)
		return atv_cli_tool_end(&tool, status);
	opts.hosts = tool.t.hosts;
	opts.n_hosts = tool.t.n_hosts;
	opts.id = tool.t.id;
	opts.timeout_ms = tool.t.timeout_ms;

	atv_cli_output_text(o.text);
	if (atv_cli_tool_start(&tool, &err) < 0)
		status = atv_cli_fail_line(&err);
	else if (atv_scan(&opts, print_device, &o, &err) < 0)
		status = atv_cli_fail_line(hint(&opts, &err));
	else if (o.failed)
		status = atv_cli_fail(&o.err);
	else if (o.count == 0)
		status = nothing_found(&tool, &opts); /* exit 1 */
	return atv_cli_tool_end(&tool, status);
}
