/* test-creds.c - the credentials file: parsing, lookup, atomic updates,
 * permission checks and filling a device config. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "creds.h"
#include "devconf.h"

struct tmp {
	char dir[64];
	char path[128];
};

static int parse_str(const char *s, struct atv_creds *c, struct atv_err *err)
{
	return atv_creds_parse((const uint8_t *)s, strlen(s), c, err);
}

static void write_file(const char *path, const char *s, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *read_all(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);

	assert_non_null(t);
	snprintf(t->dir, sizeof t->dir, "/tmp/test-creds.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/conf/atv/credentials", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void entry(struct atv_cred_entry *e, const char *id, const char *proto, const char *cred)
{
	memset(e, 0, sizeof *e);
	e->identifier = (char *)id;
	e->protocol = (char *)proto;
	e->credentials = (char *)cred;
}

static void test_parse_good(void **state)
{
	struct atv_creds c;
	struct atv_err err = {0};
	const char *in =
		"{\"identifier\":\"AA\",\"protocol\":\"mrp\",\"credentials\":\"c1\"}\n"
		"\n"
		"  \r\n"
		"{\"protocol\":\"dmap\",\"identifier\":\"BB\",\"credentials\":\"0x1\","
		"\"name\":\"Den\",\"paired\":\"2026-01-01T00:00:00Z\",\"future\":[1,{\"x\":null}]}"
		"\r\n"
		"{\"identifier\":\"aa\",\"protocol\":\"mrp\",\"credentials\":\"c2\",\"name\":null}";
	struct atv_buf out;

	(void)state;
	assert_int_equal(parse_str(in, &c, &err), 0);
	assert_int_equal(c.n, 2);
	/* the later line for (aa, mrp) replaced the first, in its place */
	assert_string_equal(c.e[0].identifier, "aa");
	assert_string_equal(c.e[0].credentials, "c2");
	assert_null(c.e[0].name);
	assert_null(c.e[0].extra);
	assert_string_equal(c.e[1].protocol, "dmap");
	assert_string_equal(c.e[1].name, "Den");
	assert_string_equal(c.e[1].paired, "2026-01-01T00:00:00Z");
	assert_non_null(json_object_get(c.e[1].extra, "future"));

	atv_buf_init(&out, 4096);
	assert_int_equal(atv_creds_format(&c, &out, &err), 0);
	assert_int_equal(atv_buf_append(&out, "", 1, NULL), 0);
	assert_string_equal((char *)out.data,
			    "{\"identifier\":\"aa\",\"protocol\":\"mrp\",\"credentials\":\"c2\"}\n"
			    "{\"identifier\":\"BB\",\"protocol\":\"dmap\",\"credentials\":\"0x1\","
			    "\"name\":\"Den\",\"paired\":\"2026-01-01T00:00:00Z\","
			    "\"future\":[1,{\"x\":null}]}\n");
	atv_buf_release(&out);
	atv_creds_release(&c);
	assert_int_equal(c.n, 0);
	assert_null(c.e);

	assert_int_equal(parse_str("", &c, &err), 0);
	assert_int_equal(c.n, 0);
	atv_creds_release(&c);
}

static void test_format_escapes(void **state)
{
	struct atv_creds c, back;
	struct atv_cred_entry e;
	struct atv_err err = {0};
	struct atv_buf out;

	(void)state;
	entry(&e, "id \"q\" \\ \n\t\x01 \xc3\xa9", "mrp", "x");
	e.extra = json_pack("{s:s,s:i}", "identifier", "dup", "k", 1);
	c.e = &e;
	c.n = 1;
	atv_buf_init(&out, 4096);
	assert_int_equal(atv_creds_format(&c, &out, &err), 0);
	assert_int_equal(atv_creds_parse(out.data, out.len, &back, &err), 0);
	assert_int_equal(back.n, 1);
	assert_string_equal(back.e[0].identifier, e.identifier);
	/* a known name among the extras is dropped, not duplicated */
	assert_int_equal(json_object_size(back.e[0].extra), 1);
	atv_creds_release(&back);
	json_decref(e.extra);
	atv_buf_release(&out);

	entry(&e, "id", "mrp", "bad \xff utf-8");
	atv_buf_init(&out, 4096);
	assert_int_equal(atv_creds_format(&c, &out, &err), -ATV_E_USAGE);
	atv_buf_release(&out);
}

static const struct {
	const char *in;
	const char *msg;
} bad[] = {
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"x\"}\n\n"
	 "{\"identifier\":\"b\",\"credentials\":\"TOPSECRET\"}\n",
	 "credentials file line 3: missing \"protocol\""},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\"}",
	 "credentials file line 1: missing \"credentials\""},
	{"{\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\"}", "line 1: missing \"identifier\""},
	{"{\"identifier\":1,\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\"}",
	 "line 1: \"identifier\" is not a string"},
	{"{\"identifier\":\"\",\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\"}",
	 "line 1: empty \"identifier\""},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\",\"name\":3}",
	 "line 1: \"name\" is not a string"},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\",\"paired\":{}}",
	 "line 1: \"paired\" is not a string"},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":[\"TOPSECRET\"]}",
	 "line 1: \"credentials\" is not a string"},
	{"[1,2]", "line 1: expected a JSON object"},
	{"\n{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET",
	 "line 2: invalid JSON at column"},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\xff\"}",
	 "line 1: invalid JSON"},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\\u0001\\ud800\"}",
	 "line 1: invalid JSON"},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\"} TOPSECRET",
	 "line 1: invalid JSON"},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"x\",\"credentials\":"
	 "\"TOPSECRET\"}",
	 "line 1: invalid JSON"},
	{"{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"TOPSECRET\"}\0",
	 "line 1: invalid JSON"},
};

static void test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct atv_creds c;
		struct atv_err err = {0};
		size_t len = strlen(bad[i].in) + (i == sizeof bad / sizeof bad[0] - 1);

		assert_int_equal(atv_creds_parse((const uint8_t *)bad[i].in, len, &c, &err),
				 -ATV_E_CREDFILE);
		assert_int_equal(err.code, ATV_E_CREDFILE);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i].msg);
		if (strstr(err.msg, "TOPSECRET"))
			fail_msg("case %zu: secret in \"%s\"", i, err.msg);
		assert_int_equal(c.n, 0);
		assert_null(c.e);
	}
}

#define LINE "{\"identifier\":\"%05d\",\"protocol\":\"mrp\",\"credentials\":\"x\"}\n"

static void test_parse_limits(void **state)
{
	size_t cap = (ATV_CREDS_MAX_ENTRIES + 1) * 64;
	char *p = malloc(cap), *q = p;
	struct atv_creds c;
	struct atv_err err = {0};

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < ATV_CREDS_MAX_ENTRIES; i++)
		q += sprintf(q, LINE, i);
	assert_int_equal(atv_creds_parse((uint8_t *)p, (size_t)(q - p), &c, &err), 0);
	assert_int_equal(c.n, ATV_CREDS_MAX_ENTRIES);
	atv_creds_release(&c);
	q += sprintf(q, LINE, 99999);
	assert_int_equal(atv_creds_parse((uint8_t *)p, (size_t)(q - p), &c, &err), -ATV_E_CREDFILE);
	assert_non_null(strstr(err.msg, "more than 4096 entries"));
	assert_int_equal(atv_creds_parse((uint8_t *)p, ATV_CREDS_MAX_FILE + 1, &c, &err),
			 -ATV_E_CREDFILE);
	assert_non_null(strstr(err.msg, "larger than"));
	free(p);
}

static void test_find(void **state)
{
	struct atv_creds c;
	struct atv_err err = {0};
	const char *ids[] = {"nope", NULL, "00:11:22:33:44:55", "uuid-1"};
	const struct atv_cred_entry *e;

	(void)state;
	assert_int_equal(
		parse_str("{\"identifier\":\"UUID-1\",\"protocol\":\"mrp\",\"credentials\":\"m\"}\n"
			  "{\"identifier\":\"00:11:22:33:44:55\",\"protocol\":\"airplay\","
			  "\"credentials\":\"a\"}\n",
			  &c, &err),
		0);
	e = atv_creds_find(&c, ids, 4, "mrp");
	assert_non_null(e);
	assert_string_equal(e->credentials, "m");
	e = atv_creds_find(&c, ids, 4, "airplay");
	assert_non_null(e);
	assert_string_equal(e->credentials, "a");
	assert_null(atv_creds_find(&c, ids, 4, "dmap"));
	assert_null(atv_creds_find(&c, ids, 2, "mrp"));
	atv_creds_release(&c);
}

static void test_store_roundtrip(void **state)
{
	struct tmp *t = *state;
	struct atv_cred_entry e;
	struct atv_creds c;
	struct atv_err err = {0};
	struct stat st;
	char sub[160];

	entry(&e, "AA:BB", "mrp", "one");
	e.name = (char *)"Living Room";
	assert_int_equal(atv_creds_store(t->path, &e, -1, &err), 0);
	entry(&e, "CC", "dmap", "0x0000000000000001");
	e.paired = (char *)"2025-05-05T05:05:05Z";
	e.extra = json_pack("{s:b}", "future", 1);
	assert_int_equal(atv_creds_store(t->path, &e, -1, &err), 0);
	json_decref(e.extra);
	/* replace, matching the identifier case-insensitively */
	entry(&e, "aa:bb", "mrp", "two");
	assert_int_equal(atv_creds_store(t->path, &e, -1, &err), 0);

	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(sub, sizeof sub, "%s/conf/atv", t->dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(sub, sizeof sub, "%s/conf", t->dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	assert_int_equal(atv_creds_load(t->path, &c, &err), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.e[0].identifier, "aa:bb");
	assert_string_equal(c.e[0].credentials, "two");
	assert_null(c.e[0].name);
	assert_non_null(c.e[0].paired);
	assert_int_equal(strlen(c.e[0].paired), 20);
	assert_string_equal(c.e[1].paired, "2025-05-05T05:05:05Z");
	assert_true(json_is_true(json_object_get(c.e[1].extra, "future")));
	atv_creds_release(&c);
	assert_non_null(strstr(read_all(t->path),
			       "{\"identifier\":\"CC\",\"protocol\":\"dmap\","
			       "\"credentials\":\"0x0000000000000001\","
			       "\"paired\":\"2025-05-05T05:05:05Z\",\"future\":true}\n"));

	assert_int_equal(atv_creds_remove(t->path, "AA:BB", "mrp", -1, &err), 0);
	assert_int_equal(atv_creds_remove(t->path, "AA:BB", "mrp", -1, &err), 0);
	assert_int_equal(atv_creds_remove(t->path, "CC", "mrp", -1, &err), 0);
	assert_int_equal(atv_creds_load(t->path, &c, &err), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.e[0].identifier, "CC");
	atv_creds_release(&c);
	assert_int_equal(atv_creds_remove(t->path, "CC", "dmap", -1, &err), 0);
	assert_string_equal(read_all(t->path), "");

	/* removing from a file that does not exist creates nothing */
	snprintf(sub, sizeof sub, "%s/none/credentials", t->dir);
	assert_int_equal(atv_creds_remove(sub, "CC", "dmap", -1, &err), 0);
	assert_int_equal(atv_creds_load(sub, &c, &err), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(stat(sub, &st), -1);

	entry(&e, "", "mrp", "x");
	assert_int_equal(atv_creds_store(t->path, &e, -1, &err), -ATV_E_USAGE);
}

static void test_permissions(void **state)
{
	struct tmp *t = *state;
	struct atv_cred_entry e;
	struct atv_creds c;
	struct atv_err err = {0};
	const char *good = "{\"identifier\":\"a\",\"protocol\":\"mrp\",\"credentials\":\"x\"}\n";
	char want[512];

	snprintf(t->path, sizeof t->path, "%s/credentials", t->dir);
	write_file(t->path, good, 0640);
	assert_int_equal(atv_creds_load(t->path, &c, &err), -ATV_E_CREDFILE);
	snprintf(want, sizeof want,
		 "credentials file %s is accessible by others (mode 0640); run chmod 600 %s",
		 t->path, t->path);
	assert_string_equal(err.msg, want);
	entry(&e, "b", "mrp", "y");
	assert_int_equal(atv_creds_store(t->path, &e, -1, &err), -ATV_E_CREDFILE);
	assert_string_equal(read_all(t->path), good);

	assert_int_equal(chmod(t->path, 0602), 0);
	assert_int_equal(atv_creds_load(t->path, &c, &err), -ATV_E_CREDFILE);
	assert_non_null(strstr(err.msg, "(mode 0602)"));

	/* a bad line: never overwritten */
	write_file(t->path, "{\"identifier\":\"a\"}\n", 0600);
	assert_int_equal(atv_creds_store(t->path, &e, -1, &err), -ATV_E_CREDFILE);
	assert_non_null(strstr(err.msg, "line 1: missing \"protocol\""));
	assert_non_null(strstr(err.msg, t->path));
	assert_string_equal(read_all(t->path), "{\"identifier\":\"a\"}\n");
}

static void test_symlink(void **state)
{
	struct tmp *t = *state;
	struct atv_cred_entry e;
	struct atv_creds c;
	struct atv_err err = {0};
	char real[160];

	snprintf(real, sizeof real, "%s/real", t->dir);
	snprintf(t->path, sizeof t->path, "%s/credentials", t->dir);
	write_file(real, "", 0600);
	assert_int_equal(symlink(real, t->path), 0);
	assert_int_equal(atv_creds_load(t->path, &c, &err), -ATV_E_CREDFILE);
	assert_non_null(strstr(err.msg, "symbolic link"));
	entry(&e, "b", "mrp", "y");
	assert_int_equal(atv_creds_store(t->path, &e, -1, &err), -ATV_E_CREDFILE);
	assert_string_equal(read_all(real), "");

	/* a directory is not a credentials file either */
	assert_int_equal(atv_creds_load(t->dir, &c, &err), -ATV_E_CREDFILE);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

static void test_fill(void **state)
{
	struct atv_device d;
	struct atv_creds c;
	struct atv_err err = {0};
	struct atv_service *s;

	(void)state;
	assert_int_equal(
		parse_str("{\"identifier\":\"uuid-1\",\"protocol\":\"mrp\",\"credentials\":\"m\"}\n"
			  "{\"identifier\":\"AA:BB\",\"protocol\":\"airplay\",\"credentials\":"
			  "\"a\"}\n"
			  "{\"identifier\":\"other\",\"protocol\":\"dmap\",\"credentials\":\"d\"}\n"
			  "{\"identifier\":\"svc-only\",\"protocol\":\"raop\",\"credentials\":"
			  "\"r\"}\n",
			  &c, &err),
		0);
	atv_device_init(&d);
	assert_int_equal(atv_device_add_id(&d, "UUID-1"), 0);
	assert_int_equal(atv_device_add_id(&d, "aa:bb"), 0);
	assert_non_null(s = atv_device_add_service(&d, "mrp"));
	assert_non_null(s = atv_device_add_service(&d, "airplay"));
	assert_int_equal(atv_strset(&s->credentials, "given"), 0);
	assert_non_null(s = atv_device_add_service(&d, "dmap"));
	assert_non_null(s = atv_device_add_service(&d, "raop"));
	assert_int_equal(atv_strset(&s->identifier, "SVC-ONLY"), 0);

	assert_int_equal(atv_creds_fill(&c, &d), 0);
	assert_string_equal(atv_device_service(&d, "mrp")->credentials, "m");
	assert_string_equal(atv_device_service(&d, "airplay")->credentials, "given");
	assert_null(atv_device_service(&d, "dmap")->credentials);
	assert_string_equal(atv_device_service(&d, "raop")->credentials, "r");
	atv_device_release(&d);
	atv_creds_release(&c);
}

static void test_path(void **state)
{
	char p[64];
	struct atv_err err = {0};

	(void)state;
	setenv("ATV_CREDENTIALS", "/x/creds", 1);
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(atv_creds_path("rel/file", p, sizeof p, &err), 0);
	assert_string_equal(p, "rel/file");
	assert_int_equal(atv_creds_path("", p, sizeof p, &err), -ATV_E_CREDFILE);
	assert_int_equal(atv_creds_path(NULL, p, sizeof p, &err), 0);
	assert_string_equal(p, "/x/creds");
	setenv("ATV_CREDENTIALS", "", 1);
	assert_int_equal(atv_creds_path(NULL, p, sizeof p, &err), 0);
	assert_string_equal(p, "/xdg/atv/credentials");
	setenv("XDG_CONFIG_HOME", "relative", 1);
	assert_int_equal(atv_creds_path(NULL, p, sizeof p, &err), 0);
	assert_string_equal(p, "/home/u/.config/atv/credentials");
	unsetenv("HOME");
	assert_int_equal(atv_creds_path(NULL, p, sizeof p, &err), -ATV_E_CREDFILE);
	setenv("HOME", "/a-very-long-home-directory-name-that-does-not-fit", 1);
	assert_int_equal(atv_creds_path(NULL, p, sizeof p, &err), -ATV_E_CREDFILE);
	assert_non_null(strstr(err.msg, "too long"));
}

/* A writer stuck holding the lock: the wait ends at the timeout. */
static void test_lock_timeout(void **state)
{
	struct tmp *t = *state;
	struct atv_cred_entry e;
	struct atv_err err = {0};
	struct timespec t0, t1;
	char lock[160];
	long ms;
	int fd;

	entry(&e, "AA:BB", "mrp", "one");
	assert_int_equal(atv_creds_store(t->path, &e, -1, &err), 0);
	snprintf(lock, sizeof lock, "%s.lock", t->path);
	fd = open(lock, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(atv_creds_store(t->path, &e, 200, &err), -ATV_E_IO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 190 && ms < 1500);
	assert_non_null(strstr(err.msg, "timed out"));
	assert_int_equal(atv_creds_remove(t->path, "AA:BB", "mrp", 50, &err), -ATV_E_IO);
	/* once it is free, the next update goes through */
	close(fd);
	assert_int_equal(atv_creds_store(t->path, &e, 200, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_format_escapes),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_find),
		cmocka_unit_test_setup_teardown(test_store_roundtrip, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_permissions, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_symlink, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_lock_timeout, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
