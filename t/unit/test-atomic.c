/* test-atomic - atomic file replacement (cmocka). */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic.h"
#include "err.h"

struct dir {
	char path[64];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof *d);

	if (!d)
		return -1;
	snprintf(d->path, sizeof d->path, "/tmp/test-atomic.XXXXXX");
	if (!mkdtemp(d->path)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	struct dirent *de;
	DIR *dh = opendir(d->path);
	char p[PATH_MAX];

	while (dh && (de = readdir(dh))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", d->path, de->d_name);
			unlink(p);
		}
	}
	if (dh)
		closedir(dh);
	rmdir(d->path);
	free(d);
	return 0;
}

/* Entries of dir other than . and .. */
static int entries(const char *dir)
{
	struct dirent *de;
	DIR *dh = opendir(dir);
	int n = 0;

	assert_non_null(dh);
	while ((de = readdir(dh)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(dh);
	return n;
}

static void slurp(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void test_write_replace_mode(void **state)
{
	struct dir *d = *state;
	struct atv_err err = {0};
	char path[PATH_MAX], got[64];
	struct stat st;

	snprintf(path, sizeof path, "%s/f", d->path);
	assert_int_equal(atv_file_write_atomic(path, "first\n", 6, 0644, &err), 0);
	slurp(path, got, sizeof got);
	assert_string_equal(got, "first\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* replacing keeps nothing of the old bytes and takes the new mode */
	assert_int_equal(atv_file_write_atomic(path, "2\n", 2, 0600, &err), 0);
	slurp(path, got, sizeof got);
	assert_string_equal(got, "2\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* no temp file is left behind */
	assert_int_equal(entries(d->path), 1);
}

static void test_pieces_and_abort(void **state)
{
	struct dir *d = *state;
	struct atv_err err = {0};
	struct atv_atomic a;
	char path[PATH_MAX], got[64];

	snprintf(path, sizeof path, "%s/f", d->path);
	assert_int_equal(atv_file_write_atomic(path, "old", 3, 0600, &err), 0);
	assert_int_equal(atv_atomic_open(&a, path, 0600, &err), 0);
	assert_int_equal(atv_atomic_write(&a, "ne", 2, &err), 0);
	/* half-written: the file itself is still the old one */
	slurp(path, got, sizeof got);
	assert_string_equal(got, "old");
	assert_int_equal(entries(d->path), 2);
	atv_atomic_abort(&a);
	atv_atomic_abort(&a);
	assert_int_equal(entries(d->path), 1);
	slurp(path, got, sizeof got);
	assert_string_equal(got, "old");

	assert_int_equal(atv_atomic_open(&a, path, 0600, &err), 0);
	assert_int_equal(atv_atomic_write(&a, "ne", 2, &err), 0);
	assert_int_equal(atv_atomic_write(&a, "w", 1, &err), 0);
	assert_int_equal(atv_atomic_commit(&a, &err), 0);
	slurp(path, got, sizeof got);
	assert_string_equal(got, "new");
	assert_int_equal(entries(d->path), 1);
}

static void test_failures(void **state)
{
	struct dir *d = *state;
	struct atv_err err = {0};
	char path[PATH_MAX], sub[256], longname[PATH_MAX + 16];

	/* no such directory */
	snprintf(path, sizeof path, "%s/missing/f", d->path);
	assert_int_equal(atv_file_write_atomic(path, "x", 1, 0600, &err), -ATV_E_IO);
	assert_non_null(strstr(err.msg, "unable to create a temporary file"));
	/* the target is a directory: rename fails, the temp file goes */
	snprintf(sub, sizeof sub, "%s/dir", d->path);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof path, "%s/sub", sub);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(atv_file_write_atomic(sub, "x", 1, 0600, &err), -ATV_E_IO);
	assert_non_null(strstr(err.msg, "unable to rename"));
	rmdir(path);
	rmdir(sub);
	assert_int_equal(entries(d->path), 0);
	/* names too long for the temp name, and empty ones */
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(atv_file_write_atomic(longname, "x", 1, 0600, &err), -ATV_E_IO);
	assert_int_equal(atv_file_write_atomic("", "x", 1, 0600, &err), -ATV_E_IO);
}

static void test_dir(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(atv_file_dir("name", out, sizeof out, NULL), 0);
	assert_string_equal(out, ".");
	assert_int_equal(atv_file_dir("/name", out, sizeof out, NULL), 0);
	assert_string_equal(out, "/");
	assert_int_equal(atv_file_dir("a/b/c", out, sizeof out, NULL), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(atv_file_dir("abcdefgh/c", out, sizeof out, NULL), -ATV_E_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_replace_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pieces_and_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test(test_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
