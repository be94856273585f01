/*
 * canary.c - canary clients: fake records that name whoever leaks them.
 *
 * A canary is an ordinary record in everything a reader can see: sealed
 * like the rest, owned by a real user, with a plausible name, phone,
 * e-mail and address, and an external id shaped like the vault's own.
 * Only the canary column, which no read returns, sets it apart.  Sessions
 * hide canaries from all but their owner's tokens and log every read of
 * one (session.c); this file plants them and lists them for the
 * administrator.
 *
 * A canary's phone and e-mail must be unique in the whole vault: one
 * that matched a real client would make a lookup of that client look
 * like a canary read, and a leak of the real one look like a leak of the
 * canary.  So each candidate is checked against the blind indexes, inside
 * the transaction that stores it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/canary.h"
#include "vault/clog.h"
#include "vault/lookups.h"

#define CANARY_MAX	100u	/* per plant */
#define TRIES		64	/* for an unused id, phone or e-mail */
/* r.updated, selected after VV_RECORD_COLUMNS */
#define COL_PLANTED	(VV_COL_CANARY + 1)

/* What a plant keeps between its records. */
struct plant {
	struct vv_writer *w;
	sqlite3_stmt *has_id, *mark;
	char prefix[33];	/* the shape of the vault's external ids */
	int width;		/* digits after the prefix */
	uint64_t newest;	/* the newest id's number, or 0 */
	char extid[VV_EXTID_MAX];
};

/* 1 if st, bound to one value, finds a row; VV_ERR_* below 0 on error. */
static int
found(vv_vault *v, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	(void)sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return -vv_fail_db(v, rc, what);
}

/* 1 if a record has this blind index; VV_ERR_* below 0 on error. */
static int
indexed(vv_vault *v, int kind, int64_t idx)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int r;

	if ((r = vv_lookups_find(v, kind, idx, &ids, &n)) != VV_OK)
		return -r;
	free(ids);
	return n > 0;
}

/*
 * The shape of external ids: the newest real record's, when it is some
 * non-digits followed by 4 to 18 digits ("C-004211"); else "C-" and six
 * digits.  Canaries are left out: their shape is only a copy.
 */
static int
learn_shape(vv_vault *v, struct plant *p)
{
	sqlite3_stmt *st = NULL;
	const char *id;
	size_t n, d;
	int r, rc;

	(void)snprintf(p->prefix, sizeof(p->prefix), "C-");
	p->width = 6;
	p->newest = 0;
	if ((r = vv_prepare(v, "SELECT external_id FROM records WHERE canary "
	    "= 0 ORDER BY id DESC LIMIT 1", &st)) != VV_OK)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = (const char *)sqlite3_column_text(st, 0);
		n = strlen(id);
		for (d = 0; d < n && id[n - d - 1] >= '0' &&
		    id[n - d - 1] <= '9'; d++)
			;
		if (d >= 4 && d <= 18 && n - d < sizeof(p->prefix)) {
			(void)snprintf(p->prefix, sizeof(p->prefix), "%.*s",
			    (int)(n - d), id);
			p->width = (int)d;
			p->newest = strtoull(id + n - d, NULL, 10);
		}
	} else if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading the newest record");
	sqlite3_finalize(st);
	return r;
}

/*
 * An unused external id of the vault's shape.  The number is taken below
 * the newest one while that works: a CRM hands ids out in order, and an
 * id just above the newest would soon be a real client's, whose import
 * would then overwrite the canary.  When the ids below are all taken, it
 * is taken far above, where the CRM comes last.
 */
static int
make_extid(vv_vault *v, struct plant *p)
{
	uint64_t span = 1, lo, x;
	int i, k;

	for (k = 0; k < p->width; k++)
		span *= 10;
	lo = p->newest < span / 2 ? span / 2 : 1;
	for (i = 0; i < TRIES; i++) {
		if (p->newest > 100 && i < TRIES / 2)
			x = 1 + vv_rand_below(p->newest - 1);
		else
			x = lo + vv_rand_below(span - lo);
		(void)snprintf(p->extid, sizeof(p->extid), "%s%0*llu",
		    p->prefix, p->width, (unsigned long long)x);
		(void)sqlite3_bind_text(p->has_id, 1, p->extid, -1,
		    SQLITE_STATIC);
		if ((k = found(v, p->has_id, "checking an external id")) < 0)
			return -k;
		if (k == 0)
			return VV_OK;
	}
	return vv_fail(v, VV_ERR_EXISTS, "no unused external id of the "
	    "vault's shape (%d digits) found", p->width);
}

/* Draws the fake's phone, then its e-mail, until the vault has neither:
 * vv_writer_put would store a duplicate without a word. */
static int
make_contacts(vv_vault *v, struct vv_fake *f)
{
	int64_t idx;
	int i, k;

	for (i = 0;; i++) {
		if (i == TRIES)
			return vv_fail(v, VV_ERR_EXISTS, "no unused canary "
			    "phone found");
		if (vv_fake_phone(f) != VV_OK)
			return vv_fail(v, VV_ERR_INTERNAL, "a canary phone "
			    "does not normalise");
		idx = vv_blind_index(v, VV_INDEX_PHONE, f->phone);
		if ((k = indexed(v, VV_INDEX_PHONE, idx)) < 0)
			return -k;
		if (k == 0)
			break;
	}
	for (i = 0;; i++) {
		if (i == TRIES)
			return vv_fail(v, VV_ERR_EXISTS, "no unused canary "
			    "e-mail found");
		if (vv_fake_email(f, i) != VV_OK)
			return vv_fail(v, VV_ERR_INTERNAL, "a canary e-mail "
			    "does not normalise");
		idx = vv_blind_index(v, VV_INDEX_EMAIL, f->email);
		if ((k = indexed(v, VV_INDEX_EMAIL, idx)) < 0)
			return -k;
		if (k == 0)
			return VV_OK;
	}
}

static void
plant_free(struct plant *p)
{
	vv_writer_free(&p->w);
	sqlite3_finalize(p->has_id);
	sqlite3_finalize(p->mark);
	memset(p, 0, sizeof(*p));
}

static int
plant_init(vv_vault *v, struct plant *p)
{
	int r;

	if ((r = vv_prepare(v, "SELECT 1 FROM records WHERE external_id = ?",
	    &p->has_id)) != VV_OK ||
	    (r = vv_prepare(v, "UPDATE records SET canary = 1 WHERE id = ?",
	    &p->mark)) != VV_OK ||
	    (r = learn_shape(v, p)) != VV_OK)
		return r;
	return vv_writer_new(v, &p->w);
}

/* Makes up one canary, writes it and marks it. */
static int
plant_one(vv_vault *v, struct plant *p, const char *owner)
{
	vv_record_input in;
	struct vv_fake f;
	int64_t id = 0;
	int r, rc, tier = 0, inserted = 0;

	memset(&in, 0, sizeof(in));
	if ((r = vv_fake_person(&f, &v->policy, vv_today())) != VV_OK) {
		r = r == VV_ERR_INVALID ? vv_fail(v, r, "the tier policy makes "
		    "every client VIP: a canary's contacts would be under "
		    "dual control") : vv_fail(v, r, "making up a canary");
		goto out;
	}
	if ((r = make_extid(v, p)) != VV_OK ||
	    (r = make_contacts(v, &f)) != VV_OK)
		goto out;
	in.external_id = p->extid;
	in.owner = owner;
	in.name = f.name;
	in.phone = f.phone;
	in.email = f.email;
	in.address = f.address;
	in.preferences = f.preferences;
	in.annual_spend = f.spend;
	in.client_since = f.since;
	/* Flushed at once: the next canary's contacts are checked against
	 * the lookup index. */
	if ((r = vv_writer_put(v, p->w, &in, &tier, &inserted, &id)) != VV_OK ||
	    (r = vv_writer_flush(v, p->w)) != VV_OK)
		goto out;
	/* The id was checked unused in this transaction: an update here
	 * would have turned a real client into a canary. */
	if (!inserted || tier == VV_TIER_VIP) {
		r = vv_fail(v, VV_ERR_INTERNAL, "a canary %s", !inserted ?
		    "replaced a record" : "was tiered VIP");
		goto out;
	}
	(void)sqlite3_bind_int64(p->mark, 1, id);
	rc = sqlite3_step(p->mark);
	(void)sqlite3_reset(p->mark);
	if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "marking a canary");
	else if (sqlite3_changes(v->db) != 1)
		r = vv_fail(v, VV_ERR_INTERNAL, "a canary vanished");
out:
	sodium_memzero(&f, sizeof(f));
	return r;
}

int
vv_canary_plant(vv_vault *v, const char *owner, size_t n)
{
	struct plant p;
	char detail[128];
	size_t i;
	int r;

	if (owner == NULL || !vv_valid_name(owner))
		return vv_fail(v, VV_ERR_INVALID, "owner: must be a user name "
		    "(letters, digits, . _ - @)");
	if (n < 1 || n > CANARY_MAX)
		return vv_fail(v, VV_ERR_INVALID, "count: 1 to %u canaries at "
		    "a time", CANARY_MAX);
	memset(&p, 0, sizeof(p));
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	/* Another handle may have changed the policy since we opened. */
	if ((r = vv_policy_load(v)) != VV_OK ||
	    (r = plant_init(v, &p)) != VV_OK)
		goto fail;
	for (i = 0; i < n; i++)
		if ((r = plant_one(v, &p, owner)) != VV_OK)
			goto fail;
	plant_free(&p);
	(void)snprintf(detail, sizeof(detail), "planted %zu canar%s for owner "
	    "%s", n, n == 1 ? "y" : "ies", owner);
	if ((r = vv_clog_note(v, VV_EV_CANARY, NULL, NULL, detail, NULL, 1,
	    n)) != VV_OK || (r = vv_store_commit(v)) != VV_OK)
		goto fail;
	return VV_OK;
fail:
	plant_free(&p);
	vv_store_rollback(v);
	return r;
}

int
vv_canary_foreach(vv_vault *v, vv_canary_fn *fn, void *arg)
{
	struct vv_keys *k = NULL;
	sqlite3_stmt *st = NULL;
	vv_record *rec = NULL;
	vv_canary_info c;
	uint8_t *sk;
	int r, rc = SQLITE_DONE, d, stop;

	if ((r = vv_keys_new(&k)) != VV_OK)
		return vv_fail(v, r, "out of guarded memory");
	/* The escrowed tier keys, as re-tiering uses them: canaries are
	 * never VIP when planted, but a policy change may promote one. */
	for (d = VV_DOM_BASIC; d <= VV_DOM_VIP; d++) {
		if ((sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL) {
			r = vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
			goto out;
		}
		if ((r = vv_domain_sk_escrow(v, d, sk)) != VV_OK) {
			sodium_free(sk);
			goto out;
		}
		vv_keys_set_sk(k, d, sk);
	}
	if ((r = vv_prepare(v, "SELECT " VV_RECORD_COLUMNS ", r.updated FROM "
	    "records r WHERE r.canary = 1 ORDER BY r.owner, r.external_id",
	    &st)) != VV_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = vv_record_from_row(v, k, st, 1, &rec)) != VV_OK)
			goto out;
		memset(&c, 0, sizeof(c));
		c.external_id = vv_record_external_id(rec);
		c.owner = vv_record_owner(rec);
		c.name = vv_record_field(rec, VV_FIELD_NAME);
		c.phone = vv_record_field(rec, VV_FIELD_PHONE);
		c.email = vv_record_field(rec, VV_FIELD_EMAIL);
		c.tier = vv_record_tier(rec);
		c.planted = sqlite3_column_int64(st, COL_PLANTED);
		stop = fn(arg, &c);
		vv_record_free(&rec);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "listing canaries");
out:
	vv_record_free(&rec);
	sqlite3_finalize(st);
	vv_keys_free(&k);
	return r;
}
