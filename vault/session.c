/*
 * session.c - a reader: a bearer token, its role, and the tier keys the
 * role's HSM key unseals for it.
 *
 * Access is decided before decryption: the record must be in the
 * session's segment (else "not found", so existence does not leak) and
 * in a tier the role reads (else "denied").  The keys alone would also
 * stop a reader, but a clear answer is better than a failed decryption.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/event.h"
#include "vault/lookups.h"
#include "vault/session_int.h"
#include "vault/normalize.h"


static int
load_role_keys(vv_session *s)
{
	vv_vault *v = s->v;
	uint8_t *sk;
	int r, t, d;

	for (t = VV_TIER_BASIC; t <= VV_TIER_VIP; t++) {
		if ((s->ti.tiers & VV_TIER_MASK(t)) == 0)
			continue;
		d = vv_tier_domain(t);
		if ((sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL)
			return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
		r = vv_domain_sk_for_role(v, s->ti.role_id, s->ti.role, d, sk);
		if (r != VV_OK) {
			sodium_free(sk);
			return r;
		}
		vv_keys_set_sk(s->keys, d, sk);
	}
	return VV_OK;
}

int
vv_session_open(vv_vault *v, const char *token, vv_session **out)
{
	vv_session *s;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	s->v = v;
	vv_audit_drop(s);	/* no entry pending yet */
	if ((r = vv_token_verify(v, token, &s->ti)) != VV_OK)
		goto fail;
	if ((r = vv_keys_new(&s->keys)) != VV_OK) {
		r = vv_fail(v, r, "out of guarded memory");
		goto fail;
	}
	if ((r = load_role_keys(s)) != VV_OK)
		goto fail;
	if ((r = vv_prepare(v, "SELECT " VV_RECORD_COLUMNS " FROM records r "
	    "WHERE r.external_id = ?", &s->get)) != VV_OK)
		goto fail;
	*out = s;
	return VV_OK;
fail:
	vv_session_free(&s);
	return r;
}

void
vv_session_free(vv_session **sp)
{
	vv_session *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	/* What was read is logged even if the caller forgot to flush. */
	(void)vv_session_flush(s);
	vv_audit_drop(s);
	vv_keys_free(&s->keys);
	sqlite3_finalize(s->get);
	sqlite3_finalize(s->check);
	sodium_memzero(&s->ti, sizeof(s->ti));
	free(s);
	*sp = NULL;
}

const char *
vv_session_user(const vv_session *s)
{
	return s->ti.user;
}

const char *
vv_session_role(const vv_session *s)
{
	return s->ti.role;
}

const char *
vv_session_token_id(const vv_session *s)
{
	return s->ti.id;
}

void
vv_session_budget(const vv_session *s, vv_budget *b)
{
	*b = s->ti.budget;
}

unsigned
vv_session_flags(const vv_session *s)
{
	return s->ti.flags;
}

int
vv_session_check(vv_session *s)
{
	return vv_token_recheck(s->v, &s->ti, &s->check);
}

int
vv_session_own_only(const vv_session *s)
{
	return (s->ti.flags & VV_ROLE_OWN_CLIENTS_ONLY) != 0;
}

/* Whether the session may know that the row exists: its segment, and a
 * canary exists only for its owner. */
int
vv_session_sees(const vv_session *s, sqlite3_stmt *st, int owner_col,
    int canary_col)
{
	const char *owner = (const char *)sqlite3_column_text(st, owner_col);
	int mine = owner != NULL && strcmp(owner, s->ti.user) == 0;

	if (vv_session_own_only(s) && !mine)
		return 0;
	return sqlite3_column_int(st, canary_col) == 0 || mine;
}

int
vv_get(vv_session *s, const char *external_id, vv_record **out)
{
	vv_vault *v = s->v;
	sqlite3_stmt *st = s->get;
	int r, rc, tier;

	*out = NULL;
	(void)sqlite3_reset(st);
	(void)sqlite3_bind_text(st, 1, external_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = vv_fail_db(v, rc, "reading a record");
		goto out;
	}
	if (rc == SQLITE_DONE || !vv_session_sees(s, st, VV_COL_OWNER,
	    VV_COL_CANARY)) {
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no record '%s'",
		    external_id);
		goto out;
	}
	tier = sqlite3_column_int(st, VV_COL_TIER);
	if (vv_tier_name(tier) == NULL ||
	    (s->ti.tiers & VV_TIER_MASK(tier)) == 0) {
		r = vv_fail(v, VV_ERR_DENIED, "role '%s' may not read %s "
		    "records", s->ti.role, vv_tier_name(tier) != NULL ?
		    vv_tier_name(tier) : "these");
		goto out;
	}
	if ((r = vv_record_from_row(v, s->keys, st, 1, out)) == VV_OK &&
	    ((r = vv_audit_read(s, VV_EV_RECORD_READ, *out)) != VV_OK ||
	    (sqlite3_column_int(st, VV_COL_CANARY) != 0 &&
	    (r = vv_audit_canary(s, VV_EV_RECORD_READ, external_id)) !=
	    VV_OK)))
		vv_record_free(out);
out:
	/* Reset now: an open read statement would pin the WAL snapshot. */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
	return r;
}

/* Calls fn for each row of st the session may read; rows in tiers the
 * role does not read, or outside its segment, are skipped. */
int
vv_session_walk(vv_session *s, sqlite3_stmt *st, int type, vv_record_fn *fn,
    void *arg)
{
	vv_vault *v = s->v;
	vv_record *rec = NULL;
	int r = VV_OK, rc, tier, stop;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		tier = sqlite3_column_int(st, VV_COL_TIER);
		if (vv_tier_name(tier) == NULL ||
		    (s->ti.tiers & VV_TIER_MASK(tier)) == 0)
			continue;
		if (!vv_session_sees(s, st, VV_COL_OWNER, VV_COL_CANARY))
			continue;
		if ((r = vv_record_from_row(v, s->keys, st, 1, &rec)) != VV_OK)
			return r;
		if ((r = vv_audit_read(s, type, rec)) != VV_OK ||
		    (sqlite3_column_int(st, VV_COL_CANARY) != 0 &&
		    (r = vv_audit_canary(s, type, vv_record_external_id(rec)))
		    != VV_OK)) {
			vv_record_free(&rec);
			return r;
		}
		stop = fn(arg, rec);
		vv_record_free(&rec);
		if (stop)
			return VV_OK;
	}
	if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading records");
	return r;
}

int
vv_list(vv_session *s, int tier, vv_record_fn *fn, void *arg)
{
	vv_vault *v = s->v;
	sqlite3_stmt *st = NULL;
	int r;

	if (tier != 0 && (vv_tier_name(tier) == NULL ||
	    (s->ti.tiers & VV_TIER_MASK(tier)) == 0))
		return vv_fail(v, VV_ERR_DENIED, "role '%s' may not read %s "
		    "records", s->ti.role, vv_tier_name(tier) != NULL ?
		    vv_tier_name(tier) : "these");
	if ((r = vv_prepare(v, "SELECT " VV_RECORD_COLUMNS " FROM records r "
	    "WHERE (?1 = 0 OR r.tier = ?1) AND (?2 IS NULL OR r.owner = ?2) "
	    "ORDER BY r.external_id", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int(st, 1, tier);
	if (vv_session_own_only(s))
		(void)sqlite3_bind_text(st, 2, s->ti.user, -1, SQLITE_STATIC);
	r = vv_session_walk(s, st, VV_EV_RECORD_LIST, fn, arg);
	sqlite3_finalize(st);
	return r;
}

/* Passes on only records whose value really is the one looked for,
 * where the reader can see it: the blind index is 64 bits, so a
 * collision is possible in principle (2^-64 per pair). */
struct find_filter {
	vv_record_fn *fn;
	void *arg;
	int field;
	const char *normal;
	size_t matched;
};

static int
find_filter(void *arg, const vv_record *r)
{
	struct find_filter *f = arg;
	const char *val = vv_record_field(r, f->field);

	if (!vv_record_masked(r, f->field) &&
	    (val == NULL || strcmp(val, f->normal) != 0))
		return 0;
	f->matched++;
	return f->fn(f->arg, r);
}

static int
find(vv_session *s, int kind, const char *normal, vv_record_fn *fn,
    void *arg)
{
	struct find_filter f = { fn, arg, kind == VV_INDEX_PHONE ?
	    VV_FIELD_PHONE : VV_FIELD_EMAIL, normal, 0 };
	vv_vault *v = s->v;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = vv_lookups_prepare(v, kind, vv_blind_index(v, kind, normal),
	    VV_LOOKUP_RECORDS, &st)) != VV_OK)
		return r;
	r = vv_session_walk(s, st, VV_EV_RECORD_FIND, find_filter, &f);
	vv_lookups_release(v, st);
	if (r == VV_OK && f.matched == 0)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no record with this %s",
		    kind == VV_INDEX_PHONE ? "phone" : "email");
	return r;
}

int
vv_find_phone(vv_session *s, const char *phone, vv_record_fn *fn, void *arg)
{
	char normal[VV_PHONE_MAX];
	const char *why = NULL;
	int r;

	if (vv_phone_normalize(phone, normal, sizeof(normal), &why) != VV_OK)
		return vv_fail(s->v, VV_ERR_INPUT, "phone: %s",
		    why != NULL ? why : "not a phone number");
	r = find(s, VV_INDEX_PHONE, normal, fn, arg);
	sodium_memzero(normal, sizeof(normal));
	return r;
}

int
vv_find_email(vv_session *s, const char *email, vv_record_fn *fn, void *arg)
{
	char normal[VV_EMAIL_MAX];
	const char *why = NULL;
	int r;

	if (vv_email_normalize(email, normal, sizeof(normal), &why) != VV_OK)
		return vv_fail(s->v, VV_ERR_INPUT, "email: %s",
		    why != NULL ? why : "not an e-mail address");
	r = find(s, VV_INDEX_EMAIL, normal, fn, arg);
	sodium_memzero(normal, sizeof(normal));
	return r;
}
