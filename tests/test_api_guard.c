/*
 * test_api_guard.c - the API server's budgets (api_guard.c: bursts,
 * reads, pages and distinct records over their windows, working hours,
 * many tokens) and the metrics text (api_metrics.c).  No HTTP and no
 * vault: the Makefile links the API's pure objects into the test_api_*
 * tests.
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

#define T0	1700000000000LL		/* ms, on a whole second */

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

	return cmocka_run_group_tests(tests, NULL, NULL);
}
