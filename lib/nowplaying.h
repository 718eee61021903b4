/* nowplaying.h - what is playing, whatever the protocol said it: the
 * fields of atvscript's "playing" object, its JSON form and its hash.
 *
 * Each protocol fills a struct atv_nowplaying from its own state (MRP
 * from its player cache, DMAP from a cmst) and hands it here, so the
 * object and the hash users may store are made in one place. */
#ifndef ATV_NOWPLAYING_H
#define ATV_NOWPLAYING_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Strings are borrowed (NULL: absent; "" is kept as "") and need not be
 * valid UTF-8: the JSON shows bytes that are not as U+FFFD. */
struct atv_nowplaying {
	const char *media_type;	  /* "unknown", "music", "video" or "tv" */
	const char *device_state; /* "idle", "playing", "paused", "stopped", ... */
	const char *title, *artist, *album, *genre;
	long long total_time; /* whole seconds, -1: absent */
	long long position;   /* whole seconds, -1: absent */
	const char *shuffle;  /* "off", "songs" or "albums" */
	const char *repeat;   /* "off", "track" or "all" */
	const char *series_name;
	bool has_season, has_episode;
	int32_t season, episode;
	const char *content_id;
	const char *app, *app_id;
};

/* pyatv's default hash: the SHA-256 (lower-case hex) of title, artist,
 * album and total_time printed one after the other, an absent one printed
 * as "None" (Python's f"{title}{artist}{album}{total_time}").  The JSON's
 * "hash" is the content identifier instead when there is one (not ""), as
 * pyatv's MRP hash.  Users store it, so it never changes for the same
 * fields.  out is "" when out of memory. */
void atv_nowplaying_hash(const struct atv_nowplaying *np, char out[65]);

/* The "playing" object with atvscript's fields, in this order:
 * media_type, device_state, title, artist, album, genre, total_time,
 * position, shuffle, repeat, series_name, season_number, episode_number,
 * content_identifier, app, app_id, hash.  Absent data is null; 0 and ""
 * are kept.  A new object (the caller json_decref()s it), or NULL when
 * out of memory. */
json_t *atv_nowplaying_json(const struct atv_nowplaying *np);

/* A JSON string of text a device sent: bytes that are not UTF-8 (peers
 * send what they like) become U+FFFD so the line stays valid JSON; JSON
 * null for NULL.  A new reference, or NULL when out of memory. */
json_t *atv_nowplaying_str(const char *s);

#endif
