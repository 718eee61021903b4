/* atv-pair - pair with Apple TVs: store the credentials and print each
 * device config with them filled in. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "device.h"
#include "input.h"
#include "jsonl.h"
#include "output.h"
#include "pair.h"
#include "pin.h"

struct pairer {
	struct atv_cli_target t;
	struct atv_pair_opts po;
	const char *protocol, *pin, *pin_file;
	const char *path; /* the credentials file */
	struct atv_pairing *p;
};

static int begin(void *ctx, struct atv_device *d, struct atv_err *err)
{
	struct pairer *pr = ctx;

	return atv_pair_begin(d, pr->protocol, &pr->po, &pr->p, err);
}

/* Keep the credentials in d's service and in the credentials file. */
static int keep(struct pairer *pr, struct atv_device *d, const char *credentials,
		struct atv_err *err)
{
	struct atv_service *s = atv_device_service(d, pr->protocol);
	char when[32];
	struct atv_cred_entry e = {0};

	if (!s || atv_strset(&s->credentials, credentials) < 0)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_iso8601(when, sizeof when, (long long)time(NULL));
	e.identifier = s->identifier ? s->identifier : d->identifier;
	e.protocol = s->protocol;
	e.credentials = s->credentials;
	e.name = d->name;
	e.paired = when;
	if (!e.identifier)
		return atv_err_set(err, ATV_E_INPUT, "the device has no identifier to store under");
	return atv_creds_store(pr->path, &e, err);
}

/* Say which device an error is about, unless the message already does. */
static void name_error(struct atv_err *err, const struct atv_device *d)
{
	const char *name = d->name ? d->name : d->identifier ? d->identifier : "device";
	size_t n = strlen(name);

	if (strncmp(err->msg, name, n) != 0 || err->msg[n] != ':')
		atv_err_prefix(err, "%s", name);
}

/* Pair one device, store and print its config.  The exit status. */
static int pair_one(struct pairer *pr, struct atv_device *d)
{
	struct atv_err err = {0};
	char pin[ATV_CLI_PIN_MAX + 1] = "";
	char *credentials = NULL;
	json_t *j = NULL;
	int r;

	pr->p = NULL;
	r = atv_cli_with_rescan(&pr->t, d, begin, pr, &err);
	if (r == 0)
		r = atv_cli_pin(pr->pin, pr->pin_file, d->name, pin, sizeof pin, &err);
	if (r == 0)
		r = atv_pair_finish(pr->p, pin, &credentials, &err);
	if (r == 0)
		r = keep(pr, d, credentials, &err);
	if (r == 0) {
		j = atv_device_to_json(d);
		r = j ? atv_jsonl_write(stdout, j, &err)
		      : atv_err_set(&err, ATV_E_NOMEM, "out of memory");
	}
	if (r < 0 && r != -ATV_E_IO)
		name_error(&err, d);
	json_decref(j);
	atv_pair_free(pr->p);
	pr->p = NULL;
	atv_crypto_wipe(pin, sizeof pin);
	if (credentials) {
		atv_crypto_wipe(credentials, strlen(credentials));
		free(credentials);
	}
	return r < 0 ? atv_cli_fail(&err) : ATV_EXIT_OK;
}

/* Every config on stdin, one per line; bad lines are reported and skipped. */
static int pair_stdin(struct pairer *pr, struct atv_cli_lines *in)
{
	struct atv_device d;
	struct atv_err err = {0};
	int r, status = ATV_EXIT_OK, n = 0;
	size_t len;
	char *line;

	while ((r = atv_cli_lines_get(in, &line, &len, &err)) != 0) {
		if (r < 0) {
			status = atv_cli_worst(status, atv_cli_fail(&err));
			if (r != -ATV_E_INPUT)
				break;
			continue;
		}
		if (len == 0)
			continue;
		n++;
		if (atv_cli_device_parse(&pr->t, line, len, &d, &err) < 0)
			status = atv_cli_worst(status, atv_cli_fail(&err));
		else
			status = atv_cli_worst(status, pair_one(pr, &d));
		atv_device_release(&d);
	}
	if (n == 0 && status == ATV_EXIT_OK) {
		atv_cli_error("no device config on standard input (pipe one from atv-scan, "
			      "or give -i ID)");
		status = ATV_EXIT_INPUT;
	}
	return status;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [-p mrp] [--pin PIN | --pin-file FILE] [--name NAME]\n"
		"       [-i ID] [-s HOST[:PORT],...] [-t SECONDS] [-c FILE]\n"
		"Pair with Apple TVs (device configs on stdin, one per line, or -i ID); store\n"
		"the credentials and print each config with them filled in.\n"
		"  -p, --protocol P         the protocol to pair (default mrp)\n"
		"      --pin PIN            the PIN the device shows (default: ask on /dev/tty)\n"
		"      --pin-file FILE      read the PIN from the first line of FILE\n"
		"      --name NAME          our name, shown on the device (default atv-tools)\n"
		"  -i, --id ID              scan for this device instead of reading configs\n"
		"  -s, --hosts H[:P],...    scan these hosts by unicast (default: multicast)\n"
		"  -t, --timeout SECONDS    for scans, connecting and each step (default 5)\n"
		"  -c, --credentials FILE   credentials file to store into\n"
		"  -v, --verbose            more messages on stderr (twice: debug)\n"
		"  -h, --help               this help;  -V, --version  the version\n",
		atv_progname);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"hosts", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"credentials", required_argument, NULL, 'c'},
	    {"protocol", required_argument, NULL, 'p'},
	    {"pin", required_argument, NULL, 'P'},
	    {"pin-file", required_argument, NULL, 'F'},
	    {"name", required_argument, NULL, 'N'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct pairer pr = {.t.timeout_ms = 5000, .protocol = "mrp", .po.name = "atv-tools"};
	struct atv_hostport *hosts = NULL;
	struct atv_creds creds = {0};
	struct atv_cli_lines in;
	struct atv_device d;
	const char *cred_opt = NULL;
	char path[4096];
	struct atv_err err = {0};
	int c, verbose = 0, status = ATV_EXIT_OK;

	atv_cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "i:s:t:c:p:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': pr.t.id = optarg; break;
		case 's':
			if (atv_cli_hosts(optarg, &hosts, &pr.t.n_hosts) < 0)
				return ATV_EXIT_USAGE;
			break;
		case 't':
			if (atv_cli_timeout(optarg, &pr.t.timeout_ms) < 0)
				return ATV_EXIT_USAGE;
			break;
		case 'c': cred_opt = optarg; break;
		case 'p': pr.protocol = optarg; break;
		case 'P': pr.pin = optarg; break;
		case 'F': pr.pin_file = optarg; break;
		case 'N': pr.po.name = optarg; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); return atv_cli_finish(ATV_EXIT_OK);
		case 'V': atv_cli_version(); return atv_cli_finish(ATV_EXIT_OK);
		default: usage(stderr); return ATV_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		atv_cli_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return ATV_EXIT_USAGE;
	}
	if (strcmp(pr.protocol, "mrp") != 0) {
		atv_cli_error("pairing %s is not supported (mrp is)", pr.protocol);
		return ATV_EXIT_USAGE;
	}
	if (pr.pin && pr.pin_file) {
		atv_cli_error("--pin and --pin-file exclude each other");
		return ATV_EXIT_USAGE;
	}
	if (pr.pin && atv_cli_pin_check(pr.pin, &err) < 0)
		return atv_cli_fail(&err);
	atv_cli_verbose(verbose);
	pr.t.hosts = hosts;
	pr.t.creds = &creds;
	pr.po.timeout_ms = pr.t.timeout_ms;
	pr.path = path;
	atv_cli_lines_init(&in, STDIN_FILENO);

	if (atv_creds_path(cred_opt, path, sizeof path, &err) < 0 ||
	    atv_creds_load(path, &creds, &err) < 0) {
		status = atv_cli_fail(&err);
	} else if (pr.t.id) {
		if (atv_cli_device_get(&pr.t, &in, &d, &err) < 0)
			status = atv_cli_fail(&err);
		else
			status = pair_one(&pr, &d);
		atv_device_release(&d);
	} else {
		status = pair_stdin(&pr, &in);
	}
	atv_cli_lines_release(&in);
	atv_creds_release(&creds);
	free(hosts);
	return atv_cli_finish(status);
}
