/* atv-pair - pair with Apple TVs: store the credentials and print each
 * device config with them filled in. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "device.h"
#include "dmap_pair.h"
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
	bool ours; /* DMAP: the PIN is ours to show, the device calls us */
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
	pr->po.pin = NULL;
	r = 0;
	if (pr->ours && (pr->pin || pr->pin_file)) {
		/* DMAP: --pin or --pin-file chooses the PIN we show */
		r = atv_cli_pin(pr->pin, pr->pin_file, d->name, pin, sizeof pin, &err);
		if (r == 0 && strlen(pin) != 4)
			r = atv_err_set(&err, ATV_E_INPUT, "a dmap pin is 4 digits");
		pr->po.pin = pin;
	}
	if (r == 0)
		r = atv_cli_with_rescan(&pr->t, d, begin, pr, &err);
	if (r == 0 && atv_pair_pin(pr->p)) {
		fprintf(stderr, "%s: enter PIN %s on the device (%s)\n", atv_progname,
			atv_pair_pin(pr->p), d->name ? d->name : "Apple TV");
		fflush(stderr);
	} else if (r == 0) {
		r = atv_cli_pin(pr->pin, pr->pin_file, d->name, pin, sizeof pin, &err);
	}
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
	pr->po.pin = NULL;
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

static int port_arg(const char *s, int *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535) {
		atv_cli_error("invalid port '%s' (0 to 65535)", s);
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* The protocol, and the options only DMAP takes, checked before any
 * device is contacted. */
static int dmap_options(struct pairer *pr)
{
	struct atv_err err = {0};
	uint64_t guid;

	if (strcmp(pr->protocol, "dmap") == 0) {
		pr->ours = true;
		/* the Apple TV's entry field takes exactly 4 digits */
		if (pr->pin && (strlen(pr->pin) != 4 || strspn(pr->pin, "0123456789") != 4)) {
			atv_cli_error("a dmap pin is 4 digits");
			return -1;
		}
		if (pr->po.pairing_guid &&
		    atv_dmap_guid_parse(pr->po.pairing_guid, &guid, &err) < 0) {
			atv_cli_error("%s", err.msg);
			return -1;
		}
		return 0;
	}
	if (strcmp(pr->protocol, "mrp") != 0 && strcmp(pr->protocol, "airplay") != 0) {
		atv_cli_error("pairing %s is not supported (mrp, dmap and airplay are)",
			      pr->protocol);
		return -1;
	}
	if (pr->po.pairing_guid || pr->po.port) {
		atv_cli_error("--pairing-guid and --port are for -p dmap");
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [-p mrp|dmap|airplay] [--pin PIN | --pin-file FILE] [--name NAME]\n"
		"       [--pairing-guid GUID] [--port PORT] [-i ID] [-s HOST[:PORT],...]\n"
		"       [-t SECONDS] [-c FILE]\n"
		"Pair with Apple TVs (device configs on stdin, one per line, or -i ID); store\n"
		"the credentials and print each config with them filled in.\n"
		"  -p, --protocol P         the protocol to pair: mrp (default), dmap or airplay\n"
		"      --pin PIN            mrp, airplay: the PIN the device shows (default: ask on\n"
		"                           /dev/tty); dmap: the 4-digit PIN to type on the\n"
		"                           device (default: random, shown on stderr)\n"
		"      --pin-file FILE      read the PIN from the first line of FILE\n"
		"      --name NAME          our name, shown on the device (default atv-tools)\n"
		"      --remote-name NAME   the same as --name\n"
		"      --pairing-guid GUID  dmap: our pairing GUID, 0x and 16 hex digits\n"
		"                           (default: random)\n"
		"      --port PORT          dmap: the port the device calls (default: any)\n"
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
	    ATV_CLI_TARGET_LONGOPTS,
	    {"protocol", required_argument, NULL, 'p'},
	    {"pin", required_argument, NULL, 'P'},
	    {"pin-file", required_argument, NULL, 'F'},
	    {"name", required_argument, NULL, 'N'},
	    {"remote-name", required_argument, NULL, 'N'},
	    {"pairing-guid", required_argument, NULL, 'G'},
	    {"port", required_argument, NULL, 'O'},
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
	bool timeout_set = false;

	atv_cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "i:s:t:c:p:vhV", longopts, NULL)) != -1) {
		switch (atv_cli_target_opt(c, optarg, &pr.t, &hosts, &cred_opt)) {
		case 1: timeout_set |= c == 't'; continue;
		case -1: status = ATV_EXIT_USAGE; goto early;
		}
		switch (c) {
		case 'p': pr.protocol = optarg; break;
		case 'P': pr.pin = optarg; break;
		case 'F': pr.pin_file = optarg; break;
		case 'N': pr.po.name = optarg; break;
		case 'G': pr.po.pairing_guid = optarg; break;
		case 'O':
			if (port_arg(optarg, &pr.po.port) < 0) {
				status = ATV_EXIT_USAGE;
				goto early;
			}
			break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); status = atv_cli_finish(ATV_EXIT_OK); goto early;
		case 'V': atv_cli_version(); status = atv_cli_finish(ATV_EXIT_OK); goto early;
		default: usage(stderr); status = ATV_EXIT_USAGE; goto early;
		}
	}
	if (optind < argc) {
		atv_cli_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		status = ATV_EXIT_USAGE;
		goto early;
	}
	if (pr.pin && pr.pin_file) {
		atv_cli_error("--pin and --pin-file exclude each other");
		status = ATV_EXIT_USAGE;
		goto early;
	}
	if (dmap_options(&pr) < 0) {
		status = ATV_EXIT_USAGE;
		goto early;
	}
	if (pr.pin && atv_cli_pin_check(pr.pin, &err) < 0) {
		status = atv_cli_fail(&err);
		goto early;
	}
	atv_cli_verbose(verbose);
	pr.t.creds = &creds;
	pr.po.timeout_ms = pr.t.timeout_ms;
	/* DMAP waits for a person: only -t shortens the facade's default */
	pr.po.wait_ms = timeout_set ? pr.t.timeout_ms : 0;
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
early:
	/* an option error, or --help/--version, before anything was opened */
	free(hosts);
	return status;
}
