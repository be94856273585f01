/*
 * test_api_route.c - the API server's routing (api_route.c): paths to
 * routes and their ids, methods and the Allow header, the query values
 * limit and tier, and list cursors.  No HTTP and no vault: the Makefile
 * links the API's pure objects into the test_api_* tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/api.h"

#define REQ_ID	"3f9c2b7e8a1d4c6f0b5e9a2d7c4f1e8b"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
