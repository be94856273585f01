/*
 * test_unseal.c - the dual-control rules through the library API, with
 * software FIDO2 tokens driven by real libfido2 calls: who may request,
 * who may approve, how often, until when, and what a requester gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/dual.h"

static const char *const vips[] = { "V1", "V2" };

static void
request_ok(struct tl_dual *d, const char *token, const char *const *ids,
    size_t n, int64_t ttl, char id[VV_REQ_ID_HEX])
{
	int r = vv_unseal_request(d->t.v, token, ids, n, "renewal call",
	    ttl, id);

	if (r != VV_OK)
		fprintf(stderr, "request: %s\n", vv_vault_errmsg(d->t.v));
	assert_int_equal(r, VV_OK);
	assert_int_equal(strlen(id), 32);
}

static char *
state_of(struct tl_dual *d, const char *id)
{
	static char buf[32];
	char sql[160];
	sqlite3_stmt *st = NULL;

	(void)snprintf(sql, sizeof(sql), "SELECT state FROM unseal_requests "
	    "WHERE id = '%s'", id);
	buf[0] = '\0';
	if (sqlite3_prepare_v2(d->t.v->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		(void)snprintf(buf, sizeof(buf), "%s",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static long long
pending_shares(struct tl_dual *d, const char *id)
{
	char sql[160];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM approvals "
	    "WHERE pending_share IS NOT NULL AND request_id = '%s'", id);
	return tl_sql_int(&d->t, sql);
}

static long long
approvals_by(struct tl_dual *d, const char *id, const char *manager)
{
	char sql[256];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM approvals a "
	    "JOIN managers m ON m.id = a.manager_id WHERE m.name = '%s' AND "
	    "a.request_id = '%s'", manager, id);
	return tl_sql_int(&d->t, sql);
}

struct got {
	int n;
	char ids[4][8];
	char phone[4][32];
	char email[4][64];
};

static int
collect(void *arg, const vv_contact *c)
{
	struct got *g = arg;

	if (g->n < 4) {
		(void)snprintf(g->ids[g->n], sizeof(g->ids[0]), "%s",
		    c->external_id);
		(void)snprintf(g->phone[g->n], sizeof(g->phone[0]), "%s",
		    c->phone != NULL ? c->phone : "");
		(void)snprintf(g->email[g->n], sizeof(g->email[0]), "%s",
		    c->email != NULL ? c->email : "");
	}
	g->n++;
	return 0;
}

static void
test_two_managers_release_once(void **state)
{
	struct tl_dual *d = *state;
	struct got g;
	vv_record *rec = NULL;
	char id[VV_REQ_ID_HEX];
	int complete = -1;

	request_ok(d, d->t.vipdesk, vips, 2, 0, id);
	assert_string_equal(state_of(d, id), "pending");
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_OK);
	assert_int_equal(complete, 0);
	assert_string_equal(state_of(d, id), "pending");
	assert_int_equal(pending_shares(d, id), 1);
	/* Not yet: one approval of two. */
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, NULL,
	    NULL), VV_ERR_DENIED);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete), VV_OK);
	assert_int_equal(complete, 1);
	assert_string_equal(state_of(d, id), "approved");
	assert_int_equal(pending_shares(d, id), 0);

	memset(&g, 0, sizeof(g));
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, collect,
	    &g), VV_OK);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.ids[0], "V1");
	assert_string_equal(g.phone[0], "+79031234567");
	assert_string_equal(g.email[0], "vera.vip@example.ru");
	assert_string_equal(g.ids[1], "V2");
	assert_string_equal(g.phone[1], "+8615077875488");
	assert_string_equal(state_of(d, id), "fetched");
	assert_int_equal(tl_sql_int(&d->t, "SELECT count(*) FROM releases"),
	    1);
	assert_int_equal(approvals_by(d, id, "kate"), 1);
	assert_int_equal(approvals_by(d, id, "mia"), 0);
	assert_int_equal(tl_sql_int(&d->t, "SELECT count(*) FROM "
	    "unseal_requests WHERE release IS NOT NULL"), 0);

	/* Once only, and the key was not kept anywhere. */
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, collect,
	    &g), VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "already fetched"));
	assert_int_equal(g.n, 2);
	assert_int_equal(tl_read_as(&d->t, d->t.vipdesk, "V1", &rec), VV_OK);
	assert_int_equal(vv_record_masked(rec, VV_FIELD_PHONE), 1);
	vv_record_free(&rec);
	assert_int_equal(tl_sql_int(&d->t, "SELECT count(*) FROM domain_keys "
	    "WHERE domain = 4 AND sk_escrow IS NOT NULL"), 0);
}

static void
test_requester_cannot_approve_own(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request_ok(d, d->kate, vips, 1, 0, id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "cannot decide"));
	assert_int_equal(approvals_by(d, id, "kate"), 0);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete), VV_OK);
	assert_int_equal(tl_dual_approve(d, id, 2, &complete), VV_OK);
	assert_int_equal(complete, 1);
	/* Only kate's token fetches it. */
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, NULL,
	    NULL), VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "only the token"));
	assert_int_equal(vv_unseal_fetch(d->t.v, d->kate, id, NULL, NULL),
	    VV_OK);
}

static void
test_manager_counts_once(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request_ok(d, d->t.vipdesk, vips, 2, 0, id);
	assert_int_equal(tl_dual_approve(d, id, 2, &complete), VV_OK);
	assert_int_equal(tl_dual_approve(d, id, 2, &complete),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "counts once"));
	assert_int_equal(complete, 0);
	assert_string_equal(state_of(d, id), "pending");
}

static void
test_denied_request_is_closed(void **state)
{
	struct tl_dual *d = *state;
	vv_fido_opts o;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request_ok(d, d->t.vipdesk, vips, 2, 0, id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_OK);
	memset(&o, 0, sizeof(o));
	o.device = d->dev[1];
	assert_int_equal(vv_unseal_deny(d->t.v, id, "leo", &o), VV_OK);
	assert_string_equal(state_of(d, id), "denied");
	assert_int_equal(pending_shares(d, id), 0);
	assert_int_equal(tl_dual_approve(d, id, 2, &complete),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "denied"));
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, NULL,
	    NULL), VV_ERR_DENIED);
}

static void
test_expired_request(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX], sql[160];
	long long expires;
	int complete = 0;

	/* Long enough for the first approval even under valgrind; then
	 * wait for the expiry itself rather than guess how long it takes. */
	request_ok(d, d->t.vipdesk, vips, 2, 8, id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_OK);
	assert_int_equal(pending_shares(d, id), 1);
	(void)snprintf(sql, sizeof(sql), "SELECT expires FROM unseal_requests "
	    "WHERE id = '%s'", id);
	expires = tl_sql_int(&d->t, sql);
	assert_true(expires > 0);
	while ((long long)time(NULL) <= expires)
		(void)sleep(1);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "expired"));
	assert_string_equal(state_of(d, id), "expired");
	assert_int_equal(pending_shares(d, id), 0);
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, NULL,
	    NULL), VV_ERR_DENIED);
}

static void
test_fetched_or_approved_cannot_be_approved(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request_ok(d, d->t.vipdesk, vips, 1, 0, id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_OK);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete), VV_OK);
	assert_int_equal(tl_dual_approve(d, id, 2, &complete),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "already approved"));
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, NULL,
	    NULL), VV_OK);
	assert_int_equal(tl_dual_approve(d, id, 2, &complete),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "already fetched"));
}

static void
test_request_rules(void **state)
{
	struct tl_dual *d = *state;
	const char *many[21], *s1[] = { "S1" }, *v2[] = { "V2" };
	const char *v1[] = { "V1" }, *none[] = { "NOPE" };
	char id[VV_REQ_ID_HEX], names[21][8];
	long long before = tl_sql_int(&d->t, "SELECT count(*) FROM "
	    "unseal_requests");
	size_t i;

	for (i = 0; i < 21; i++) {
		(void)snprintf(names[i], sizeof(names[i]), "V%zu", i);
		many[i] = names[i];
	}
	assert_int_equal(vv_unseal_request(d->t.v, d->t.vipdesk, many, 21,
	    "bulk", 0, id), VV_ERR_INVALID);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "1 to 20 records"));
	assert_string_equal(id, "");
	assert_int_equal(vv_unseal_request(d->t.v, d->t.vipdesk, s1, 1,
	    "why", 0, id), VV_ERR_INVALID);
	assert_non_null(strstr(vv_vault_errmsg(d->t.v), "not a VIP record"));
	/* A role without VIP, and a segment without the record, see
	 * nothing: "not found", as with get. */
	assert_int_equal(vv_unseal_request(d->t.v, d->t.crm, v1, 1, "why",
	    0, id), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_unseal_request(d->t.v, d->t.sales, v2, 1, "why",
	    0, id), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_unseal_request(d->t.v, d->t.vipdesk, none, 1,
	    "why", 0, id), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_unseal_request(d->t.v, d->t.vipdesk, v1, 1,
	    "red \x1b[31m alert", 0, id), VV_ERR_INVALID);
	assert_int_equal(vv_unseal_request(d->t.v, d->t.vipdesk, v1, 1, "",
	    0, id), VV_ERR_INVALID);
	assert_int_equal(vv_unseal_request(d->t.v, d->t.vipdesk, v1, 1, "ok",
	    25 * 3600, id), VV_ERR_INVALID);
	assert_int_equal(vv_unseal_request(d->t.v, "vv_0000000000000000_x",
	    v1, 1, "ok", 0, id), VV_ERR_DENIED);
	assert_int_equal(tl_sql_int(&d->t, "SELECT count(*) FROM "
	    "unseal_requests"), before);
	/* The own-clients-only role may ask for its own VIP client. */
	assert_int_equal(vv_unseal_request(d->t.v, d->t.sales, v1, 1, "why",
	    0, id), VV_OK);
}

struct listed {
	int n;
	char state[16];
	size_t nrec, napproved;
	unsigned k;
};

static int
list_one(void *arg, const vv_unseal_info *r)
{
	struct listed *l = arg;

	l->n++;
	(void)snprintf(l->state, sizeof(l->state), "%s", r->state);
	l->nrec = r->nrecords;
	l->napproved = r->napproved;
	l->k = r->threshold;
	return 0;
}

static void
test_show_and_list(void **state)
{
	struct tl_dual *d = *state;
	struct listed l;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request_ok(d, d->t.vipdesk, vips, 2, 0, id);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete), VV_OK);
	memset(&l, 0, sizeof(l));
	assert_int_equal(vv_unseal_show(d->t.v, id, list_one, &l), VV_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.state, "pending");
	assert_int_equal(l.nrec, 2);
	assert_int_equal(l.napproved, 1);
	assert_int_equal(l.k, 2);
	assert_int_equal(vv_unseal_show(d->t.v, "00112233445566778899aabbcc"
	    "ddeeff", list_one, &l), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_unseal_show(d->t.v, "nonsense", list_one, &l),
	    VV_ERR_NOT_FOUND);
	memset(&l, 0, sizeof(l));
	assert_int_equal(vv_unseal_foreach(d->t.v, 1, list_one, &l), VV_OK);
	assert_true(l.n >= 1);
}

static void
test_vault_without_managers(void **state)
{
	struct tl_dual *d = *state;
	struct tl_vault t;
	const char *v1[] = { "V1" };
	char id[VV_REQ_ID_HEX];

	/* One development SoftHSM2 token per process: close the other. */
	vv_vault_free(&d->t.v);
	assert_int_equal(tl_vault_setup(&t), 0);
	assert_int_equal(vv_unseal_request(t.v, t.vipdesk, v1, 1, "why", 0,
	    id), VV_ERR_NOT_FOUND);
	assert_non_null(strstr(vv_vault_errmsg(t.v), "no key managers"));
	tl_vault_teardown(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_managers_release_once),
		cmocka_unit_test(test_requester_cannot_approve_own),
		cmocka_unit_test(test_manager_counts_once),
		cmocka_unit_test(test_denied_request_is_closed),
		cmocka_unit_test(test_expired_request),
		cmocka_unit_test(test_fetched_or_approved_cannot_be_approved),
		cmocka_unit_test(test_request_rules),
		cmocka_unit_test(test_show_and_list),
		cmocka_unit_test(test_vault_without_managers),
	};

	return cmocka_run_group_tests(tests, tl_dual_group_setup,
	    tl_dual_group_teardown);
}
