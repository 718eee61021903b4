/* jsonl.c - JSON lines. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "jsonl.h"
#include "banned.h"

int atv_jsonl_read(FILE *f, struct atv_buf *line, struct atv_err *err)
{
	int c;
	int too_long = 0, nul = 0;

	atv_buf_reset(line);
	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0')
			nul = 1;
		if (too_long)
			continue;
		/* keep one byte for the terminating NUL */
		if (line->len + 1 >= line->max) {
			too_long = 1;
			continue;
		}
		uint8_t ch = (uint8_t)c;
		if (atv_buf_append(line, &ch, 1, err) < 0)
			return -ATV_E_NOMEM;
	}
	if (ferror(f))
		return atv_err_sys(err, ATV_E_IO, errno, "unable to read input");
	if (c == EOF && line->len == 0 && !too_long)
		return 0;
	if (too_long)
		return atv_err_set(err, ATV_E_INPUT, "input line longer than %zu bytes", line->max - 1);
	if (nul)
		return atv_err_set(err, ATV_E_INPUT, "input line contains a NUL byte");
	if (atv_buf_append(line, "", 1, err) < 0)
		return -ATV_E_NOMEM;
	line->len--;
	return 1;
}

int atv_jsonl_parse(const char *p, size_t len, json_t **out, struct atv_err *err)
{
	char why[ATV_ERR_MSGLEN];
	json_error_t je;
	json_t *j;

	*out = NULL;
	j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		/* never echo the input: a config line may carry credentials */
		atv_json_reason(je.text, why, sizeof why);
		return atv_err_set(err, ATV_E_INPUT, "invalid JSON at column %d: %s", je.column,
				   why);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return atv_err_set(err, ATV_E_INPUT, "expected a JSON object");
	}
	*out = j;
	return 0;
}

/* Reals with 15 significant digits: a double holds them exactly, so 0.201
 * prints as 0.201, not as the 17-digit 0.20100000000000001. */
#define FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

int atv_jsonl_write(FILE *f, const json_t *obj, struct atv_err *err)
{
	if (json_dumpf(obj, f, FLAGS) < 0 || putc('\n', f) == EOF ||
	    fflush(f) == EOF)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to write output");
	return 0;
}

void atv_iso8601(char *buf, size_t size, long long t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *atv_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool atv_utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned char c = *s++;
		unsigned char lo = 0x80, hi = 0xbf;
		int more;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return false;
		}
		if (*s < lo || *s > hi)
			return false;
		s++;
		while (--more > 0) {
			if (*s < 0x80 || *s > 0xbf)
				return false;
			s++;
		}
	}
	return true;
}

void atv_json_reason(const char *text, char *out, size_t size)
{
	static const char *const cuts[] = {" near", " 0x", " '\\u", NULL};
	size_t n;

	snprintf(out, size, "%s", text);
	for (const char *const *c = cuts; *c; c++) {
		char *p = strstr(out, *c);
		if (p)
			*p = '\0';
	}
	n = strlen(out);
	while (n && out[n - 1] == ' ')
		out[--n] = '\0';
	/* jansson sees one line as the whole input */
	if (strcmp(out, "end of file expected") == 0)
		snprintf(out, size, "text after the object");
	else if (!n)
		snprintf(out, size, "malformed");
}
