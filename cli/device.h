/* device.h - which device a tool works on, and finding it again.
 *
 * A tool gets its device config from the first line of standard input, or,
 * given -i ID, scans for it (unicast to the -s hosts, else multicast).
 * Credentials come from the config itself or, for services without any,
 * from the credentials file.  A saved config whose address or port has gone
 * stale is not fatal: when the device cannot be reached, the tool finds it
 * again by identifier (unicast to the config's address and the -s hosts,
 * then multicast) and tries once more. */
#ifndef ATV_CLI_DEVICE_H
#define ATV_CLI_DEVICE_H

#include <stddef.h>

#include "conn.h"
#include "creds.h"
#include "devconf.h"
#include "err.h"
#include "input.h"
#include "dnssd_unicast.h"

/* Where to look, from the shared options. */
struct atv_cli_target {
	const char *id;			  /* -i: scan for this device (NULL: stdin) */
	const char *name;		  /* -n: scan for the device of this name */
	const struct atv_hostport *hosts; /* -s */
	size_t n_hosts;
	int timeout_ms;		       /* -t: each scan, each connect */
	const struct atv_creds *creds; /* the credentials file, loaded */
	const char *cred_path;	       /* its path, for messages */
};

/* The options every device tool shares: -i ID, -n NAME, -s HOSTS (appended to
 * *hosts, which the caller frees; t->hosts follows it), -t SECONDS and
 * -c FILE (into *cred).  Returns 1 when c was one of them, 0 when it was
 * not, -1 for a bad value (the message is printed: exit with usage). */
int atv_cli_target_opt(int c, const char *arg, struct atv_cli_target *t,
		       struct atv_hostport **hosts, const char **cred);

/* The long options atv_cli_target_opt handles, for a struct option table
 * (the short ones are "i:n:s:t:c:"). */
#define ATV_CLI_TARGET_LONGOPTS                                                                    \
	{"id", required_argument, NULL, 'i'}, {"device-name", required_argument, NULL, 'n'},      \
	    {"hosts", required_argument, NULL, 's'},                                               \
	    {"timeout", required_argument, NULL, 't'}, {"credentials", required_argument, NULL, 'c'}

/* Fill d (initialised here; the caller releases it, even on failure) with
 * the device to work on: scanned for by t->id, or by t->name (the whole
 * scan: the one device of that name, else the one of that name in another
 * case; two or more are -ATV_E_USAGE naming them), or the first line of
 * in.  -ATV_E_INPUT when stdin has no (valid) config, -ATV_E_NOTFOUND. */
int atv_cli_device_get(const struct atv_cli_target *t, struct atv_cli_lines *in,
		       struct atv_device *d, struct atv_err *err);

/* Parse one config line into d (initialised here; release it even on
 * failure) and fill the credentials it lacks from t->creds. */
int atv_cli_device_parse(const struct atv_cli_target *t, const char *line, size_t len,
			 struct atv_device *d, struct atv_err *err);

/* Find d again by its identifier and update it in place: address, ports
 * and services from the scan, credentials kept (from d, else the file).
 * -ATV_E_NOTFOUND when it does not answer. */
int atv_cli_device_rescan(const struct atv_cli_target *t, struct atv_device *d,
			  struct atv_err *err);

/* Run fn(ctx, d); when it fails with -ATV_E_UNREACHABLE, rescan d and, if
 * it was found, run fn once more.  The result is fn's. */
int atv_cli_with_rescan(const struct atv_cli_target *t, struct atv_device *d,
			int (*fn)(void *ctx, struct atv_device *d, struct atv_err *err), void *ctx,
			struct atv_err *err);

/* atv_conn_open through atv_cli_with_rescan. */
int atv_cli_connect(const struct atv_cli_target *t, struct atv_device *d,
		    const struct atv_conn_opts *o, struct atv_conn **out, struct atv_err *err);

#endif
