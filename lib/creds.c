/* creds.c - the shared credentials file (atv-credentials(5)).
 *
 * Secrets (the "credentials" values) live in memory we wipe before free:
 * the file bytes, our entry copies and the serialized output.  jansson's
 * lexer keeps private copies of tokens we cannot reach; the parsed string
 * we wipe in place before dropping the object. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "atomic.h"
#include "creds.h"
#include "jsonl.h"
#include "tcp.h"
#include "banned.h"

#define LABEL "credentials file"

static void (*test_hook)(void);

static const char *const known_keys[] = {"identifier", "protocol", "credentials", "name", "paired",
					 NULL};

void atv_creds_set_test_hook(void (*hook)(void))
{
	test_hook = hook;
}

static void secret_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void atv_cred_entry_release(struct atv_cred_entry *e)
{
	free(e->identifier);
	free(e->protocol);
	secret_free(e->credentials);
	free(e->name);
	free(e->paired);
	json_decref(e->extra);
	memset(e, 0, sizeof *e);
}

void atv_creds_release(struct atv_creds *c)
{
	for (size_t i = 0; i < c->n; i++)
		atv_cred_entry_release(&c->e[i]);
	free(c->e);
	c->e = NULL;
	c->n = 0;
}

/* ---- validation ---- */

static bool is_known(const char *k)
{
	for (const char *const *p = known_keys; *p; p++)
		if (strcmp(*p, k) == 0)
			return true;
	return false;
}

/* Could this entry be written and read back?  The message never carries
 * a credentials value. */
static int entry_check(const struct atv_cred_entry *e, struct atv_err *err)
{
	if (!e->identifier || !*e->identifier)
		return atv_err_set(err, ATV_E_USAGE, "credentials entry without an identifier");
	if (!e->protocol || !*e->protocol)
		return atv_err_set(err, ATV_E_USAGE, "credentials entry without a protocol");
	if (!e->credentials)
		return atv_err_set(err, ATV_E_USAGE, "credentials entry without credentials");
	if (!atv_utf8_valid(e->identifier) || !atv_utf8_valid(e->protocol) ||
	    !atv_utf8_valid(e->credentials) || (e->name && !atv_utf8_valid(e->name)) ||
	    (e->paired && !atv_utf8_valid(e->paired)))
		return atv_err_set(err, ATV_E_USAGE, "credentials entry is not valid UTF-8");
	if (e->extra && !json_is_object(e->extra))
		return atv_err_set(err, ATV_E_USAGE, "credentials entry extra is not an object");
	return 0;
}

/* ---- JSON -> entry ---- */

static int req_str(const json_t *j, const char *key, bool nonempty, char **out,
		   struct atv_err *err)
{
	const json_t *v = json_object_get(j, key);

	if (!v)
		return atv_err_set(err, ATV_E_INPUT, "missing \"%s\"", key);
	if (!json_is_string(v))
		return atv_err_set(err, ATV_E_INPUT, "\"%s\" is not a string", key);
	if (nonempty && json_string_length(v) == 0)
		return atv_err_set(err, ATV_E_INPUT, "empty \"%s\"", key);
	if (!(*out = strdup(json_string_value(v))))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

static int opt_str(const json_t *j, const char *key, char **out, struct atv_err *err)
{
	const json_t *v = json_object_get(j, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return atv_err_set(err, ATV_E_INPUT, "\"%s\" is not a string", key);
	if (!(*out = strdup(json_string_value(v))))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

int atv_cred_entry_from_json(const json_t *j, struct atv_cred_entry *e, struct atv_err *err)
{
	const char *key;
	json_t *v;
	int r;

	memset(e, 0, sizeof *e);
	if (!json_is_object(j))
		return atv_err_set(err, ATV_E_INPUT, "expected a JSON object");
	if ((r = req_str(j, "identifier", true, &e->identifier, err)) < 0 ||
	    (r = req_str(j, "protocol", true, &e->protocol, err)) < 0 ||
	    (r = req_str(j, "credentials", false, &e->credentials, err)) < 0 ||
	    (r = opt_str(j, "name", &e->name, err)) < 0 ||
	    (r = opt_str(j, "paired", &e->paired, err)) < 0)
		return r;
	/* json_object_foreach takes a non-const object; we only read it */
	json_object_foreach((json_t *)j, key, v) {
		if (is_known(key))
			continue;
		if (!e->extra && !(e->extra = json_object()))
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		if (json_object_set(e->extra, key, v) < 0)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return 0;
}

/* ---- file bytes -> set ---- */

static long find_idx(const struct atv_creds *c, const char *id, const char *protocol)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].protocol, protocol) == 0 &&
		    strcasecmp(c->e[i].identifier, id) == 0)
			return (long)i;
	return -1;
}

/* Take over *e (zeroed): replace the entry with the same key, or append. */
static int set_put(struct atv_creds *c, size_t *cap, struct atv_cred_entry *e, struct atv_err *err)
{
	long i = find_idx(c, e->identifier, e->protocol);

	if (i >= 0) {
		atv_cred_entry_release(&c->e[i]);
		c->e[i] = *e;
		memset(e, 0, sizeof *e);
		return 0;
	}
	if (c->n >= ATV_CREDS_MAX_ENTRIES)
		return atv_err_set(err, ATV_E_CREDFILE, "%s would hold more than %d entries", LABEL,
				   ATV_CREDS_MAX_ENTRIES);
	if (c->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct atv_cred_entry *p = realloc(c->e, ncap * sizeof *p);
		if (!p)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		c->e = p;
		*cap = ncap;
	}
	c->e[c->n++] = *e;
	memset(e, 0, sizeof *e);
	return 0;
}

static bool blank(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* The parsed object is ours alone: wipe its copy of the secret before
 * jansson frees it. */
static void wipe_json_secret(json_t *j)
{
	json_t *v = json_object_get(j, "credentials");

	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

static int parse_line(const uint8_t *p, size_t n, size_t lineno, const char *label,
		      struct atv_cred_entry *e, struct atv_err *err)
{
	json_error_t je;
	struct atv_err lerr = {0};
	char why[ATV_ERR_MSGLEN];
	json_t *j;
	int r;

	memset(e, 0, sizeof *e);
	j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		atv_json_reason(je.text, why, sizeof why);
		return atv_err_set(err, ATV_E_CREDFILE,
				   "%s line %zu: invalid JSON at column %d (%s)", label, lineno,
				   je.column, why);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return atv_err_set(err, ATV_E_CREDFILE, "%s line %zu: expected a JSON object",
				   label, lineno);
	}
	r = atv_cred_entry_from_json(j, e, &lerr);
	wipe_json_secret(j);
	json_decref(j);
	if (r == -ATV_E_NOMEM)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (r < 0)
		return atv_err_set(err, ATV_E_CREDFILE, "%s line %zu: %s", label, lineno, lerr.msg);
	return 0;
}

static int parse_named(const uint8_t *p, size_t len, struct atv_creds *c, const char *label,
		       struct atv_err *err)
{
	struct atv_cred_entry e;
	size_t pos = 0, lineno = 0, lines = 0, cap = 0;
	int r = 0;

	memset(c, 0, sizeof *c);
	if (len > ATV_CREDS_MAX_FILE)
		return atv_err_set(err, ATV_E_CREDFILE, "%s is larger than %u bytes", label,
				   ATV_CREDS_MAX_FILE);
	while (pos < len) {
		const uint8_t *nl = memchr(p + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - p) : len;
		const uint8_t *line = p + pos;
		size_t n = end - pos;

		pos = nl ? end + 1 : len;
		lineno++;
		if (blank(line, n))
			continue;
		/* bounds the work below (the duplicate search is linear) */
		if (++lines > ATV_CREDS_MAX_ENTRIES) {
			r = atv_err_set(err, ATV_E_CREDFILE, "%s has more than %d entries", label,
					ATV_CREDS_MAX_ENTRIES);
			goto out;
		}
		if ((r = parse_line(line, n, lineno, label, &e, err)) < 0) {
			atv_cred_entry_release(&e);
			goto out;
		}
		/* a later line for the same (identifier, protocol) wins */
		r = set_put(c, &cap, &e, err);
		atv_cred_entry_release(&e);
		if (r < 0)
			goto out;
	}
out:
	if (r < 0)
		atv_creds_release(c);
	return r;
}

int atv_creds_parse(const uint8_t *p, size_t len, struct atv_creds *c, struct atv_err *err)
{
	return parse_named(p, len, c, LABEL, err);
}

/* ---- set -> file bytes ---- */

static int put(struct atv_buf *b, const char *s, size_t n, struct atv_err *err)
{
	return atv_buf_append(b, s, n, err);
}

static int put_jstr(struct atv_buf *b, const char *s, struct atv_err *err)
{
	static const char hex[] = "0123456789abcdef";
	int r = put(b, "\"", 1, err);

	for (; r == 0 && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6] = {'\\', 0, '0', '0', 0, 0};
		switch (ch) {
		case '"':
		case '\\':
			esc[1] = (char)ch;
			r = put(b, esc, 2, err);
			break;
		case '\n':
			r = put(b, "\\n", 2, err);
			break;
		case '\r':
			r = put(b, "\\r", 2, err);
			break;
		case '\t':
			r = put(b, "\\t", 2, err);
			break;
		default:
			if (ch < 0x20) {
				esc[1] = 'u';
				esc[4] = hex[ch >> 4];
				esc[5] = hex[ch & 15];
				r = put(b, esc, 6, err);
			} else {
				r = put(b, s, 1, err);
			}
		}
	}
	return r < 0 ? r : put(b, "\"", 1, err);
}

static int put_member(struct atv_buf *b, const char *key, const char *val, struct atv_err *err)
{
	int r;

	if (!val)
		return 0;
	if ((r = put(b, ",", 1, err)) < 0 || (r = put_jstr(b, key, err)) < 0 ||
	    (r = put(b, ":", 1, err)) < 0)
		return r;
	return put_jstr(b, val, err);
}

static int put_entry(struct atv_buf *b, const struct atv_cred_entry *e, struct atv_err *err)
{
	const char *key;
	json_t *v;
	int r;

	/* the first member has no leading comma: write it by hand */
	if ((r = put(b, "{\"identifier\":", 14, err)) < 0 ||
	    (r = put_jstr(b, e->identifier, err)) < 0 ||
	    (r = put_member(b, "protocol", e->protocol, err)) < 0 ||
	    (r = put_member(b, "credentials", e->credentials, err)) < 0 ||
	    (r = put_member(b, "name", e->name, err)) < 0 ||
	    (r = put_member(b, "paired", e->paired, err)) < 0)
		return r;
	json_object_foreach(e->extra, key, v) {
		char *s;

		/* a known name here would make a duplicate key the reader rejects */
		if (is_known(key))
			continue;
		if (!atv_utf8_valid(key))
			return atv_err_set(err, ATV_E_USAGE,
					   "credentials entry extra key is not UTF-8");
		if (!(s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		if ((r = put(b, ",", 1, err)) < 0 || (r = put_jstr(b, key, err)) < 0 ||
		    (r = put(b, ":", 1, err)) < 0 || (r = put(b, s, strlen(s), err)) < 0) {
			free(s);
			return r;
		}
		free(s);
	}
	return put(b, "}\n", 2, err);
}

int atv_creds_format(const struct atv_creds *c, struct atv_buf *out, struct atv_err *err)
{
	int r;

	for (size_t i = 0; i < c->n; i++)
		if ((r = entry_check(&c->e[i], err)) < 0 || (r = put_entry(out, &c->e[i], err)) < 0)
			return r;
	return 0;
}

/* ---- lookup ---- */

static const struct atv_cred_entry *find_one(const struct atv_creds *c, const char *id,
					     const char *protocol)
{
	long i;

	if (!id || !protocol)
		return NULL;
	i = find_idx(c, id, protocol);
	return i < 0 ? NULL : &c->e[i];
}

const struct atv_cred_entry *atv_creds_find(const struct atv_creds *c, const char *const *ids,
					    size_t n, const char *protocol)
{
	const struct atv_cred_entry *e;

	for (size_t i = 0; i < n; i++)
		if ((e = find_one(c, ids[i], protocol)))
			return e;
	return NULL;
}

static int fill_extra(struct atv_service *s, json_t *extra)
{
	if (!s->extra && !(s->extra = json_object()))
		return -ATV_E_NOMEM;
	return json_object_update_missing(s->extra, extra) < 0 ? -ATV_E_NOMEM : 0;
}

int atv_creds_fill(const struct atv_creds *c, struct atv_device *d)
{
	for (size_t i = 0; i < d->n_svcs; i++) {
		struct atv_service *s = &d->svcs[i];
		const struct atv_cred_entry *e;

		if (s->credentials || !s->protocol)
			continue;
		e = atv_creds_find(c, (const char *const *)d->all_ids, d->n_ids, s->protocol);
		/* a config whose all_identifiers lacks these is still matched */
		if (!e)
			e = find_one(c, s->identifier, s->protocol);
		if (!e)
			e = find_one(c, d->identifier, s->protocol);
		if (e && !(s->credentials = strdup(e->credentials)))
			return -ATV_E_NOMEM;
		/* what was stored with them (Companion's rp_id) comes along,
		 * unless the config says otherwise */
		if (e && e->extra && fill_extra(s, e->extra) < 0)
			return -ATV_E_NOMEM;
	}
	return 0;
}

/* ---- path ---- */

int atv_creds_path(const char *opt, char *out, size_t size, struct atv_err *err)
{
	const char *v;
	int n;

	if (opt) {
		if (!*opt)
			return atv_err_set(err, ATV_E_CREDFILE, "empty credentials file name");
		n = snprintf(out, size, "%s", opt);
	} else if ((v = getenv("ATV_CREDENTIALS")) && *v) {
		n = snprintf(out, size, "%s", v);
	} else if ((v = getenv("XDG_CONFIG_HOME")) && *v == '/') {
		/* the XDG base directory spec says to ignore a relative value */
		n = snprintf(out, size, "%s/atv/credentials", v);
	} else if ((v = getenv("HOME")) && *v) {
		n = snprintf(out, size, "%s/.config/atv/credentials", v);
	} else {
		return atv_err_set(err, ATV_E_CREDFILE,
				   "no credentials file: set HOME or ATV_CREDENTIALS, or use "
				   "--credentials");
	}
	if (n < 0 || (size_t)n >= size)
		return atv_err_set(err, ATV_E_CREDFILE, "credentials file name is too long");
	return 0;
}

/* ---- loading ---- */

/* ssh's rule for private keys: ours, a regular file, nobody else may read
 * or write it. */
static int check_stat(int fd, const char *what, const char *path, struct atv_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to stat %s %s", what, path);
	if (!S_ISREG(st.st_mode))
		return atv_err_set(err, ATV_E_CREDFILE, "%s %s is not a regular file", what, path);
	if (st.st_uid != geteuid())
		return atv_err_set(err, ATV_E_CREDFILE, "%s %s is owned by uid %lu, not by you",
				   what, path, (unsigned long)st.st_uid);
	if (st.st_mode & 077)
		return atv_err_set(err, ATV_E_CREDFILE,
				   "%s %s is accessible by others (mode %04o); run chmod 600 %s",
				   what, path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

static int open_error(const char *what, const char *path, struct atv_err *err)
{
	int e = errno;

	if (e == ELOOP)
		return atv_err_set(err, ATV_E_CREDFILE,
				   "%s %s is a symbolic link; refusing to follow it", what, path);
	return atv_err_sys(err, ATV_E_IO, e, "unable to open %s %s", what, path);
}

/* b->max is one byte past the limit, so "too large" differs from "exactly full". */
static int read_capped(int fd, const char *path, struct atv_buf *b, struct atv_err *err)
{
	for (;;) {
		ssize_t n;

		if (b->len == b->cap) {
			size_t want = b->max - b->len;

			if (want == 0)
				return atv_err_set(err, ATV_E_CREDFILE,
						   "%s %s is larger than %u bytes", LABEL, path,
						   ATV_CREDS_MAX_FILE);
			if (atv_buf_reserve(b, want < 65536 ? want : 65536, NULL) < 0)
				return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		}
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return atv_err_sys(err, ATV_E_IO, errno, "unable to read %s %s", LABEL,
					   path);
		if (n == 0)
			return 0;
		b->len += (size_t)n;
	}
}

int atv_creds_load(const char *path, struct atv_creds *c, struct atv_err *err)
{
	struct atv_buf b;
	char label[PATH_MAX + sizeof LABEL + 1];
	int fd, r;

	memset(c, 0, sizeof *c);
	atv_buf_init(&b, ATV_CREDS_MAX_FILE + 1);
	/* O_NONBLOCK: a FIFO planted at the path must not hang us */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return open_error(LABEL, path, err);
	}
	if ((r = check_stat(fd, LABEL, path, err)) < 0 || (r = read_capped(fd, path, &b, err)) < 0)
		goto out;
	snprintf(label, sizeof label, "%s %s", LABEL, path);
	r = parse_named(b.data, b.len, c, label, err);
out:
	close(fd);
	atv_buf_release(&b);
	return r;
}

/* ---- updating ---- */

/* mkdir -p dir; only directories made here get 0700, existing ones are
 * left alone. */
static int mkdirs(const char *dir, struct atv_err *err)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof p)
		return atv_err_set(err, ATV_E_CREDFILE, "credentials file name is too long");
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		if (p[i - 1] == '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return atv_err_sys(err, ATV_E_IO, errno, "unable to create directory %s",
					   p);
		p[i] = dir[i];
	}
	return 0;
}

/* Under the lock no other writer has a temp file: any "<file>.tmp.XXXXXX"
 * of ours is left over from a writer that died, and holds secrets. */
static void remove_stale(const char *dir, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t blen;
	struct dirent *de;
	DIR *d;
	int dfd;

	base = base ? base + 1 : path;
	blen = strlen(base);
	if (!(d = opendir(dir)))
		return;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		struct stat st;

		if (strlen(n) != blen + strlen(ATV_ATOMIC_TMP_SUFFIX) + ATV_ATOMIC_TMP_RANDOM ||
		    strncmp(n, base, blen) != 0 ||
		    strncmp(n + blen, ATV_ATOMIC_TMP_SUFFIX, strlen(ATV_ATOMIC_TMP_SUFFIX)) != 0)
			continue;
		if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid() || (st.st_mode & 077))
			continue;
		unlinkat(dfd, n, 0);
	}
	closedir(d);
}

/* Write b to a temp file beside path and rename it over path; the test
 * hook runs half way, with a half-written temp file on disk. */
static int replace_file(const char *path, const struct atv_buf *b, struct atv_err *err)
{
	struct atv_atomic a;
	size_t half = b->len / 2;
	int r;

	if ((r = atv_atomic_open(&a, path, 0600, err)) < 0)
		return r;
	r = atv_atomic_write(&a, b->data, half, err);
	if (r == 0 && test_hook)
		test_hook();
	if (r == 0)
		r = atv_atomic_write(&a, b->data + half, b->len - half, err);
	if (r < 0) {
		atv_atomic_abort(&a);
		return r;
	}
	return atv_atomic_commit(&a, err);
}


/* Take the exclusive lock on fd, waiting at most timeout_ms (< 0: as long
 * as it takes).  flock has no timeout of its own: poll with LOCK_NB,
 * pausing 1, 2, 4 ... up to 50 ms between tries. */
static int lock_wait(int fd, const char *lock, int timeout_ms, struct atv_err *err)
{
	long long deadline = timeout_ms >= 0 ? atv_clock_ms() + timeout_ms : -1;
	long pause_ms = 1;

	for (;;) {
		long long left;
		struct timespec ts;

		if (flock(fd, timeout_ms >= 0 ? LOCK_EX | LOCK_NB : LOCK_EX) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return atv_err_sys(err, ATV_E_IO, errno, "unable to lock %s", lock);
		left = deadline - atv_clock_ms();
		if (left <= 0)
			return atv_err_set(err, ATV_E_IO,
					   "timed out after %d ms waiting for the lock %s "
					   "(held by another writer)",
					   timeout_ms, lock);
		if (pause_ms > left)
			pause_ms = (long)left;
		ts.tv_sec = 0;
		ts.tv_nsec = pause_ms * 1000000L;
		nanosleep(&ts, NULL);
		if (pause_ms < 50)
			pause_ms = pause_ms * 2 > 50 ? 50 : pause_ms * 2;
	}
}

/* Store add, or remove (rm_id, rm_protocol), under the lock. */
static int update(const char *path, const struct atv_cred_entry *add, const char *rm_id,
		  const char *rm_protocol, int timeout_ms, struct atv_err *err)
{
	char dir[PATH_MAX], lock[PATH_MAX];
	struct atv_creds c = {0};
	struct atv_cred_entry e = {0};
	struct atv_creds check = {0};
	struct atv_buf out;
	size_t cap;
	int lfd = -1, r;

	atv_buf_init(&out, ATV_CREDS_MAX_FILE);
	if (!path || !*path)
		return atv_err_set(err, ATV_E_CREDFILE, "empty credentials file name");
	if (atv_file_dir(path, dir, sizeof dir, NULL) < 0)
		return atv_err_set(err, ATV_E_CREDFILE, "credentials file name is too long");
	if ((size_t)snprintf(lock, sizeof lock, "%s.lock", path) >= sizeof lock)
		return atv_err_set(err, ATV_E_CREDFILE, "credentials file name is too long");
	if (add && (r = mkdirs(dir, err)) < 0)
		return r;

	lfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
	if (lfd < 0) {
		/* nothing to remove from a file whose directory does not exist */
		if (!add && errno == ENOENT)
			return 0;
		return open_error("lock file", lock, err);
	}
	if ((r = check_stat(lfd, "lock file", lock, err)) < 0)
		goto out;
	if ((r = lock_wait(lfd, lock, timeout_ms, err)) < 0)
		goto out;
	/* a file we cannot read is never overwritten: its pairings would be lost */
	if ((r = atv_creds_load(path, &c, err)) < 0)
		goto out;
	cap = c.n;
	if (add) {
		char now[32];

		if (!(e.identifier = strdup(add->identifier)) ||
		    !(e.protocol = strdup(add->protocol)) ||
		    !(e.credentials = strdup(add->credentials)) ||
		    (add->name && !(e.name = strdup(add->name))) ||
		    (add->paired && !(e.paired = strdup(add->paired))) ||
		    (add->extra && !(e.extra = json_deep_copy(add->extra)))) {
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
			goto out;
		}
		if (!e.paired) {
			atv_iso8601(now, sizeof now, (long long)time(NULL));
			if (!(e.paired = strdup(now))) {
				r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
				goto out;
			}
		}
		if ((r = set_put(&c, &cap, &e, err)) < 0)
			goto out;
	} else {
		long i = find_idx(&c, rm_id, rm_protocol);

		if (i < 0)
			goto out;
		atv_cred_entry_release(&c.e[i]);
		memmove(&c.e[i], &c.e[i + 1], (c.n - (size_t)i - 1) * sizeof c.e[0]);
		c.n--;
	}
	if ((r = atv_creds_format(&c, &out, err)) < 0) {
		if (r == -ATV_E_LIMIT)
			r = atv_err_set(err, ATV_E_CREDFILE, "%s %s would be larger than %u bytes",
					LABEL, path, ATV_CREDS_MAX_FILE);
		goto out;
	}
	/* never write what the next reader would refuse */
	if ((r = atv_creds_parse(out.data, out.len, &check, err)) < 0) {
		atv_err_prefix(err, "refusing to write %s", path);
		goto out;
	}
	remove_stale(dir, path);
	r = replace_file(path, &out, err);
out:
	atv_creds_release(&check);
	atv_cred_entry_release(&e);
	atv_creds_release(&c);
	atv_buf_release(&out);
	/* closing the descriptor releases the lock; the lock file stays, as
	 * unlinking it would let two writers lock different inodes */
	if (lfd >= 0)
		close(lfd);
	return r;
}

int atv_creds_store(const char *path, const struct atv_cred_entry *e, int timeout_ms,
		    struct atv_err *err)
{
	int r = entry_check(e, err);

	if (r < 0)
		return r;
	return update(path, e, NULL, NULL, timeout_ms, err);
}

int atv_creds_remove(const char *path, const char *identifier, const char *protocol,
		     int timeout_ms, struct atv_err *err)
{
	if (!identifier || !protocol)
		return atv_err_set(err, ATV_E_USAGE, "no identifier or protocol to remove");
	return update(path, NULL, identifier, protocol, timeout_ms, err);
}
