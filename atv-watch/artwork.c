/* artwork.c - atv-watch --artwork: file names from the now-playing hash,
 * the bytes from the connection (atv_conn_artwork), written atomically. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artwork.h"
#include "atomic.h"
#include "log.h"

#define ARTWORK_MAX (8 * 1024 * 1024) /* as DMAP's nowplayingartwork cap */

/* A name safe as a file name: the hash with anything but [A-Za-z0-9._-]
 * replaced, never starting with a dot, at most 128 characters. */
static void file_name(const char *hash, char *out, size_t size)
{
	size_t i;

	for (i = 0; hash[i] && i + 1 < size && i < 128; i++) {
		char ch = hash[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && i);

		out[i] = ok ? ch : '_';
	}
	out[i] = 0;
}

/* The file for hash: a known one, or fetched now.  a->path is set when
 * there is one. */
static int find_or_fetch(struct atv_artwork_cache *a, struct atv_conn *c, const char *hash,
			 struct atv_err *err)
{
	char fname[160];
	struct atv_buf png;
	struct atv_err e = {0};
	size_t len;
	int r;

	file_name(hash, fname, sizeof fname);
	len = strlen(a->dir) + strlen(fname) + sizeof "/.png";
	if (!(a->path = malloc(len)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	snprintf(a->path, len, "%s/%s.png", a->dir, fname);
	if (access(a->path, F_OK) == 0)
		return 0;
	atv_buf_init(&png, ARTWORK_MAX);
	r = atv_conn_artwork(c, &png, &e);
	if (r == 0 && png.len)
		r = atv_file_write_atomic(a->path, png.data, png.len, 0644, err);
	else if (r < 0 && r != -ATV_E_UNREACHABLE)
		/* no artwork is not worth losing the session */
		atv_warn("no artwork from %s: %s", atv_conn_device_id(c), e.msg);
	/* a dropped connection: the loop hears it from atv_conn_process */
	if (r < 0 && r != -ATV_E_IO && r != -ATV_E_NOMEM)
		r = 0;
	if (r < 0 || !png.len) {
		free(a->path);
		a->path = NULL;
	}
	atv_buf_release(&png);
	return r;
}

int atv_artwork_add(struct atv_artwork_cache *a, struct atv_conn *c, json_t *ev,
		    struct atv_err *err)
{
	const char *hash = json_string_value(json_object_get(ev, "hash"));
	int r;

	if (!a->dir || !hash)
		return 0;
	if (!a->hash || strcmp(a->hash, hash) != 0) {
		atv_artwork_release(a);
		if (!(a->hash = strdup(hash)))
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		if ((r = find_or_fetch(a, c, hash, err)) < 0)
			return r;
	}
	if (a->path && json_object_set_new(ev, "artwork", json_string(a->path)) < 0)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

void atv_artwork_release(struct atv_artwork_cache *a)
{
	free(a->hash);
	free(a->path);
	a->hash = a->path = NULL;
}
