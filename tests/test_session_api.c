/*
 * test_session_api.c - what the API server asks of the library: list
 * pages, lookups that decrypt nothing, writes through a session, frozen
 * tokens, budgets, canaries and group-committed read entries.  Real
 * vaults (SQLCipher, SoftHSM2) from the test fixture: B1, S1, V1 are
 * alice's (basic, standard, vip), S2 and V2 bob's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipvault.h"
#include "testlib.h"

struct ids {
	char id[8][32];
	size_t n;
};

static int
collect(void *arg, const vv_record *r)
{
	struct ids *ids = arg;

	if (ids->n < 8)
		(void)snprintf(ids->id[ids->n++], 32, "%s",
		    vv_record_external_id(r));
	return 0;
}

static vv_session *
open_ok(struct tl_vault *t, const char *token)
{
	vv_session *s = NULL;

	assert_int_equal(vv_session_open(t->v, token, &s), VV_OK);
	return s;
}

static void
test_list_page(void **state)
{
	struct tl_vault *t = *state;
	vv_session *s = open_ok(t, t->sales), *c = open_ok(t, t->crm);
	struct ids ids;
	int more = 0;

	memset(&ids, 0, sizeof(ids));
	assert_int_equal(vv_list_page(s, 0, NULL, NULL, 2, collect, &ids,
	    &more), VV_OK);
	assert_int_equal(ids.n, 2);
	assert_string_equal(ids.id[0], "B1");
	assert_string_equal(ids.id[1], "S1");
	assert_int_equal(more, 1);
	memset(&ids, 0, sizeof(ids));
	assert_int_equal(vv_list_page(s, 0, NULL, "S1", 2, collect, &ids,
	    &more), VV_OK);
	assert_int_equal(ids.n, 1);
	assert_string_equal(ids.id[0], "V1");
	assert_int_equal(more, 0);
	/* Another owner's segment is an empty page, not an error. */
	memset(&ids, 0, sizeof(ids));
	assert_int_equal(vv_list_page(s, 0, "bob", NULL, 10, collect, &ids,
	    &more), VV_OK);
	assert_int_equal(ids.n, 0);
	memset(&ids, 0, sizeof(ids));
	assert_int_equal(vv_list_page(s, VV_TIER_VIP, NULL, NULL, 10, collect,
	    &ids, &more), VV_OK);
	assert_int_equal(ids.n, 1);
	assert_string_equal(ids.id[0], "V1");
	/* An unsegmented role filters by owner when asked. */
	memset(&ids, 0, sizeof(ids));
	assert_int_equal(vv_list_page(c, 0, "bob", NULL, 10, collect, &ids,
	    &more), VV_OK);
	assert_int_equal(ids.n, 1);
	assert_string_equal(ids.id[0], "S2");
	assert_int_equal(vv_list_page(c, VV_TIER_VIP, NULL, NULL, 10, collect,
	    &ids, &more), VV_ERR_DENIED);
	assert_int_equal(vv_list_page(c, 0, NULL, NULL, 0, collect, &ids,
	    &more), VV_ERR_INVALID);
	vv_session_free(&s);
	vv_session_free(&c);
}

struct match {
	char id[32];
	char masked[96];
	int tier;
	size_t n;
};

static int
on_match(void *arg, const char *id, int tier, const char *masked)
{
	struct match *m = arg;

	(void)snprintf(m->id, sizeof(m->id), "%s", id);
	(void)snprintf(m->masked, sizeof(m->masked), "%s", masked);
	m->tier = tier;
	m->n++;
	return 0;
}

static void
test_lookup(void **state)
{
	struct tl_vault *t = *state;
	vv_session *c = open_ok(t, t->crm), *s = open_ok(t, t->sales);
	long long finds = tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 52");
	struct match m;

	memset(&m, 0, sizeof(m));
	assert_int_equal(vv_lookup(c, 0, "+1 (415) 555-0101", on_match, &m),
	    VV_OK);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.id, "S2");
	assert_int_equal(m.tier, VV_TIER_STANDARD);
	assert_string_equal(m.masked, "+1 4** ***-**01");
	memset(&m, 0, sizeof(m));
	assert_int_equal(vv_lookup(c, 1, "SOFIA.S@example.ru", on_match, &m),
	    VV_OK);
	assert_string_equal(m.id, "S1");
	assert_string_equal(m.masked, "s***@example.ru");
	/* Outside the segment, or in a tier the role does not read: no
	 * such record. */
	assert_int_equal(vv_lookup(s, 0, "+14155550101", on_match, &m),
	    VV_ERR_NOT_FOUND);
	assert_int_equal(vv_lookup(c, 0, "+79031234567", on_match, &m),
	    VV_ERR_NOT_FOUND);
	assert_int_equal(vv_lookup(c, 0, "12345", on_match, &m),
	    VV_ERR_INPUT);
	assert_int_equal(vv_lookup(c, 2, "x", on_match, &m), VV_ERR_INVALID);
	assert_int_equal(vv_session_flush(c), VV_OK);
	/* The two matches share an entry; the miss has one of its own. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 52"), finds + 2);
	assert_int_equal(vv_session_flush(s), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 52"), finds + 3);
	vv_session_free(&c);
	vv_session_free(&s);
}

static void
input(vv_record_input *in, const char *id, const char *owner,
    int64_t spend)
{
	memset(in, 0, sizeof(*in));
	in->external_id = id;
	in->owner = owner;
	in->name = "Wanda Writer";
	in->phone = "+44 20 7946 0000";
	in->email = "wanda@example.org";
	in->annual_spend = spend;
	in->client_since = "2020-01-01";
}

static void
test_put(void **state)
{
	struct tl_vault *t = *state;
	char wtok[VV_TOKEN_MAX], otok[VV_TOKEN_MAX];
	vv_session *w, *o, *c = open_ok(t, t->crm);
	vv_record_input in;
	vv_record *r = NULL;
	int created = -1, tier = 0;
	long long puts = tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 11");

	assert_int_equal(vv_role_add(t->v, "writer", VV_TIER_MASK(VV_TIER_BASIC)
	    | VV_TIER_MASK(VV_TIER_STANDARD), VV_ROLE_WRITE), VV_OK);
	assert_int_equal(vv_role_add(t->v, "ownwriter", VV_TIERS_ALL,
	    VV_ROLE_WRITE | VV_ROLE_OWN_CLIENTS_ONLY), VV_OK);
	assert_int_equal(vv_token_issue(t->v, "writer", "sync", 0, wtok,
	    sizeof(wtok)), VV_OK);
	assert_int_equal(vv_token_issue(t->v, "ownwriter", "alice", 0, otok,
	    sizeof(otok)), VV_OK);
	w = open_ok(t, wtok);
	o = open_ok(t, otok);
	input(&in, "W1", "carol", 100000);
	assert_int_equal(vv_session_put(w, &in, &created, &tier), VV_OK);
	assert_int_equal(created, 1);
	assert_int_equal(tier, VV_TIER_BASIC);
	in.name = "Wanda Rewritten";
	assert_int_equal(vv_session_put(w, &in, &created, &tier), VV_OK);
	assert_int_equal(created, 0);
	assert_int_equal(vv_get(c, "W1", &r), VV_OK);
	assert_string_equal(vv_record_field(r, VV_FIELD_NAME),
	    "Wanda Rewritten");
	assert_string_equal(vv_record_field(r, VV_FIELD_PHONE),
	    "+442079460000");
	vv_record_free(&r);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 11"), puts + 2);
	/* No write permission; a VIP record the writer cannot read. */
	assert_int_equal(vv_session_put(c, &in, &created, &tier),
	    VV_ERR_DENIED);
	input(&in, "V1", "alice", 100000);
	assert_int_equal(vv_session_put(w, &in, &created, &tier),
	    VV_ERR_DENIED);
	/* Own clients only: owned by its user, and bob's S2 is not there. */
	input(&in, "W2", "bob", 100000);
	assert_int_equal(vv_session_put(o, &in, &created, &tier),
	    VV_ERR_DENIED);
	input(&in, "S2", "alice", 100000);
	assert_int_equal(vv_session_put(o, &in, &created, &tier),
	    VV_ERR_NOT_FOUND);
	input(&in, "W3", "alice", 100000);
	in.phone = "12345";
	assert_int_equal(vv_session_put(o, &in, &created, &tier),
	    VV_ERR_INPUT);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "external_id IN ('W2', 'W3')"), 0);
	/* Refused writes leave no entry either. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 11"), puts + 2);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "external_id = 'S2' AND owner = 'bob'"), 1);
	vv_session_free(&w);
	vv_session_free(&o);
	vv_session_free(&c);
}

struct frozen {
	int frozen;
	char reason[128];
};

static int
on_token(void *arg, const vv_token_info *ti)
{
	struct frozen *f = arg;

	if (strcmp(ti->user, "alice") == 0 && strcmp(ti->role, "sales") == 0) {
		f->frozen = ti->frozen;
		(void)snprintf(f->reason, sizeof(f->reason), "%s",
		    ti->frozen_reason != NULL ? ti->frozen_reason : "");
	}
	return 0;
}

static void
test_freeze(void **state)
{
	struct tl_vault *t = *state;
	vv_session *s = open_ok(t, t->sales), *s2 = NULL;
	char id[17];
	struct frozen f;
	long long freezes = tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 60");

	(void)snprintf(id, sizeof(id), "%s", vv_session_token_id(s));
	assert_int_equal(strlen(id), 16);
	assert_int_equal(vv_token_freeze(t->v, id, "over its budget"), VV_OK);
	assert_int_equal(vv_token_freeze(t->v, id, "again"), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 60"), freezes + 1);
	assert_int_equal(vv_session_check(s), VV_ERR_FROZEN);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "token unfreeze"));
	assert_int_equal(vv_session_open(t->v, t->sales, &s2), VV_ERR_FROZEN);
	assert_null(s2);
	/* Frozen or not, a wrong secret is just an invalid token. */
	assert_int_equal(vv_session_open(t->v, "vv_0000000000000000_x", &s2),
	    VV_ERR_DENIED);
	memset(&f, 0, sizeof(f));
	assert_int_equal(vv_token_foreach(t->v, on_token, &f), VV_OK);
	assert_int_equal(f.frozen, 1);
	assert_string_equal(f.reason, "over its budget");
	assert_int_equal(vv_token_unfreeze(t->v, id), VV_OK);
	assert_int_equal(vv_token_unfreeze(t->v, id), VV_ERR_INVALID);
	assert_int_equal(vv_session_check(s), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 62"), 1);
	assert_int_equal(vv_token_freeze(t->v, "0123456789abcdef", "x"),
	    VV_ERR_NOT_FOUND);
	assert_int_equal(vv_token_freeze(t->v, "not-an-id", "x"),
	    VV_ERR_INVALID);
	vv_session_free(&s);
}

static void
test_budget(void **state)
{
	struct tl_vault *t = *state;
	vv_budget b, d;
	vv_session *s = open_ok(t, t->crm);

	vv_budget_default(&d);
	assert_int_equal(vv_role_budget(t->v, "crm", &b), VV_OK);
	assert_memory_equal(&b, &d, sizeof(b));
	vv_session_budget(s, &b);
	assert_int_equal(b.reads_per_minute, 300);
	b.reads_per_minute = 7;
	b.hours_from = 22;
	b.hours_to = 6;
	assert_int_equal(vv_role_set_budget(t->v, "crm", &b), VV_OK);
	/* An open session sees the change at its next check. */
	assert_int_equal(vv_session_check(s), VV_OK);
	vv_session_budget(s, &d);
	assert_int_equal(d.reads_per_minute, 7);
	assert_int_equal(d.hours_from, 22);
	assert_int_equal(d.hours_to, 6);
	b.hours_from = 5;
	b.hours_to = 5;
	assert_int_equal(vv_role_set_budget(t->v, "crm", &b), VV_ERR_INVALID);
	b.hours_to = 25;
	assert_int_equal(vv_role_set_budget(t->v, "crm", &b), VV_ERR_INVALID);
	b.hours_from = b.hours_to = -1;
	b.burst_per_second = 20000000;
	assert_int_equal(vv_role_set_budget(t->v, "crm", &b), VV_ERR_INVALID);
	assert_int_equal(vv_role_set_budget(t->v, "nobody", &d),
	    VV_ERR_NOT_FOUND);
	vv_budget_default(&b);
	b.pages_per_hour = 0;
	assert_int_equal(vv_role_add_with(t->v, "svc", VV_TIERS_ALL, 0, &b),
	    VV_OK);
	assert_int_equal(vv_role_budget(t->v, "svc", &d), VV_OK);
	assert_int_equal(d.pages_per_hour, 0);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 23"), 1);
	vv_session_free(&s);
}

static void
test_canary(void **state)
{
	struct tl_vault *t = *state;
	vv_session *s = open_ok(t, t->sales), *d = open_ok(t, t->vipdesk);
	struct ids mine, desk;
	vv_record *r = NULL;
	char canary[32];
	int more;
	size_t i;

	assert_int_equal(vv_canary_plant(t->v, "alice", 2), VV_OK);
	memset(&mine, 0, sizeof(mine));
	memset(&desk, 0, sizeof(desk));
	assert_int_equal(vv_list_page(s, 0, NULL, NULL, 100, collect, &mine,
	    &more), VV_OK);
	assert_int_equal(mine.n, 5);	/* B1, S1, V1 and two canaries */
	assert_int_equal(vv_list_page(d, 0, "alice", NULL, 100, collect,
	    &desk, &more), VV_OK);
	assert_int_equal(desk.n, 3);	/* the desk sees no canary */
	canary[0] = '\0';
	for (i = 0; i < mine.n; i++)
		if (strcmp(mine.id[i], "B1") != 0 && strcmp(mine.id[i],
		    "S1") != 0 && strcmp(mine.id[i], "V1") != 0)
			(void)snprintf(canary, sizeof(canary), "%s",
			    mine.id[i]);
	assert_true(canary[0] != '\0');
	assert_int_equal(vv_get(d, canary, &r), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_get(s, canary, &r), VV_OK);
	vv_record_free(&r);
	assert_int_equal(vv_session_flush(s), VV_OK);
	/* Two listed and one read: three alerts, each naming the token. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 61"), 1 + 3);
	/* A real record written over the canary's id is a canary no more:
	 * the desk sees it, and the log says what became of the canary. */
	{
		vv_record_input in;

		memset(&in, 0, sizeof(in));
		in.external_id = canary;
		in.owner = "alice";
		in.name = "Real Client";
		in.annual_spend = 100;
		in.client_since = "2021-01-01";
		assert_int_equal(vv_record_put(t->v, &in), VV_OK);
	}
	assert_int_equal(vv_get(d, canary, &r), VV_OK);
	vv_record_free(&r);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "canary = 1"), 1);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 61"), 1 + 3 + 1);
	vv_session_free(&s);
	vv_session_free(&d);
}

static void
test_audit_commit(void **state)
{
	struct tl_vault *t = *state;
	vv_session *a = open_ok(t, t->crm), *b = open_ok(t, t->crm),
	    *c = open_ok(t, t->vipdesk);
	vv_audit *batch[4] = { NULL, NULL, NULL, NULL };
	vv_record *r = NULL;
	long long reads = tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 50");
	size_t i;

	assert_int_equal(vv_session_take_audit(a, &batch[0]), VV_OK);
	assert_null(batch[0]);		/* nothing read yet */
	assert_int_equal(vv_get(a, "B1", &r), VV_OK);
	vv_record_free(&r);
	assert_int_equal(vv_get(b, "S1", &r), VV_OK);
	vv_record_free(&r);
	assert_int_equal(vv_get(c, "V2", &r), VV_OK);
	vv_record_free(&r);
	assert_int_equal(vv_session_take_audit(a, &batch[0]), VV_OK);
	assert_int_equal(vv_session_take_audit(b, &batch[1]), VV_OK);
	assert_int_equal(vv_session_take_audit(c, &batch[2]), VV_OK);
	assert_non_null(batch[0]);
	assert_int_equal(vv_audit_alerts(batch[0]), 0);
	/* Nothing is written until the commit; the sessions hold nothing
	 * more to flush. */
	assert_int_equal(vv_session_flush(a), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 50"), reads);
	assert_int_equal(vv_audit_commit(t->v, batch, 4), VV_OK);
	/* One token's two reads are one entry; the desk's is another. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 50"), reads + 2);
	for (i = 0; i < 4; i++)
		vv_audit_free(&batch[i]);
	assert_int_equal(vv_compliance_sync(t->v), VV_OK);
	vv_session_free(&a);
	vv_session_free(&b);
	vv_session_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_page,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_lookup,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_put,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_freeze,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_budget,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_canary,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_audit_commit,
		    tl_setup_vault, tl_teardown_vault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
