/*
 * session_page.c - the API's reads beyond one record: a page of a
 * listing, and a lookup by contact that decrypts nothing.
 *
 * A page is bounded in SQL (the role's tiers, the segment, the canary
 * rule and the limit), so a reader never pays to decrypt rows it will
 * not see.  A lookup answers from the blind index alone: it hands back
 * the id and the looked-for value masked, which the caller already
 * knows, so no ciphertext is opened.  The index is 64 bits wide: a false
 * match has probability 2^-64 per pair of values.
 */
#include <stdio.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/event.h"
#include "vault/lookups.h"
#include "vault/mask.h"
#include "vault/normalize.h"
#include "vault/session_int.h"

#define PAGE_FILTER							\
	"((1 << r.tier) & ?1) != 0 AND (?2 IS NULL OR r.owner = ?2) AND "\
	"(r.canary = 0 OR r.owner = ?3) AND r.external_id > ?4 "

/* Binds the page's filter: tiers, owner (NULL: any), the user (whose
 * canaries are visible), and the cursor. */
static void
bind_filter(const vv_session *s, sqlite3_stmt *st, unsigned tiers,
    const char *owner, const char *after)
{
	(void)sqlite3_bind_int(st, 1, (int)tiers);
	if (owner != NULL)
		(void)sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 3, s->ti.user, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 4, after != NULL ? after : "", -1,
	    SQLITE_STATIC);
}

/* Whether any visible record follows `last`. */
static int
more_after(vv_session *s, unsigned tiers, const char *owner,
    const char *last, int *more)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(s->v, "SELECT 1 FROM records r WHERE "
	    PAGE_FILTER "LIMIT 1", &st)) != VV_OK)
		return r;
	bind_filter(s, st, tiers, owner, last);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		*more = rc == SQLITE_ROW;
	else
		r = vv_fail_db(s->v, rc, "reading records");
	sqlite3_finalize(st);
	return r;
}

struct page {
	vv_record_fn *fn;
	void *arg;
	char last[VV_EXTID_MAX];
	size_t n;
};

static int
page_fn(void *arg, const vv_record *rec)
{
	struct page *p = arg;

	(void)snprintf(p->last, sizeof(p->last), "%s",
	    vv_record_external_id(rec));
	p->n++;
	return p->fn(p->arg, rec);
}

int
vv_list_page(vv_session *s, int tier, const char *owner, const char *after,
    size_t limit, vv_record_fn *fn, void *arg, int *more)
{
	struct page p = { fn, arg, "", 0 };
	vv_vault *v = s->v;
	sqlite3_stmt *st = NULL;
	unsigned tiers = s->ti.tiers;
	int r;

	*more = 0;
	if (tier != 0 && (vv_tier_name(tier) == NULL ||
	    (tiers & VV_TIER_MASK(tier)) == 0))
		return vv_fail(v, VV_ERR_DENIED, "role '%s' may not read %s "
		    "records", s->ti.role, vv_tier_name(tier) != NULL ?
		    vv_tier_name(tier) : "these");
	if (limit == 0 || limit > 1000)
		return vv_fail(v, VV_ERR_INVALID, "a page holds 1 to 1000 "
		    "records");
	if (tier != 0)
		tiers = VV_TIER_MASK(tier);
	/* Another owner's records are not in this segment: an empty page,
	 * as for an owner with no records. */
	if (vv_session_own_only(s)) {
		if (owner != NULL && strcmp(owner, s->ti.user) != 0)
			return VV_OK;
		owner = s->ti.user;
	}
	if ((r = vv_prepare(v, "SELECT " VV_RECORD_COLUMNS " FROM records r "
	    "WHERE " PAGE_FILTER "ORDER BY r.external_id LIMIT ?5",
	    &st)) != VV_OK)
		return r;
	bind_filter(s, st, tiers, owner, after);
	(void)sqlite3_bind_int64(st, 5, (sqlite3_int64)limit);
	r = vv_session_walk(s, st, VV_EV_RECORD_LIST, page_fn, &p);
	sqlite3_finalize(st);
	if (r == VV_OK && p.n == limit)
		r = more_after(s, tiers, owner, p.last, more);
	return r;
}

static int
normalize(vv_session *s, int kind, const char *value, char *out,
    size_t outlen)
{
	const char *why = NULL;

	if (kind == VV_INDEX_PHONE) {
		if (vv_phone_normalize(value, out, outlen, &why) != VV_OK)
			return vv_fail(s->v, VV_ERR_INPUT, "phone: %s",
			    why != NULL ? why : "not a phone number");
	} else if (kind == VV_INDEX_EMAIL) {
		if (vv_email_normalize(value, out, outlen, &why) != VV_OK)
			return vv_fail(s->v, VV_ERR_INPUT, "email: %s",
			    why != NULL ? why : "not an e-mail address");
	} else
		return vv_fail(s->v, VV_ERR_INVALID, "lookup by phone (0) or "
		    "email (1)");
	return VV_OK;
}

/* Calls fn for each visible match of st's rows (external id, owner,
 * tier, canary), logging each. */
static int
lookup_rows(vv_session *s, sqlite3_stmt *st, const char *masked,
    vv_lookup_fn *fn, void *arg, size_t *found)
{
	const char *xid;
	int rc, r = VV_OK, tier;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		tier = sqlite3_column_int(st, 2);
		if (vv_tier_name(tier) == NULL ||
		    (s->ti.tiers & VV_TIER_MASK(tier)) == 0 ||
		    !vv_session_sees(s, st, 1, 3))
			continue;
		xid = (const char *)sqlite3_column_text(st, 0);
		if ((r = vv_audit_ref(s, VV_EV_RECORD_FIND, xid,
		    1u << VV_CLASS_MASKED)) != VV_OK ||
		    (sqlite3_column_int(st, 3) != 0 && (r = vv_audit_canary(s,
		    VV_EV_RECORD_FIND, xid)) != VV_OK))
			return r;
		(*found)++;
		if (fn(arg, xid, tier, masked) != 0)
			return VV_OK;
	}
	if (rc != SQLITE_DONE)
		r = vv_fail_db(s->v, rc, "looking up records");
	return r;
}

int
vv_lookup(vv_session *s, int kind, const char *value, vv_lookup_fn *fn,
    void *arg)
{
	char normal[VV_EMAIL_MAX > VV_PHONE_MAX ? VV_EMAIL_MAX : VV_PHONE_MAX];
	char masked[VV_MASK_MAX];
	sqlite3_stmt *st = NULL;
	size_t found = 0;
	int r;

	masked[0] = '\0';
	if ((r = normalize(s, kind, value, normal, sizeof(normal))) != VV_OK)
		goto out;
	if ((kind == VV_INDEX_PHONE ? vv_mask_phone(normal, masked,
	    sizeof(masked)) : vv_mask_email(normal, masked,
	    sizeof(masked))) != VV_OK) {
		r = vv_fail(s->v, VV_ERR_INPUT, "%s: cannot be masked",
		    kind == VV_INDEX_PHONE ? "phone" : "email");
		goto out;
	}
	if ((r = vv_lookups_prepare(s->v, kind, vv_blind_index(s->v, kind,
	    normal), VV_LOOKUP_BRIEF, &st)) != VV_OK)
		goto out;
	r = lookup_rows(s, st, masked, fn, arg, &found);
	if (r == VV_OK && found == 0 && (r = vv_audit_miss(s,
	    kind == VV_INDEX_PHONE ? "phone" : "email")) == VV_OK)
		r = vv_fail(s->v, VV_ERR_NOT_FOUND, "no record with this %s",
		    kind == VV_INDEX_PHONE ? "phone" : "email");
out:
	vv_lookups_release(s->v, st);
	sodium_memzero(normal, sizeof(normal));
	sodium_memzero(masked, sizeof(masked));
	return r;
}
