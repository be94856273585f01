/*
 * test_tiers.c - the value policy, re-tiering, pins, and import.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/internal.h"

static void
assert_counts(struct tl_vault *t, size_t basic, size_t standard, size_t vip)
{
	size_t c[4];

	assert_int_equal(vv_tier_counts(t->v, c), VV_OK);
	assert_int_equal(c[VV_TIER_BASIC], basic);
	assert_int_equal(c[VV_TIER_STANDARD], standard);
	assert_int_equal(c[VV_TIER_VIP], vip);
}

static void
test_policy_evaluation(void **state)
{
	vv_policy p;
	int64_t today = vv_parse_date("2026-11-25");

	(void)state;
	vv_policy_default(&p);
	assert_int_equal(p.vip_min_spend, 10000000);
	assert_int_equal(vv_policy_tier(&p, 10000000,
	    vv_parse_date("2021-11-25"), today), VV_TIER_VIP);
	/* One day short of five whole years. */
	assert_int_equal(vv_policy_tier(&p, 10000000,
	    vv_parse_date("2021-11-26"), today), VV_TIER_STANDARD);
	assert_int_equal(vv_policy_tier(&p, 9999999,
	    vv_parse_date("2000-01-01"), today), VV_TIER_STANDARD);
	assert_int_equal(vv_policy_tier(&p, 999999,
	    vv_parse_date("2000-01-01"), today), VV_TIER_BASIC);
	assert_int_equal(vv_parse_date("2023-02-29"), -1);
	assert_int_equal(vv_parse_date("2024-02-29") > 0, 1);
	assert_int_equal(vv_parse_date("2024-13-01"), -1);
	assert_int_equal(vv_parse_date("24-01-01"), -1);
}

static uint64_t last_done, last_total;

static void
note_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	assert_true(done <= total);
	last_done = done;
	last_total = total;
}

static void
test_policy_persisted(void **state)
{
	struct tl_vault *t = *state;
	vv_policy p, q;
	size_t changed = 99;

	vv_policy_default(&p);
	p.standard_min_spend = 1600000;		/* S2 (15000) drops to basic */
	last_done = last_total = 0;
	assert_int_equal(vv_policy_set_progress(t->v, &p, &changed,
	    note_progress, NULL), VV_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(last_done, 1);
	assert_int_equal(last_total, 1);
	assert_counts(t, 2, 1, 2);
	assert_int_equal(tl_vault_reopen(t), 0);
	assert_int_equal(vv_policy_get(t->v, &q), VV_OK);
	assert_int_equal(q.vip_min_spend, p.vip_min_spend);
	assert_int_equal(q.vip_min_years, p.vip_min_years);
	assert_int_equal(q.standard_min_spend, p.standard_min_spend);
	assert_int_equal(q.standard_min_years, p.standard_min_years);
	assert_counts(t, 2, 1, 2);
}

static void
test_policy_invalid_changes_nothing(void **state)
{
	struct tl_vault *t = *state;
	vv_policy p, q;

	vv_policy_default(&p);
	p.vip_min_years = -1;
	assert_int_equal(vv_policy_set(t->v, &p, NULL), VV_ERR_INVALID);
	assert_int_equal(vv_policy_get(t->v, &q), VV_OK);
	assert_int_equal(q.vip_min_years, 5);
	assert_counts(t, 1, 2, 2);
}

/*
 * Promotion seals a record's contacts under the VIP contact key;
 * demotion re-seals identity and profile for the lower tier but leaves
 * the contacts under dual control.
 */
static void
test_promote_and_demote(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;
	vv_policy p;
	size_t changed = 0;

	vv_policy_default(&p);
	p.vip_min_spend = 1500000;	/* 15,000 */
	p.vip_min_years = 3;		/* S2 (3 years) in, S1 (1 year) not */
	assert_int_equal(vv_policy_set(t->v, &p, &changed), VV_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(tl_read_as(t, t->vipdesk, "S2", &r), VV_OK);
	assert_int_equal(vv_record_tier(r), VV_TIER_VIP);
	assert_true(vv_record_masked(r, VV_FIELD_PHONE));
	assert_string_equal(vv_record_field(r, VV_FIELD_NAME), "Stan Second");
	vv_record_free(&r);
	assert_int_equal(tl_read_as(t, t->crm, "S2", &r), VV_ERR_DENIED);
	/* Back to the default: S2 and both VIPs... V1, V2 stay VIP. */
	vv_policy_default(&p);
	p.vip_min_spend = 20000000;	/* 200,000: V2 (180,000) demoted */
	assert_int_equal(vv_policy_set(t->v, &p, &changed), VV_OK);
	assert_int_equal(changed, 2);	/* S2 back, V2 down */
	assert_counts(t, 1, 3, 1);
	assert_int_equal(tl_read_as(t, t->crm, "V2", &r), VV_OK);
	assert_int_equal(vv_record_tier(r), VV_TIER_STANDARD);
	assert_string_equal(vv_record_field(r, VV_FIELD_NAME), "Victor Vip");
	assert_true(vv_record_masked(r, VV_FIELD_PHONE));
	assert_string_equal(vv_record_field(r, VV_FIELD_PHONE),
	    "+86 1** ****-**88");
	vv_record_free(&r);
	/* An update of a demoted record keeps its contacts under dual
	 * control: re-importing the CRM's data must not open them. */
	{
		char *csv = tl_join(t->dir, "again.csv");

		assert_int_equal(tl_write_file(csv, tl_fixture_csv(),
		    strlen(tl_fixture_csv())), 0);
		assert_int_equal(vv_import_csv(t->v, csv, NULL, NULL, NULL),
		    VV_OK);
		free(csv);
	}
	assert_int_equal(tl_read_as(t, t->crm, "V2", &r), VV_OK);
	assert_int_equal(vv_record_tier(r), VV_TIER_STANDARD);
	assert_true(vv_record_masked(r, VV_FIELD_PHONE));
	assert_true(vv_record_masked(r, VV_FIELD_ADDRESS));
	assert_string_equal(vv_record_field(r, VV_FIELD_PHONE),
	    "+86 1** ****-**88");
	vv_record_free(&r);
	/* S2 came back down with sealed contacts too. */
	assert_int_equal(tl_read_as(t, t->crm, "S2", &r), VV_OK);
	assert_true(vv_record_masked(r, VV_FIELD_EMAIL));
	vv_record_free(&r);
	/* A standard record never promoted still reads in full. */
	assert_int_equal(tl_read_as(t, t->crm, "S1", &r), VV_OK);
	assert_false(vv_record_masked(r, VV_FIELD_PHONE));
	vv_record_free(&r);
}

/* A write through a handle opened before another handle changed the
 * policy tiers by the new policy, not the one it loaded. */
static void
test_policy_seen_by_other_handles(void **state)
{
	struct tl_vault *t = *state;
	vv_record_input in;
	vv_vault *other = NULL;
	vv_record *r = NULL;
	char msg[256];
	vv_policy p;

	assert_int_equal(vv_vault_open(&other, t->dir, msg, sizeof(msg)),
	    VV_OK);
	vv_policy_default(&p);
	p.vip_min_spend = 0;
	p.vip_min_years = 0;
	assert_int_equal(vv_policy_set(other, &p, NULL), VV_OK);
	vv_vault_free(&other);
	memset(&in, 0, sizeof(in));
	in.external_id = "N1";
	in.owner = "alice";
	in.name = "New One";
	in.phone = "+7 900 000 00 01";
	in.annual_spend = 100;
	in.client_since = tl_years_ago(0);
	assert_int_equal(vv_record_put(t->v, &in), VV_OK);
	assert_int_equal(tl_read_as(t, t->vipdesk, "N1", &r), VV_OK);
	assert_int_equal(vv_record_tier(r), VV_TIER_VIP);
	assert_true(vv_record_masked(r, VV_FIELD_PHONE));
	vv_record_free(&r);
}

static void
test_pin(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;
	vv_policy p;

	assert_int_equal(vv_record_pin(t->v, "B1", VV_TIER_VIP), VV_OK);
	assert_counts(t, 0, 2, 3);
	assert_int_equal(tl_read_as(t, t->vipdesk, "B1", &r), VV_OK);
	assert_true(vv_record_pinned(r));
	assert_true(vv_record_masked(r, VV_FIELD_PHONE));
	vv_record_free(&r);
	/* A policy change leaves a pinned record where it is. */
	vv_policy_default(&p);
	p.vip_min_spend = 0;
	p.vip_min_years = 0;
	assert_int_equal(vv_policy_set(t->v, &p, NULL), VV_OK);
	assert_counts(t, 0, 0, 5);
	vv_policy_default(&p);
	assert_int_equal(vv_policy_set(t->v, &p, NULL), VV_OK);
	assert_counts(t, 0, 2, 3);
	assert_int_equal(vv_record_pin(t->v, "B1", 0), VV_OK);
	assert_counts(t, 1, 2, 2);
	assert_int_equal(vv_record_pin(t->v, "NOPE", VV_TIER_VIP),
	    VV_ERR_NOT_FOUND);
	assert_int_equal(vv_record_pin(t->v, "B1", 7), VV_ERR_INVALID);
}

struct bad_csv {
	const char *text;
	const char *msg;
};

static void
test_import_all_or_nothing(void **state)
{
	static const struct bad_csv cases[] = {
	    { "external_id,name,owner,annual_spend,client_since,phone\n"
	      "N1,New One,alice,10,2020-01-01,+7 900 000 00 01\n"
	      "N2,New Two,alice,10,2020-01-01,12345\n",
	      "line 3, column phone: " },
	    { "external_id,name,owner,annual_spend,client_since,fax\n",
	      "line 1, column 6: unknown column" },
	    { "external_id,name,owner,annual_spend\n",
	      "line 1: required column client_since is missing" },
	    { "external_id,name,owner,annual_spend,client_since\n"
	      "N1,New,alice,10\n", "line 2: 4 fields, the header has 5" },
	    { "external_id,name,owner,annual_spend,client_since\n"
	      "N1,\"New,alice,10,2020-01-01\n",
	      "line 2, column 2: unterminated quoted field" },
	    { "external_id,name,owner,annual_spend,client_since\n"
	      "N1,New,alice,1e5,2020-01-01\n",
	      "line 2, column annual_spend: not an amount" },
	    { "external_id,name,owner,annual_spend,client_since\n"
	      "N1,New,alice,10,2020-02-30\n",
	      "line 2, column client_since: not a date" },
	    { "external_id,name,owner,annual_spend,client_since\n"
	      "N1,New,alice,10,2020-01-01\nN1,Again,alice,10,2020-01-01\n",
	      "line 3, column external_id: appears earlier in this file" },
	    { "external_id,name,owner,annual_spend,client_since\n"
	      "S1,Again,alice,10,2020-01-01\nS1,Again,alice,10,2020-01-01\n",
	      "line 3, column external_id: appears earlier in this file" },
	    { "external_id,name,owner,annual_spend,client_since\n"
	      "N1,N\xc3\x28w,alice,10,2020-01-01\n",
	      "line 2, column 2: invalid UTF-8" },
	    { "external_id,name,owner,annual_spend,client_since,email\n"
	      "S1,Changed,alice,10,2020-01-01,not-an-email\n",
	      "line 2, column email: " },
	};
	struct tl_vault *t = *state;
	vv_import_summary sum;
	vv_record *r = NULL;
	size_t i;
	char *p;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(p = tl_write_csv(t, "bad.csv", cases[i].text));
		assert_int_equal(vv_import_csv(t->v, p, NULL, NULL, &sum),
		    VV_ERR_INPUT);
		if (strstr(vv_vault_errmsg(t->v), cases[i].msg) !=
		    vv_vault_errmsg(t->v))
			fail_msg("case %zu: got '%s', want '%s...'", i,
			    vv_vault_errmsg(t->v), cases[i].msg);
		assert_counts(t, 1, 2, 2);
		assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM "
		    "records"), 5);
		free(p);
	}
	/* S1 was not half-updated by the last case. */
	assert_int_equal(tl_read_as(t, t->crm, "S1", &r), VV_OK);
	assert_string_equal(vv_record_field(r, VV_FIELD_NAME),
	    "Sofia Standard");
	vv_record_free(&r);
	assert_int_equal(vv_import_csv(t->v, "/nonexistent.csv", NULL, NULL,
	    &sum), VV_ERR_NOT_FOUND);
}

static void
test_reimport_updates(void **state)
{
	struct tl_vault *t = *state;
	vv_import_summary sum;
	char *p;

	assert_non_null(p = tl_write_csv(t, "again.csv", tl_fixture_csv()));
	assert_int_equal(vv_import_csv(t->v, p, NULL, NULL, &sum), VV_OK);
	assert_int_equal(sum.records, 5);
	assert_int_equal(sum.inserted, 0);
	assert_int_equal(sum.updated, 5);
	assert_int_equal(sum.per_tier[VV_TIER_VIP], 2);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"), 5);
	free(p);
	/* BOM, LF endings, columns in another order, a blank line. */
	assert_non_null(p = tl_write_csv(t, "bom.csv", "\xef\xbb\xbfowner,client_since,"
	    "annual_spend,name,external_id\nbob,2020-01-01,1,Neo,N9\n\n"));
	assert_int_equal(vv_import_csv(t->v, p, NULL, NULL, &sum), VV_OK);
	assert_int_equal(sum.inserted, 1);
	assert_int_equal(sum.per_tier[VV_TIER_BASIC], 1);
	free(p);
}

static int progress_calls;

static void
count_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	assert_true(done <= total);
	progress_calls++;
}

static void
test_import_sample(void **state)
{
	struct tl_vault *t = *state;
	vv_import_summary sum;

	progress_calls = 0;
	assert_int_equal(vv_import_csv(t->v, "tests/data/clients-10k.csv",
	    count_progress, NULL, &sum), VV_OK);
	assert_int_equal(sum.records, 10000);
	assert_int_equal(sum.per_tier[VV_TIER_BASIC] +
	    sum.per_tier[VV_TIER_STANDARD] + sum.per_tier[VV_TIER_VIP], 10000);
	/* About 5% VIP and 30% standard, by the sample's construction. */
	assert_in_range(sum.per_tier[VV_TIER_VIP], 300, 800);
	assert_in_range(sum.per_tier[VV_TIER_STANDARD], 2500, 3500);
	assert_true(progress_calls > 10);
	vv_vault_free(&t->v);
	assert_false(tl_dir_contains(t->dir, "Дмитрий Козлов",
	    strlen("Дмитрий Козлов"), "user.pin"));
	assert_false(tl_dir_contains(t->dir, "serg.0@example.ru", 17,
	    "user.pin"));
	assert_false(tl_dir_contains(t->dir, "+79931810111", 12, "user.pin"));
	assert_false(tl_dir_contains(t->dir, "Тверская", strlen("Тверская"),
	    "user.pin"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_evaluation),
		cmocka_unit_test_setup_teardown(test_policy_persisted,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(
		    test_policy_invalid_changes_nothing, tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_promote_and_demote,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(
		    test_policy_seen_by_other_handles, tl_setup_vault,
		    tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_pin,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_import_all_or_nothing,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_reimport_updates,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_import_sample,
		    tl_setup_vault, tl_teardown_vault),
	};

	if (vv_global_init() != VV_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
