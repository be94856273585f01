/*
 * test_lookups.c - the blind index's buckets (vault/lookups.c) on real
 * vaults: random changes checked against a model, growth to narrower
 * buckets, damaged buckets refused, a commit with changes left unapplied
 * refused, lookups of a phone shared by few and by many records, and a
 * lookup made while another is being read.
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
#include "vault/lookups.h"

/* The fixture's five records each have a phone and an e-mail. */
#define FIXTURE_ENTRIES 10

static uint64_t rng = 0x6c6f6f6b75707321ull;

static uint64_t
rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static long long
entries(struct tl_vault *t)
{
	return tl_sql_int(t, "SELECT value FROM meta WHERE key = "
	    "'lookup_entries'");
}

static int
has_id(vv_vault *v, int kind, int64_t hash, int64_t id)
{
	int64_t *ids = NULL;
	size_t n = 0, i;
	int found = 0;

	assert_int_equal(vv_lookups_find(v, kind, hash, &ids, &n), VV_OK);
	for (i = 0; i < n; i++)
		found += ids[i] == id;
	free(ids);
	return found;
}

static size_t
count_ids(vv_vault *v, int kind, int64_t hash)
{
	int64_t *ids = NULL;
	size_t n = 0;

	assert_int_equal(vv_lookups_find(v, kind, hash, &ids, &n), VV_OK);
	free(ids);
	return n;
}

/* A few hashes in a few buckets, so that pairs share buckets and hashes;
 * ids well above the fixture's. */
#define M_HASHES 24
#define M_IDS 40
static int64_t
model_hash(unsigned h)
{
	return (int64_t)(((uint64_t)(h % 3) << 62) | ((uint64_t)h << 20) | h);
}

static void
test_model(void **state)
{
	struct tl_vault *t = *state;
	static uint8_t model[2][M_HASHES][M_IDS];
	struct vv_lookups *l = NULL;
	unsigned round, i, k, h, id, add, present;

	memset(model, 0, sizeof(model));
	for (round = 0; round < 20; round++) {
		assert_int_equal(vv_store_begin(t->v), VV_OK);
		assert_int_equal(vv_lookups_new(t->v, &l), VV_OK);
		for (i = 0; i < 200; i++) {
			k = (unsigned)(rnd() % 2);
			h = (unsigned)(rnd() % M_HASHES);
			id = (unsigned)(rnd() % M_IDS);
			add = rnd() % 3 != 0;
			assert_int_equal((add ? vv_lookups_add :
			    vv_lookups_remove)(l, (int)k, model_hash(h),
			    1000 + id), VV_OK);
			model[k][h][id] = (uint8_t)add;	/* the last wins */
			/* Now and then mid-transaction, as a writer may. */
			if (rnd() % 50 == 0)
				assert_int_equal(vv_lookups_flush(t->v, l),
				    VV_OK);
		}
		assert_int_equal(vv_lookups_flush(t->v, l), VV_OK);
		vv_lookups_free(&l);
		assert_int_equal(t->v->lookups_pending, 0);
		assert_int_equal(vv_store_commit(t->v), VV_OK);
		present = 0;
		for (k = 0; k < 2; k++)
			for (h = 0; h < M_HASHES; h++)
				for (id = 0; id < M_IDS; id++) {
					present += model[k][h][id];
					assert_int_equal(has_id(t->v, (int)k,
					    model_hash(h), 1000 + id),
					    model[k][h][id]);
				}
		assert_int_equal(entries(t), FIXTURE_ENTRIES + present);
	}
	/* Removing every pair the model holds empties the synthetic part. */
	assert_int_equal(vv_store_begin(t->v), VV_OK);
	assert_int_equal(vv_lookups_new(t->v, &l), VV_OK);
	for (k = 0; k < 2; k++)
		for (h = 0; h < M_HASHES; h++)
			for (id = 0; id < M_IDS; id++)
				if (model[k][h][id])
					assert_int_equal(vv_lookups_remove(l,
					    (int)k, model_hash(h), 1000 + id),
					    VV_OK);
	assert_int_equal(vv_lookups_flush(t->v, l), VV_OK);
	vv_lookups_free(&l);
	assert_int_equal(vv_store_commit(t->v), VV_OK);
	assert_int_equal(entries(t), FIXTURE_ENTRIES);
	for (k = 0; k < 2; k++)
		for (h = 0; h < M_HASHES; h++)
			assert_int_equal(count_ids(t->v, (int)k, model_hash(h)),
			    0);
}

/* The last change to a pair decides: an update that keeps its phone, and
 * a record added then moved in one transaction. */
static void
test_last_change_wins(void **state)
{
	struct tl_vault *t = *state;
	struct vv_lookups *l = NULL;
	int64_t h = model_hash(5);

	assert_int_equal(vv_store_begin(t->v), VV_OK);
	assert_int_equal(vv_lookups_new(t->v, &l), VV_OK);
	assert_int_equal(vv_lookups_add(l, VV_INDEX_PHONE, h, 7001), VV_OK);
	assert_int_equal(vv_lookups_add(l, VV_INDEX_PHONE, h, 7002), VV_OK);
	assert_int_equal(vv_lookups_flush(t->v, l), VV_OK);
	assert_int_equal(count_ids(t->v, VV_INDEX_PHONE, h), 2);
	/* An update that keeps its phone: removed and added again. */
	assert_int_equal(vv_lookups_remove(l, VV_INDEX_PHONE, h, 7001), VV_OK);
	assert_int_equal(vv_lookups_add(l, VV_INDEX_PHONE, h, 7001), VV_OK);
	assert_int_equal(vv_lookups_remove(l, VV_INDEX_PHONE, h, 7002), VV_OK);
	assert_int_equal(vv_lookups_add(l, VV_INDEX_PHONE, h, 7003), VV_OK);
	assert_int_equal(vv_lookups_remove(l, VV_INDEX_PHONE, h, 7003), VV_OK);
	assert_int_equal(vv_lookups_flush(t->v, l), VV_OK);
	assert_int_equal(has_id(t->v, VV_INDEX_PHONE, h, 7001), 1);
	assert_int_equal(has_id(t->v, VV_INDEX_PHONE, h, 7002), 0);
	assert_int_equal(has_id(t->v, VV_INDEX_PHONE, h, 7003), 0);
	/* The same hash as an e-mail is another index. */
	assert_int_equal(count_ids(t->v, VV_INDEX_EMAIL, h), 0);
	vv_lookups_free(&l);
	assert_int_equal(vv_store_commit(t->v), VV_OK);
	assert_int_equal(entries(t), FIXTURE_ENTRIES + 1);
}

/* Past 256 pairs a bucket on average, buckets become four times
 * narrower, and every pair is still found. */
static void
test_growth(void **state)
{
	struct tl_vault *t = *state;
	struct vv_lookups *l = NULL;
	const size_t n = 270000;	/* > 256 * 2 * 1024 pairs in all */
	int64_t *hash;
	size_t i;

	assert_non_null(hash = calloc(n, sizeof(*hash)));
	assert_int_equal(tl_sql_int(t, "SELECT value FROM meta WHERE key = "
	    "'lookup_bits'"), VV_LOOKUP_BITS_MIN);
	assert_int_equal(vv_store_begin(t->v), VV_OK);
	assert_int_equal(vv_lookups_new(t->v, &l), VV_OK);
	for (i = 0; i < n; i++) {
		hash[i] = (int64_t)rnd();
		assert_int_equal(vv_lookups_add(l, VV_INDEX_PHONE, hash[i],
		    100000 + (int64_t)i), VV_OK);
		assert_int_equal(vv_lookups_add(l, VV_INDEX_EMAIL, hash[i],
		    100000 + (int64_t)i), VV_OK);
	}
	assert_int_equal(vv_lookups_flush(t->v, l), VV_OK);
	assert_int_equal(vv_store_commit(t->v), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT value FROM meta WHERE key = "
	    "'lookup_bits'"), VV_LOOKUP_BITS_MIN + 2);
	assert_int_equal(entries(t), FIXTURE_ENTRIES + 2 * n);
	assert_int_equal(tl_sql_int(t, "SELECT sum(length(entries)) FROM "
	    "lookups"), VV_LOOKUP_ENTRY * (FIXTURE_ENTRIES + 2 * n));
	for (i = 0; i < n; i += 997) {
		assert_int_equal(has_id(t->v, VV_INDEX_PHONE, hash[i],
		    100000 + (int64_t)i), 1);
		assert_int_equal(has_id(t->v, VV_INDEX_EMAIL, hash[i],
		    100000 + (int64_t)i), 1);
	}
	vv_lookups_free(&l);
	free(hash);
	/* The fixture's records are still found through the new buckets. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"), 5);
}

static void
test_damaged_bucket(void **state)
{
	struct tl_vault *t = *state;
	vv_session *s = NULL;
	vv_record_input in;
	long long before;
	int n = 0;

	before = tl_sql_int(t, "SELECT sum(updated) FROM records");
	assert_int_equal(vv_session_open(t->v, t->vipdesk, &s), VV_OK);
	/* A bucket cut short. */
	assert_int_equal(tl_sql(t, "UPDATE lookups SET entries = "
	    "substr(entries, 1, length(entries) - 1)"), 0);
	assert_int_equal(vv_find_phone(s, "+1-415-555-0101", tl_count_record,
	    &n), VV_ERR_INTEGRITY);
	assert_int_equal(n, 0);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "lookup index is "
	    "damaged"));
	/* A write that would change a damaged bucket is refused whole. */
	memset(&in, 0, sizeof(in));
	in.external_id = "S2";
	in.name = "Stan Second";
	in.phone = "+1-415-555-0101";
	in.email = "stan@example.com";
	in.owner = "bob";
	in.annual_spend = 1500000;
	in.client_since = "2020-01-01";
	assert_int_equal(vv_record_put(t->v, &in), VV_ERR_INTEGRITY);
	assert_int_equal(tl_sql_int(t, "SELECT sum(updated) FROM records"),
	    before);
	vv_session_free(&s);
}

static void
test_bucket_out_of_order(void **state)
{
	struct tl_vault *t = *state;
	vv_session *s = NULL;

	/* Two pairs in one bucket, swapped; then a pair in the wrong
	 * bucket. */
	assert_int_equal(tl_sql(t, "INSERT OR REPLACE INTO lookups VALUES "
	    "(5, x'0140000000000000000000000000000201400000000000000000000000"
	    "000001')"), 0);
	assert_int_equal(vv_session_open(t->v, t->vipdesk, &s), VV_OK);
	{
		int64_t *ids = NULL;
		size_t n = 0;

		assert_int_equal(vv_lookups_find(t->v, VV_INDEX_PHONE,
		    (int64_t)0x0140000000000000ll, &ids, &n), VV_ERR_INTEGRITY);
		assert_int_equal(tl_sql(t, "UPDATE lookups SET entries = "
		    "x'01400000000000000000000000000001' WHERE bucket = 5"), 0);
		assert_int_equal(vv_lookups_find(t->v, VV_INDEX_PHONE,
		    (int64_t)0x0140000000000000ll, &ids, &n), VV_OK);
		assert_int_equal(n, 1);
		free(ids);
		assert_int_equal(tl_sql(t, "UPDATE lookups SET entries = "
		    "x'01800000000000000000000000000001' WHERE bucket = 5"), 0);
		assert_int_equal(vv_lookups_find(t->v, VV_INDEX_PHONE,
		    (int64_t)0x0140000000000000ll, &ids, &n), VV_ERR_INTEGRITY);
	}
	vv_session_free(&s);
}

static void
test_bucket_check(void **state)
{
	uint8_t b[3 * VV_LOOKUP_ENTRY];

	(void)state;
	memset(b, 0, sizeof(b));
	vv_put_be64(b, 0x0040000000000001ull);
	vv_put_be64(b + 8, 1);
	vv_put_be64(b + 16, 0x0040000000000001ull);
	vv_put_be64(b + 24, 2);
	vv_put_be64(b + 32, 0x007fffffffffffffull);
	vv_put_be64(b + 40, 1);
	assert_int_equal(vv_lookup_bucket_of(0x0040000000000001ull, 10), 1);
	assert_int_equal(vv_lookup_bucket_check(b, sizeof(b), 1, 10), VV_OK);
	assert_int_equal(vv_lookup_bucket_check(b, sizeof(b), 2, 10),
	    VV_ERR_INTEGRITY);
	assert_int_equal(vv_lookup_bucket_check(b, sizeof(b) - 1, 1, 10),
	    VV_ERR_INTEGRITY);
	assert_int_equal(vv_lookup_bucket_check(b, 0, 1, 10),
	    VV_ERR_INTEGRITY);
	/* A pair twice. */
	memcpy(b + 16, b, VV_LOOKUP_ENTRY);
	assert_int_equal(vv_lookup_bucket_check(b, sizeof(b), 1, 10),
	    VV_ERR_INTEGRITY);
}

/* Changes a writer did not apply make the commit fail, not vanish. */
static void
test_commit_with_pending_changes(void **state)
{
	struct tl_vault *t = *state;
	struct vv_lookups *l = NULL;

	assert_int_equal(vv_store_begin(t->v), VV_OK);
	assert_int_equal(vv_lookups_new(t->v, &l), VV_OK);
	assert_int_equal(vv_lookups_add(l, VV_INDEX_PHONE, 42, 9), VV_OK);
	assert_int_equal(vv_store_commit(t->v), VV_ERR_INTERNAL);
	vv_lookups_free(&l);
	vv_store_rollback(t->v);
	assert_int_equal(t->v->lookups_pending, 0);
	assert_int_equal(count_ids(t->v, VV_INDEX_PHONE, 42), 0);
}

/* A phone shared by more records than one IN list takes (a company's
 * switchboard) is found on every one of them, and an update moves a
 * record from one phone to another. */
static void
test_shared_phone(void **state)
{
	struct tl_vault *t = *state;
	vv_session *s = NULL;
	char *csv, *path;
	size_t i, len = 0, cap = 700 * 96;
	int n = 0;

	assert_non_null(csv = malloc(cap));
	len = (size_t)snprintf(csv, cap, "external_id,name,phone,email,"
	    "annual_spend,client_since,owner\n");
	for (i = 0; i < 600; i++)
		len += (size_t)snprintf(csv + len, cap - len, "Z%zu,Zed %zu,"
		    "+1 212 555 0100,z%zu@example.com,100,2024-01-01,carol\n",
		    i, i, i);
	assert_non_null(path = tl_join(t->dir, "shared.csv"));
	assert_int_equal(tl_write_file(path, csv, len), 0);
	assert_int_equal(vv_import_csv(t->v, path, NULL, NULL, NULL), VV_OK);
	assert_int_equal(tl_phone_count(t, t->crm, "+12125550100"), 600);
	/* One of them moves to another number. */
	len = (size_t)snprintf(csv, cap, "external_id,name,phone,email,"
	    "annual_spend,client_since,owner\nZ7,Zed 7,+1 212 555 0177,"
	    "z7@example.com,100,2024-01-01,carol\n");
	assert_int_equal(tl_write_file(path, csv, len), 0);
	assert_int_equal(vv_import_csv(t->v, path, NULL, NULL, NULL), VV_OK);
	assert_int_equal(tl_phone_count(t, t->crm, "+12125550100"), 599);
	assert_int_equal(tl_phone_count(t, t->crm, "+12125550177"), 1);
	/* Three records (a kept statement, its unused ids NULL) and seven
	 * (a list of their own) on one number each. */
	len = (size_t)snprintf(csv, cap, "external_id,name,phone,email,"
	    "annual_spend,client_since,owner\n");
	for (i = 0; i < 10; i++)
		len += (size_t)snprintf(csv + len, cap - len, "W%zu,Wes %zu,"
		    "+1 212 555 %s,w%zu@example.com,100,2024-01-01,carol\n",
		    i, i, i < 3 ? "0103" : "0107", i);
	assert_int_equal(tl_write_file(path, csv, len), 0);
	assert_int_equal(vv_import_csv(t->v, path, NULL, NULL, NULL), VV_OK);
	assert_int_equal(tl_phone_count(t, t->crm, "+12125550103"), 3);
	assert_int_equal(tl_phone_count(t, t->crm, "+12125550107"), 7);
	assert_int_equal(tl_phone_count(t, t->crm, "+12125550100"), 599);
	assert_int_equal(vv_session_open(t->v, t->crm, &s), VV_OK);
	assert_int_equal(vv_find_email(s, "z7@example.com", tl_count_record,
	    &n), VV_OK);
	assert_int_equal(n, 1);
	vv_session_free(&s);
	free(path);
	free(csv);
}

struct nested {
	vv_session *s;
	int outer, inner, r;
};

/* For each record found by one phone, a lookup of another: the kept
 * statement is in use, so the inner lookup prepares its own. */
static int
nested_fn(void *arg, const vv_record *rec)
{
	struct nested *n = arg;

	(void)rec;
	n->outer++;
	n->r = vv_find_phone(n->s, "+1-415-555-0101", tl_count_record,
	    &n->inner);
	return 0;
}

static void
test_nested_lookups(void **state)
{
	struct tl_vault *t = *state;
	struct nested n;
	int i;

	memset(&n, 0, sizeof(n));
	assert_int_equal(vv_session_open(t->v, t->vipdesk, &n.s), VV_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vv_find_phone(n.s, "+7 (902) 222-33-44",
		    nested_fn, &n), VV_OK);
		assert_int_equal(n.r, VV_OK);
	}
	assert_int_equal(n.outer, 3);
	assert_int_equal(n.inner, 3);
	vv_session_free(&n.s);
	/* And the kept statements still serve plain lookups. */
	assert_int_equal(tl_phone_count(t, t->crm, "+1-415-555-0101"), 1);
	assert_int_equal(t->v->lookup_busy, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_check),
		cmocka_unit_test_setup_teardown(test_model,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_last_change_wins,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_growth,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_damaged_bucket,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_bucket_out_of_order,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_commit_with_pending_changes,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_shared_phone,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_nested_lookups,
		    tl_setup_vault, tl_teardown_vault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
