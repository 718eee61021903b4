/* atv-scan - find Apple TVs and print one device config per line. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "creds.h"
#include "jsonl.h"
#include "scan.h"
#include "text.h"

struct out {
	const struct atv_creds *creds;
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

	atv_creds_fill(o->creds, d);
	if (o->text) {
		r = atv_scan_print_text(stdout, d, o->count == 0, &o->err);
	} else {
		j = atv_device_to_json(d);
		r = j ? atv_jsonl_write(stdout, j, &o->err)
		      : atv_err_set(&o->err, ATV_E_NOMEM, "out of memory");
		json_decref(j);
	}
	o->count++;
	if (r < 0) {
		o->failed = r;
		return 1; /* stdout is gone: stop scanning */
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [--text|--json] [-t SECONDS] [-s HOST[:PORT],...] [-i ID] [-c FILE]\n"
		"Find Apple TVs; print one device config (JSON) per line.\n"
		"  -s, --hosts H[:P],...    unicast scan of these hosts (default: multicast)\n"
		"  -i, --id ID              only this device; exit as soon as it is found\n"
		"  -t, --timeout SECONDS    scan time (default 3)\n"
		"  -c, --credentials FILE   credentials file to fill configs from\n"
		"      --text               human-readable summary (default on a terminal)\n"
		"      --json               JSON lines even on a terminal\n"
		"  -v, --verbose            more messages on stderr (twice: debug)\n"
		"  -h, --help               this help;  -V, --version  the version\n",
		atv_progname);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"hosts", required_argument, NULL, 's'},   {"id", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'}, {"credentials", required_argument, NULL, 'c'},
		{"text", no_argument, NULL, 'T'},	   {"json", no_argument, NULL, 'J'},	   {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},	   {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	struct atv_scan_opts opts = {.timeout_ms = 3000};
	struct atv_hostport *hosts = NULL;
	struct atv_creds creds = {0};
	struct out o = {.creds = &creds};
	const char *cred_opt = NULL;
	char path[4096];
	struct atv_err err = {0};
	int c, verbose = 0, status = ATV_EXIT_OK;

	atv_cli_init(argv[0]);
	o.text = isatty(STDOUT_FILENO);
	while ((c = getopt_long(argc, argv, "s:i:t:c:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (atv_cli_hosts(optarg, &hosts, &opts.n_hosts) < 0) {
				status = ATV_EXIT_USAGE;
				goto out;
			}
			break;
		case 'i': opts.id = optarg; break;
		case 't':
			if (atv_cli_timeout(optarg, &opts.timeout_ms) < 0) {
				status = ATV_EXIT_USAGE;
				goto out;
			}
			break;
		case 'c': cred_opt = optarg; break;
		case 'T': o.text = true; break;
		case 'J': o.text = false; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); goto out;
		case 'V': atv_cli_version(); goto out;
		default: usage(stderr); status = ATV_EXIT_USAGE; goto out;
		}
	}
	if (optind < argc) {
		atv_cli_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		status = ATV_EXIT_USAGE;
		goto out;
	}
	atv_cli_verbose(verbose);
	opts.hosts = hosts;

	if (atv_creds_path(cred_opt, path, sizeof path, &err) < 0 ||
	    atv_creds_load(path, &creds, &err) < 0) {
		status = atv_cli_fail(&err);
		goto out;
	}
	if (atv_scan(&opts, print_device, &o, &err) < 0)
		status = atv_cli_fail(&err);
	else if (o.failed)
		status = atv_cli_fail(&o.err);
	else if (o.count == 0)
		status = ATV_EXIT_NEGATIVE; /* nothing found */
out:
	atv_creds_release(&creds);
	free(hosts);
	return atv_cli_finish(status);
}
