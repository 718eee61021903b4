/* tool.h - one start-up and teardown for every tool.
 *
 *   struct atv_cli_tool tool;
 *   atv_cli_tool_init(&tool, argv[0], 5000);       fds 0-2, no core dumps,
 *                                                  SIGPIPE ignored
 *   while ((c = getopt_long(argc, argv, ATV_CLI_SHORTOPTS "p:", longopts, 0)) != -1) {
 *           switch (atv_cli_tool_opt(&tool, c, optarg, usage)) {
 *           case ATV_CLI_OPT_DONE: continue;        one of the shared options
 *           case ATV_CLI_OPT_EXIT: return atv_cli_tool_end(&tool, tool.status);
 *           }
 *           ... the tool's own options ...
 *   }
 *   if (atv_cli_tool_start(&tool, &err) < 0)          -v, credentials file
 *           ...
 *   atv_cli_tool_device(&tool, &d, &err);           stdin's config or -i's scan
 *   return atv_cli_tool_end(&tool, status);          release, flush, exit status
 */
#ifndef ATV_CLI_TOOL_H
#define ATV_CLI_TOOL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "creds.h"
#include "device.h"
#include "input.h"

struct atv_cli_tool {
	struct atv_cli_target t;     /* -i -s -t, and .creds once started */
	struct atv_hostport *hosts;  /* -s (owned) */
	const char *cred_opt;	     /* -c */
	char cred_path[4096];	     /* the credentials file, once started */
	struct atv_creds creds;	     /* its entries, once started */
	struct atv_cli_lines in;     /* standard input, read by the fd */
	int verbose;		     /* -v count */
	bool with_credentials;	     /* --with-credentials (tools that print configs) */
	bool timeout_set;	     /* -t was given */
	bool stores_creds;	     /* the tool creates the credentials file (atv-pair) */
	int status;		     /* for ATV_CLI_OPT_EXIT */
};

/* The shared short options, and the long ones (with --with-credentials,
 * which only the tools that print configs list in their usage). */
#define ATV_CLI_SHORTOPTS "i:n:s:t:c:vhV"
#define ATV_CLI_LONGOPTS                                                                          \
	ATV_CLI_TARGET_LONGOPTS, {"verbose", no_argument, NULL, 'v'},                              \
	    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}
#define ATV_CLI_WITH_CREDENTIALS_OPT 0x100
#define ATV_CLI_WITH_CREDENTIALS_LONGOPT                                                          \
	{"with-credentials", no_argument, NULL, ATV_CLI_WITH_CREDENTIALS_OPT}

/* Program name, fds 0-2 open (on /dev/null when closed), no core dumps,
 * SIGPIPE ignored (atv_cli_init), and the defaults.  Call it first. */
void atv_cli_tool_init(struct atv_cli_tool *tool, const char *argv0, int timeout_ms);

enum { ATV_CLI_OPT_OTHER = 0, ATV_CLI_OPT_DONE = 1, ATV_CLI_OPT_EXIT = 2 };

/* One getopt_long result c: a shared option is taken (ATV_CLI_OPT_DONE);
 * --help and --version print, a bad value or an unknown option prints its
 * message and usage(stderr) (ATV_CLI_OPT_EXIT with tool->status set);
 * anything else is the tool's (ATV_CLI_OPT_OTHER). */
int atv_cli_tool_opt(struct atv_cli_tool *tool, int c, const char *arg, void (*usage)(FILE *));

/* After the options: "unexpected argument" for operands at argv[optind]
 * (ATV_EXIT_USAGE; 0 when there are none). */
int atv_cli_tool_no_operands(int argc, char **argv, int optind_, void (*usage)(FILE *));

/* Install the -v logger, find and load the credentials file, read stdin by
 * its fd.  Returns 0, or < 0 with err filled. */
int atv_cli_tool_start(struct atv_cli_tool *tool, struct atv_err *err);

/* The device to work on (atv_cli_device_get): d is initialised here and
 * released by the caller, even on failure. */
int atv_cli_tool_device(struct atv_cli_tool *tool, struct atv_device *d, struct atv_err *err);

/* A device config for stdout: without credential values unless
 * --with-credentials.  NULL on no memory. */
json_t *atv_cli_tool_config(const struct atv_cli_tool *tool, const struct atv_device *d);

/* Release everything, flush stdout (a write error, unless already
 * reported, is printed once and makes the status ATV_EXIT_IO): the status
 * to exit with. */
int atv_cli_tool_end(struct atv_cli_tool *tool, int status);

#endif
