/* textout.c - results and events as one readable line each (--text). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "textout.h"
#include "banned.h"

/* A string the device sent, fit for a terminal: control characters (an
 * escape sequence could rewrite the screen) become '?'. */
static void put_clean(FILE *f, const char *s)
{
	for (; *s; s++)
		putc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static const char *str(const json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s && *s ? s : NULL;
}

/* m:ss, or h:mm:ss from an hour on. */
static void put_time(FILE *f, long long s)
{
	if (s < 0)
		s = 0;
	if (s >= 3600)
		fprintf(f, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	else
		fprintf(f, "%lld:%02lld", s / 60, s % 60);
}

/* What plays: "paused: Title - Artist - Album [App] 1:02/3:45". */
static void put_playing(FILE *f, const json_t *p)
{
	static const char *const parts[] = {"title", "artist", "album", "series_name"};
	const char *state = str(p, "device_state"), *app = str(p, "app");
	json_t *pos = json_object_get(p, "position"), *total = json_object_get(p, "total_time");
	bool any = false;

	put_clean(f, state ? state : "idle");
	fputc(':', f);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		const char *v = str(p, parts[i]);

		if (!v)
			continue;
		fputs(any ? " - " : " ", f);
		put_clean(f, v);
		any = true;
	}
	if (!any)
		fputs(" nothing", f);
	if (app) {
		fputs(" [", f);
		put_clean(f, app);
		fputc(']', f);
	}
	if (json_is_integer(pos)) {
		fputc(' ', f);
		put_time(f, json_integer_value(pos));
		if (json_is_integer(total)) {
			fputc('/', f);
			put_time(f, json_integer_value(total));
		}
	}
}

/* The speaker group: "Den (5C0F...) 50, Kitchen (D4:90:...)", the level
 * when known; "none" for an empty list. */
static void put_outputs(FILE *f, const json_t *list)
{
	size_t i;
	json_t *d;

	if (!json_array_size(list))
		fputs("none", f);
	json_array_foreach ((json_t *)list, i, d) {
		const char *name = str(d, "name"), *id = str(d, "identifier");
		json_t *v = json_object_get(d, "volume");

		if (i)
			fputs(", ", f);
		put_clean(f, name ? name : id ? id : "?");
		if (name && id) {
			fputs(" (", f);
			put_clean(f, id);
			fputc(')', f);
		}
		if (json_is_integer(v))
			fprintf(f, " %lld", (long long)json_integer_value(v));
	}
}

/* The other members, as " key=value" for scalars (the first without its
 * space when first). */
static void put_members(FILE *f, const json_t *j, const char *const *skip, bool first)
{
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)j, k, v) {
		bool skipped = false;

		for (size_t i = 0; skip[i]; i++)
			skipped |= strcmp(k, skip[i]) == 0;
		if (skipped || json_is_object(v) || json_is_array(v) || json_is_null(v))
			continue;
		if (!first)
			fputc(' ', f);
		first = false;
		put_clean(f, k);
		fputc('=', f);
		if (json_is_string(v))
			put_clean(f, json_string_value(v));
		else if (json_is_integer(v))
			fprintf(f, "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			fprintf(f, "%g", json_real_value(v));
		else
			fputs(json_is_true(v) ? "true" : "false", f);
	}
}

static void put_result(FILE *f, const json_t *j)
{
	static const char *const skip[] = {"command", "ok", "error", "playing", NULL};
	const char *cmd = str(j, "command");
	json_t *e = json_object_get(j, "error"), *p = json_object_get(j, "playing");

	if (cmd) {
		put_clean(f, cmd);
		fputs(": ", f);
	}
	if (!json_is_true(json_object_get(j, "ok"))) {
		/* the message is on stderr already */
		fputs("failed (", f);
		put_clean(f, str(e, "code") ? str(e, "code") : "error");
		fputc(')', f);
		return;
	}
	if (json_is_object(p))
		put_playing(f, p);
	else if (json_is_array(json_object_get(j, "output_devices")))
		put_outputs(f, json_object_get(j, "output_devices"));
	else
		fputs("ok", f);
	put_members(f, j, skip, false);
	/* features: its object's members, "play=available ..." */
	if (json_is_object(json_object_get(j, "features")))
		put_members(f, json_object_get(j, "features"), skip + 4 /* none */, false);
}

static void put_event(FILE *f, const json_t *j)
{
	static const char *const skip[] = {"event", "time", "device", "state", "message", NULL};
	const char *ev = str(j, "event"), *state = str(j, "state"), *msg = str(j, "message");
	char when[16];
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(when, sizeof when, "%H:%M:%S", &tm);
	fprintf(f, "%s ", when);
	put_clean(f, ev ? ev : "event");
	fputs(": ", f);
	if (ev && strcmp(ev, "playing") == 0) {
		put_playing(f, j);
		return;
	}
	if (state)
		put_clean(f, state);
	if (json_is_array(json_object_get(j, "output_devices")))
		put_outputs(f, json_object_get(j, "output_devices"));
	put_members(f, j, skip, !state && !json_object_get(j, "output_devices"));
	if (msg) {
		fputs(state ? " (" : "(", f);
		put_clean(f, msg);
		fputc(')', f);
	}
}

int atv_cli_text_write(FILE *f, const json_t *j, struct atv_err *err)
{
	if (json_object_get(j, "event"))
		put_event(f, j);
	else
		put_result(f, j);
	if (putc('\n', f) == EOF || fflush(f) == EOF || ferror(f))
		return atv_err_sys(err, ATV_E_IO, errno ? errno : EIO, "unable to write output");
	return 0;
}
