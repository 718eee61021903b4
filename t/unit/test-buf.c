/* test-buf - capped buffer, byte order, errors, JSON lines (cmocka). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "bytes.h"
#include "err.h"
#include "jsonl.h"

static void test_cap(void **state)
{
	struct atv_buf b;
	struct atv_err err;

	(void)state;
	atv_buf_init(&b, 10);
	assert_int_equal(atv_buf_append(&b, "0123456789", 10, &err), 0);
	assert_int_equal(atv_buf_append(&b, "x", 1, &err), -ATV_E_LIMIT);
	assert_int_equal(err.code, ATV_E_LIMIT);
	assert_int_equal(b.len, 10);
	atv_buf_consume(&b, 4);
	assert_memory_equal(b.data, "456789", 6);
	assert_int_equal(atv_buf_append(&b, NULL, 4, &err), 0);
	assert_int_equal(b.data[9], 0);
	atv_buf_release(&b);
	assert_null(b.data);
}

static void test_bytes(void **state)
{
	uint8_t p[8];

	(void)state;
	atv_put_be32(p, 0x01020304);
	assert_int_equal(atv_get_be32(p), 0x01020304);
	assert_int_equal(p[0], 1);
	atv_put_le16(p, 0xABCD);
	assert_int_equal(p[0], 0xCD);
	assert_int_equal(atv_get_le16(p), 0xABCD);
	atv_put_le64(p, 0x0102030405060708ull);
	assert_int_equal(p[0], 8);
	assert_true(atv_get_le64(p) == 0x0102030405060708ull);
	atv_put_be16(p, 0x1234);
	assert_int_equal(atv_get_be16(p), 0x1234);
}

static void test_err(void **state)
{
	struct atv_err err;

	(void)state;
	assert_int_equal(atv_err_set(&err, ATV_E_AUTH, "bad %s", "pin"), -ATV_E_AUTH);
	assert_string_equal(err.msg, "bad pin");
	atv_err_prefix(&err, "pairing with %s", "x");
	assert_string_equal(err.msg, "pairing with x: bad pin");
	assert_string_equal(atv_err_name(-ATV_E_AUTH), "auth");
	assert_int_equal(atv_exit_status(-ATV_E_AUTH), ATV_EXIT_AUTH);
	assert_int_equal(atv_exit_status(-ATV_E_NOTFOUND), ATV_EXIT_NOTFOUND);
	assert_int_equal(atv_exit_status(-ATV_E_PROTO), ATV_EXIT_PROTO);
	assert_int_equal(atv_exit_status(-ATV_E_INPUT), ATV_EXIT_INPUT);
	assert_int_equal(atv_exit_status(0), 0);
	assert_int_equal(atv_err_set(NULL, ATV_E_IO, "x"), -ATV_E_IO);
}

static void test_jsonl_read(void **state)
{
	const char in[] = "{\"a\":1}\n\n0123456789012345678901234567890\n{\"b\":2}";
	FILE *f = fmemopen((void *)in, sizeof in - 1, "r");
	struct atv_buf line;
	struct atv_err err;
	json_t *j;

	(void)state;
	atv_buf_init(&line, 16);
	assert_int_equal(atv_jsonl_read(f, &line, &err), 1);
	assert_string_equal((char *)line.data, "{\"a\":1}");
	assert_int_equal(atv_jsonl_parse((char *)line.data, line.len, &j, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
	assert_int_equal(atv_jsonl_read(f, &line, &err), 1);
	assert_int_equal(line.len, 0);
	assert_int_equal(atv_jsonl_read(f, &line, &err), -ATV_E_INPUT); /* too long, skipped */
	assert_int_equal(atv_jsonl_read(f, &line, &err), 1);		/* last, no newline */
	assert_string_equal((char *)line.data, "{\"b\":2}");
	assert_int_equal(atv_jsonl_read(f, &line, &err), 0);
	assert_int_equal(atv_jsonl_parse("[1]", 3, &j, &err), -ATV_E_INPUT);
	assert_int_equal(atv_jsonl_parse("{\"a\":1} x", 9, &j, &err), -ATV_E_INPUT);
	atv_buf_release(&line);
	fclose(f);
}

static void test_iso8601(void **state)
{
	char b[32];

	(void)state;
	atv_iso8601(b, sizeof b, 0);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	atv_iso8601(b, sizeof b, 1795630629);
	assert_string_equal(b, "2026-11-25T18:17:09Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),	   cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_err),	   cmocka_unit_test(test_jsonl_read),
		cmocka_unit_test(test_iso8601),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
