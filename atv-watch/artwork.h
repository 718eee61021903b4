/* artwork.h - atv-watch --artwork DIR: the image of what plays, saved once
 * per item as DIR/HASH.png and named in the "playing" event. */
#ifndef ATV_WATCH_ARTWORK_H
#define ATV_WATCH_ARTWORK_H

#include <jansson.h>

#include "conn.h"

struct atv_artwork_cache {
	const char *dir; /* NULL: no artwork */
	char *hash;	 /* the item the last event was about */
	char *path;	 /* its file, NULL when the device had none */
};

/* Add "artwork": PATH to a "playing" event ev of c, fetching and writing
 * the file when the item is new to us and the file is not there yet.  A
 * device without artwork, or one that fails to send it, leaves the event
 * as it is (a warning says why); 0, or -ATV_E_IO/-ATV_E_NOMEM. */
int atv_artwork_add(struct atv_artwork_cache *a, struct atv_conn *c, json_t *ev,
		    struct atv_err *err);

/* Forget the last item (frees what the cache holds). */
void atv_artwork_release(struct atv_artwork_cache *a);

#endif
