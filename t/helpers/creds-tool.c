/* creds-tool - drive lib/creds.c from the test scripts.
 *
 *   creds-tool store FILE              store the entry read as one JSON line on stdin
 *   creds-tool get FILE ID PROTOCOL    print the matching credentials
 *   creds-tool list FILE               print every entry as a JSON line
 *   creds-tool remove FILE ID PROTOCOL remove an entry
 *   creds-tool store-slow FILE         like store, but stop after writing half of
 *                                      the temp file: print "paused" and wait for
 *                                      a signal (t/0003-credentials.t kills it)
 *
 * Credentials never come from argv.  Errors: "creds-tool: message", exit
 * status from atv_exit_status(). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "creds.h"
#include "err.h"
#include "jsonl.h"

static int fail(const struct atv_err *err)
{
	fprintf(stderr, "creds-tool: %s\n", err->msg);
	return atv_exit_status(err->code);
}

static void pause_forever(void)
{
	static const char msg[] = "paused\n";

	if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0)
		_exit(ATV_EXIT_IO);
	for (;;)
		pause();
}

static int cmd_store(const char *path, struct atv_err *err)
{
	struct atv_buf line;
	struct atv_cred_entry e = {0};
	json_t *j = NULL;
	int r;

	atv_buf_init(&line, ATV_JSONL_MAX);
	r = atv_jsonl_read(stdin, &line, err);
	if (r == 0)
		r = atv_err_set(err, ATV_E_INPUT, "no entry on stdin");
	if (r < 0)
		goto out;
	if ((r = atv_jsonl_parse((const char *)line.data, line.len, &j, err)) < 0 ||
	    (r = atv_cred_entry_from_json(j, &e, err)) < 0)
		goto out;
	r = atv_creds_store(path, &e, -1, err);
out:
	/* our object alone holds this copy of the secret */
	if (json_is_string(json_object_get(j, "credentials")))
		OPENSSL_cleanse((char *)json_string_value(json_object_get(j, "credentials")),
				json_string_length(json_object_get(j, "credentials")));
	atv_cred_entry_release(&e);
	json_decref(j);
	atv_buf_release(&line);
	return r;
}

static int cmd_get(const char *path, const char *id, const char *protocol, struct atv_err *err)
{
	struct atv_creds c;
	const struct atv_cred_entry *e;
	int r;

	if ((r = atv_creds_load(path, &c, err)) < 0)
		return r;
	e = atv_creds_find(&c, &id, 1, protocol);
	if (e)
		printf("%s\n", e->credentials);
	else
		r = atv_err_set(err, ATV_E_REFUSED, "no %s credentials for %s", protocol, id);
	atv_creds_release(&c);
	return r;
}

static int cmd_list(const char *path, struct atv_err *err)
{
	struct atv_creds c;
	struct atv_buf out;
	int r;

	atv_buf_init(&out, 2 * ATV_CREDS_MAX_FILE);
	if ((r = atv_creds_load(path, &c, err)) < 0)
		return r;
	if ((r = atv_creds_format(&c, &out, err)) == 0 && out.len &&
	    fwrite(out.data, 1, out.len, stdout) != out.len)
		r = atv_err_set(err, ATV_E_IO, "unable to write output");
	atv_buf_release(&out);
	atv_creds_release(&c);
	return r;
}

int main(int argc, char **argv)
{
	struct atv_err err = {0};
	const char *cmd = argc > 1 ? argv[1] : "";
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(cmd, "store") == 0) {
		r = cmd_store(argv[2], &err);
	} else if (argc == 3 && strcmp(cmd, "store-slow") == 0) {
		atv_creds_set_test_hook(pause_forever);
		r = cmd_store(argv[2], &err);
	} else if (argc == 5 && strcmp(cmd, "get") == 0) {
		r = cmd_get(argv[2], argv[3], argv[4], &err);
	} else if (argc == 3 && strcmp(cmd, "list") == 0) {
		r = cmd_list(argv[2], &err);
	} else if (argc == 5 && strcmp(cmd, "remove") == 0) {
		r = atv_creds_remove(argv[2], argv[3], argv[4], -1, &err);
	} else {
		fprintf(stderr, "usage: creds-tool store|store-slow|list FILE\n"
				"       creds-tool get|remove FILE ID PROTOCOL\n");
		return ATV_EXIT_USAGE;
	}
	if (r < 0)
		return fail(&err);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "creds-tool: unable to write output\n");
		return ATV_EXIT_IO;
	}
	return 0;
}
