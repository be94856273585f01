/*
 * record_write.c - sealing and storing records.
 *
 * Writing needs only public keys: each class is sealed under the current
 * batch's data key for its domain.  The row id is chosen before sealing
 * because the associated data binds every ciphertext to it.
 */
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/mask.h"
#include "vault/normalize.h"


struct vv_writer {
	struct vv_batch *batch;
	sqlite3_stmt *lookup, *next_id, *insert, *update;
	struct vv_buf ct[VV_CLASS_COUNT];
	size_t in_batch;
};

int
vv_writer_new(vv_vault *v, struct vv_writer **out)
{
	struct vv_writer *w;
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	if ((r = vv_batch_new(v, &w->batch)) != VV_OK ||
	    (r = vv_prepare(v, "SELECT id, tier, pinned FROM records WHERE "
	    "external_id = ?", &w->lookup)) != VV_OK ||
	    (r = vv_prepare(v, "SELECT coalesce(max(id), 0) + 1 FROM records",
	    &w->next_id)) != VV_OK ||
	    (r = vv_prepare(v, "INSERT INTO records(id, external_id, owner, "
	    "annual_spend, client_since, tier, pinned, phone_idx, email_idx, "
	    "dk_main, dk_contact, identity_ct, contact_ct, profile_ct, "
	    "masked_ct, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12, ?13, ?14, ?15, ?16)", &w->insert)) != VV_OK ||
	    (r = vv_prepare(v, "UPDATE records SET external_id = ?2, owner = "
	    "?3, annual_spend = ?4, client_since = ?5, tier = ?6, pinned = ?7, "
	    "phone_idx = ?8, email_idx = ?9, dk_main = ?10, dk_contact = ?11, "
	    "identity_ct = ?12, contact_ct = ?13, profile_ct = ?14, "
	    "masked_ct = ?15, updated = ?16 WHERE id = ?1",
	    &w->update)) != VV_OK) {
		vv_writer_free(&w);
		return r;
	}
	*out = w;
	return VV_OK;
}

void
vv_writer_free(struct vv_writer **wp)
{
	struct vv_writer *w;
	int c;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	vv_batch_free(&w->batch);
	sqlite3_finalize(w->lookup);
	sqlite3_finalize(w->next_id);
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->update);
	for (c = 0; c < VV_CLASS_COUNT; c++)
		vv_buf_free(&w->ct[c]);
	free(w);
	*wp = NULL;
}

void
vv_writer_rotate(struct vv_writer *w)
{
	vv_batch_rotate(w->batch);
	w->in_batch = 0;
}

void
vv_blind_index(const vv_vault *v, const char *kind, const char *value,
    uint8_t out[VV_IDX_LEN])
{
	crypto_generichash_state st;

	(void)crypto_generichash_init(&st, v->index_key, VV_KEY_LEN,
	    VV_IDX_LEN);
	(void)crypto_generichash_update(&st, (const uint8_t *)kind,
	    strlen(kind) + 1);
	(void)crypto_generichash_update(&st, (const uint8_t *)value,
	    strlen(value));
	(void)crypto_generichash_final(&st, out, VV_IDX_LEN);
	sodium_memzero(&st, sizeof(st));
}

static int
seal_class(vv_vault *v, struct vv_writer *w, const struct vv_plain *p,
    int cls, int domain, int64_t *dk_id)
{
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	struct vv_env_ctx ctx;
	const uint8_t *key;
	uint32_t version;
	int r;

	if ((r = vv_batch_key(v, w->batch, domain, dk_id, &version, &key,
	    nonce)) != VV_OK)
		return r;
	ctx.vault_id = v->id;
	ctx.record_id = p->id;
	ctx.domain = domain;
	ctx.cls = cls;
	ctx.version = version;
	ctx.dk_id = *dk_id;
	if ((r = vv_env_seal(&ctx, key, nonce, &p->cls[cls], &w->ct[cls])) !=
	    VV_OK)
		return vv_fail(v, r, "sealing a record");
	return VV_OK;
}

static int
seal_all(vv_vault *v, struct vv_writer *w, const struct vv_plain *p,
    int64_t *dk_main, int64_t *dk_contact)
{
	int r, main_dom = vv_tier_domain(p->tier);

	if ((r = seal_class(v, w, p, VV_CLASS_IDENTITY, main_dom,
	    dk_main)) != VV_OK ||
	    (r = seal_class(v, w, p, VV_CLASS_PROFILE, main_dom,
	    dk_main)) != VV_OK ||
	    (r = seal_class(v, w, p, VV_CLASS_MASKED, main_dom,
	    dk_main)) != VV_OK)
		return r;
	if (p->keep_contact != NULL) {
		struct vv_buf *b = &w->ct[VV_CLASS_CONTACT];

		if ((r = vv_buf_reserve(b, p->keep_contact_len)) != VV_OK)
			return vv_fail(v, r, "out of memory");
		memcpy(b->p, p->keep_contact, p->keep_contact_len);
		b->len = p->keep_contact_len;
		*dk_contact = p->keep_dk_contact;
		return VV_OK;
	}
	return seal_class(v, w, p, VV_CLASS_CONTACT,
	    vv_contact_domain(p->tier), dk_contact);
}

static void
bind_idx(sqlite3_stmt *st, int col, const uint8_t *idx)
{
	if (idx != NULL)
		(void)sqlite3_bind_blob(st, col, idx, VV_IDX_LEN,
		    SQLITE_STATIC);
	else
		(void)sqlite3_bind_null(st, col);
}

static int
next_id(vv_vault *v, struct vv_writer *w, int64_t *id)
{
	int rc;

	(void)sqlite3_reset(w->next_id);
	if ((rc = sqlite3_step(w->next_id)) != SQLITE_ROW)
		return vv_fail_db(v, rc, "allocating a record id");
	*id = sqlite3_column_int64(w->next_id, 0);
	(void)sqlite3_reset(w->next_id);
	return VV_OK;
}

int
vv_writer_store(vv_vault *v, struct vv_writer *w, struct vv_plain *p)
{
	int64_t dk_main = 0, dk_contact = 0;
	sqlite3_stmt *st;
	int r, rc, c;

	if (!p->exists && (r = next_id(v, w, &p->id)) != VV_OK)
		return r;
	if ((r = seal_all(v, w, p, &dk_main, &dk_contact)) != VV_OK)
		return r;
	st = p->exists ? w->update : w->insert;
	(void)sqlite3_reset(st);
	(void)sqlite3_bind_int64(st, 1, p->id);
	(void)sqlite3_bind_text(st, 2, p->external_id, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 3, p->owner, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 4, p->spend);
	(void)sqlite3_bind_text(st, 5, p->client_since, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int(st, 6, p->tier);
	(void)sqlite3_bind_int(st, 7, p->pinned);
	bind_idx(st, 8, p->phone_idx);
	bind_idx(st, 9, p->email_idx);
	(void)sqlite3_bind_int64(st, 10, dk_main);
	(void)sqlite3_bind_int64(st, 11, dk_contact);
	for (c = VV_CLASS_IDENTITY; c < VV_CLASS_COUNT; c++)
		(void)sqlite3_bind_blob(st, 11 + c, w->ct[c].p,
		    (int)w->ct[c].len, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 16, vv_now());
	rc = sqlite3_step(st);
	(void)sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return vv_fail_db(v, rc, "storing a record");
	if (++w->in_batch >= VV_BATCH_RECORDS)
		vv_writer_rotate(w);
	return VV_OK;
}

/* ------------------------------------------------------------- input */

/* Finds the record an external id names: its id, tier and pin. */
static int
lookup(vv_vault *v, struct vv_writer *w, struct vv_plain *p)
{
	int rc;

	(void)sqlite3_reset(w->lookup);
	(void)sqlite3_bind_text(w->lookup, 1, p->external_id, -1,
	    SQLITE_STATIC);
	rc = sqlite3_step(w->lookup);
	if (rc == SQLITE_ROW) {
		p->exists = 1;
		p->id = sqlite3_column_int64(w->lookup, 0);
		p->pinned = sqlite3_column_int(w->lookup, 2);
		if (p->pinned)
			p->tier = sqlite3_column_int(w->lookup, 1);
	}
	(void)sqlite3_reset(w->lookup);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return vv_fail_db(v, rc, "looking up a record");
	return VV_OK;
}

static int
valid_external_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= VV_EXTID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
			return 0;
	return 1;
}

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

	if (in->external_id == NULL || !valid_external_id(in->external_id))
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

/* Normalised contacts, their masks and blind indexes. */
struct contacts {
	char phone[VV_PHONE_MAX];
	char email[VV_EMAIL_MAX];
	char mphone[VV_MASK_MAX], memail[VV_MASK_MAX], maddr[VV_MASK_MAX];
	uint8_t pidx[VV_IDX_LEN], eidx[VV_IDX_LEN];
};

static int
normalise(vv_vault *v, const vv_record_input *in, struct contacts *c)
{
	const char *why = NULL;

	if (in->phone != NULL && in->phone[0] != '\0') {
		if (vv_phone_normalize(in->phone, c->phone, sizeof(c->phone),
		    &why) != VV_OK)
			return vv_fail(v, VV_ERR_INPUT, "phone: %s",
			    why != NULL ? why : "not a phone number");
		vv_blind_index(v, "phone", c->phone, c->pidx);
	}
	if (in->email != NULL && in->email[0] != '\0') {
		if (vv_email_normalize(in->email, c->email, sizeof(c->email),
		    &why) != VV_OK)
			return vv_fail(v, VV_ERR_INPUT, "email: %s",
			    why != NULL ? why : "not an e-mail address");
		vv_blind_index(v, "email", c->email, c->eidx);
	}
	if (vv_mask_phone(c->phone, c->mphone, sizeof(c->mphone)) != VV_OK ||
	    vv_mask_email(c->email, c->memail, sizeof(c->memail)) != VV_OK ||
	    vv_mask_address(in->address != NULL ? in->address : "", c->maddr,
	    sizeof(c->maddr)) != VV_OK)
		return vv_fail(v, VV_ERR_INPUT, "address: cannot be masked "
		    "(invalid UTF-8)");
	return VV_OK;
}

int
vv_writer_put(vv_vault *v, struct vv_writer *w, const vv_record_input *in,
    int *tier_out, int *inserted)
{
	struct vv_plain p;
	struct contacts c;
	int64_t since = 0;
	int r;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	if ((r = check_input(v, in, &since)) != VV_OK ||
	    (r = normalise(v, in, &c)) != VV_OK)
		goto out;
	p.external_id = in->external_id;
	p.owner = in->owner;
	p.client_since = in->client_since;
	p.spend = in->annual_spend;
	p.tier = vv_policy_tier(&v->policy, in->annual_spend, since,
	    vv_today());
	if ((r = lookup(v, w, &p)) != VV_OK)
		goto out;
	set_text(&p.cls[VV_CLASS_IDENTITY], 0, in->name);
	set_text(&p.cls[VV_CLASS_CONTACT], 0, c.phone);
	set_text(&p.cls[VV_CLASS_CONTACT], 1, c.email);
	set_text(&p.cls[VV_CLASS_CONTACT], 2, in->address);
	set_text(&p.cls[VV_CLASS_PROFILE], 0, in->notes);
	set_text(&p.cls[VV_CLASS_PROFILE], 1, in->preferences);
	set_text(&p.cls[VV_CLASS_MASKED], 0, c.mphone);
	set_text(&p.cls[VV_CLASS_MASKED], 1, c.memail);
	set_text(&p.cls[VV_CLASS_MASKED], 2, c.maddr);
	p.phone_idx = c.phone[0] != '\0' ? c.pidx : NULL;
	p.email_idx = c.email[0] != '\0' ? c.eidx : NULL;
	if (tier_out != NULL)
		*tier_out = p.tier;
	if (inserted != NULL)
		*inserted = !p.exists;
	r = vv_writer_store(v, w, &p);
out:
	sodium_memzero(&c, sizeof(c));
	return r;
}

int
vv_record_put(vv_vault *v, const vv_record_input *in)
{
	struct vv_writer *w = NULL;
	int r;

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_writer_new(v, &w)) != VV_OK ||
	    (r = vv_writer_put(v, w, in, NULL, NULL)) != VV_OK)
		goto fail;
	vv_writer_free(&w);
	return vv_store_commit(v);
fail:
	vv_writer_free(&w);
	vv_store_rollback(v);
	return r;
}
