/* test-apinfo - facts from _airplay._tcp TXT records: the fake devices'
 * records, feature and flag syntax, pairing requirement, password,
 * transient pairing, case-insensitive keys (cmocka). */
#include "config.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airplay_info.h"
#include "devconf.h"

/* A properties object from "key", "value", ..., NULL. */
static json_t *props(const char *k, ...)
{
	json_t *o = json_object();
	va_list ap;

	assert_non_null(o);
	va_start(ap, k);
	for (; k; k = va_arg(ap, const char *))
		assert_int_equal(json_object_set_new(o, k, json_string(va_arg(ap, const char *))), 0);
	va_end(ap);
	return o;
}

/* Parse properties built from the arguments; expect success.  The object
 * is gone afterwards: ai.pairing_id and ai.public_key must not be used. */
#define PARSE_OK(ai, ...)                                                                  \
	do {                                                                               \
		json_t *p_ = props(__VA_ARGS__, NULL);                                     \
		struct atv_err e_ = {0};                                                   \
		assert_int_equal(atv_airplay_info_parse(p_, (ai), &e_), 0);                \
		json_decref(p_);                                                           \
	} while (0)

/* Expect -ATV_E_INPUT with a message naming key. */
static void expect_bad(const char *key, const char *value)
{
	json_t *p = props(key, value, NULL);
	struct atv_airplay_info ai;
	struct atv_err e = {0};
	char quoted[32];

	assert_int_equal(atv_airplay_info_parse(p, &ai, &e), -ATV_E_INPUT);
	snprintf(quoted, sizeof quoted, "\"%s\"", key);
	if (!strstr(e.msg, quoted))
		fail_msg("%s=%s: message \"%s\" does not name the key", key, value, e.msg);
	json_decref(p);
}

/* Every value of a NULL-ended list must be -ATV_E_INPUT naming key. */
static void expect_all_bad(const char *key, const char *const *values)
{
	for (; *values; values++)
		expect_bad(key, *values);
}

/* The TXT record of the fake device's _airplay._tcp service. */
static json_t *fake_txt(const char *device)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	json_error_t je;
	json_t *d, *svc, *txt = NULL;
	size_t i;

	if (!top)
		top = ".";
	snprintf(path, sizeof path, "%s/t/fake-atv/devices/%s.json", top, device);
	d = json_load_file(path, 0, &je);
	if (!d)
		fail_msg("%s: %s (set top_srcdir)", path, je.text);
	json_array_foreach(json_object_get(d, "services"), i, svc)
	{
		if (strcmp(json_string_value(json_object_get(svc, "type")), "_airplay._tcp") == 0)
			txt = json_incref(json_object_get(svc, "txt"));
	}
	json_decref(d);
	assert_non_null(txt);
	return txt;
}

/* What a fake device's whole record must say; a NULL pairing_id or
 * public_key is not checked. */
struct fake_want {
	const char *device;
	uint64_t features;
	uint32_t flags;
	int version;
	bool hap, transient, password;
	enum atv_airplay_pairing_req pairing;
	const char *pairing_id, *public_key;
};

/* clang-format off */
static const struct fake_want fakes[] = {
	/* AppleTV6,2: features 0x4A7FDFD5,0xBC157FDE, flags 0x244 (0x200:
	 * legacy pairing) */
	{"livingroom", UINT64_C(0xBC157FDE4A7FDFD5), 0x244, 2, true, true, false,
	 ATV_AP_PAIRING_MANDATORY, "C1D2E3F4-0A1B-4C2D-8E3F-405162738495",
	 "4f1a0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7"},
	/* AppleTV3,2: features 0x5A7FFFF7,0x1E, flags 0x44: AirPlay 1 */
	{"kitchen", UINT64_C(0x0000001E5A7FFFF7), 0x44, 1, false, false, false,
	 ATV_AP_PAIRING_NOT_NEEDED, "B5A49382-7160-4F5E-8D7C-6B5A49382716", NULL},
	/* AppleTV11,1: features 0x4A7FDFD5,0xBC177FDE, flags 0x244 */
	{"bedroom", UINT64_C(0xBC177FDE4A7FDFD5), 0x244, 2, true, true, false,
	 ATV_AP_PAIRING_MANDATORY, NULL, NULL},
};
/* clang-format on */

/* The bits airplay_info.h names; each must read as the features say. */
static const unsigned named_bits[] = {
    ATV_AP_FEAT_VIDEO_V1,   ATV_AP_FEAT_UNIFIED_MEDIA_CONTROL, ATV_AP_FEAT_SYSTEM_PAIRING,
    ATV_AP_FEAT_HK_PAIRING, ATV_AP_FEAT_COREUTILS_PAIRING,
};

/* Parse a fake device's TXT record (the state: its fakes[] entry) and
 * compare all of it. */
static void test_fake(void **state)
{
	const struct fake_want *w = *state;
	json_t *txt = fake_txt(w->device);
	struct atv_airplay_info ai;
	struct atv_err e = {0};

	if (atv_airplay_info_parse(txt, &ai, &e) != 0)
		fail_msg("%s: %s", w->device, e.msg);
	assert_true(ai.has_features);
	assert_true(ai.features == w->features);
	assert_true(ai.has_flags);
	assert_int_equal(ai.flags, w->flags);
	assert_int_equal(ai.version, w->version);
	assert_int_equal(ai.hap, w->hap);
	assert_int_equal(ai.transient, w->transient);
	for (size_t i = 0; i < sizeof named_bits / sizeof named_bits[0]; i++)
		assert_int_equal(atv_airplay_has_feature(&ai, named_bits[i]),
				 (w->features >> named_bits[i]) & 1);
	assert_int_equal(ai.pairing, w->pairing);
	assert_int_equal(ai.password, w->password);
	if (w->pairing_id)
		assert_string_equal(ai.pairing_id, w->pairing_id);
	if (w->public_key)
		assert_string_equal(ai.public_key, w->public_key);
	json_decref(txt);
}

/* A record of key=value alone that must parse, and the features (key
 * "features" or "ft") or flags (any other key) it gives. */
struct good {
	const char *key, *value;
	uint64_t want;
};

static void expect_all_good(const struct good *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct atv_airplay_info ai;
		uint64_t got;
		bool has;

		PARSE_OK(&ai, g[i].key, g[i].value);
		if (strcmp(g[i].key, "features") == 0 || strcmp(g[i].key, "ft") == 0) {
			has = ai.has_features;
			got = ai.features;
		} else {
			has = ai.has_flags;
			got = ai.flags;
		}
		if (!has || got != g[i].want)
			fail_msg("%s=%s: has %d, 0x%" PRIx64 ", want 0x%" PRIx64, g[i].key,
				 g[i].value, has, got, g[i].want);
	}
}

static void test_features_syntax(void **state)
{
	static const struct good good[] = {
	    /* 32 bits only: the upper half is 0 */
	    {"features", "0x5A7FFFF7", UINT64_C(0x5A7FFFF7)},
	    {"features", "0x1", 1},
	    {"features", "0xffffffff,0xffffffff", UINT64_MAX},
	    {"features", "0x00000000,0x1", UINT64_C(1) << 32},
	};
	/* "0x123456789": 9 digits */
	static const char *const bad[] = {
	    "0x",   "0xZZ",   "5A7FFFF7", "0x123456789", "0x1,0x123456789",
	    "0x1,", "0x1,0x", "0x1,1E",	  "0x1,0x2,0x3", "0x1 ",
	    " 0x1", "-0x1",   "0x1;0x2",  NULL};
	struct atv_airplay_info ai;

	(void)state;
	expect_all_good(good, sizeof good / sizeof good[0]);
	PARSE_OK(&ai, "features", "0x5A7FFFF7");
	assert_int_equal(ai.version, 1);
	PARSE_OK(&ai, "features", "0xffffffff,0xffffffff");
	assert_true(atv_airplay_has_feature(&ai, 63));
	assert_false(atv_airplay_has_feature(&ai, 64));
	assert_false(atv_airplay_has_feature(&ai, 1000));
	expect_all_bad("features", bad);
	expect_bad("ft", "0xG");
}

static void test_flags_syntax(void **state)
{
	static const struct good good[] = {
	    {"flags", "0x244", 0x244},
	    /* Python's int(s, 16) takes it without "0x" and with leading zeros */
	    {"flags", "244", 0x244},
	    {"flags", "0x0000000000044", 0x44},
	    {"flags", "0xFFFFFFFF", 0xFFFFFFFF},
	};
	/* "0x100000000": past 32 bits */
	static const char *const bad[] = {"0x100000000", "0x", "0xG", "0x44 ", "0x44,0x1", NULL};

	(void)state;
	expect_all_good(good, sizeof good / sizeof good[0]);
	expect_all_bad("flags", bad);
	expect_bad("sf", "yes");
}

static void test_missing(void **state)
{
	struct atv_airplay_info ai;
	struct atv_err e = {0};
	json_t *empty = json_object();

	(void)state;
	assert_int_equal(atv_airplay_info_parse(NULL, &ai, &e), 0);
	assert_false(ai.has_features);
	assert_false(ai.has_flags);
	assert_int_equal(ai.version, 1);
	assert_false(ai.hap);
	assert_false(ai.transient);
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_NOT_NEEDED);
	assert_false(ai.password);
	assert_null(ai.pairing_id);
	assert_null(ai.public_key);
	assert_int_equal(atv_airplay_info_parse(empty, &ai, &e), 0);
	assert_false(ai.has_features);
	json_decref(empty);

	/* an empty value counts as absent (pyatv's `a or b`) */
	PARSE_OK(&ai, "features", "", "flags", "");
	assert_false(ai.has_features);
	assert_false(ai.has_flags);

	/* no features, but flags: still AirPlay 1, pairing by the flags */
	PARSE_OK(&ai, "flags", "0x8");
	assert_int_equal(ai.version, 1);
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_MANDATORY);
}

static void test_not_a_string(void **state)
{
	json_t *p = json_pack("{s:i}", "features", 12);
	json_t *arr = json_array();
	struct atv_airplay_info ai;
	struct atv_err e = {0};

	(void)state;
	assert_int_equal(atv_airplay_info_parse(p, &ai, &e), -ATV_E_INPUT);
	assert_non_null(strstr(e.msg, "\"features\""));
	json_decref(p);
	assert_int_equal(atv_airplay_info_parse(arr, &ai, &e), -ATV_E_INPUT);
	json_decref(arr);
	/* an optional string of the wrong type is just absent */
	p = json_pack("{s:i,s:b}", "pi", 1, "pw", 1);
	assert_int_equal(atv_airplay_info_parse(p, &ai, &e), 0);
	assert_null(ai.pairing_id);
	assert_false(ai.password);
	json_decref(p);
}

static const char *const pairing_names[] = {
    [ATV_AP_PAIRING_NOT_NEEDED] = "not_needed",	  [ATV_AP_PAIRING_OPTIONAL] = "optional",
    [ATV_AP_PAIRING_MANDATORY] = "mandatory",	  [ATV_AP_PAIRING_DISABLED] = "disabled",
    [ATV_AP_PAIRING_UNSUPPORTED] = "unsupported",
};

/* A record of one or two keys (kv[2] may be NULL), and the pairing
 * requirement and password it must give. */
struct rec {
	const char *kv[4];
	enum atv_airplay_pairing_req pairing;
	bool password;
};

static void expect_recs(const struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct atv_airplay_info ai;

		PARSE_OK(&ai, r[i].kv[0], r[i].kv[1], r[i].kv[2], r[i].kv[3]);
		if (ai.pairing != r[i].pairing || ai.password != r[i].password)
			fail_msg("case %zu (%s=%s): %s password %d, want %s password %d", i,
				 r[i].kv[0], r[i].kv[1], pairing_names[ai.pairing], ai.password,
				 pairing_names[r[i].pairing], r[i].password);
	}
}

static void test_pairing(void **state)
{
	static const struct rec cases[] = {
	    /* flags 0x8 (PIN required) or 0x200 (legacy pairing) */
	    {{"flags", "0x8"}, ATV_AP_PAIRING_MANDATORY, false},
	    {{"flags", "0x200"}, ATV_AP_PAIRING_MANDATORY, false},
	    {{"flags", "0x44"}, ATV_AP_PAIRING_NOT_NEEDED, false},
	    /* acl=1 disables pairing whatever the flags say */
	    {{"acl", "1", "flags", "0x244"}, ATV_AP_PAIRING_DISABLED, false},
	    {{"acl", "0", "flags", "0x244"}, ATV_AP_PAIRING_MANDATORY, false},
	    {{"acl", "01"}, ATV_AP_PAIRING_NOT_NEEDED, false},
	    /* Macs (^Mac\d+,\d+$) are unsupported, before the flags */
	    {{"model", "Mac14,3", "flags", "0x8"}, ATV_AP_PAIRING_UNSUPPORTED, false},
	    {{"model", "MacBookPro18,1"}, ATV_AP_PAIRING_NOT_NEEDED, false},
	    {{"model", "Mac14,"}, ATV_AP_PAIRING_NOT_NEEDED, false},
	    /* act=2 ("current user") is unsupported, after the flags */
	    {{"act", "2"}, ATV_AP_PAIRING_UNSUPPORTED, false},
	    {{"act", "2", "flags", "0x200"}, ATV_AP_PAIRING_MANDATORY, false},
	};

	(void)state;
	expect_recs(cases, sizeof cases / sizeof cases[0]);
	for (size_t p = 0; p < sizeof pairing_names / sizeof pairing_names[0]; p++)
		assert_string_equal(atv_airplay_pairing_name(p), pairing_names[p]);
}

static void test_password(void **state)
{
	/* pw=true (any case) or 1, or flags 0x80, and the password flag says
	 * nothing about pairing */
	enum atv_airplay_pairing_req none = ATV_AP_PAIRING_NOT_NEEDED;
	/* clang-format off */
	const struct rec cases[] = {
	    {{"pw", "true"}, none, true},  {{"pw", "TRUE"}, none, true},
	    {{"pw", "1"}, none, true},     {{"pw", "false"}, none, false},
	    {{"pw", "yes"}, none, false},  {{"flags", "0x80"}, none, true},
	    {{"sf", "0x84", "pw", "false"}, none, true},
	};
	/* clang-format on */

	(void)state;
	expect_recs(cases, sizeof cases / sizeof cases[0]);
}

static void test_case_insensitive(void **state)
{
	json_t *p = props("Features", "0x4A7FDFD5,0xBC157FDE", "FLAGS", "0x244", "PI", "abc", "Pk",
			  "def", NULL);
	struct atv_airplay_info ai;
	struct atv_err e = {0};

	(void)state;
	assert_int_equal(atv_airplay_info_parse(p, &ai, &e), 0);
	assert_true(ai.features == UINT64_C(0xBC157FDE4A7FDFD5));
	assert_int_equal(ai.flags, 0x244);
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_MANDATORY);
	/* pi and pk are borrowed from the object: valid while it lives */
	assert_string_equal(ai.pairing_id, "abc");
	assert_string_equal(ai.public_key, "def");
	json_decref(p);
	PARSE_OK(&ai, "ACL", "1", "PW", "True");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_DISABLED);
	assert_true(ai.password);
	expect_bad("FeAtUrEs", "junk");
}

static void test_key_precedence(void **state)
{
	struct atv_airplay_info ai;

	(void)state;
	/* RAOP's names: ft for features, sf for flags */
	PARSE_OK(&ai, "ft", "0x4A7FDFD5,0xBC157FDE", "sf", "0x4");
	assert_true(ai.has_features);
	assert_int_equal(ai.version, 2);
	assert_int_equal(ai.flags, 0x4);
	/* features before ft; sf before flags (pyatv's order) */
	PARSE_OK(&ai, "features", "0x1", "ft", "0x2");
	assert_true(ai.features == 1);
	PARSE_OK(&ai, "features", "", "ft", "0x2");
	assert_true(ai.features == 2);
	PARSE_OK(&ai, "flags", "0x8", "sf", "0x4");
	assert_int_equal(ai.flags, 0x4);
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_NOT_NEEDED);
}

static void test_version_and_transient(void **state)
{
	static const struct {
		const char *features;
		int version;
		bool hap, transient;
	} cases[] = {
	    /* bit 38 alone: AirPlay 2 (HAP), but no transient pairing */
	    {"0x0,0x40", 2, true, false},
	    /* bit 48 alone: AirPlay 2 and transient */
	    {"0x0,0x10000", 2, true, true},
	    /* bit 43 alone: transient, yet AirPlay 1 */
	    {"0x0,0x800", 1, false, true},
	    /* bit 46 alone decides nothing */
	    {"0x0,0x4000", 1, false, false},
	    /* the same bits in the lower word are other features */
	    {"0x10840", 1, false, false},
	};
	struct atv_airplay_info ai;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		PARSE_OK(&ai, "features", cases[i].features);
		if (ai.version != cases[i].version || ai.hap != cases[i].hap ||
		    ai.transient != cases[i].transient)
			fail_msg("features=%s: version %d hap %d transient %d", cases[i].features,
				 ai.version, ai.hap, ai.transient);
	}
	PARSE_OK(&ai, "features", "0x0,0x4000");
	assert_true(atv_airplay_has_feature(&ai, ATV_AP_FEAT_HK_PAIRING));
}

/* A config as atv-scan writes it keeps the AirPlay members, in their
 * order, when a tool reads it and writes it back. */
static void test_config_roundtrip(void **state)
{
	static const char line[] =
	    "{\"name\":\"Living Room\",\"address\":\"127.0.0.1\","
	    "\"identifier\":\"AA:BB:CC:DD:EE:FF\",\"all_identifiers\":[\"AA:BB:CC:DD:EE:FF\"],"
	    "\"device_info\":{\"model\":null,\"operating_system\":null,\"version\":null,"
	    "\"build\":null,\"mac\":null},\"deep_sleep\":false,"
	    "\"services\":[{\"protocol\":\"airplay\",\"port\":7000,"
	    "\"identifier\":\"AA:BB:CC:DD:EE:FF\",\"credentials\":null,\"enabled\":true,"
	    "\"properties\":{\"features\":\"0x4A7FDFD5,0xBC157FDE\",\"flags\":\"0x244\"},"
	    "\"features\":\"0xBC157FDE4A7FDFD5\",\"airplay_version\":2,"
	    "\"pairing\":\"mandatory\",\"requires_password\":false,"
	    "\"pairing_identity\":null}]}";
	struct atv_device d;
	struct atv_err e = {0};
	json_t *j;
	char *out;

	(void)state;
	atv_device_init(&d);
	assert_int_equal(atv_device_parse(line, strlen(line), &d, &e), 0);
	j = atv_device_to_json(&d);
	assert_non_null(j);
	out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(out);
	assert_string_equal(out, line);
	free(out);
	json_decref(j);
	atv_device_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* one test a fake device, named after it */
	    {"test_fake_livingroom", test_fake, NULL, NULL, (void *)&fakes[0]},
	    {"test_fake_kitchen", test_fake, NULL, NULL, (void *)&fakes[1]},
	    {"test_fake_bedroom", test_fake, NULL, NULL, (void *)&fakes[2]},
	    cmocka_unit_test(test_features_syntax),
	    cmocka_unit_test(test_flags_syntax),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_not_a_string),
	    cmocka_unit_test(test_pairing),
	    cmocka_unit_test(test_password),
	    cmocka_unit_test(test_case_insensitive),
	    cmocka_unit_test(test_key_precedence),
	    cmocka_unit_test(test_version_and_transient),
	    cmocka_unit_test(test_config_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
