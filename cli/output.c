/* output.c - result and event lines. */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "jsonl.h"
#include "output.h"
#include "textout.h"
#include "banned.h"

/* Results and events as text (--text) instead of JSON. */
static bool text_mode;

void atv_cli_output_text(bool on)
{
	text_mode = on;
}

/* j as one line on stdout, written by write (JSON or text). */
static int print_with(int (*write)(FILE *, const json_t *, struct atv_err *), const json_t *j,
		      struct atv_err *err)
{
	struct atv_err e = {0};

	if (!j)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	/* after one failure nothing more is tried: one error, not two */
	if (atv_cli_output_check(err) < 0)
		return -ATV_E_IO;
	if (write(stdout, j, &e) < 0) {
		if (err)
			*err = e;
		return atv_cli_output_failed(&e);
	}
	return 0;
}

int atv_cli_print(const json_t *j, struct atv_err *err)
{
	return print_with(atv_jsonl_write, j, err);
}

static int emit(json_t *j, struct atv_err *err)
{
	int r = print_with(text_mode ? atv_cli_text_write : atv_jsonl_write, j, err);

	json_decref(j);
	return r;
}

/* Copy the members of from that to does not have yet. */
static int add_members(json_t *to, const json_t *from)
{
	const char *k;
	json_t *v;

	if (!json_is_object(from))
		return 0;
	json_object_foreach ((json_t *)from, k, v) {
		if (!json_object_get(to, k) && json_object_set(to, k, v) < 0)
			return -1;
	}
	return 0;
}

int atv_cli_result_ok(const char *item, const json_t *extra, struct atv_err *err)
{
	json_t *j = json_pack("{s:s, s:b}", "command", item, "ok", 1);

	if (j && add_members(j, extra) < 0) {
		json_decref(j);
		j = NULL;
	}
	return emit(j, err);
}

int atv_cli_result_line(const json_t *j, struct atv_err *err)
{
	return print_with(text_mode ? atv_cli_text_write : atv_jsonl_write, j, err);
}

/* {"command":item,"ok":false,"error":{…}}, without "command" when item is
 * NULL. */
static json_t *failure_json(const char *item, const struct atv_err *failure)
{
	const char *msg = failure->msg[0] ? failure->msg : atv_err_name(failure->code);

	return json_pack("{s:s*, s:b, s:{s:s, s:s}}", "command", item, "ok", 0, "error", "code",
			 atv_err_name(failure->code), "message", msg);
}

int atv_cli_result_fail(const char *item, const struct atv_err *failure, struct atv_err *err)
{
	atv_cli_error("%s: %s", item, failure->msg[0] ? failure->msg : atv_err_name(failure->code));
	return emit(failure_json(item, failure), err);
}

int atv_cli_fail_line(const struct atv_err *failure)
{
	struct atv_err werr = {0};
	int status = atv_cli_fail(failure);

	/* in text mode stderr said it all; stdout already failed: that was
	 * reported where it happened */
	if (text_mode)
		return status;
	if (atv_cli_output_check(NULL) < 0)
		return atv_cli_worst(status, ATV_EXIT_IO);
	if (emit(failure_json(NULL, failure), &werr) < 0)
		return atv_cli_worst(status, atv_cli_fail(&werr));
	return status;
}

int atv_cli_event(const char *device, const json_t *event, struct atv_err *err)
{
	char when[32];
	json_t *j;

	atv_iso8601(when, sizeof when, (long long)time(NULL));
	j = json_pack("{s:O?, s:s, s:s?}", "event", json_object_get(event, "event"), "time", when,
		      "device", device);
	if (j && add_members(j, event) < 0) {
		json_decref(j);
		j = NULL;
	}
	return emit(j, err);
}

int atv_cli_connection_event(const char *device, const char *state, const char *msg,
			     const json_t *extra, struct atv_err *err)
{
	json_t *ev =
	    json_pack("{s:s, s:s, s:s?}", "event", "connection", "state", state, "message", msg);
	int r;

	if (ev && add_members(ev, extra) < 0) {
		json_decref(ev);
		ev = NULL;
	}
	if (!ev)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	r = atv_cli_event(device, ev, err);
	json_decref(ev);
	return r;
}
