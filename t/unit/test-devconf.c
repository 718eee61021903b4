/* test-devconf - the device config model and the scan merge (cmocka). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devconf.h"
#include "dnssd_scan.h"

static const char full[] =
	"{\"name\":\"Living Room\",\"address\":\"10.0.0.10\",\"identifier\":\"ID-MRP\","
	"\"all_identifiers\":[\"ID-MRP\",\"00:11:22:33:44:55\"],"
	"\"device_info\":{\"model\":\"AppleTV6,2\",\"operating_system\":\"tvos\",\"version\":"
	"\"17.1\",\"build\":\"21K69\",\"mac\":\"00:11:22:33:44:55\"},\"deep_sleep\":false,"
	"\"services\":[{\"protocol\":\"mrp\",\"port\":49152,\"identifier\":\"ID-MRP\","
	"\"credentials\":null,\"enabled\":true,\"properties\":{\"Name\":\"Living Room\"}},"
	"{\"protocol\":\"airplay\",\"port\":7000,\"identifier\":\"00:11:22:33:44:55\","
	"\"credentials\":\"c\",\"enabled\":true,\"properties\":{}}]}";

static char *dump(const struct atv_device *d)
{
	json_t *j = atv_device_to_json(d);
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void test_round_trip(void **state)
{
	struct atv_device d;
	struct atv_err err;
	char *s;

	(void)state;
	atv_device_init(&d);
	assert_int_equal(atv_device_parse(full, strlen(full), &d, &err), 0);
	assert_string_equal(d.name, "Living Room");
	assert_int_equal(d.n_ids, 2);
	assert_int_equal(d.n_svcs, 2);
	assert_int_equal(d.svcs[0].port, 49152);
	assert_string_equal(d.svcs[1].credentials, "c");
	s = dump(&d);
	assert_string_equal(s, full);
	free(s);
	atv_device_release(&d);
}

static void test_unknown_fields_kept(void **state)
{
	const char in[] = "{\"identifier\":\"x\",\"future\":[1,{\"a\":null}],"
			  "\"device_info\":{\"soc\":\"A15\"},"
			  "\"services\":[{\"protocol\":\"mrp\",\"port\":1,\"tunnel\":\"auto\"}]}";
	struct atv_device d;
	struct atv_err err;
	char *s;

	(void)state;
	atv_device_init(&d);
	assert_int_equal(atv_device_parse(in, strlen(in), &d, &err), 0);
	s = dump(&d);
	assert_non_null(strstr(s, "\"future\":[1,{\"a\":null}]"));
	assert_non_null(strstr(s, "\"soc\":\"A15\""));
	assert_non_null(strstr(s, "\"tunnel\":\"auto\""));
	/* identifier of a service joins all_identifiers */
	assert_true(atv_device_has_id(&d, "X"));
	free(s);
	atv_device_release(&d);
}

static void test_bad_configs(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"identifier\":5}",
		"{\"identifier\":\"x\",\"services\":{}}",
		"{\"identifier\":\"x\",\"services\":[{\"port\":1}]}",
		"{\"identifier\":\"x\",\"services\":[{\"protocol\":\"mrp\",\"port\":-1}]}",
		"{\"identifier\":\"x\",\"services\":[{\"protocol\":\"mrp\",\"port\":65536}]}",
		"{\"identifier\":\"x\",\"services\":[{\"protocol\":\"mrp\",\"port\":1},"
		"{\"protocol\":\"mrp\",\"port\":2}]}",
		"{\"identifier\":\"x\",\"deep_sleep\":\"no\"}",
		"{\"identifier\":\"x\",\"all_identifiers\":\"x\"}",
		"{\"identifier\":\"x\"} trailing",
		"{\"identifier\":\"x\",\"identifier\":\"y\"}",
		"not json",
	};
	struct atv_device d;
	struct atv_err err;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		atv_device_init(&d);
		assert_int_equal(atv_device_parse(bad[i], strlen(bad[i]), &d, &err), -ATV_E_INPUT);
		assert_true(err.msg[0] != '\0');
		atv_device_release(&d);
	}
}

static void add_txt(struct atv_dnssd_svc *s, const char *k, const char *v)
{
	assert_int_equal(atv_dnssd_add_txt(s, k, v, strlen(v)), 0);
}

static void svc(struct atv_dnssd_svc *s, const char *type, const char *name, uint16_t port)
{
	memset(s, 0, sizeof *s);
	s->type = strdup(type);
	s->name = strdup(name);
	strcpy(s->address, "10.0.0.10");
	s->port = port;
}

static void test_scan_merge(void **state)
{
	struct atv_dnssd_svc s[4];
	struct atv_scan_dev sd;
	struct atv_err err;

	(void)state;
	svc(&s[0], "_airplay._tcp", "Living Room", 7000);
	add_txt(&s[0], "deviceid", "aa:bb:cc:dd:ee:ff");
	add_txt(&s[0], "model", "AppleTV11,1");
	add_txt(&s[0], "osvers", "16.1");
	svc(&s[1], "_mediaremotetv._tcp", "Living Room MRP", 49152);
	add_txt(&s[1], "UniqueIdentifier", "MRP-ID");
	add_txt(&s[1], "Name", "Living Room");
	add_txt(&s[1], "SystemBuildVersion", "20K71");
	svc(&s[2], "_raop._tcp", "AABBCCDDEEFF@Living Room", 7000);
	svc(&s[3], "_sleep-proxy._udp", "70-35-60-63.1 Living Room", 0);

	memset(&sd, 0, sizeof sd);
	for (int i = 0; i < 4; i++)
		assert_int_equal(atv_scan_add(&sd, &s[i], &err), 0);
	assert_int_equal(atv_scan_finish(&sd, &err), 0);
	assert_string_equal(sd.dev.identifier, "MRP-ID");
	assert_string_equal(sd.dev.name, "Living Room");
	assert_string_equal(sd.dev.address, "10.0.0.10");
	assert_int_equal(sd.dev.n_svcs, 3);
	assert_int_equal(sd.dev.n_ids, 3);
	assert_string_equal(sd.dev.info.model, "AppleTV11,1");
	assert_string_equal(sd.dev.info.operating_system, "tvos");
	assert_string_equal(sd.dev.info.version, "16.1");
	assert_string_equal(sd.dev.info.build, "20K71");
	assert_string_equal(sd.dev.info.mac, "AA:BB:CC:DD:EE:FF");
	/* tvOS 16 announces MRP but does not serve it */
	assert_false(atv_device_service(&sd.dev, "mrp")->enabled);
	assert_true(atv_device_service(&sd.dev, "airplay")->enabled);
	assert_string_equal(atv_device_service(&sd.dev, "raop")->identifier, "AABBCCDDEEFF");
	assert_false(sd.dev.deep_sleep);
	for (int i = 0; i < 4; i++)
		atv_dnssd_svc_release(&s[i]);
	atv_device_release(&sd.dev);
}

static void test_scan_dmap_sleep(void **state)
{
	struct atv_dnssd_svc s[2];
	struct atv_scan_dev sd;
	struct atv_err err;

	(void)state;
	svc(&s[0], "_touch-able._tcp", "0123456789ABCDEF", 0);
	add_txt(&s[0], "CtlN", "Kitchen");
	svc(&s[1], "_appletv-v2._tcp", "0123456789ABCDEF", 0);
	add_txt(&s[1], "hG", "00000000-1111-2222-3333-444444444444");
	memset(&sd, 0, sizeof sd);
	for (int i = 0; i < 2; i++)
		assert_int_equal(atv_scan_add(&sd, &s[i], &err), 0);
	assert_int_equal(atv_scan_finish(&sd, &err), 0);
	assert_int_equal(sd.dev.n_svcs, 1);
	assert_string_equal(atv_device_service(&sd.dev, "dmap")->credentials,
			    "00000000-1111-2222-3333-444444444444");
	assert_int_equal(sd.dev.svcs[0].port, 0);
	assert_string_equal(sd.dev.identifier, "0123456789ABCDEF");
	assert_string_equal(sd.dev.name, "Kitchen");
	assert_true(sd.dev.deep_sleep);
	assert_null(sd.dev.info.operating_system);
	for (int i = 0; i < 2; i++)
		atv_dnssd_svc_release(&s[i]);
	atv_device_release(&sd.dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_unknown_fields_kept),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_scan_merge),
		cmocka_unit_test(test_scan_dmap_sleep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
