/*
 * retier.c - moving records between tiers: a policy change or a pin.
 *
 * Re-tiering re-seals a record's identity, profile and masked classes in
 * the new tier's domain, using the escrowed tier keys (the administrator
 * holds the HSM).  Contacts sealed under the VIP contact domain are
 * carried over untouched when a record leaves the VIP tier: no policy
 * change may open what dual control protects.  Everything happens in one
 * transaction; on failure the policy and every record are as before.
 */
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/clog.h"

struct retier {
	struct vv_keys *keys;
	struct vv_writer *w;
	sqlite3_stmt *row;
};

static void
retier_free(struct retier *rt)
{
	vv_keys_free(&rt->keys);
	vv_writer_free(&rt->w);
	sqlite3_finalize(rt->row);
	memset(rt, 0, sizeof(*rt));
}

static int
retier_init(vv_vault *v, struct retier *rt)
{
	uint8_t *sk;
	int r, d;

	memset(rt, 0, sizeof(*rt));
	if ((r = vv_keys_new(&rt->keys)) != VV_OK)
		return vv_fail(v, r, "out of guarded memory");
	for (d = VV_DOM_BASIC; d <= VV_DOM_VIP; d++) {
		if ((sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL)
			return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
		if ((r = vv_domain_sk_escrow(v, d, sk)) != VV_OK) {
			sodium_free(sk);
			return r;
		}
		vv_keys_set_sk(rt->keys, d, sk);
	}
	if ((r = vv_writer_new(v, &rt->w)) != VV_OK)
		return r;
	return vv_prepare(v, "SELECT " VV_RECORD_COLUMNS ", r.phone_idx, "
	    "r.email_idx FROM records r WHERE r.id = ?", &rt->row);
}

/* The blind index in column col, copied to *store; NULL if none. */
static const int64_t *
idx_col(sqlite3_stmt *st, int col, int64_t *store)
{
	if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
		return NULL;
	*store = sqlite3_column_int64(st, col);
	return store;
}

/* Opens every class of the current row of rt->row into p, with text in
 * buf.  Sealed VIP contacts are kept as ciphertext, with their masks; the
 * masks of open contacts are made afresh if the new tier needs them. */
static int
open_row(vv_vault *v, struct retier *rt, struct vv_plain *p, uint8_t *buf)
{
	sqlite3_stmt *st = rt->row;
	int old = sqlite3_column_int(st, VV_COL_TIER), r;
	unsigned main = 1u << vv_tier_domain(old);
	unsigned contact = 1u << vv_contact_domain(old) |
	    1u << VV_DOM_VIP_CONTACT;
	uint8_t *at = buf;

	if ((r = vv_open_class(v, rt->keys, st, VV_CLASS_IDENTITY, main, &at,
	    &p->cls[VV_CLASS_IDENTITY])) != VV_OK ||
	    (r = vv_open_class(v, rt->keys, st, VV_CLASS_PROFILE, main, &at,
	    &p->cls[VV_CLASS_PROFILE])) != VV_OK)
		return r;
	r = vv_open_class(v, rt->keys, st, VV_CLASS_CONTACT, contact, &at,
	    &p->cls[VV_CLASS_CONTACT]);
	if (r != VV_ERR_SEALED)
		return r;
	p->keep_contact = sqlite3_column_blob(st, VV_COL_CONTACT);
	p->keep_contact_len = (size_t)sqlite3_column_bytes(st, VV_COL_CONTACT);
	p->keep_dk_contact = sqlite3_column_int64(st, VV_COL_DKCONTACT);
	return vv_open_class(v, rt->keys, st, VV_CLASS_MASKED, main, &at,
	    &p->cls[VV_CLASS_MASKED]);
}

static size_t
row_text_len(sqlite3_stmt *st)
{
	size_t n = 0;
	int c;

	for (c = VV_COL_IDENTITY; c <= VV_COL_MASKED; c++)
		n += (size_t)sqlite3_column_bytes(st, c);
	return n;
}

/* Re-seals record id into tier, pinned or not. */
static int
retier_one(vv_vault *v, struct retier *rt, int64_t id, int tier, int pinned)
{
	sqlite3_stmt *st = rt->row;
	struct vv_plain p;
	uint8_t *buf = NULL;
	int64_t pidx = 0, eidx = 0;
	size_t buflen = 0;
	int r, rc;

	memset(&p, 0, sizeof(p));
	(void)sqlite3_reset(st);
	(void)sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? vv_fail(v, VV_ERR_NOT_FOUND, "record "
		    "vanished") : vv_fail_db(v, rc, "reading a record");
		goto out;
	}
	buflen = row_text_len(st);
	if ((buf = malloc(buflen + 1)) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = open_row(v, rt, &p, buf)) != VV_OK)
		goto out;
	p.id = id;
	p.exists = 1;
	p.reseal = 1;
	p.external_id = (const char *)sqlite3_column_text(st, VV_COL_EXTID);
	p.owner = (const char *)sqlite3_column_text(st, VV_COL_OWNER);
	p.client_since = (const char *)sqlite3_column_text(st, VV_COL_SINCE);
	p.spend = sqlite3_column_int64(st, VV_COL_SPEND);
	p.tier = tier;
	p.pinned = pinned;
	p.phone_idx = idx_col(st, VV_COL_CANARY + 1, &pidx);
	p.email_idx = idx_col(st, VV_COL_CANARY + 2, &eidx);
	r = vv_writer_store(v, rt->w, &p);
out:
	(void)sqlite3_reset(st);
	if (buf != NULL) {
		sodium_memzero(buf, buflen + 1);
		free(buf);
	}
	return r;
}

/* Ids and new tiers of the unpinned records the policy moves. */
static int
collect_moves(vv_vault *v, const vv_policy *p, int64_t **ids, int **tiers,
    size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int64_t today = vv_today(), since;
	int r, rc, t;

	*ids = NULL;
	*tiers = NULL;
	*n = 0;
	/* Canaries keep the tier they were planted in: promoted to VIP,
	 * their contacts would go under dual control for good. */
	if ((r = vv_prepare(v, "SELECT id, annual_spend, client_since, tier "
	    "FROM records WHERE pinned = 0 AND canary = 0", &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		since = vv_parse_date((const char *)sqlite3_column_text(st, 2));
		t = vv_policy_tier(p, sqlite3_column_int64(st, 1), since,
		    today);
		if (since < 0 || t == sqlite3_column_int(st, 3))
			continue;
		if (*n == cap) {
			void *a, *b;

			cap = cap ? 2 * cap : 256;
			a = realloc(*ids, cap * sizeof(**ids));
			if (a != NULL)
				*ids = a;
			b = realloc(*tiers, cap * sizeof(**tiers));
			if (b != NULL)
				*tiers = b;
			if (a == NULL || b == NULL) {
				r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
				goto out;
			}
		}
		(*ids)[*n] = sqlite3_column_int64(st, 0);
		(*tiers)[(*n)++] = t;
	}
	if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading records");
out:
	sqlite3_finalize(st);
	return r;
}

int
vv_policy_set(vv_vault *v, const vv_policy *p, size_t *changed)
{
	return vv_policy_set_progress(v, p, changed, NULL, NULL);
}

static int
note_policy(vv_vault *v, const vv_policy *p, size_t moved)
{
	char text[256];

	if (vv_policy_format(p, text, sizeof(text)) != VV_OK)
		text[0] = '\0';
	return vv_clog_note(v, VV_EV_POLICY_SET, NULL, NULL, text[0] != '\0' ?
	    text : NULL, NULL, 1, moved);
}

int
vv_policy_set_progress(vv_vault *v, const vv_policy *p, size_t *changed,
    vv_progress_fn *progress, void *arg)
{
	vv_policy old = v->policy;
	struct retier rt;
	int64_t *ids = NULL;
	int *tiers = NULL;
	size_t n = 0, i;
	int r;

	memset(&rt, 0, sizeof(rt));
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_policy_store(v, p)) != VV_OK ||
	    (r = collect_moves(v, p, &ids, &tiers, &n)) != VV_OK ||
	    (n > 0 && (r = retier_init(v, &rt)) != VV_OK))
		goto fail;
	for (i = 0; i < n; i++) {
		if ((r = retier_one(v, &rt, ids[i], tiers[i], 0)) != VV_OK)
			goto fail;
		if (progress != NULL && (i & 255) == 255)
			progress(arg, i + 1, n);
	}
	if (progress != NULL && n > 0)
		progress(arg, n, n);
	retier_free(&rt);
	if ((r = note_policy(v, p, n)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK)
		goto fail;
	v->policy = *p;
	if (changed != NULL)
		*changed = n;
	free(ids);
	free(tiers);
	return VV_OK;
fail:
	retier_free(&rt);
	vv_store_rollback(v);
	v->policy = old;
	free(ids);
	free(tiers);
	return r;
}

static int
pin_target(vv_vault *v, const char *external_id, int tier, int64_t *id,
    int *target)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT id, annual_spend, client_since FROM "
	    "records WHERE external_id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, external_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*target = tier != 0 ? tier : vv_policy_tier(&v->policy,
		    sqlite3_column_int64(st, 1), vv_parse_date((const char *)
		    sqlite3_column_text(st, 2)), vv_today());
	} else if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no record '%s'",
		    external_id);
	else
		r = vv_fail_db(v, rc, "reading a record");
	sqlite3_finalize(st);
	return r;
}

int
vv_record_pin(vv_vault *v, const char *external_id, int tier)
{
	struct retier rt;
	int64_t id = 0;
	int r, target = 0;

	if (tier != 0 && vv_tier_name(tier) == NULL)
		return vv_fail(v, VV_ERR_INVALID, "unknown tier");
	memset(&rt, 0, sizeof(rt));
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_policy_load(v)) != VV_OK ||
	    (r = pin_target(v, external_id, tier, &id, &target)) != VV_OK ||
	    (r = retier_init(v, &rt)) != VV_OK ||
	    (r = retier_one(v, &rt, id, target, tier != 0)) != VV_OK ||
	    (r = vv_clog_note(v, VV_EV_RECORD_PIN, NULL, NULL, tier != 0 ?
	    vv_tier_name(tier) : "unpinned", external_id, 0, 0)) != VV_OK)
		goto fail;
	retier_free(&rt);
	if ((r = vv_store_commit(v)) != VV_OK)
		vv_store_rollback(v);
	return r;
fail:
	retier_free(&rt);
	vv_store_rollback(v);
	return r;
}
