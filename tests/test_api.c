/*
 * test_api.c - the API server's pure modules: routing and query values
 * (api_route.c), request bodies (api_body.c), JSON output (api_out.c),
 * budgets (api_guard.c) and the metrics text (api_metrics.c).  No HTTP
 * and no vault: the Makefile links these objects into this test alone.
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

#define REQ_ID	"3f9c2b7e8a1d4c6f0b5e9a2d7c4f1e8b"
#define T0	1700000000000LL		/* ms, on a whole second */

/* ------------------------------------------------------------- routes */

static int
route(const char *path, char *param)
{
	memset(param, 'x', API_PARAM_MAX);
	return api_route(path, param);
}

static void
test_routes(void **state)
{
	static const struct {
		const char *path;
		int route;
	} fixed[] = {
		{ "/v1/health", API_R_HEALTH },
		{ "/metrics", API_R_METRICS },
		{ "/v1/clients", API_R_CLIENTS },
		{ "/v1/clients/lookup", API_R_LOOKUP },
		{ "/v1/unseal-requests", API_R_UNSEAL_NEW },
	};
	char param[API_PARAM_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		assert_int_equal(route(fixed[i].path, param), fixed[i].route);
		assert_string_equal(param, "");
	}
	assert_int_equal(route("/v1/clients/C100064", param), API_R_CLIENT);
	assert_string_equal(param, "C100064");
	/* "lookup" is the lookup; anything else after /v1/clients/ an id */
	assert_int_equal(route("/v1/clients/x", param), API_R_CLIENT);
	assert_string_equal(param, "x");
	assert_int_equal(route("/v1/clients/lookupx", param), API_R_CLIENT);
	assert_string_equal(param, "lookupx");
	assert_int_equal(route("/v1/clients/Lookup", param), API_R_CLIENT);
	assert_int_equal(route("/v1/clients/Ωμέγα-7", param), API_R_CLIENT);
	assert_string_equal(param, "Ωμέγα-7");
	assert_int_equal(route("/v1/unseal-requests/" REQ_ID, param),
	    API_R_UNSEAL);
	assert_string_equal(param, REQ_ID);
	assert_int_equal(route("/v1/unseal-requests/" REQ_ID "/result",
	    param), API_R_UNSEAL_RESULT);
	assert_string_equal(param, REQ_ID);
}

static void
test_routes_refused(void **state)
{
	static const char *const none[] = {
		"", "/", "/v1", "/v1/", "/v1/health/", "/metrics/",
		"//v1/health", "/V1/health", "/v1/health?x=1", "/v1/healthz",
		"/v1/clients/", "/v1/clients//", "/v1/clients/lookup/",
		"/v1/clients/a/b", "/v1/clients/a b", "/v1/clients/a\tb",
		"/v1/clients/a\x01", "/v1/clients/a\x7f", "/v1/clients/C1/",
		"/v1/unseal-requests/", "/v1/unseal-requests//result",
		"/v1/unseal-requests/" REQ_ID "/",
		"/v1/unseal-requests/" REQ_ID "/result/",
		"/v1/unseal-requests/" REQ_ID "/results",
		"/v1/unseal-requests/" REQ_ID "/x/result",
		/* 31 and 33 hex digits, upper case, not hex */
		"/v1/unseal-requests/3f9c2b7e8a1d4c6f0b5e9a2d7c4f1e8",
		"/v1/unseal-requests/3f9c2b7e8a1d4c6f0b5e9a2d7c4f1e8b0",
		"/v1/unseal-requests/3F9C2B7E8A1D4C6F0B5E9A2D7C4F1E8B",
		"/v1/unseal-requests/3f9c2b7e8a1d4c6f0b5e9a2d7c4f1e8g",
		"/v1/unseal-requests/3f9c2b7e8a1d4c6f0b5e9a2d7c4f1e8g/result",
		"/v1/unseal-requests/C100064",
		"/v1/unseal-requestsx", "/v1/client/C1", "v1/health",
		/* not UTF-8 (a decoded %FF), an overlong '/', a surrogate */
		"/v1/clients/C\xff", "/v1/clients/\xc0\xaf",
		"/v1/clients/\xed\xa0\x80",
	};
	char param[API_PARAM_MAX], path[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_int_equal(route(none[i], param), API_R_NONE);
		assert_string_equal(param, "");
	}
	assert_int_equal(route(NULL, param), API_R_NONE);
	assert_string_equal(param, "");

	/* UTF-8 ids route. */
	assert_int_equal(route("/v1/clients/\xd0\x9a-1", param), API_R_CLIENT);
	assert_string_equal(param, "\xd0\x9a-1");

	/* An id of 127 bytes routes; 128 does not. */
	(void)snprintf(path, sizeof(path), "/v1/clients/%0127d", 7);
	assert_int_equal(route(path, param), API_R_CLIENT);
	assert_int_equal(strlen(param), 127);
	(void)snprintf(path, sizeof(path), "/v1/clients/%0128d", 7);
	assert_int_equal(route(path, param), API_R_NONE);
	assert_string_equal(param, "");
}

static void
test_methods(void **state)
{
	char allow[64];
	int r;

	(void)state;
	assert_int_equal(api_method("GET"), API_GET);
	assert_int_equal(api_method("HEAD"), API_HEAD);
	assert_int_equal(api_method("PUT"), API_PUT);
	assert_int_equal(api_method("POST"), API_POST);
	assert_int_equal(api_method("get"), API_OTHER);
	assert_int_equal(api_method("DELETE"), API_OTHER);
	assert_int_equal(api_method("GETX"), API_OTHER);
	assert_int_equal(api_method(""), API_OTHER);
	assert_int_equal(api_method(NULL), API_OTHER);

	assert_int_equal(api_route_methods(API_R_NONE), 0);
	assert_int_equal(api_route_methods(API_R_CLIENT),
	    API_GET | API_HEAD | API_PUT);
	assert_int_equal(api_route_methods(API_R_UNSEAL_NEW), API_POST);
	/* a fetch releases the contacts once: no HEAD to spend it */
	assert_int_equal(api_route_methods(API_R_UNSEAL_RESULT), API_GET);
	for (r = API_R_HEALTH; r < API_R_COUNT; r++)
		if (r != API_R_CLIENT && r != API_R_UNSEAL_NEW &&
		    r != API_R_UNSEAL_RESULT)
			assert_int_equal(api_route_methods(r),
			    API_GET | API_HEAD);

	assert_string_equal(api_route_name(API_R_CLIENT), "/v1/clients/{id}");
	assert_string_equal(api_route_name(API_R_UNSEAL_RESULT),
	    "/v1/unseal-requests/{id}/result");
	assert_string_equal(api_route_name(API_R_NONE), "other");
	assert_string_equal(api_route_name(-1), "other");
	assert_string_equal(api_route_name(API_R_COUNT), "other");

	api_allow_header(api_route_methods(API_R_CLIENT), allow,
	    sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, PUT");
	api_allow_header(API_POST, allow, sizeof(allow));
	assert_string_equal(allow, "POST");
	api_allow_header(API_GET | API_POST, allow, sizeof(allow));
	assert_string_equal(allow, "GET, POST");
	api_allow_header(API_HEAD | API_POST, allow, sizeof(allow));
	assert_string_equal(allow, "HEAD, POST");
	api_allow_header(API_GET | API_HEAD | API_PUT | API_POST, allow,
	    sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, PUT, POST");
	api_allow_header(0, allow, sizeof(allow));
	assert_string_equal(allow, "");
	api_allow_header(API_GET | API_HEAD, allow, 5);	/* truncates */
	assert_string_equal(allow, "GET,");
}

/* ------------------------------------------------------- query values */

static void
test_limit(void **state)
{
	static const char *const bad[] = { "0", "101", "", "-1", "+5", " 5",
	    "5 ", "1e2", "1.0", "00000", "9999", "0x10", "five", "00" };
	size_t n, i;

	(void)state;
	assert_int_equal(api_parse_limit("1", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(api_parse_limit("50", &n), 0);
	assert_int_equal(n, 50);
	assert_int_equal(api_parse_limit("100", &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(api_parse_limit("0100", &n), 0);
	assert_int_equal(n, 100);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 77;
		assert_int_equal(api_parse_limit(bad[i], &n), -1);
		assert_int_equal(n, 77);
	}
	assert_int_equal(api_parse_limit(NULL, &n), -1);
}

static void
test_tier(void **state)
{
	static const char *const bad[] = { "VIP", "Basic", "", "gold",
	    "vip ", " vip", "vi", "vipx", "1" };
	size_t i;
	int t;

	(void)state;
	assert_int_equal(api_parse_tier("basic", &t), 0);
	assert_int_equal(t, VV_TIER_BASIC);
	assert_int_equal(api_parse_tier("standard", &t), 0);
	assert_int_equal(t, VV_TIER_STANDARD);
	assert_int_equal(api_parse_tier("vip", &t), 0);
	assert_int_equal(t, VV_TIER_VIP);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		assert_int_equal(api_parse_tier(bad[i], &t), -1);
		assert_int_equal(t, 42);
	}
	assert_int_equal(api_parse_tier(NULL, &t), -1);
}

static void
test_cursor(void **state)
{
	static const char *const bad[] = {
		"", "Q", "QzEwMDA2NA=", "QzEwMDA2NA==", "QzEwMDA2NB",
		"QzEw+DA2NA", "QzEw/DA2NA", "QzEw MDA2NA", "QzEwMDA2NA\n",
		"\xcf\x30\x30",	/* libsodium 1.0.18 reads 0xcf as '_' */
		"IA",			/* " " */
		"AQ",			/* "\x01" */
		"fw",			/* "\x7f" */
		"QSBC",			/* "A B" */
		"QQBC",			/* "A\0B" */
	};
	char cur[API_CURSOR_MAX], id[API_PARAM_MAX], big[200], longid[129];
	size_t i;

	(void)state;
	assert_int_equal(api_cursor_encode("C100064", cur, sizeof(cur)), 0);
	assert_string_equal(cur, "QzEwMDA2NA");
	assert_int_equal(api_cursor_decode(cur, id, sizeof(id)), 0);
	assert_string_equal(id, "C100064");

	/* The vault allows '/' in an id, and a page may end at that
	 * record: its cursor must lead back to it. */
	assert_int_equal(api_cursor_encode("A/B", cur, sizeof(cur)), 0);
	assert_int_equal(api_cursor_decode(cur, id, sizeof(id)), 0);
	assert_string_equal(id, "A/B");
	assert_int_equal(api_cursor_encode("Ωμέγα", cur, sizeof(cur)), 0);
	assert_int_equal(api_cursor_decode(cur, id, sizeof(id)), 0);
	assert_string_equal(id, "Ωμέγα");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(api_cursor_decode(bad[i], id, sizeof(id)), -1);
	assert_int_equal(api_cursor_decode(NULL, id, sizeof(id)), -1);

	/* 127 bytes: the longest id, and its cursor, round trip. */
	memset(longid, 'z', 127);
	longid[127] = '\0';
	assert_int_equal(api_cursor_encode(longid, cur, sizeof(cur)), 0);
	assert_int_equal(api_cursor_decode(cur, id, sizeof(id)), 0);
	assert_string_equal(id, longid);
	/* ...into a buffer one byte short: refused, not overrun */
	assert_int_equal(api_cursor_decode(cur, id, 127), -1);
	assert_int_equal(api_cursor_decode("QzEwMDA2NA", id, 7), -1);
	assert_int_equal(api_cursor_decode("QzEwMDA2NA", id, 8), 0);
	assert_int_equal(api_cursor_decode("QzEwMDA2NA", id, 1), -1);

	/* 128 bytes: no id, no cursor; nor a cursor that long. */
	memset(longid, 'z', 128);
	longid[128] = '\0';
	assert_int_equal(api_cursor_encode(longid, cur, sizeof(cur)), -1);
	assert_int_equal(api_cursor_encode("", cur, sizeof(cur)), -1);
	assert_int_equal(api_cursor_encode("C100064", cur, 10), -1);
	assert_int_equal(api_cursor_encode("C100064", cur, 11), 0);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(api_cursor_decode(big, id, sizeof(id)), -1);
}

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

/* --------------------------------------------------------------- guard */

static vv_budget
budget(void)
{
	vv_budget b;

	memset(&b, 0, sizeof(b));
	b.hours_from = -1;
	b.hours_to = 24;
	return b;
}

static int
begin(struct api_guard *g, const char *tok, const vv_budget *b,
    int64_t now, int hour, int *kind)
{
	*kind = -1;
	return api_guard_begin(g, tok, b, now, hour, kind);
}

static int
count(struct api_guard *g, const char *tok, const vv_budget *b,
    int64_t now, const uint64_t *h, size_t n, int page, int *kind)
{
	*kind = -1;
	return api_guard_count(g, tok, b, now, h, n, page, kind);
}

static int
setup_guard(void **state)
{
	struct api_guard *g = NULL;

	if (api_guard_new(&g) != 0)
		return -1;
	*state = g;
	return 0;
}

static int
teardown_guard(void **state)
{
	struct api_guard *g = *state;

	api_guard_free(&g);
	assert_null(g);
	api_guard_free(&g);		/* twice: harmless */
	api_guard_free(NULL);
	return 0;
}

static void
test_guard_burst(void **state)
{
	struct api_guard *g = *state;
	vv_budget b = budget();
	int kind, i;

	b.burst_per_second = 3;
	for (i = 0; i < 3; i++)
		assert_int_equal(begin(g, "aaaaaaaaaaaaaaaa", &b, T0 + i * 300,
		    12, &kind), API_PASS);
	assert_int_equal(begin(g, "aaaaaaaaaaaaaaaa", &b, T0 + 999, 12,
	    &kind), API_THROTTLE);
	assert_int_equal(begin(g, "aaaaaaaaaaaaaaaa", &b, T0 + 999, 12,
	    &kind), API_THROTTLE);
	/* another token has its own burst */
	assert_int_equal(begin(g, "bbbbbbbbbbbbbbbb", &b, T0 + 999, 12,
	    &kind), API_PASS);
	/* the next second */
	for (i = 0; i < 3; i++)
		assert_int_equal(begin(g, "aaaaaaaaaaaaaaaa", &b, T0 + 1000,
		    12, &kind), API_PASS);
	assert_int_equal(begin(g, "aaaaaaaaaaaaaaaa", &b, T0 + 1000, 12,
	    &kind), API_THROTTLE);
	/* no burst limit */
	b.burst_per_second = 0;
	for (i = 0; i < 1000; i++)
		assert_int_equal(begin(g, "aaaaaaaaaaaaaaaa", &b, T0 + 1000,
		    12, &kind), API_PASS);
}

static void
test_guard_reads(void **state)
{
	struct api_guard *g = *state;
	vv_budget b = budget();
	uint64_t h = 0x1234;
	int kind, i;

	b.reads_per_minute = 5;
	for (i = 0; i < 5; i++)
		assert_int_equal(count(g, "cccccccccccccccc", &b, T0, &h, 1, 0,
		    &kind), API_PASS);
	assert_int_equal(count(g, "cccccccccccccccc", &b, T0, &h, 1, 0,
	    &kind), API_FREEZE);
	assert_int_equal(kind, API_B_READS);
	assert_string_equal(api_budget_name(kind), "reads per minute");

	/* a page of 6 records at once crosses it too */
	assert_int_equal(count(g, "dddddddddddddddd", &b, T0, &h, 0, 1, &kind),
	    API_PASS);
	{
		uint64_t six[6] = { 1, 2, 3, 4, 5, 6 };

		assert_int_equal(count(g, "dddddddddddddddd", &b, T0, six, 6, 1,
		    &kind), API_FREEZE);
		assert_int_equal(kind, API_B_READS);
	}

	/* two minutes later the window is empty again */
	for (i = 0; i < 5; i++)
		assert_int_equal(count(g, "cccccccccccccccc", &b,
		    T0 + 120000, &h, 1, 0, &kind), API_PASS);
	assert_int_equal(count(g, "cccccccccccccccc", &b, T0 + 120000, &h, 1,
	    0, &kind), API_FREEZE);
}

static void
test_guard_pages(void **state)
{
	struct api_guard *g = *state;
	vv_budget b = budget();
	int kind, i;

	b.pages_per_hour = 3;
	b.reads_per_minute = 100000;
	for (i = 0; i < 3; i++)
		assert_int_equal(count(g, "eeeeeeeeeeeeeeee", &b, T0 + i, NULL,
		    0, 1, &kind), API_PASS);
	/* reads that are not pages do not count */
	for (i = 0; i < 10; i++)
		assert_int_equal(count(g, "eeeeeeeeeeeeeeee", &b, T0 + 10, NULL,
		    0, 0, &kind), API_PASS);
	assert_int_equal(count(g, "eeeeeeeeeeeeeeee", &b, T0 + 20, NULL, 0, 1,
	    &kind), API_FREEZE);
	assert_int_equal(kind, API_B_PAGES);
}

static void
test_guard_records(void **state)
{
	struct api_guard *g = *state;
	vv_budget b = budget();
	uint64_t h[200];
	int kind, i;

	b.records_per_hour = 3;
	for (i = 0; i < 200; i++)
		h[i] = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(count(g, "ffffffffffffffff", &b, T0 + i, &h[i],
		    1, 0, &kind), API_PASS);
	/* re-reading the same records does not count */
	for (i = 0; i < 30; i++)
		assert_int_equal(count(g, "ffffffffffffffff", &b, T0 + 10,
		    &h[i % 3], 1, 0, &kind), API_PASS);
	assert_int_equal(count(g, "ffffffffffffffff", &b, T0 + 20, h, 3, 1,
	    &kind), API_PASS);
	/* the fourth distinct one freezes */
	assert_int_equal(count(g, "ffffffffffffffff", &b, T0 + 30, &h[3], 1,
	    0, &kind), API_FREEZE);
	assert_int_equal(kind, API_B_RECORDS);
	/* an hour after the last of them was read, there is room again */
	assert_int_equal(count(g, "ffffffffffffffff", &b, T0 + 20 + 3600001,
	    &h[3], 1, 0, &kind), API_PASS);
	assert_int_equal(count(g, "ffffffffffffffff", &b, T0 + 20 + 3600001,
	    &h[4], 2, 0, &kind), API_PASS);
	assert_int_equal(count(g, "ffffffffffffffff", &b, T0 + 20 + 3600001,
	    &h[6], 1, 0, &kind), API_FREEZE);

	/* a larger budget: the table grows, and still counts exactly */
	b.records_per_hour = 150;
	assert_int_equal(count(g, "0000000000000001", &b, T0, h, 100, 1,
	    &kind), API_PASS);
	assert_int_equal(count(g, "0000000000000001", &b, T0 + 1, h, 150, 1,
	    &kind), API_PASS);
	assert_int_equal(count(g, "0000000000000001", &b, T0 + 2, h, 151, 1,
	    &kind), API_FREEZE);
	assert_int_equal(kind, API_B_RECORDS);
}

static void
test_guard_hours(void **state)
{
	struct api_guard *g = *state;
	vv_budget b = budget();
	int kind, h;

	b.hours_from = 9;
	b.hours_to = 18;
	for (h = 0; h < 24; h++) {
		int v = begin(g, "1111111111111111", &b, T0, h, &kind);

		if (h >= 9 && h < 18)
			assert_int_equal(v, API_PASS);
		else {
			assert_int_equal(v, API_FREEZE);
			assert_int_equal(kind, API_B_HOURS);
		}
	}
	/* a night shift: 22:00 to 06:00 */
	b.hours_from = 22;
	b.hours_to = 6;
	for (h = 0; h < 24; h++) {
		int v = begin(g, "2222222222222222", &b, T0, h, &kind);

		if (h >= 22 || h < 6)
			assert_int_equal(v, API_PASS);
		else {
			assert_int_equal(v, API_FREEZE);
			assert_int_equal(kind, API_B_HOURS);
		}
	}
	/* until midnight */
	b.hours_from = 8;
	b.hours_to = 24;
	assert_int_equal(begin(g, "3333333333333333", &b, T0, 23, &kind),
	    API_PASS);
	assert_int_equal(begin(g, "3333333333333333", &b, T0, 7, &kind),
	    API_FREEZE);
	assert_string_equal(api_budget_name(API_B_HOURS), "working hours");
	assert_string_equal(api_budget_name(-1), "budget");
	assert_string_equal(api_budget_name(API_B_COUNT), "budget");
}

static void
test_guard_unlimited(void **state)
{
	struct api_guard *g = *state;
	vv_budget b = budget();
	uint64_t h;
	int kind, i;

	for (i = 0; i < 100000; i++) {
		h = (uint64_t)i * 2 + 2;
		assert_int_equal(begin(g, "4444444444444444", &b, T0, 3, &kind),
		    API_PASS);
		assert_int_equal(count(g, "4444444444444444", &b, T0, &h, 1,
		    i & 1, &kind), API_PASS);
	}
}

static void
test_guard_many_tokens(void **state)
{
	struct api_guard *g = *state;
	vv_budget b = budget();
	char tok[17];
	uint64_t h[4] = { 11, 22, 33, 44 };
	int kind, i;

	b.records_per_hour = 3;
	b.reads_per_minute = 1000;
	b.burst_per_second = 10;
	/* token 0 at its limit */
	assert_int_equal(count(g, "5555555555555555", &b, T0, h, 3, 0, &kind),
	    API_PASS);
	/* 3000 other tokens, more than the table holds: recycled ones are
	 * wiped and reused, never overrun */
	for (i = 0; i < 3000; i++) {
		(void)snprintf(tok, sizeof(tok), "%016x", i + 0x100000);
		assert_int_equal(begin(g, tok, &b, T0 + 1 + i, 12, &kind),
		    API_PASS);
		assert_int_equal(count(g, tok, &b, T0 + 1 + i, h, 3, 1, &kind),
		    API_PASS);
	}
	/* token 0 was recycled: it starts afresh */
	assert_int_equal(count(g, "5555555555555555", &b, T0 + 5000, &h[3], 1,
	    0, &kind), API_PASS);
	/* a token id longer than 16 characters is cut, not overrun */
	assert_int_equal(begin(g, "66666666666666667777777777", &b, T0 + 5000,
	    12, &kind), API_PASS);
}

/* ------------------------------------------------------------- metrics */

static void
test_metrics(void **state)
{
	struct abuf b = { 0 };

	(void)state;
	api_metrics_request(API_R_CLIENT, 200, 700);
	api_metrics_request(API_R_CLIENT, 418, 2000000);	/* "0" */
	api_metrics_request(99, 404, 10);			/* bad route */
	api_metrics_denial(API_D_THROTTLED);
	api_metrics_denial(-1);
	api_metrics_freeze(API_B_RECORDS);
	api_metrics_freeze(API_B_COUNT);
	api_metrics_commit(3);
	api_metrics_render(&b);
	assert_false(b.oom);
	assert_non_null(strstr(b.p, "vipvault_http_requests_total{route="
	    "\"/v1/clients/{id}\",status=\"200\"} 1\n"));
	assert_non_null(strstr(b.p, "vipvault_http_requests_total{route="
	    "\"/v1/clients/{id}\",status=\"0\"} 1\n"));
	assert_non_null(strstr(b.p, "vipvault_http_requests_total{route="
	    "\"other\",status=\"404\"} 1\n"));
	assert_non_null(strstr(b.p, "vipvault_http_request_duration_seconds_"
	    "bucket{route=\"/v1/clients/{id}\",le=\"0.001\"} 1\n"));
	assert_non_null(strstr(b.p, "vipvault_http_request_duration_seconds_"
	    "count{route=\"/v1/clients/{id}\"} 2\n"));
	assert_non_null(strstr(b.p, "vipvault_denials_total{reason="
	    "\"throttled\"} 1\n"));
	assert_non_null(strstr(b.p, "vipvault_freezes_total{budget="
	    "\"records_per_hour\"} 1\n"));
	assert_null(strstr(b.p, "canary"));
	assert_non_null(strstr(b.p, "vipvault_audit_batch_requests_bucket{"
	    "le=\"4\"} 1\n"));
	assert_non_null(strstr(b.p, "vipvault_audit_batch_requests_sum 3\n"));
	ab_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_routes_refused),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_tier),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_put_refused),
		cmocka_unit_test(test_unseal_body),
		cmocka_unit_test(test_jstr),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_abuf),
		cmocka_unit_test(test_amount),
		cmocka_unit_test_setup_teardown(test_guard_burst, setup_guard,
		    teardown_guard),
		cmocka_unit_test_setup_teardown(test_guard_reads, setup_guard,
		    teardown_guard),
		cmocka_unit_test_setup_teardown(test_guard_pages, setup_guard,
		    teardown_guard),
		cmocka_unit_test_setup_teardown(test_guard_records,
		    setup_guard, teardown_guard),
		cmocka_unit_test_setup_teardown(test_guard_hours, setup_guard,
		    teardown_guard),
		cmocka_unit_test_setup_teardown(test_guard_unlimited,
		    setup_guard, teardown_guard),
		cmocka_unit_test_setup_teardown(test_guard_many_tokens,
		    setup_guard, teardown_guard),
		cmocka_unit_test(test_metrics),
	};

	api_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
