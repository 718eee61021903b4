/* atv-send - send commands to an Apple TV over one connection, one result
 * line per command. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "conn.h"
#include "atomic.h"
#include "buf.h"
#include "device.h"
#include "input.h"
#include "jsonl.h"
#include "log.h"
#include "output.h"
#include "tool.h"
#include "banned.h"

struct run {
	const struct atv_cli_target *t;
	struct atv_device d;
	struct atv_conn_opts o;
	struct atv_conn *c; /* NULL after the connection dropped: reconnect */
	const char *action;
	const char *artwork; /* --artwork FILE */
	int status;
	bool stop; /* the device or stdout failed for good */
};

/* An error after which the connection cannot be used any more. */
static bool conn_broken(int code)
{
	return code == -ATV_E_UNREACHABLE || code == -ATV_E_PROTO || code == -ATV_E_LIMIT ||
	       code == -ATV_E_AUTH || code == -ATV_E_NOMEM || code == -ATV_E_IO;
}

/* play_url's state changes (--wait): one event line each. */
static void on_progress(void *ctx, json_t *event)
{
	struct run *r = ctx;
	struct atv_err e = {0};

	if (!r->stop && atv_cli_event(r->d.identifier ? r->d.identifier : "", event, &e) < 0) {
		r->status = atv_cli_worst(r->status, atv_cli_fail(&e));
		r->stop = true;
	}
}

/* delay=MS: wait between commands (atv-send's own, not the device's). */
#define DELAY_MAX_MS 3600000

/* Whether item is delay=...; *ms its value, -1 when it is not one. */
static bool is_delay(const char *item, long *ms)
{
	char *end;

	if (strncmp(item, "delay=", 6) != 0)
		return false;
	errno = 0;
	*ms = strtol(item + 6, &end, 10);
	if (errno || end == item + 6 || *end || *ms < 0 || *ms > DELAY_MAX_MS)
		*ms = -1;
	return true;
}

/* Edit distance of a[0..la) and b (small strings), at most 9. */
static size_t distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), row[64], prev, tmp;

	if (la > 62 || lb > 62)
		return 9;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);

			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb] > 9 ? 9 : row[lb];
}

/* "unknown command 'X'" with the nearest known name, if one is near. */
static int unknown(const char *item, struct atv_err *err)
{
	size_t n = strcspn(item, "="), best = 3;
	const char *name, *near = NULL;

	for (size_t i = 0; (name = atv_conn_command_name(i, NULL)); i++) {
		size_t d = distance(item, n, name);

		if (d < best) {
			best = d;
			near = name;
		}
	}
	if (distance(item, n, "delay") < best)
		near = "delay";
	if (near)
		return atv_err_set(err, ATV_E_USAGE, "unknown command '%.*s' (did you mean %s?)",
				   (int)(n > 40 ? 40 : n), item, near);
	return atv_err_set(err, ATV_E_USAGE,
			   "unknown command '%.*s' (atv-send --list-commands lists them)",
			   (int)(n > 40 ? 40 : n), item);
}

/* --list-commands: one per line, as completion and atv-send(1) name them. */
static void list_commands(void)
{
	const char *name, *value;

	for (size_t i = 0; (name = atv_conn_command_name(i, &value)); i++)
		printf("%s%s%s\n", name, value && value[0] != '[' ? "=" : "", value ? value : "");
	printf("delay=MS\n");
}

/* An item is a known command or delay=MS (its value checked later). */
static bool known(const char *item)
{
	long ms;

	return is_delay(item, &ms) || atv_conn_knows(item);
}

/* delay=MS: the connection (if any) stays serviced meanwhile. */
static int run_delay(struct run *r, long ms, struct atv_err *e)
{
	if (ms < 0)
		return atv_err_set(e, ATV_E_USAGE, "delay needs milliseconds from 0 to %d",
				   DELAY_MAX_MS);
	atv_info("waiting %ld ms (delay)", ms);
	return atv_cli_wait(r->c, -1, -1, (int)ms, NULL, NULL, e) < 0 ? -e->code : 0;
}

/* Only play_url items: AirPlay is all they need. */
static bool airplay_only(char **items, int n)
{
	for (int i = 0; i < n; i++)
		if (strncmp(items[i], "play_url=", 9) != 0)
			return false;
	return n > 0;
}

/* artwork with --artwork FILE: the image written to FILE atomically, the
 * result its path and artwork's members; exit 1 when nothing shows one
 * (FILE is left as it was). */
static int save_artwork(struct run *r, json_t **res, struct atv_err *e)
{
	struct atv_buf img;
	struct atv_atomic a;
	int ret;

	atv_buf_init(&img, ATV_ARTWORK_MAX);
	ret = atv_conn_artwork_now(r->c, &img, e);
	if (ret == 0 && img.len == 0)
		ret = atv_err_set(e, ATV_E_REFUSED, "no artwork shows now; %s left as it was",
				  r->artwork);
	if (ret == 0 && (ret = atv_atomic_open(&a, r->artwork, 0644, e)) == 0) {
		if ((ret = atv_atomic_write(&a, img.data, img.len, e)) == 0)
			ret = atv_atomic_commit(&a, e);
		else
			atv_atomic_abort(&a);
	}
	if (ret == 0 && (!(*res = atv_artwork_info(&img)) ||
			 json_object_set_new(*res, "path", json_string(r->artwork)) < 0))
		ret = atv_err_set(e, ATV_E_NOMEM, "out of memory");
	atv_buf_release(&img);
	return ret;
}

/* Run one command and print its result line. */
static void run_one(struct run *r, const char *item)
{
	struct atv_err e = {0}, werr = {0};
	json_t *res = NULL;
	long ms;
	bool delay = is_delay(item, &ms);
	int ret = 0;

	if (delay)
		ret = run_delay(r, ms, &e);
	else if (!atv_conn_knows(item))
		ret = unknown(item, &e);
	else if (!r->c)
		ret = atv_cli_connect(r->t, &r->d, &r->o, &r->c, &e);
	if (ret == 0 && !delay && r->artwork && strcmp(item, "artwork") == 0)
		ret = save_artwork(r, &res, &e);
	else if (ret == 0 && !delay)
		ret = atv_conn_command(r->c, item, r->action, &res, &e);
	if (ret == 0 && json_is_array(res) && json_array_size(res) > 0) {
		/* a list (app_list): one result line per element */
		for (size_t i = 0; ret == 0 && i < json_array_size(res); i++)
			ret = atv_cli_result_ok(item, json_array_get(res, i), &werr);
	} else if (ret == 0) {
		ret = atv_cli_result_ok(item, json_is_array(res) ? NULL : res, &werr);
	} else {
		r->status = atv_cli_worst(r->status, atv_exit_status(ret));
		if (conn_broken(ret)) {
			atv_conn_close(r->c);
			r->c = NULL;
			/* a dropped connection is tried again for the next command */
			r->stop = ret != -ATV_E_UNREACHABLE;
		}
		ret = atv_cli_result_fail(item, &e, &werr);
	}
	json_decref(res);
	if (ret < 0) {
		r->status = atv_cli_worst(r->status, atv_cli_fail(&werr));
		r->stop = true;
	}
}

/* Commands from stdin, one per line, while the connection is kept alive. */
static void run_stdin(struct run *r, struct atv_cli_lines *in)
{
	struct atv_err e = {0};
	char *line;
	int ret;

	while (!r->stop && (ret = atv_cli_next_item(r->c, in, &line, &e)) != 0) {
		if (ret > 0 && !atv_utf8_valid(line)) {
			/* skipped, and never echoed */
			atv_cli_error("line %zu: command is not valid UTF-8", in->lineno);
			r->status = atv_cli_worst(r->status, ATV_EXIT_INPUT);
		} else if (ret > 0) {
			run_one(r, line);
		} else if (ret == -ATV_E_INPUT) {
			r->status = atv_cli_worst(r->status, atv_cli_fail(&e));
		} else if (ret == -ATV_E_UNREACHABLE && r->c) {
			atv_info("%s; reconnecting for the next command", e.msg);
			atv_conn_close(r->c);
			r->c = NULL;
		} else {
			r->status = atv_cli_worst(r->status, atv_cli_fail(&e));
			r->stop = true;
		}
	}
}

/* The command arguments as items (copies), with a "start=S" argument
 * joined to the play_url before it. */
static int join_start(int argc, char **argv, char ***items, int *n)
{
	char **v = calloc((size_t)(argc - optind) + 1, sizeof *v);

	*items = v;
	*n = 0;
	if (!v) {
		atv_cli_error("out of memory");
		return -1;
	}
	for (int i = optind; i < argc; i++) {
		char *prev = *n ? v[*n - 1] : NULL;

		if (prev && strncmp(argv[i], "start=", 6) == 0 &&
		    strncmp(prev, "play_url=", 9) == 0 && !strchr(prev, ' ')) {
			size_t len = strlen(prev) + strlen(argv[i]) + 2;
			char *j = malloc(len);

			if (!j) {
				atv_cli_error("out of memory");
				return -1;
			}
			snprintf(j, len, "%s %s", prev, argv[i]);
			free(prev);
			v[*n - 1] = j;
		} else if (!(v[(*n)++] = strdup(argv[i]))) {
			atv_cli_error("out of memory");
			return -1;
		}
	}
	return 0;
}

static void free_items(char **items, int n)
{
	for (int i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [-i ID | -n NAME] [-s HOST[:PORT],...] [-t SECONDS] [-c FILE]\n"
		"       [-p mrp|dmap|airplay|companion] [--action tap|double_tap|hold] [--wait]\n"
		"       [--artwork FILE]\n"
		"       [--text|--json] [COMMAND...]\n"
		"       %s --list-commands\n"
		"Send commands to an Apple TV; print one result (JSON) per command.\n"
		"The device config is the first line of stdin unless -i is given; the commands\n"
		"are the arguments, else the (other) lines of stdin.\n"
		"  -i, --id ID              scan for this device instead of reading a config\n"
		"  -n, --device-name NAME   scan for the device of this name\n"
		"  -s, --hosts H[:P],...    scan these hosts by unicast (default: multicast)\n"
		"  -t, --timeout SECONDS    for scans, connecting and each command (default 5)\n"
		"  -c, --credentials FILE   credentials file\n"
		"  -p, --protocol P         mrp, dmap, airplay or companion (default: MRP if\n"
		"                           usable, else DMAP, else Companion; AirPlay when every\n"
		"                           command is play_url; Companion for power when paired)\n"
		"      --action A           how remote keys are pressed: tap, double_tap, hold\n"
		"      --artwork FILE       artwork: write the image to FILE (atomically)\n"
		"      --wait               play_url: follow the video until it ends, one\n"
		"                           event line per state change\n"
		"      --text               one readable line per result (default on a terminal)\n"
		"      --json               JSON lines even on a terminal\n"
		"      --list-commands      print the commands, one per line, and exit\n"
		"  -v, --verbose            more messages on stderr (twice: debug)\n"
		"  -h, --help               this help;  -V, --version  the version\n"
		"Commands: up down left right select menu home home_hold top_menu suspend wakeup\n"
		"  play pause play_pause stop next previous skip_forward[=SECONDS]\n"
		"  skip_backward[=SECONDS] delay=MS (wait between commands)\n"
		"  set_position=SECONDS set_shuffle=off|songs|albums set_repeat=off|track|all\n"
		"  volume_up volume_down set_volume=0..100 turn_on turn_off playing\n"
		"  play_url=URL [start=SECONDS] (AirPlay)\n"
		"  power_state volume app_list launch_app=BUNDLE_OR_URL account_list\n"
		"  switch_account=ID text_get text_set=TEXT text_append=TEXT text_clear\n"
		"  channel_up channel_down guide screensaver control_center (Companion)\n"
		"  device_info features artwork app (read-only)\n",
		atv_progname, atv_progname);
}

int main(int argc, char **argv)
{
	static const char *const protocols[] = {"mrp", "dmap", "airplay", "companion", NULL};
	static const struct option longopts[] = {
	    ATV_CLI_LONGOPTS,
	    {"protocol", required_argument, NULL, 'p'},
	    {"action", required_argument, NULL, 'A'},
	    {"wait", no_argument, NULL, 'W'},
	    {"artwork", required_argument, NULL, 'R'},
	    {"text", no_argument, NULL, 'T'},
	    {"json", no_argument, NULL, 'J'},
	    {"list-commands", no_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	struct atv_cli_tool tool;
	struct run r = {0};
	char **items = NULL;
	int n_items = 0;
	struct atv_err err = {0};
	bool text = isatty(STDOUT_FILENO);
	int c;

	atv_cli_tool_init(&tool, argv[0], 5000);
	while ((c = getopt_long(argc, argv, ATV_CLI_SHORTOPTS "p:", longopts, NULL)) != -1) {
		switch (atv_cli_tool_opt(&tool, c, optarg, usage)) {
		case ATV_CLI_OPT_DONE: continue;
		case ATV_CLI_OPT_EXIT: return atv_cli_tool_end(&tool, tool.status);
		}
		switch (c) {
		case 'p': r.o.protocol = optarg; break;
		case 'A': r.action = optarg; break;
		case 'W': r.o.wait = true; break;
		case 'R': r.artwork = optarg; break;
		case 'T': text = true; break;
		case 'J': text = false; break;
		case 'L': list_commands(); return atv_cli_tool_end(&tool, ATV_EXIT_OK);
		default: usage(stderr); return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
		}
	}
	if (atv_cli_protocol(r.o.protocol, protocols) < 0)
		return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
	if (r.action && strcmp(r.action, "tap") && strcmp(r.action, "double_tap") &&
	    strcmp(r.action, "hold")) {
		atv_cli_error("unknown action '%s' (tap, double_tap or hold)", r.action);
		return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
	}
	/* "play_url=URL start=S" may come as two arguments: one item */
	if (join_start(argc, argv, &items, &n_items) < 0) {
		free_items(items, n_items);
		return atv_cli_tool_end(&tool, ATV_EXIT_IO);
	}
	for (int i = 0; i < n_items; i++) {
		/* checked first: the bytes of a bad one are not printed */
		if (!atv_utf8_valid(items[i]))
			atv_cli_error("command %d is not valid UTF-8", i + 1);
		else if (known(items[i]))
			continue;
		else if (unknown(items[i], &err) < 0)
			atv_cli_fail(&err);
		free_items(items, n_items);
		return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
	}
	atv_cli_output_text(text);
	if (!r.o.protocol && airplay_only(items, n_items))
		r.o.protocol = "airplay";
	r.o.progress = on_progress;
	r.o.progress_ctx = &r;
	r.o.timeout_ms = tool.t.timeout_ms;
	r.t = &tool.t;
	atv_device_init(&r.d);

	if (atv_cli_tool_start(&tool, &err) < 0 || atv_cli_tool_device(&tool, &r.d, &err) < 0 ||
	    atv_cli_connect(r.t, &r.d, &r.o, &r.c, &err) < 0) {
		r.status = atv_cli_fail_line(&err);
		goto out;
	}
	atv_info("connected to %s over %s", r.d.name ? r.d.name : r.d.identifier,
		 atv_conn_protocol(r.c));
	if (n_items > 0) {
		for (int i = 0; i < n_items && !r.stop; i++)
			run_one(&r, items[i]);
	} else {
		run_stdin(&r, &tool.in);
	}
out:
	atv_conn_close(r.c);
	atv_device_release(&r.d);
	free_items(items, n_items);
	return atv_cli_tool_end(&tool, r.status);
}
