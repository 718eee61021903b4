/* atv-pair - pair with Apple TVs: store the credentials and print each
 * device config (without them unless --with-credentials). */
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
#include "forget.h"
#include "input.h"
#include "jsonl.h"
#include "log.h"
#include "output.h"
#include "pair.h"
#include "pin.h"
#include "tool.h"
#include "banned.h"

struct pairer {
	struct atv_cli_tool *tool; /* ->t: where to look; ->cred_path: where to store */
	struct atv_pair_opts po;
	const char *protocol, *pin, *pin_file;
	struct atv_pairing *p;
	bool ours; /* DMAP: the PIN is ours to show, the device calls us */
};

static int begin(void *ctx, struct atv_device *d, struct atv_err *err)
{
	struct pairer *pr = ctx;

	return atv_pair_begin(d, pr->protocol, &pr->po, &pr->p, err);
}

/* Keep the credentials (and what the protocol stores with them, e.g.
 * Companion's client id) in d's service and in the credentials file. */
static int keep(struct pairer *pr, struct atv_device *d, const char *credentials,
		struct atv_err *err)
{
	struct atv_service *s = atv_device_service(d, pr->protocol);
	char when[32];
	struct atv_cred_entry e = {0};
	int r;

	if (!s || atv_strset(&s->credentials, credentials) < 0)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	e.extra = atv_pair_stored(pr->p);
	if (e.extra && ((!s->extra && !(s->extra = json_object())) ||
			json_object_update(s->extra, e.extra) < 0)) {
		json_decref(e.extra);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	atv_iso8601(when, sizeof when, (long long)time(NULL));
	e.identifier = s->identifier ? s->identifier : d->identifier;
	e.protocol = s->protocol;
	e.credentials = s->credentials;
	e.name = d->name;
	e.paired = when;
	/* a writer stuck holding the lock must not keep us past -t */
	if (!e.identifier)
		r = atv_err_set(err, ATV_E_INPUT, "the device has no identifier to store under");
	else {
		atv_info("storing the %s credentials in %s", e.protocol, pr->tool->cred_path);
		r = atv_creds_store(pr->tool->cred_path, &e, pr->tool->t.timeout_ms, err);
	}
	json_decref(e.extra);
	return r;
}

/* The device accepted the pairing but its credentials could not be
 * stored: print the config with them (the only copy now) and say so. */
static int not_stored(struct pairer *pr, const struct atv_device *d, struct atv_err *err)
{
	json_t *j = atv_device_to_json(d);
	struct atv_err werr = {0};
	int r;

	atv_cli_error("%s: paired, but the credentials were NOT stored in %s: %s",
		      d->name ? d->name : "device", pr->tool->cred_path, err->msg);
	r = atv_cli_print(j, &werr);
	json_decref(j);
	if (r < 0)
		return atv_cli_fail(&werr);
	atv_cli_error("the config printed holds them: keep it private (chmod 600), or pair again");
	return ATV_EXIT_IO;
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
	int r, status;

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
		r = atv_cli_with_rescan(&pr->tool->t, d, begin, pr, &err);
	if (r == 0 && atv_pair_pin(pr->p)) {
		fprintf(stderr, "%s: enter PIN %s on the device (%s)\n", atv_progname,
			atv_pair_pin(pr->p), d->name ? d->name : "Apple TV");
		fflush(stderr);
	} else if (r == 0) {
		r = atv_cli_pin(pr->pin, pr->pin_file, d->name, pin, sizeof pin, &err);
	}
	if (r == 0)
		r = atv_pair_finish(pr->p, pin, &credentials, &err);
	if (r == 0 && keep(pr, d, credentials, &err) < 0) {
		status = not_stored(pr, d, &err);
		goto out;
	}
	if (r == 0) {
		j = atv_cli_tool_config(pr->tool, d);
		r = atv_cli_print(j, &err);
	}
	if (r < 0 && r != -ATV_E_IO)
		name_error(&err, d);
	/* a failure leaves a line on stdout too, unless stdout is what failed */
	if (r == -ATV_E_IO)
		status = atv_cli_fail(&err);
	else
		status = r < 0 ? atv_cli_fail_line(&err) : ATV_EXIT_OK;
out:
	json_decref(j);
	atv_pair_free(pr->p);
	pr->p = NULL;
	pr->po.pin = NULL;
	atv_crypto_wipe(pin, sizeof pin);
	if (credentials) {
		atv_crypto_wipe(credentials, strlen(credentials));
		free(credentials);
	}
	return status;
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
			status = atv_cli_worst(status, atv_cli_fail_line(&err));
			if (r != -ATV_E_INPUT)
				break;
			continue;
		}
		if (len == 0)
			continue;
		n++;
		if (atv_cli_device_parse(&pr->tool->t, line, len, &d, &err) < 0)
			status = atv_cli_worst(status, atv_cli_fail_line(&err));
		else
			status = atv_cli_worst(status, pair_one(pr, &d));
		atv_device_release(&d);
		/* stdout is gone (reported once): pairing more would go unseen */
		if (atv_cli_output_check(NULL) < 0)
			break;
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

/* The protocol and its options, checked before any device is contacted. */
static int check_options(struct pairer *pr)
{
	struct atv_pair_opts o = pr->po;
	struct atv_err err = {0};

	pr->ours = strcmp(pr->protocol, "dmap") == 0; /* DMAP: the PIN is ours */
	o.pin = pr->pin; /* --pin, as typed */
	if (atv_pair_check(pr->protocol, &o, &err) < 0) {
		atv_cli_error("%s", err.msg);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [-p mrp|dmap|airplay|companion] [--pin PIN | --pin-file FILE]\n"
		"       [--name NAME] [--pairing-guid GUID] [--port PORT] [-i ID | -n NAME]\n"
		"       [-s HOST[:PORT],...] [-t SECONDS] [-c FILE] [--with-credentials]\n"
		"       %s --forget [-p PROTOCOL] [-i ID | -n NAME] [-c FILE]\n"
		"Pair with Apple TVs (device configs on stdin, one per line, or -i ID); store\n"
		"the credentials in the credentials file and print each config.\n"
		"  -p, --protocol P         the protocol to pair: mrp (default), dmap, airplay or\n"
		"                           companion\n"
		"      --pin PIN            mrp, airplay, companion: the PIN the device shows\n"
		"                           (default: ask on /dev/tty); dmap: the 4-digit PIN to\n"
		"                           type on the device (default: random, on stderr)\n"
		"      --pin-file FILE      read the PIN from the first line of FILE\n"
		"      --name NAME          our name, shown on the device (default atv-tools)\n"
		"      --remote-name NAME   the same as --name\n"
		"      --pairing-guid GUID  dmap: our pairing GUID, [0x] and 1 to 16 hex digits\n"
		"                           (default: random)\n"
		"      --port PORT          dmap: the port the device calls (default: any)\n"
		"  -i, --id ID              scan for this device instead of reading configs\n"
		"  -n, --device-name NAME   scan for the device of this name\n"
		"      --forget             remove the device's pairings (-p: of one protocol)\n"
		"                           from the credentials file; contacts no device\n"
		"  -s, --hosts H[:P],...    scan these hosts by unicast (default: multicast)\n"
		"  -t, --timeout SECONDS    for scans, connecting and each step (default 5)\n"
		"  -c, --credentials FILE   credentials file to store into\n"
		"      --with-credentials   print the configs with the credentials (keep such\n"
		"                           output as secret as the file: chmod 600)\n"
		"  -v, --verbose            more messages on stderr (twice: debug)\n"
		"  -h, --help               this help;  -V, --version  the version\n",
		atv_progname, atv_progname);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    ATV_CLI_LONGOPTS,
	    ATV_CLI_WITH_CREDENTIALS_LONGOPT,
	    {"protocol", required_argument, NULL, 'p'},
	    {"pin", required_argument, NULL, 'P'},
	    {"pin-file", required_argument, NULL, 'F'},
	    {"name", required_argument, NULL, 'N'},
	    {"remote-name", required_argument, NULL, 'N'},
	    {"pairing-guid", required_argument, NULL, 'G'},
	    {"port", required_argument, NULL, 'O'},
	    {"forget", no_argument, NULL, 'X'},
	    {NULL, 0, NULL, 0},
	};
	struct atv_cli_tool tool;
	struct pairer pr = {.tool = &tool, .protocol = "mrp", .po.name = "atv-tools"};
	struct atv_device d;
	struct atv_err err = {0};
	const char *forget_protocol = NULL;
	bool forget = false;
	int c, status = ATV_EXIT_OK;

	atv_cli_tool_init(&tool, argv[0], 5000);
	tool.stores_creds = true;
	while ((c = getopt_long(argc, argv, ATV_CLI_SHORTOPTS "p:", longopts, NULL)) != -1) {
		switch (atv_cli_tool_opt(&tool, c, optarg, usage)) {
		case ATV_CLI_OPT_DONE: continue;
		case ATV_CLI_OPT_EXIT: return atv_cli_tool_end(&tool, tool.status);
		}
		switch (c) {
		case 'p': pr.protocol = forget_protocol = optarg; break;
		case 'X': forget = true; break;
		case 'P': pr.pin = optarg; break;
		case 'F': pr.pin_file = optarg; break;
		case 'N': pr.po.name = optarg; break;
		case 'G': pr.po.pairing_guid = optarg; break;
		case 'O':
			if (port_arg(optarg, &pr.po.port) < 0)
				return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
			break;
		default: usage(stderr); return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
		}
	}
	if ((status = atv_cli_tool_no_operands(argc, argv, optind, usage)) != 0)
		return atv_cli_tool_end(&tool, status);
	if (forget) {
		/* nothing to pair with: no PIN, no device contacted */
		if (atv_cli_tool_start(&tool, &err) < 0)
			return atv_cli_tool_end(&tool, atv_cli_fail_line(&err));
		return atv_cli_tool_end(&tool, atv_pair_forget(&tool, forget_protocol));
	}
	if (pr.pin && pr.pin_file) {
		atv_cli_error("--pin and --pin-file exclude each other");
		return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
	}
	if (check_options(&pr) < 0)
		return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
	if (pr.pin && atv_cli_pin_check(pr.pin, &err) < 0)
		return atv_cli_tool_end(&tool, atv_cli_fail(&err));
	pr.po.timeout_ms = tool.t.timeout_ms;
	/* DMAP waits for a person: only -t shortens the facade's default */
	pr.po.wait_ms = tool.timeout_set ? tool.t.timeout_ms : 0;

	if (atv_cli_tool_start(&tool, &err) < 0) {
		status = atv_cli_fail_line(&err);
	} else if (tool.t.id || tool.t.name) {
		if (atv_cli_tool_device(&tool, &d, &err) < 0)
			status = atv_cli_fail_line(&err);
		else
			status = pair_one(&pr, &d);
		atv_device_release(&d);
	} else {
		status = pair_stdin(&pr, &tool.in);
	}
	return atv_cli_tool_end(&tool, status);
}
