/* test-nowplaying - the protocol-neutral "playing" object and its hash
 * (cmocka).  The hash values are pyatv's (users store them): they must
 * never change. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nowplaying.h"

static void hash_of(const char *title, const char *artist, const char *album, long long total,
		    const char *want)
{
	struct atv_nowplaying np = {
	    .title = title, .artist = artist, .album = album, .total_time = total};
	char h[65];

	atv_nowplaying_hash(&np, h);
	assert_string_equal(h, want);
}

static void test_hash(void **state)
{
	char t[1001];

	(void)state;
	hash_of("Song", "Artist", "Album", 200,
		"aec3f112a35d2e2c5bc4f80e883f280d92938e4c77815b565be86772a6733189");
	hash_of("Song", NULL, NULL, -1,
		"105f657890c321e822a0acabd376acaae55eb3eac343dc4a7309376d8db74333");
	/* SHA-256 padding around the block end: 56, 59 and 1000 bytes */
	memset(t, 'x', sizeof t);
	t[55] = 0;
	hash_of(t, "", "", -1, "209021ff3f1f299976343b26398bd8e87793783996b4d30a69f87de3ce02b406");
	t[55] = 'x';
	t[52] = 0;
	hash_of(t, "", "", -1, "b8574fb2486af6c5b92d1c42122638cd67192be093a913273a4e69ad658f270f");
	t[52] = 'x';
	t[996] = 0;
	hash_of(t, "", "", -1, "0873a644d7367f6743e85398332bf9768caa6e2d9c64010212f461fd7ad36b8e");
}

static char *dump(const struct atv_nowplaying *np)
{
	json_t *o = atv_nowplaying_json(np);
	char *s;

	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_non_null(s);
	return s;
}

static void test_json(void **state)
{
	struct atv_nowplaying np = {
	    .media_type = "music", .device_state = "playing", .title = "Song",
	    .artist = "Art\xff", .album = "", .total_time = 0, .position = -1,
	    .shuffle = "off", .repeat = "all", .has_episode = true, .episode = 0,
	    .app = "Music", .app_id = "com.apple.TVMusic"};
	char *s;

	(void)state;
	/* every field in atvscript's order; absent null, 0 and "" kept, bytes
	 * that are not UTF-8 as U+FFFD, the default hash of the raw bytes
	 * (python3: sha256(b"SongArt\xff0")) */
	s = dump(&np);
	assert_string_equal(
	    s, "{\"media_type\":\"music\",\"device_state\":\"playing\",\"title\":\"Song\","
	       "\"artist\":\"Art\xef\xbf\xbd\",\"album\":\"\",\"genre\":null,\"total_time\":0,"
	       "\"position\":null,\"shuffle\":\"off\",\"repeat\":\"all\",\"series_name\":null,"
	       "\"season_number\":null,\"episode_number\":0,\"content_identifier\":null,"
	       "\"app\":\"Music\",\"app_id\":\"com.apple.TVMusic\",\"hash\":"
	       "\"6efe5d16a9a06db6adad7e06e1e8ffe3708ff9f1ea796847f484a26a4ff6b9f3\"}");
	free(s);
	/* a content identifier is the hash; "" is not */
	np.content_id = "id-42";
	s = dump(&np);
	assert_non_null(strstr(s, "\"content_identifier\":\"id-42\",\"app\""));
	assert_non_null(strstr(s, "\"hash\":\"id-42\"}"));
	free(s);
	np.content_id = "";
	s = dump(&np);
	assert_null(strstr(s, "\"hash\":\"\""));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
