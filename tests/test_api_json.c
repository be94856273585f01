/*
 * test_api_json.c - the API server's JSON in and out: request bodies
 * (api_body.c: PUT records and unseal requests, and what they refuse)
 * and the output buffer (api_out.c: JSON strings, error bodies, amounts).
 * No HTTP and no vault: the Makefile links the API's pure objects into
 * the test_api_* tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/api.h"

/* -------------------------------------------------------------- bodies */

#define PUT_OK	"\"owner\":\"alice\",\"name\":\"Jane Roe\"," \
		"\"client_since\":\"2019-04-01\""

static int
put(const char *body, struct api_put *p, char *err)
{
	err[0] = '\0';
	return api_parse_put(body, strlen(body), "C900001", p, err, 160);
}

/* Parses body as a PUT with annual_spend spend; the minor units, or -1
 * when refused (the error naming annual_spend). */
static int64_t
spend(const char *spend_json)
{
	struct api_put p;
	char body[256], err[160];
	int64_t v = -1;
	int r;

	(void)snprintf(body, sizeof(body), "{" PUT_OK ",\"annual_spend\":%s}",
	    spend_json);
	r = put(body, &p, err);
	if (r == API_BODY_OK)
		v = p.in.annual_spend;
	else {
		assert_int_equal(r, API_BODY_FIELD);
		assert_non_null(strstr(err, "annual_spend"));
	}
	api_put_clear(&p);
	return v;
}

static void
test_put(void **state)
{
	static const char full[] = "{\"owner\": \"alice\", \"name\": "
	    "\"Jane Roe\", \"phone\": \"+44 20 7946 0958\", \"email\": "
	    "\"jane.roe@example.com\", \"address\": \"1 Market St, London\", "
	    "\"notes\": \"call before noon\", \"preferences\": \"email "
	    "first\", \"annual_spend\": \"12345.67\", \"client_since\": "
	    "\"2019-04-01\", \"external_id\": \"C900001\"}";
	struct api_put p;
	char err[160];

	(void)state;
	assert_int_equal(put(full, &p, err), API_BODY_OK);
	assert_string_equal(p.in.external_id, "C900001");
	assert_string_equal(p.in.owner, "alice");
	assert_string_equal(p.in.name, "Jane Roe");
	assert_string_equal(p.in.phone, "+44 20 7946 0958");
	assert_string_equal(p.in.email, "jane.roe@example.com");
	assert_string_equal(p.in.address, "1 Market St, London");
	assert_string_equal(p.in.notes, "call before noon");
	assert_string_equal(p.in.preferences, "email first");
	assert_string_equal(p.in.client_since, "2019-04-01");
	assert_int_equal(p.in.annual_spend, 1234567);
	api_put_clear(&p);
	assert_null(p.doc);
	assert_null(p.in.owner);

	/* Optional members: absent or null leave NULL. */
	assert_int_equal(put("{" PUT_OK ",\"annual_spend\":0,\"phone\":null}",
	    &p, err), API_BODY_OK);
	assert_null(p.in.phone);
	assert_null(p.in.email);
	api_put_clear(&p);

	assert_int_equal(spend("\"12345.67\""), 1234567);
	assert_int_equal(spend("12"), 1200);
	assert_int_equal(spend("\"1.5\""), 150);
	assert_int_equal(spend("\"1.05\""), 105);
	assert_int_equal(spend("\"0.05\""), 5);
	assert_int_equal(spend("\"7\""), 700);
	assert_int_equal(spend("\"007\""), 700);
	assert_int_equal(spend("0"), 0);
	assert_int_equal(spend("\"9999999999999.99\""), 999999999999999LL);
	assert_int_equal(spend("9999999999999"), 999999999999900LL);

	assert_int_equal(spend("1.5"), -1);		/* a float */
	assert_int_equal(spend("1e2"), -1);
	assert_int_equal(spend("-5"), -1);
	assert_int_equal(spend("\"-5\""), -1);
	assert_int_equal(spend("\"1.234\""), -1);
	assert_int_equal(spend("\"1.\""), -1);
	assert_int_equal(spend("\".5\""), -1);
	assert_int_equal(spend("\"1.2.3\""), -1);
	assert_int_equal(spend("\"\""), -1);
	assert_int_equal(spend("\" 1\""), -1);
	assert_int_equal(spend("\"1,5\""), -1);
	assert_int_equal(spend("\"12\\u00003\""), -1);	/* not 12 */
	assert_int_equal(spend("\"10000000000000\""), -1);
	assert_int_equal(spend("10000000000000"), -1);
	assert_int_equal(spend("true"), -1);
	assert_int_equal(spend("null"), -1);		/* required */
	assert_int_equal(spend("{}"), -1);
}

/* body is refused with r, and the error holds want. */
static void
put_refused(const char *body, int r, const char *want)
{
	struct api_put p;
	char err[160];

	assert_int_equal(put(body, &p, err), r);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", body, err, want);
	api_put_clear(&p);
	assert_null(p.doc);
}

static void
test_put_refused(void **state)
{
	struct api_put p;
	char err[160];

	(void)state;
	put_refused("{" PUT_OK ",\"annual_spend\":1,\"fone\":\"1\"}",
	    API_BODY_FIELD, "unknown member");
	put_refused("{" PUT_OK ",\"annual_spend\":1,\"owner\":\"bob\"}",
	    API_BODY_JSON, "invalid JSON");
	put_refused("{" PUT_OK ",\"annual_spend\":1.5}", API_BODY_FIELD,
	    "annual_spend");
	put_refused("{" PUT_OK ",\"annual_spend\":-1}", API_BODY_FIELD,
	    "annual_spend");
	put_refused("{" PUT_OK ",\"annual_spend\":\"1.234\"}",
	    API_BODY_FIELD, "annual_spend");
	put_refused("{\"name\":\"x\",\"client_since\":\"2019-04-01\","
	    "\"annual_spend\":1}", API_BODY_FIELD, "owner");
	put_refused("{\"owner\":\"x\",\"client_since\":\"2019-04-01\","
	    "\"annual_spend\":1}", API_BODY_FIELD, "name");
	put_refused("{\"owner\":\"x\",\"name\":\"y\",\"annual_spend\":1}",
	    API_BODY_FIELD, "client_since");
	put_refused("{" PUT_OK "}", API_BODY_FIELD, "annual_spend");
	put_refused("{" PUT_OK ",\"annual_spend\":1,\"external_id\":"
	    "\"C900002\"}", API_BODY_FIELD, "external_id");
	put_refused("{" PUT_OK ",\"annual_spend\":1,\"external_id\":7}",
	    API_BODY_FIELD, "external_id");
	put_refused("{\"owner\":\"al\\u0000ice\",\"name\":\"x\","
	    "\"client_since\":\"2019-04-01\",\"annual_spend\":1}",
	    API_BODY_FIELD, "owner");
	put_refused("{" PUT_OK ",\"annual_spend\":1,\"notes\":\"a\\u0000\"}",
	    API_BODY_FIELD, "notes");
	put_refused("{" PUT_OK ",\"annual_spend\":1,\"phone\":5}",
	    API_BODY_FIELD, "phone");
	/* jansson refuses a NUL in a key itself */
	put_refused("{" PUT_OK ",\"annual_spend\":1,\"no\\u0000tes\":\"a\"}",
	    API_BODY_JSON, "invalid JSON");
	put_refused("[1]", API_BODY_JSON, "JSON object");
	put_refused("\"x\"", API_BODY_JSON, "invalid JSON");
	put_refused("{", API_BODY_JSON, "invalid JSON");
	put_refused("{} x", API_BODY_JSON, "invalid JSON");
	put_refused("{\"owner\":\"\xff\"}", API_BODY_JSON, "invalid JSON");
	/* the error names the member, never the value */
	assert_int_equal(put("{" PUT_OK ",\"annual_spend\":\"secret-42\"}",
	    &p, err), API_BODY_FIELD);
	assert_null(strstr(err, "secret"));
	api_put_clear(&p);

	assert_int_equal(api_parse_put(NULL, 0, "C1", &p, err, sizeof(err)),
	    API_BODY_JSON);
	assert_non_null(strstr(err, "JSON body"));
	api_put_clear(&p);
	assert_int_equal(api_parse_put("{}", 0, "C1", &p, err, sizeof(err)),
	    API_BODY_JSON);
	api_put_clear(&p);
}

static int
unseal(const char *body, struct api_unseal_body *u, char *err)
{
	err[0] = '\0';
	return api_parse_unseal(body, strlen(body), u, err, 160);
}

static void
unseal_refused(const char *body, int r, const char *want)
{
	struct api_unseal_body u;
	char err[160];

	assert_int_equal(unseal(body, &u, err), r);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", body, err, want);
	api_unseal_clear(&u);
	assert_null(u.doc);
}

static void
test_unseal_body(void **state)
{
	struct api_unseal_body u;
	char err[160], body[4096], reason[600];
	size_t i;

	(void)state;
	assert_int_equal(unseal("{\"records\":[\"V1\",\"V2\"],\"reason\":"
	    "\"renewal call\",\"ttl_seconds\":3600}", &u, err), API_BODY_OK);
	assert_int_equal(u.n, 2);
	assert_string_equal(u.records[0], "V1");
	assert_string_equal(u.records[1], "V2");
	assert_string_equal(u.reason, "renewal call");
	assert_int_equal(u.ttl, 3600);
	api_unseal_clear(&u);
	assert_null(u.doc);
	assert_int_equal(u.n, 0);

	/* ttl absent or null: 0, the library's default; 60 and 86400 */
	assert_int_equal(unseal("{\"records\":[\"V1\"],\"reason\":\"r\"}", &u,
	    err), API_BODY_OK);
	assert_int_equal(u.ttl, 0);
	api_unseal_clear(&u);
	assert_int_equal(unseal("{\"records\":[\"V1\"],\"reason\":\"r\","
	    "\"ttl_seconds\":null}", &u, err), API_BODY_OK);
	assert_int_equal(u.ttl, 0);
	api_unseal_clear(&u);
	assert_int_equal(unseal("{\"records\":[\"V1\"],\"reason\":\"r\","
	    "\"ttl_seconds\":60}", &u, err), API_BODY_OK);
	api_unseal_clear(&u);
	assert_int_equal(unseal("{\"records\":[\"V1\"],\"reason\":\"r\","
	    "\"ttl_seconds\":86400}", &u, err), API_BODY_OK);
	api_unseal_clear(&u);

	/* 20 records pass, 21 do not */
	(void)snprintf(body, sizeof(body), "{\"reason\":\"r\",\"records\":[");
	for (i = 0; i < 21; i++)
		(void)snprintf(body + strlen(body), sizeof(body) - strlen(body),
		    "%s\"R%zu\"", i == 0 ? "" : ",", i);
	(void)snprintf(body + strlen(body), sizeof(body) - strlen(body),
	    "]}");
	unseal_refused(body, API_BODY_FIELD, "records");
	*strstr(body, ",\"R20\"") = '\0';
	(void)snprintf(body + strlen(body), sizeof(body) - strlen(body),
	    "]}");
	assert_int_equal(unseal(body, &u, err), API_BODY_OK);
	assert_int_equal(u.n, 20);
	assert_string_equal(u.records[19], "R19");
	api_unseal_clear(&u);

	/* a reason of 500 bytes passes, 501 do not */
	memset(reason, 'r', 500);
	reason[500] = '\0';
	(void)snprintf(body, sizeof(body), "{\"records\":[\"V1\"],\"reason\":"
	    "\"%s\"}", reason);
	assert_int_equal(unseal(body, &u, err), API_BODY_OK);
	api_unseal_clear(&u);
	(void)snprintf(body, sizeof(body), "{\"records\":[\"V1\"],\"reason\":"
	    "\"%sr\"}", reason);
	unseal_refused(body, API_BODY_FIELD, "reason");

	/* an id of 127 bytes passes, 128 does not */
	memset(reason, 'i', 127);
	reason[127] = '\0';
	(void)snprintf(body, sizeof(body), "{\"records\":[\"%s\"],\"reason\":"
	    "\"r\"}", reason);
	assert_int_equal(unseal(body, &u, err), API_BODY_OK);
	api_unseal_clear(&u);
	(void)snprintf(body, sizeof(body), "{\"records\":[\"%si\"],"
	    "\"reason\":\"r\"}", reason);
	unseal_refused(body, API_BODY_FIELD, "records");

	unseal_refused("{\"records\":[],\"reason\":\"r\"}", API_BODY_FIELD,
	    "records");
	unseal_refused("{\"reason\":\"r\"}", API_BODY_FIELD, "records");
	unseal_refused("{\"records\":\"V1\",\"reason\":\"r\"}",
	    API_BODY_FIELD, "records");
	unseal_refused("{\"records\":[\"\"],\"reason\":\"r\"}",
	    API_BODY_FIELD, "records");
	unseal_refused("{\"records\":[7],\"reason\":\"r\"}", API_BODY_FIELD,
	    "records");
	unseal_refused("{\"records\":[\"V\\u00001\"],\"reason\":\"r\"}",
	    API_BODY_FIELD, "records");
	unseal_refused("{\"records\":[\"V1\"]}", API_BODY_FIELD, "reason");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"\"}",
	    API_BODY_FIELD, "reason");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":null}",
	    API_BODY_FIELD, "reason");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"a\\u0000b\"}",
	    API_BODY_FIELD, "reason");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"r\","
	    "\"ttl_seconds\":59}", API_BODY_FIELD, "ttl_seconds");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"r\","
	    "\"ttl_seconds\":86401}", API_BODY_FIELD, "ttl_seconds");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"r\","
	    "\"ttl_seconds\":0}", API_BODY_FIELD, "ttl_seconds");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"r\","
	    "\"ttl_seconds\":600.0}", API_BODY_FIELD, "ttl_seconds");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"r\","
	    "\"ttl_seconds\":\"600\"}", API_BODY_FIELD, "ttl_seconds");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"r\",\"ttl\":600}",
	    API_BODY_FIELD, "unknown member");
	unseal_refused("{\"records\":[\"V1\"],\"reason\":\"r\",\"reason\":"
	    "\"s\"}", API_BODY_JSON, "invalid JSON");
	unseal_refused("[]", API_BODY_JSON, "JSON object");
}

/* -------------------------------------------------------------- output */

static char *
jstr(const char *s)
{
	static char out[8192];
	struct abuf b = { 0 };

	ab_jstr(&b, s);
	assert_false(b.oom);
	assert_true(b.len < sizeof(out));
	memcpy(out, b.p, b.len + 1);
	ab_free(&b);
	return out;
}

static void
test_jstr(void **state)
{
	char in[5001], *out;
	json_t *back;

	(void)state;
	assert_string_equal(jstr(NULL), "null");
	assert_string_equal(jstr(""), "\"\"");
	assert_string_equal(jstr("plain"), "\"plain\"");
	assert_string_equal(jstr("a\"b"), "\"a\\\"b\"");
	assert_string_equal(jstr("a\\b"), "\"a\\\\b\"");
	assert_string_equal(jstr("\x01\x1f\n\t\r"),
	    "\"\\u0001\\u001f\\u000a\\u0009\\u000d\"");
	assert_string_equal(jstr("del\x7f"), "\"del\\u007f\"");
	assert_string_equal(jstr("/ < >"), "\"/ < >\"");
	assert_string_equal(jstr("Дмитрий"), "\"Дмитрий\"");
	/* bytes >= 0x80 pass as they are */
	assert_string_equal(jstr("\xff"), "\"\xff\"");

	/* Longer than a buffer's first block: it grows, and parses back. */
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	in[100] = '"';
	in[600] = '\\';
	in[4000] = '\x02';
	out = jstr(in);
	back = json_loads(out, JSON_DECODE_ANY, NULL);
	assert_non_null(back);
	assert_string_equal(json_string_value(back), in);
	json_decref(back);
}

static void
test_error_json(void **state)
{
	struct abuf b = { 0 };
	json_t *doc, *e;
	char *p;

	(void)state;
	api_error_json(&b, "invalid_field", "limit: must be 1 to 100");
	assert_string_equal(b.p, "{\"error\":{\"code\":\"invalid_field\","
	    "\"message\":\"limit: must be 1 to 100\"}}\n");
	doc = json_loads(b.p, 0, NULL);
	assert_non_null(doc);
	e = json_object_get(doc, "error");
	assert_int_equal(json_object_size(doc), 1);
	assert_int_equal(json_object_size(e), 2);
	assert_string_equal(json_string_value(json_object_get(e, "code")),
	    "invalid_field");
	json_decref(doc);
	ab_free(&b);
	assert_null(b.p);

	api_error_json(&b, "bad_request", "a \"quoted\"\nmessage");
	doc = json_loads(b.p, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(doc, "error"), "message")),
	    "a \"quoted\"\nmessage");
	json_decref(doc);

	/* ab_take hands the block over; ab_release wipes and frees it */
	p = ab_take(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_non_null(p);
	ab_release(p);
	ab_release(NULL);
	ab_free(&b);
}

static void
test_abuf(void **state)
{
	struct abuf b = { 0 };
	char big[700];

	(void)state;
	ab_puts(&b, "x");
	ab_printf(&b, "%d-%s", 42, "y");
	ab_put(&b, "zz", 1);
	assert_string_equal(b.p, "x42-yz");
	assert_int_equal(b.len, 6);
	/* ab_printf keeps at most 511 bytes of one call */
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ab_printf(&b, "%s", big);
	assert_int_equal(b.len, 6 + 511);
	ab_free(&b);
}

static void
test_amount(void **state)
{
	char out[32];

	(void)state;
	api_amount(out, sizeof(out), 1234567);
	assert_string_equal(out, "12345.67");
	api_amount(out, sizeof(out), 0);
	assert_string_equal(out, "0.00");
	api_amount(out, sizeof(out), 5);
	assert_string_equal(out, "0.05");
	api_amount(out, sizeof(out), 150);
	assert_string_equal(out, "1.50");
	api_amount(out, sizeof(out), 999999999999999LL);
	assert_string_equal(out, "9999999999999.99");
	api_amount(out, sizeof(out), -150);
	assert_string_equal(out, "-1.50");
	api_amount(out, sizeof(out), -5);
	assert_string_equal(out, "-0.05");
	api_amount(out, sizeof(out), INT64_MIN);
	assert_string_equal(out, "-92233720368547758.08");
	api_amount(out, 5, 1234567);
	assert_string_equal(out, "1234");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_put_refused),
		cmocka_unit_test(test_unseal_body),
		cmocka_unit_test(test_jstr),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_abuf),
		cmocka_unit_test(test_amount),
	};

	api_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
