/*
 * record_input.c - a record as a CRM gives it, checked and normalised.
 *
 * Everything is validated before anything is sealed, and a refusal names
 * the field and the problem, never the value: error messages end up in
 * logs and terminals, client data must not.
 */
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/clog.h"
#include "vault/normalize.h"

_Static_assert(VV_PREP_PHONE_MAX == VV_PHONE_MAX &&
    VV_PREP_EMAIL_MAX == VV_EMAIL_MAX, "vv_prepared holds normal forms");

static void
set_text(struct vv_class_text *t, size_t i, const char *s)
{
	t->f[i] = s != NULL ? s : "";
	t->len[i] = strlen(t->f[i]);
}

static int
check_input(vv_vault *v, const vv_record_input *in, int64_t *since)
{
	const char *f[] = { in->name, in->phone, in->email, in->address,
	    in->notes, in->preferences };
	size_t i;

	if (in->external_id == NULL || !vv_valid_external_id(in->external_id))
		return vv_fail(v, VV_ERR_INPUT, "external_id: must be 1 to "
		    "%u printable characters without spaces", VV_EXTID_MAX - 1);
	if (in->owner == NULL || !vv_valid_name(in->owner))
		return vv_fail(v, VV_ERR_INPUT, "owner: must be a user name "
		    "(letters, digits, . _ - @)");
	if (in->name == NULL || in->name[0] == '\0')
		return vv_fail(v, VV_ERR_INPUT, "name: is empty");
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] != NULL && strlen(f[i]) > VV_FIELD_MAX)
			return vv_fail(v, VV_ERR_INPUT, "%s: longer than %u "
			    "bytes", vv_field_name((int)i), VV_FIELD_MAX);
	if (in->annual_spend < 0)
		return vv_fail(v, VV_ERR_INPUT, "annual_spend: is negative");
	if (in->client_since == NULL ||
	    (*since = vv_parse_date(in->client_since)) < 0)
		return vv_fail(v, VV_ERR_INPUT, "client_since: not a date "
		    "(YYYY-MM-DD)");
	return VV_OK;
}

static int
normalise(vv_vault *v, const vv_record_input *in, struct vv_prepared *c)
{
	const char *why = NULL;

	if (in->phone != NULL && in->phone[0] != '\0') {
		if (vv_phone_normalize(in->phone, c->phone, sizeof(c->phone),
		    &why) != VV_OK)
			return vv_fail(v, VV_ERR_INPUT, "phone: %s",
			    why != NULL ? why : "not a phone number");
		c->pidx = vv_blind_index(v, VV_INDEX_PHONE, c->phone);
	}
	if (in->email != NULL && in->email[0] != '\0') {
		if (vv_email_normalize(in->email, c->email, sizeof(c->email),
		    &why) != VV_OK)
			return vv_fail(v, VV_ERR_INPUT, "email: %s",
			    why != NULL ? why : "not an e-mail address");
		c->eidx = vv_blind_index(v, VV_INDEX_EMAIL, c->email);
	}
	return VV_OK;
}

int
vv_record_prepare(vv_vault *v, const vv_record_input *in,
    struct vv_prepared *out)
{
	struct vv_plain *p = &out->p;
	int64_t since = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = check_input(v, in, &since)) != VV_OK ||
	    (r = normalise(v, in, out)) != VV_OK) {
		vv_prepared_clear(out);
		return r;
	}
	p->external_id = in->external_id;
	p->owner = in->owner;
	p->client_since = in->client_since;
	p->spend = in->annual_spend;
	p->tier = vv_policy_tier(&v->policy, in->annual_spend, since,
	    vv_today());
	set_text(&p->cls[VV_CLASS_IDENTITY], 0, in->name);
	set_text(&p->cls[VV_CLASS_CONTACT], 0, out->phone);
	set_text(&p->cls[VV_CLASS_CONTACT], 1, out->email);
	set_text(&p->cls[VV_CLASS_CONTACT], 2, in->address);
	set_text(&p->cls[VV_CLASS_PROFILE], 0, in->notes);
	set_text(&p->cls[VV_CLASS_PROFILE], 1, in->preferences);
	p->phone_idx = out->phone[0] != '\0' ? &out->pidx : NULL;
	p->email_idx = out->email[0] != '\0' ? &out->eidx : NULL;
	return VV_OK;
}

void
vv_prepared_clear(struct vv_prepared *pr)
{
	sodium_memzero(pr, sizeof(*pr));
}

/*
 * A record written over a canary's id is a real client now (the CRM
 * reused the id): it stops being a canary, or it would stay hidden from
 * everyone but its owner and every read of it would be an alert.  The
 * log says so, so that a planted canary never vanishes unseen.
 */
static int
uncanary(vv_vault *v, int64_t id, const char *external_id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "UPDATE records SET canary = 0 WHERE id = ? "
	    "AND canary = 1", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return vv_fail_db(v, rc, "updating a record");
	if (sqlite3_changes(v->db) == 0)
		return VV_OK;
	return vv_clog_note(v, VV_EV_CANARY, NULL, NULL, "a record was written "
	    "over this canary's id: it is a canary no more", external_id, 0, 0);
}

int
vv_writer_update(vv_vault *v, struct vv_writer *w, struct vv_plain *p)
{
	int r;

	if ((r = vv_writer_lookup(v, w, p)) != VV_OK)
		return r;
	if (!p->exists)
		return vv_fail(v, VV_ERR_INTERNAL, "external id conflict "
		    "without a record");
	if ((r = vv_writer_store(v, w, p)) != VV_OK)
		return r;
	return uncanary(v, p->id, p->external_id);
}

int
vv_writer_put(vv_vault *v, struct vv_writer *w, const vv_record_input *in,
    int *tier_out, int *inserted, int64_t *id)
{
	struct vv_prepared pr;
	struct vv_plain *p = &pr.p;
	int r;

	if ((r = vv_record_prepare(v, in, &pr)) != VV_OK)
		return r;
	r = vv_writer_store(v, w, p);
	if (r == VV_ERR_EXISTS)
		/* Known external id: update it under its own row id. */
		r = vv_writer_update(v, w, p);
	if (r == VV_OK && tier_out != NULL)
		*tier_out = p->tier;
	if (r == VV_OK && inserted != NULL)
		*inserted = !p->exists;
	if (r == VV_OK && id != NULL)
		*id = p->id;
	vv_prepared_clear(&pr);
	return r;
}

int
vv_record_put(vv_vault *v, const vv_record_input *in)
{
	struct vv_writer *w = NULL;
	int r;

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	/* Another handle may have changed the policy since we opened. */
	if ((r = vv_policy_load(v)) != VV_OK ||
	    (r = vv_writer_new(v, &w)) != VV_OK ||
	    (r = vv_writer_put(v, w, in, NULL, NULL, NULL)) != VV_OK ||
	    (r = vv_writer_flush(v, w)) != VV_OK ||
	    (r = vv_clog_note(v, VV_EV_RECORD_PUT, NULL, NULL, NULL,
	    in->external_id, 0, 0)) != VV_OK)
		goto fail;
	vv_writer_free(&w);
	if ((r = vv_store_commit(v)) != VV_OK)
		vv_store_rollback(v);
	return r;
fail:
	vv_writer_free(&w);
	vv_store_rollback(v);
	return r;
}
