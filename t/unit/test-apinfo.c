/* test-apinfo - facts from _airplay._tcp TXT records: the fake devices'
 * records, feature and flag syntax, pairing requirement, password,
 * transient pairing, case-insensitive keys (cmocka). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apinfo.h"
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

static void test_fake_livingroom(void **state)
{
	json_t *txt = fake_txt("livingroom");
	struct atv_airplay_info ai;
	struct atv_err e = {0};

	(void)state;
	/* AppleTV6,2: features 0x4A7FDFD5,0xBC157FDE, flags 0x244 */
	assert_int_equal(atv_airplay_info_parse(txt, &ai, &e), 0);
	assert_true(ai.has_features);
	assert_true(ai.features == UINT64_C(0xBC157FDE4A7FDFD5));
	assert_true(ai.has_flags);
	assert_int_equal(ai.flags, 0x244);
	assert_int_equal(ai.version, 2);
	assert_true(ai.hap);
	assert_true(ai.transient);
	assert_true(atv_airplay_has_feature(&ai, ATV_AP_FEAT_VIDEO_V1));
	assert_true(atv_airplay_has_feature(&ai, ATV_AP_FEAT_UNIFIED_MEDIA_CONTROL));
	assert_true(atv_airplay_has_feature(&ai, ATV_AP_FEAT_SYSTEM_PAIRING));
	assert_true(atv_airplay_has_feature(&ai, ATV_AP_FEAT_HK_PAIRING));
	assert_true(atv_airplay_has_feature(&ai, ATV_AP_FEAT_COREUTILS_PAIRING));
	/* 0x200 (legacy pairing) is set */
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_MANDATORY);
	assert_false(ai.password);
	assert_string_equal(ai.pairing_id, "C1D2E3F4-0A1B-4C2D-8E3F-405162738495");
	assert_string_equal(ai.public_key,
			    "4f1a0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7");
	json_decref(txt);
}

static void test_fake_kitchen(void **state)
{
	json_t *txt = fake_txt("kitchen");
	struct atv_airplay_info ai;
	struct atv_err e = {0};

	(void)state;
	/* AppleTV3,2: features 0x5A7FFFF7,0x1E, flags 0x44: AirPlay 1 */
	assert_int_equal(atv_airplay_info_parse(txt, &ai, &e), 0);
	assert_true(ai.features == UINT64_C(0x0000001E5A7FFFF7));
	assert_int_equal(ai.flags, 0x44);
	assert_int_equal(ai.version, 1);
	assert_false(ai.hap);
	assert_false(ai.transient);
	assert_true(atv_airplay_has_feature(&ai, ATV_AP_FEAT_VIDEO_V1));
	assert_false(atv_airplay_has_feature(&ai, ATV_AP_FEAT_UNIFIED_MEDIA_CONTROL));
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_NOT_NEEDED);
	assert_false(ai.password);
	assert_string_equal(ai.pairing_id, "B5A49382-7160-4F5E-8D7C-6B5A49382716");
	json_decref(txt);
}

static void test_fake_bedroom(void **state)
{
	json_t *txt = fake_txt("bedroom");
	struct atv_airplay_info ai;
	struct atv_err e = {0};

	(void)state;
	assert_int_equal(atv_airplay_info_parse(txt, &ai, &e), 0);
	assert_true(ai.features == UINT64_C(0xBC177FDE4A7FDFD5));
	assert_int_equal(ai.version, 2);
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_MANDATORY);
	json_decref(txt);
}

static void test_features_syntax(void **state)
{
	struct atv_airplay_info ai;

	(void)state;
	/* 32 bits only: the upper half is 0 */
	PARSE_OK(&ai, "features", "0x5A7FFFF7");
	assert_true(ai.has_features);
	assert_true(ai.features == UINT64_C(0x5A7FFFF7));
	assert_int_equal(ai.version, 1);
	PARSE_OK(&ai, "features", "0x1");
	assert_true(ai.features == 1);
	PARSE_OK(&ai, "features", "0xffffffff,0xffffffff");
	assert_true(ai.features == UINT64_MAX);
	assert_true(atv_airplay_has_feature(&ai, 63));
	assert_false(atv_airplay_has_feature(&ai, 64));
	assert_false(atv_airplay_has_feature(&ai, 1000));
	PARSE_OK(&ai, "features", "0x00000000,0x1");
	assert_true(ai.features == UINT64_C(1) << 32);

	expect_bad("features", "0x");
	expect_bad("features", "0xZZ");
	expect_bad("features", "5A7FFFF7");
	expect_bad("features", "0x123456789"); /* 9 digits */
	expect_bad("features", "0x1,0x123456789");
	expect_bad("features", "0x1,");
	expect_bad("features", "0x1,0x");
	expect_bad("features", "0x1,1E");
	expect_bad("features", "0x1,0x2,0x3");
	expect_bad("features", "0x1 ");
	expect_bad("features", " 0x1");
	expect_bad("features", "-0x1");
	expect_bad("features", "0x1;0x2");
	expect_bad("ft", "0xG");
}

static void test_flags_syntax(void **state)
{
	struct atv_airplay_info ai;

	(void)state;
	PARSE_OK(&ai, "flags", "0x244");
	assert_true(ai.has_flags);
	assert_int_equal(ai.flags, 0x244);
	/* Python's int(s, 16) takes it without "0x" and with leading zeros */
	PARSE_OK(&ai, "flags", "244");
	assert_int_equal(ai.flags, 0x244);
	PARSE_OK(&ai, "flags", "0x0000000000044");
	assert_int_equal(ai.flags, 0x44);
	PARSE_OK(&ai, "flags", "0xFFFFFFFF");
	assert_int_equal(ai.flags, 0xFFFFFFFF);

	expect_bad("flags", "0x100000000"); /* past 32 bits */
	expect_bad("flags", "0x");
	expect_bad("flags", "0xG");
	expect_bad("flags", "0x44 ");
	expect_bad("flags", "0x44,0x1");
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

static void test_pairing(void **state)
{
	struct atv_airplay_info ai;

	(void)state;
	/* flags 0x8 (PIN required) or 0x200 (legacy pairing) */
	PARSE_OK(&ai, "flags", "0x8");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_MANDATORY);
	PARSE_OK(&ai, "flags", "0x200");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_MANDATORY);
	PARSE_OK(&ai, "flags", "0x44");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_NOT_NEEDED);
	/* acl=1 disables pairing whatever the flags say */
	PARSE_OK(&ai, "acl", "1", "flags", "0x244");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_DISABLED);
	PARSE_OK(&ai, "acl", "0", "flags", "0x244");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_MANDATORY);
	PARSE_OK(&ai, "acl", "01");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_NOT_NEEDED);
	/* Macs (^Mac\d+,\d+$) are unsupported, before the flags */
	PARSE_OK(&ai, "model", "Mac14,3", "flags", "0x8");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_UNSUPPORTED);
	PARSE_OK(&ai, "model", "MacBookPro18,1");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_NOT_NEEDED);
	PARSE_OK(&ai, "model", "Mac14,");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_NOT_NEEDED);
	/* act=2 ("current user") is unsupported, after the flags */
	PARSE_OK(&ai, "act", "2");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_UNSUPPORTED);
	PARSE_OK(&ai, "act", "2", "flags", "0x200");
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_MANDATORY);

	assert_string_equal(atv_airplay_pairing_name(ATV_AP_PAIRING_NOT_NEEDED), "not_needed");
	assert_string_equal(atv_airplay_pairing_name(ATV_AP_PAIRING_OPTIONAL), "optional");
	assert_string_equal(atv_airplay_pairing_name(ATV_AP_PAIRING_MANDATORY), "mandatory");
	assert_string_equal(atv_airplay_pairing_name(ATV_AP_PAIRING_DISABLED), "disabled");
	assert_string_equal(atv_airplay_pairing_name(ATV_AP_PAIRING_UNSUPPORTED), "unsupported");
}

static void test_password(void **state)
{
	struct atv_airplay_info ai;

	(void)state;
	PARSE_OK(&ai, "pw", "true");
	assert_true(ai.password);
	PARSE_OK(&ai, "pw", "TRUE");
	assert_true(ai.password);
	PARSE_OK(&ai, "pw", "1");
	assert_true(ai.password);
	PARSE_OK(&ai, "pw", "false");
	assert_false(ai.password);
	PARSE_OK(&ai, "pw", "yes");
	assert_false(ai.password);
	PARSE_OK(&ai, "flags", "0x80");
	assert_true(ai.password);
	assert_int_equal(ai.pairing, ATV_AP_PAIRING_NOT_NEEDED);
	PARSE_OK(&ai, "sf", "0x84", "pw", "false");
	assert_true(ai.password);
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
	struct atv_airplay_info ai;

	(void)state;
	/* bit 38 alone: AirPlay 2 (HAP), but no transient pairing */
	PARSE_OK(&ai, "features", "0x0,0x40");
	assert_int_equal(ai.version, 2);
	assert_true(ai.hap);
	assert_false(ai.transient);
	/* bit 48 alone: AirPlay 2 and transient */
	PARSE_OK(&ai, "features", "0x0,0x10000");
	assert_int_equal(ai.version, 2);
	assert_true(ai.hap);
	assert_true(ai.transient);
	/* bit 43 alone: transient, yet AirPlay 1 */
	PARSE_OK(&ai, "features", "0x0,0x800");
	assert_int_equal(ai.version, 1);
	assert_false(ai.hap);
	assert_true(ai.transient);
	/* bit 46 alone decides nothing */
	PARSE_OK(&ai, "features", "0x0,0x4000");
	assert_int_equal(ai.version, 1);
	assert_false(ai.transient);
	assert_true(atv_airplay_has_feature(&ai, ATV_AP_FEAT_HK_PAIRING));
	/* the same bits in the lower word are other features */
	PARSE_OK(&ai, "features", "0x10840");
	assert_int_equal(ai.version, 1);
	assert_false(ai.transient);
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
	    cmocka_unit_test(test_fake_livingroom),
	    cmocka_unit_test(test_fake_kitchen),
	    cmocka_unit_test(test_fake_bedroom),
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
