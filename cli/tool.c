/* tool.c - one start-up and teardown for every tool. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "tool.h"
#include "banned.h"

void atv_cli_tool_init(struct atv_cli_tool *tool, const char *argv0, int timeout_ms)
{
	atv_cli_init(argv0);
	memset(tool, 0, sizeof *tool);
	tool->t.timeout_ms = timeout_ms;
	atv_cli_lines_init(&tool->in, STDIN_FILENO);
}

int atv_cli_tool_opt(struct atv_cli_tool *tool, int c, const char *arg, void (*usage)(FILE *))
{
	switch (atv_cli_target_opt(c, arg, &tool->t, &tool->hosts, &tool->cred_opt)) {
	case 1: tool->timeout_set |= c == 't'; return ATV_CLI_OPT_DONE;
	case -1: tool->status = ATV_EXIT_USAGE; return ATV_CLI_OPT_EXIT;
	}
	switch (c) {
	case 'v': tool->verbose++; return ATV_CLI_OPT_DONE;
	case ATV_CLI_WITH_CREDENTIALS_OPT: tool->with_credentials = true; return ATV_CLI_OPT_DONE;
	case 'h':
		usage(stdout);
		tool->status = ATV_EXIT_OK;
		return ATV_CLI_OPT_EXIT;
	case 'V':
		atv_cli_version();
		tool->status = ATV_EXIT_OK;
		return ATV_CLI_OPT_EXIT;
	case '?':
	case ':':
		usage(stderr);
		tool->status = ATV_EXIT_USAGE;
		return ATV_CLI_OPT_EXIT;
	default: return ATV_CLI_OPT_OTHER;
	}
}

int atv_cli_tool_no_operands(int argc, char **argv, int optind_, void (*usage)(FILE *))
{
	if (optind_ >= argc)
		return 0;
	atv_cli_error("unexpected argument '%s'", argv[optind_]);
	usage(stderr);
	return ATV_EXIT_USAGE;
}

int atv_cli_tool_start(struct atv_cli_tool *tool, struct atv_err *err)
{
	int r;

	atv_cli_verbose(tool->verbose);
	if (tool->t.id && tool->t.name)
		return atv_err_set(err, ATV_E_USAGE, "-i and -n exclude each other");
	tool->t.creds = &tool->creds;
	if ((r = atv_creds_path(tool->cred_opt, tool->cred_path, sizeof tool->cred_path, err)) <
	    0)
		return r;
	tool->t.cred_path = tool->cred_path;
	/* -c with a typo would read an empty set: "not paired" for no reason */
	if (tool->cred_opt && !tool->stores_creds && access(tool->cred_path, F_OK) < 0 &&
	    errno == ENOENT)
		atv_warn("credentials file %s does not exist", tool->cred_path);
	return atv_creds_load(tool->cred_path, &tool->creds, err);
}

int atv_cli_tool_device(struct atv_cli_tool *tool, struct atv_device *d, struct atv_err *err)
{
	return atv_cli_device_get(&tool->t, &tool->in, d, err);
}

json_t *atv_cli_tool_config(const struct atv_cli_tool *tool, const struct atv_device *d)
{
	return tool->with_credentials ? atv_device_to_json(d) : atv_device_to_json_public(d);
}

int atv_cli_tool_end(struct atv_cli_tool *tool, int status)
{
	atv_cli_lines_release(&tool->in);
	atv_creds_release(&tool->creds);
	free(tool->hosts);
	tool->hosts = NULL;
	return atv_cli_finish(status);
}
