/*
 * session_put.c - a CRM writing a record through its bearer token.
 *
 * Writing needs only the tier's public key, so a writer could seal into
 * any tier; what is checked is whom it may overwrite.  An update of a
 * record in a tier the role cannot read is refused: it would let a
 * basic-tier integration replace a VIP client's data unseen.  The checks
 * and the write share one transaction, so no other writer slips between.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/clog.h"
#include "vault/session_int.h"

/* May the session overwrite the existing record in, if any? */
static int
check_existing(vv_session *s, const vv_record_input *in)
{
	vv_vault *v = s->v;
	sqlite3_stmt *st = NULL;
	int r, rc, tier;

	if ((r = vv_prepare(v, "SELECT r.owner, r.tier, r.canary FROM "
	    "records r WHERE r.external_id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, in->external_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = VV_OK;
	else if (rc != SQLITE_ROW)
		r = vv_fail_db(v, rc, "reading a record");
	else if (!vv_session_sees(s, st, 0, 2))
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no record '%s'",
		    in->external_id);
	else if ((tier = sqlite3_column_int(st, 1)),
	    (s->ti.tiers & VV_TIER_MASK(tier)) == 0)
		r = vv_fail(v, VV_ERR_DENIED, "role '%s' may not update %s "
		    "records", s->ti.role, vv_tier_name(tier) != NULL ?
		    vv_tier_name(tier) : "these");
	sqlite3_finalize(st);
	return r;
}

static int
check_writer(vv_session *s, const vv_record_input *in)
{
	if ((s->ti.flags & VV_ROLE_WRITE) == 0)
		return vv_fail(s->v, VV_ERR_DENIED, "role '%s' may not write "
		    "records", s->ti.role);
	if (in->external_id == NULL || !vv_valid_external_id(in->external_id))
		return vv_fail(s->v, VV_ERR_INPUT, "external_id: 1 to %u "
		    "bytes, no spaces or control characters",
		    VV_EXTID_MAX - 1);
	if (vv_session_own_only(s) && (in->owner == NULL ||
	    strcmp(in->owner, s->ti.user) != 0))
		return vv_fail(s->v, VV_ERR_DENIED, "role '%s' writes only "
		    "records owned by its user", s->ti.role);
	return VV_OK;
}

/* The write in the log: the record, and who wrote it with which token. */
static int
note_put(vv_session *s, const char *external_id, int created)
{
	struct vv_event *e;
	int r;

	if ((e = malloc(sizeof(*e))) == NULL)
		return vv_fail(s->v, VV_ERR_NOMEM, "out of memory");
	vv_clog_event(e, VV_EV_RECORD_PUT);
	(void)snprintf(e->actor, sizeof(e->actor), "%s", s->ti.user);
	(void)snprintf(e->role, sizeof(e->role), "%s", s->ti.role);
	(void)snprintf(e->token_id, sizeof(e->token_id), "%s", s->ti.id);
	(void)snprintf(e->detail, sizeof(e->detail), "%s through the API",
	    created ? "added" : "updated");
	vv_clog_ref(s->v, external_id, e->refs[0]);
	e->nrefs = 1;
	r = vv_clog_append(s->v, e);
	free(e);
	return r;
}

int
vv_session_put(vv_session *s, const vv_record_input *in, int *created,
    int *tier)
{
	struct vv_writer *w = NULL;
	vv_vault *v = s->v;
	int r, inserted = 0, t = 0;

	if ((r = check_writer(s, in)) != VV_OK)
		return r;
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	/* Another handle may have changed the policy since we opened. */
	if ((r = vv_policy_load(v)) != VV_OK ||
	    (r = check_existing(s, in)) != VV_OK ||
	    (r = vv_writer_new(v, &w)) != VV_OK ||
	    (r = vv_writer_put(v, w, in, &t, &inserted, NULL)) != VV_OK ||
	    (r = vv_writer_flush(v, w)) != VV_OK ||
	    (r = note_put(s, in->external_id, inserted)) != VV_OK)
		goto fail;
	vv_writer_free(&w);
	if ((r = vv_store_commit(v)) != VV_OK)
		goto fail;
	if (created != NULL)
		*created = inserted;
	if (tier != NULL)
		*tier = t;
	return VV_OK;
fail:
	vv_writer_free(&w);
	vv_store_rollback(v);
	return r;
}
