/* replay.c - run a fuzz target's LLVMFuzzerTestOneInput over saved inputs,
 * without libFuzzer: `fuzz-TARGET FILE|DIR...`.  Each file argument is one
 * input; a directory argument stands for every regular file inside it (in
 * name order, so runs are repeatable).  `make check` replays the seed
 * corpora under the sanitizers this way.  Shared by every fuzz target. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (16 * 1024 * 1024)

static const char *prog = "replay";

/* Read the whole file into an exact-size allocation, so that a read one
 * byte past the input is caught by ASan as it would be under libFuzzer. */
static int run_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL, *exact = NULL;
	size_t len = 0, cap = 0, got;
	int ret = -1;

	if (!f) {
		fprintf(stderr, "%s: unable to open %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *d;

			if (cap >= REPLAY_MAX_INPUT) {
				fprintf(stderr, "%s: %s: input over %d bytes\n", prog, path,
					REPLAY_MAX_INPUT);
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			d = realloc(data, cap);
			if (!d) {
				fprintf(stderr, "%s: out of memory\n", prog);
				goto out;
			}
			data = d;
		}
		got = fread(data + len, 1, cap - len, f);
		len += got;
	} while (got);
	if (ferror(f)) {
		fprintf(stderr, "%s: unable to read %s\n", prog, path);
		goto out;
	}
	exact = malloc(len ? len : 1);
	if (!exact) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (len)
		memcpy(exact, data, len);
	LLVMFuzzerTestOneInput(exact, len);
	(*count)++;
	ret = 0;
out:
	free(exact);
	free(data);
	fclose(f);
	return ret;
}

static int is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int run_dir(const char *dir, size_t *count)
{
	struct dirent **ents;
	int n, ret = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: unable to read %s: %s\n", prog, dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];

		if (ents[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name) < (int)sizeof path &&
		    is_regular(path) && run_file(path, count) < 0)
			ret = -1;
		free(ents[i]);
	}
	free(ents);
	return ret;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int status = 0;

	if (argc > 0 && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", prog);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: unable to stat %s: %s\n", prog, argv[i],
				strerror(errno));
			status = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) < 0)
				status = 1;
		} else if (run_file(argv[i], &count) < 0) {
			status = 1;
		}
	}
	printf("%s: %zu inputs ran\n", prog, count);
	return status;
}
