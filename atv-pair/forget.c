/* forget.c - atv-pair --forget (see forget.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "device.h"
#include "forget.h"
#include "output.h"
#include "banned.h"

/* Whether entry e belongs to the device the options or config name. */
static bool matches(const struct atv_cred_entry *e, const struct atv_cli_tool *tool,
		    const struct atv_device *d, const char *protocol, bool exact_name)
{
	if (protocol && strcmp(e->protocol, protocol) != 0)
		return false;
	if (d) {
		for (size_t i = 0; i < d->n_ids; i++)
			if (strcasecmp(e->identifier, d->all_ids[i]) == 0)
				return true;
		return d->identifier && strcasecmp(e->identifier, d->identifier) == 0;
	}
	if (tool->t.id)
		return strcasecmp(e->identifier, tool->t.id) == 0;
	return e->name && (exact_name ? strcmp(e->name, tool->t.name)
				      : strcasecmp(e->name, tool->t.name)) == 0;
}

/* Remove every entry that matches; *n counts them.  0 or < 0. */
static int forget_matching(struct atv_cli_tool *tool, const struct atv_device *d,
			   const char *protocol, size_t *n, struct atv_err *err)
{
	const struct atv_creds *c = &tool->creds;
	bool exact = true;
	int r;

	/* -n: the exact name, else the name in any case when it is spelt one
	 * way only (as a scan by name: two spellings are two devices) */
	if (!d && !tool->t.id) {
		const char *spelt = NULL;

		exact = false;
		for (size_t i = 0; i < c->n; i++)
			exact |= matches(&c->e[i], tool, NULL, protocol, true);
		for (size_t i = 0; !exact && i < c->n; i++) {
			if (!matches(&c->e[i], tool, NULL, protocol, false))
				continue;
			if (spelt && strcmp(spelt, c->e[i].name) != 0)
				return atv_err_set(err, ATV_E_USAGE,
						   "pairings of '%s' and '%s' match '%s': forget "
						   "one by -i ID",
						   spelt, c->e[i].name, tool->t.name);
			spelt = c->e[i].name;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct atv_cred_entry *e = &c->e[i];
		json_t *j;

		if (!matches(e, tool, d, protocol, exact))
			continue;
		r = atv_creds_remove(tool->cred_path, e->identifier, e->protocol,
				     tool->t.timeout_ms, err);
		if (r < 0)
			return r;
		(*n)++;
		j = json_pack("{s:s, s:s, s:s?, s:b}", "identifier", e->identifier, "protocol",
			      e->protocol, "name", e->name, "forgotten", 1);
		r = atv_cli_print(j, err);
		json_decref(j);
		if (r < 0)
			return r;
	}
	return 0;
}

int atv_pair_forget(struct atv_cli_tool *tool, const char *protocol)
{
	struct atv_err err = {0};
	struct atv_device d;
	size_t n = 0, len, configs = 0;
	char *line;
	int r, status = ATV_EXIT_OK;

	if (tool->t.id || tool->t.name) {
		if ((r = forget_matching(tool, NULL, protocol, &n, &err)) < 0)
			return atv_cli_fail_line(&err);
	} else {
		while ((r = atv_cli_lines_get(&tool->in, &line, &len, &err)) != 0) {
			if (r > 0 && len == 0)
				continue;
			if (r > 0) {
				configs++;
				r = atv_cli_device_parse(&tool->t, line, len, &d, &err);
				if (r == 0)
					r = forget_matching(tool, &d, protocol, &n, &err);
				atv_device_release(&d);
			}
			if (r < 0)
				status = atv_cli_worst(status, atv_cli_fail_line(&err));
			/* a bad line is skipped; a file that cannot be written is not */
			if (r < 0 && r != -ATV_E_INPUT)
				return status;
		}
		if (configs == 0) {
			atv_err_set(&err, ATV_E_INPUT,
				    "no device config on standard input (pipe one, or give -i ID "
				    "or -n NAME)");
			return atv_cli_fail_line(&err);
		}
	}
	if (n == 0 && status == ATV_EXIT_OK) {
		atv_err_set(&err, ATV_E_REFUSED, "no %s%spairing of that device in %s",
			    protocol ? protocol : "", protocol ? " " : "", tool->cred_path);
		return atv_cli_fail_line(&err);
	}
	return status;
}
