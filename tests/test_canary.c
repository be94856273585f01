/*
 * test_canary.c - planting and listing canary clients.
 *
 * The generator is checked alone over many draws (pure, fast); planting
 * and listing on a fresh dev vault (real SQLCipher file, real SoftHSM2
 * token) holding the fixture records.  Reading canaries through sessions
 * is the session suite's business.
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
#include "vault/canary.h"
#include "vault/event.h"
#include "vault/normalize.h"

#define DRAWS 2000

/* A phone as the generator makes them: +1, area code and exchange 2-9XX
 * (exchange neither N11 nor 555), 11 digits in all. */
static void
check_nanp(const char *phone)
{
	char norm[VV_PHONE_MAX], ex[4];

	assert_int_equal(vv_phone_normalize(phone, norm, sizeof(norm), NULL),
	    VV_OK);
	assert_string_equal(norm, phone);
	assert_int_equal(strlen(phone), 12);
	assert_memory_equal(phone, "+1", 2);
	assert_true(phone[2] >= '2' && phone[2] <= '9');
	assert_true(phone[5] >= '2' && phone[5] <= '9');
	(void)snprintf(ex, sizeof(ex), "%.3s", phone + 5);
	assert_true(strcmp(ex + 1, "11") != 0 && strcmp(ex, "555") != 0);
}

static void
test_fake_clients_look_real(void **state)
{
	char norm[VV_EMAIL_MAX];
	struct vv_fake f;
	vv_policy pol;
	int64_t today = vv_today(), since;
	int i, years, tiers[4] = { 0 };

	(void)state;
	vv_policy_default(&pol);
	for (i = 0; i < DRAWS; i++) {
		assert_int_equal(vv_fake_person(&f, &pol, today), VV_OK);
		assert_int_equal(vv_fake_phone(&f), VV_OK);
		assert_int_equal(vv_fake_email(&f, i % 10), VV_OK);
		check_nanp(f.phone);
		assert_int_equal(vv_email_normalize(f.email, norm, sizeof(norm),
		    NULL), VV_OK);
		assert_string_equal(norm, f.email);
		assert_non_null(strchr(f.name, ' '));
		assert_non_null(strstr(f.address, ", "));
		assert_true((since = vv_parse_date(f.since)) >= 0);
		years = vv_years_since(since, today);
		assert_true(years >= 1 && years <= 12);
		assert_true(f.spend >= 0 && f.spend < pol.vip_min_spend);
		tiers[vv_policy_tier(&pol, f.spend, since, today)]++;
		sodium_memzero(&f, sizeof(f));
	}
	/* Both tiers below VIP occur, and VIP never. */
	assert_true(tiers[VV_TIER_BASIC] > DRAWS / 4);
	assert_true(tiers[VV_TIER_STANDARD] > DRAWS / 4);
	assert_int_equal(tiers[VV_TIER_VIP], 0);
}

/* A policy with no VIP minimum spend is met by years only: canaries stay
 * younger than that, or are refused when they cannot. */
static void
test_fake_clients_under_a_spendless_policy(void **state)
{
	struct vv_fake f;
	vv_policy pol;
	int64_t today = vv_today();
	int i;

	(void)state;
	vv_policy_default(&pol);
	pol.vip_min_spend = 0;
	pol.vip_min_years = 3;
	for (i = 0; i < 200; i++) {
		assert_int_equal(vv_fake_person(&f, &pol, today), VV_OK);
		assert_int_not_equal(vv_policy_tier(&pol, f.spend,
		    vv_parse_date(f.since), today), VV_TIER_VIP);
	}
	pol.vip_min_years = 1;
	assert_int_equal(vv_fake_person(&f, &pol, today), VV_ERR_INVALID);
	sodium_memzero(&f, sizeof(f));
}

/* What vv_canary_foreach hands out, copied. */
#define SEEN_MAX 32
struct seen {
	size_t n;
	int stop_after;
	char id[SEEN_MAX][VV_EXTID_MAX];
	char owner[SEEN_MAX][VV_NAME_MAX];
	char phone[SEEN_MAX][VV_PHONE_MAX];
	char email[SEEN_MAX][VV_EMAIL_MAX];
	int tier[SEEN_MAX];
	int64_t planted[SEEN_MAX];
};

static int
collect(void *arg, const vv_canary_info *c)
{
	struct seen *s = arg;

	assert_true(s->n < SEEN_MAX);
	assert_non_null(c->external_id);
	assert_non_null(c->owner);
	assert_non_null(c->name);
	assert_non_null(c->phone);
	assert_non_null(c->email);
	(void)snprintf(s->id[s->n], VV_EXTID_MAX, "%s", c->external_id);
	(void)snprintf(s->owner[s->n], VV_NAME_MAX, "%s", c->owner);
	(void)snprintf(s->phone[s->n], VV_PHONE_MAX, "%s", c->phone);
	(void)snprintf(s->email[s->n], VV_EMAIL_MAX, "%s", c->email);
	s->tier[s->n] = c->tier;
	s->planted[s->n] = c->planted;
	s->n++;
	return s->stop_after != 0 && s->n == (size_t)s->stop_after;
}

static struct seen *
list_canaries(struct tl_vault *t, int stop_after)
{
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->stop_after = stop_after;
	assert_int_equal(vv_canary_foreach(t->v, collect, s), VV_OK);
	return s;
}

static void
test_plant_five(void **state)
{
	struct tl_vault *t = *state;
	struct seen *s;
	int64_t now = vv_now();
	size_t i, j;

	assert_int_equal(vv_canary_plant(t->v, "alice", 5), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "canary = 1"), 5);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"), 10);
	/* The fixture records stay what they were. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "canary = 1 AND external_id IN ('B1', 'S1', 'S2', 'V1', 'V2')"), 0);
	s = list_canaries(t, 0);
	assert_int_equal(s->n, 5);
	for (i = 0; i < s->n; i++) {
		assert_string_equal(s->owner[i], "alice");
		assert_true(s->tier[i] == VV_TIER_BASIC ||
		    s->tier[i] == VV_TIER_STANDARD);
		check_nanp(s->phone[i]);
		assert_non_null(strchr(s->email[i], '@'));
		/* The fixture's ids ("B1") have no shape to copy. */
		assert_int_equal(strlen(s->id[i]), 8);
		assert_memory_equal(s->id[i], "C-", 2);
		assert_int_equal(strspn(s->id[i] + 2, "0123456789"), 6);
		assert_true(s->planted[i] >= now - 60 &&
		    s->planted[i] <= now + 60);
		for (j = 0; j < i; j++) {
			assert_string_not_equal(s->phone[i], s->phone[j]);
			assert_string_not_equal(s->email[i], s->email[j]);
			assert_string_not_equal(s->id[i], s->id[j]);
		}
		if (i > 0)	/* by owner, then external id */
			assert_true(strcmp(s->id[i - 1], s->id[i]) < 0);
	}
	/* The blind indexes agree with what was sealed. */
	assert_int_equal(tl_sql_int(t, "SELECT count(DISTINCT phone_idx) FROM "
	    "records WHERE canary = 1"), 5);
	free(s);
	/* A second plant adds to the first. */
	assert_int_equal(vv_canary_plant(t->v, "bob", 2), VV_OK);
	s = list_canaries(t, 0);
	assert_int_equal(s->n, 7);
	assert_string_equal(s->owner[0], "alice");
	assert_string_equal(s->owner[6], "bob");
	free(s);
	/* The callback stops the walk. */
	s = list_canaries(t, 2);
	assert_int_equal(s->n, 2);
	free(s);
}

/* A canary's external id copies the shape of the newest real record and
 * stays below it, where the CRM has handed ids out already. */
static void
test_external_id_shape(void **state)
{
	struct tl_vault *t = *state;
	vv_record_input in;
	struct seen *s;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.external_id = "ACME-0042117";
	in.owner = "bob";
	in.name = "Real Client";
	in.annual_spend = 100;
	in.client_since = "2020-02-02";
	assert_int_equal(vv_record_put(t->v, &in), VV_OK);
	assert_int_equal(vv_canary_plant(t->v, "bob", 3), VV_OK);
	/* Canaries do not teach the shape to later plants. */
	assert_int_equal(vv_canary_plant(t->v, "bob", 3), VV_OK);
	s = list_canaries(t, 0);
	assert_int_equal(s->n, 6);
	for (i = 0; i < s->n; i++) {
		assert_int_equal(strlen(s->id[i]), 12);
		assert_memory_equal(s->id[i], "ACME-", 5);
		assert_int_equal(strspn(s->id[i] + 5, "0123456789"), 7);
		assert_true(strtol(s->id[i] + 5, NULL, 10) < 42117);
	}
	free(s);
}

static void
test_plant_refused(void **state)
{
	struct tl_vault *t = *state;
	long long records, log;
	vv_policy p;

	records = tl_sql_int(t, "SELECT count(*) FROM records");
	log = tl_sql_int(t, "SELECT count(*) FROM clog");
	assert_int_equal(vv_canary_plant(t->v, "bad owner", 1), VV_ERR_INVALID);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "owner"));
	assert_int_equal(vv_canary_plant(t->v, "", 1), VV_ERR_INVALID);
	assert_int_equal(vv_canary_plant(t->v, NULL, 1), VV_ERR_INVALID);
	assert_int_equal(vv_canary_plant(t->v, "alice", 0), VV_ERR_INVALID);
	assert_int_equal(vv_canary_plant(t->v, "alice", 101), VV_ERR_INVALID);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "1 to 100"));
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"),
	    records);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog"), log);

	/* Under a policy that makes every client VIP a canary's contacts
	 * would be under dual control: the plant fails inside its
	 * transaction and leaves nothing. */
	vv_policy_default(&p);
	p.vip_min_spend = 0;
	p.vip_min_years = 0;
	assert_int_equal(vv_policy_set(t->v, &p, NULL), VV_OK);
	log = tl_sql_int(t, "SELECT count(*) FROM clog");
	assert_int_equal(vv_canary_plant(t->v, "alice", 3), VV_ERR_INVALID);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "VIP"));
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"),
	    records);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "canary = 1"), 0);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog"), log);

	/* A hundred at once is the most. */
	vv_policy_default(&p);
	assert_int_equal(vv_policy_set(t->v, &p, NULL), VV_OK);
	assert_int_equal(vv_canary_plant(t->v, "alice", 100), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "canary = 1"), 100);
	assert_int_equal(tl_sql_int(t, "SELECT count(DISTINCT phone_idx) FROM "
	    "records WHERE canary = 1"), 100);
	assert_int_equal(tl_sql_int(t, "SELECT count(DISTINCT email_idx) FROM "
	    "records WHERE canary = 1"), 100);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "canary = 1 AND tier = 3"), 0);
}

static int
no_canary(void *arg, const vv_canary_info *c)
{
	(void)arg;
	(void)c;
	fail_msg("a canary where none was planted");
	return 1;
}

/* One log entry per plant: type canary, outcome ok, by the
 * administrator, counting the canaries, with no contact in it. */
static void
test_plant_logged(void **state)
{
	struct tl_vault *t = *state;
	struct vv_event *e = calloc(1, sizeof(*e));
	struct seen *s;
	sqlite3_stmt *st = NULL;
	const uint8_t *entry;
	char err[128];
	size_t i, len;

	assert_non_null(e);
	assert_int_equal(vv_canary_foreach(t->v, no_canary, NULL), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 61"), 0);
	assert_int_equal(vv_canary_plant(t->v, "alice", 5), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 61"), 1);
	assert_int_equal(sqlite3_prepare_v2(t->v->db, "SELECT entry FROM clog "
	    "WHERE type = 61", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	entry = sqlite3_column_blob(st, 0);
	len = (size_t)sqlite3_column_bytes(st, 0);
	assert_int_equal(vv_event_decode(entry, len, e, err, sizeof(err)),
	    VV_OK);
	assert_int_equal(e->type, VV_EV_CANARY);
	assert_int_equal(e->outcome, VV_OUT_OK);
	assert_string_equal(e->actor, "administrator");
	assert_string_equal(e->detail, "planted 5 canaries for owner alice");
	assert_true(e->has_count);
	assert_int_equal(e->count, 5);
	assert_int_equal(e->nrefs, 0);
	s = list_canaries(t, 0);
	for (i = 0; i < s->n; i++) {
		assert_null(memmem(entry, len, s->phone[i],
		    strlen(s->phone[i])));
		assert_null(memmem(entry, len, s->email[i],
		    strlen(s->email[i])));
		assert_null(memmem(entry, len, s->id[i], strlen(s->id[i])));
	}
	sqlite3_finalize(st);
	free(s);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_clients_look_real),
		cmocka_unit_test(test_fake_clients_under_a_spendless_policy),
		cmocka_unit_test_setup_teardown(test_plant_five,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_external_id_shape,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_plant_refused,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_plant_logged,
		    tl_setup_vault, tl_teardown_vault),
	};

	if (vv_global_init() != VV_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
