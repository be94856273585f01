/*
 * record_write.c - sealing and storing records.
 *
 * Writing needs only public keys: each class is sealed under the current
 * batch's data key for its domain.  The row id is chosen before sealing
 * because the associated data binds every ciphertext to it: a writer owns
 * the write transaction, so it can count ids itself.  A new record is
 * inserted without looking it up first (imports are mostly new records);
 * only when its external id turns out to exist is it looked up, re-sealed
 * under the existing id and updated.
 *
 * The masked class is stored only where the contacts are sealed under
 * dual control: elsewhere a reader sees the contacts themselves.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/lookups.h"
#include "vault/mask.h"

struct vv_writer {
	struct vv_batch *batch;
	struct vv_lookups *lk;
	sqlite3_stmt *lookup, *max_id, *insert, *update, *reseal;
	struct vv_sealed own;	/* what vv_writer_store seals into */
	size_t in_batch;
	int64_t next_id;	/* 0 until read from the database */
};

int
vv_writer_new(vv_vault *v, struct vv_writer **out)
{
	struct vv_writer *w;
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	if ((r = vv_lookups_new(v, &w->lk)) != VV_OK) {
		free(w);
		return vv_fail(v, r, "out of memory");
	}
	if ((r = vv_batch_new(v, &w->batch)) != VV_OK ||
	    (r = vv_prepare(v, "SELECT r.id, r.tier, r.pinned, d.domain, "
	    "r.phone_idx, r.email_idx FROM "
	    "records r LEFT JOIN data_keys d ON d.id = r.dk_contact WHERE "
	    "r.external_id = ?", &w->lookup)) != VV_OK ||
	    (r = vv_prepare(v, "SELECT coalesce(max(id), 0) + 1 FROM records",
	    &w->max_id)) != VV_OK ||
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
	    &w->update)) != VV_OK ||
	    /* Re-tiering changes no indexed column: leaving them out of the
	     * SET list spares four index updates per record. */
	    (r = vv_prepare(v, "UPDATE records SET tier = ?6, pinned = ?7, "
	    "dk_main = ?10, dk_contact = ?11, identity_ct = ?12, contact_ct = "
	    "?13, profile_ct = ?14, masked_ct = ?15, updated = ?16 WHERE id = "
	    "?1", &w->reseal)) != VV_OK) {
		vv_writer_free(&w);
		return r;
	}
	*out = w;
	return VV_OK;
}

void
vv_sealed_free(struct vv_sealed *s)
{
	int c;

	for (c = 0; c < VV_CLASS_COUNT; c++)
		vv_buf_free(&s->ct[c]);
	s->dk_main = s->dk_contact = 0;
}

void
vv_writer_free(struct vv_writer **wp)
{
	struct vv_writer *w;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	vv_batch_free(&w->batch);
	vv_lookups_free(&w->lk);
	sqlite3_finalize(w->lookup);
	sqlite3_finalize(w->max_id);
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->update);
	sqlite3_finalize(w->reseal);
	vv_sealed_free(&w->own);
	free(w);
	*wp = NULL;
}

int
vv_writer_flush(vv_vault *v, struct vv_writer *w)
{
	return vv_lookups_flush(v, w->lk);
}

void
vv_writer_rotate(struct vv_writer *w)
{
	vv_batch_rotate(w->batch);
	w->in_batch = 0;
}

/*
 * A keyed BLAKE2b of the normalised value, 64 bits, stored as an integer:
 * SQLite compares integers faster and packs twice as many index cells in
 * a page as 16-byte blobs, which made imports about a fifth faster.  Two
 * different values collide with probability 2^-64 per pair; find() also
 * compares the decrypted value where the reader can see it.
 */
int64_t
vv_blind_index(const vv_vault *v, int kind, const char *value)
{
	crypto_generichash_state st;
	uint8_t h[VV_IDX_LEN];
	uint64_t x = 0;
	size_t i;

	memcpy(&st, &v->index_state[kind], sizeof(st));
	(void)crypto_generichash_update(&st, (const uint8_t *)value,
	    strlen(value));
	(void)crypto_generichash_final(&st, h, sizeof(h));
	for (i = 0; i < sizeof(h); i++)
		x = x << 8 | h[i];
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(h, sizeof(h));
	return (int64_t)x;
}

static int
seal_class(vv_vault *v, struct vv_writer *w, const struct vv_plain *p,
    int cls, int domain, int64_t *dk_id, struct vv_buf *out)
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
	ctx.external_id = p->external_id;
	ctx.owner = p->owner;
	ctx.domain = domain;
	ctx.cls = cls;
	ctx.version = version;
	ctx.dk_id = *dk_id;
	if ((r = vv_env_seal(&ctx, key, nonce, &p->cls[cls], out)) != VV_OK)
		return vv_fail(v, r, "sealing a record");
	return VV_OK;
}

/* Fills the masked class from the contact class's plaintext. */
static int
make_masks(vv_vault *v, struct vv_plain *p, char masks[3][VV_MASK_MAX])
{
	const struct vv_class_text *c = &p->cls[VV_CLASS_CONTACT];
	struct vv_class_text *m = &p->cls[VV_CLASS_MASKED];
	size_t i;

	if (c->f[0] == NULL || c->f[1] == NULL || c->f[2] == NULL ||
	    vv_mask_phone(c->f[0], masks[0], VV_MASK_MAX) != VV_OK ||
	    vv_mask_email(c->f[1], masks[1], VV_MASK_MAX) != VV_OK ||
	    vv_mask_address(c->f[2], masks[2], VV_MASK_MAX) != VV_OK)
		return vv_fail(v, VV_ERR_INPUT, "contacts cannot be masked "
		    "(not in normal form)");
	for (i = 0; i < 3; i++) {
		m->f[i] = masks[i];
		m->len[i] = strlen(masks[i]);
	}
	return VV_OK;
}

static int
keep_contact(vv_vault *v, struct vv_sealed *s, const struct vv_plain *p)
{
	struct vv_buf *b = &s->ct[VV_CLASS_CONTACT];
	int r;

	if ((r = vv_buf_reserve(b, p->keep_contact_len)) != VV_OK)
		return vv_fail(v, r, "out of memory");
	memcpy(b->p, p->keep_contact, p->keep_contact_len);
	b->len = p->keep_contact_len;
	s->dk_contact = p->keep_dk_contact;
	return VV_OK;
}

static int
seal_all(vv_vault *v, struct vv_writer *w, struct vv_plain *p,
    struct vv_sealed *s)
{
	char masks[3][VV_MASK_MAX];
	int r, made = 0, main_dom = vv_tier_domain(p->tier);
	int sealed = p->keep_contact != NULL || p->contacts_sealed ||
	    vv_contact_domain(p->tier) == VV_DOM_VIP_CONTACT;

	s->ct[VV_CLASS_MASKED].len = 0;
	if (sealed && p->cls[VV_CLASS_MASKED].f[0] == NULL) {
		if ((r = make_masks(v, p, masks)) != VV_OK)
			goto out;
		made = 1;
	}
	if ((r = seal_class(v, w, p, VV_CLASS_IDENTITY, main_dom,
	    &s->dk_main, &s->ct[VV_CLASS_IDENTITY])) != VV_OK ||
	    (r = seal_class(v, w, p, VV_CLASS_PROFILE, main_dom,
	    &s->dk_main, &s->ct[VV_CLASS_PROFILE])) != VV_OK ||
	    (sealed && (r = seal_class(v, w, p, VV_CLASS_MASKED, main_dom,
	    &s->dk_main, &s->ct[VV_CLASS_MASKED])) != VV_OK))
		goto out;
	if (p->keep_contact != NULL)
		r = keep_contact(v, s, p);
	else
		r = seal_class(v, w, p, VV_CLASS_CONTACT, sealed ?
		    VV_DOM_VIP_CONTACT : vv_contact_domain(p->tier),
		    &s->dk_contact, &s->ct[VV_CLASS_CONTACT]);
out:
	/* The masks live on this stack frame: p must not keep them. */
	if (made)
		memset(&p->cls[VV_CLASS_MASKED], 0,
		    sizeof(p->cls[VV_CLASS_MASKED]));
	sodium_memzero(masks, sizeof(masks));
	return r;
}

static void
bind_idx(sqlite3_stmt *st, int col, const int64_t *idx)
{
	if (idx != NULL)
		(void)sqlite3_bind_int64(st, col, *idx);
	else
		(void)sqlite3_bind_null(st, col);
}

static int
next_id(vv_vault *v, struct vv_writer *w, int64_t *id)
{
	int rc;

	if (w->next_id == 0) {
		(void)sqlite3_reset(w->max_id);
		if ((rc = sqlite3_step(w->max_id)) != SQLITE_ROW)
			return vv_fail_db(v, rc, "allocating a record id");
		w->next_id = sqlite3_column_int64(w->max_id, 0);
		(void)sqlite3_reset(w->max_id);
	}
	*id = w->next_id++;
	return VV_OK;
}

static void
bind_row(sqlite3_stmt *st, const struct vv_plain *p,
    const struct vv_sealed *s)
{
	const struct vv_buf *ct = s->ct;
	int c;

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
	(void)sqlite3_bind_int64(st, 10, s->dk_main);
	(void)sqlite3_bind_int64(st, 11, s->dk_contact);
	for (c = VV_CLASS_IDENTITY; c < VV_CLASS_COUNT; c++)
		if (ct[c].len > 0)
			(void)sqlite3_bind_blob(st, 11 + c, ct[c].p,
			    (int)ct[c].len, SQLITE_STATIC);
		else
			(void)sqlite3_bind_null(st, 11 + c);
	(void)sqlite3_bind_int64(st, 16, vv_now());
}

/* What the lookup index must learn of a stored record: its new blind
 * indexes, and for an update the old ones to forget.  Re-sealing changes
 * neither. */
static int
index_changes(vv_vault *v, struct vv_writer *w, const struct vv_plain *p)
{
	int r = VV_OK;

	if (p->reseal)
		return VV_OK;
	if (p->exists && p->had_phone)
		r = vv_lookups_remove(w->lk, VV_INDEX_PHONE, p->old_phone_idx,
		    p->id);
	if (r == VV_OK && p->exists && p->had_email)
		r = vv_lookups_remove(w->lk, VV_INDEX_EMAIL, p->old_email_idx,
		    p->id);
	if (r == VV_OK && p->phone_idx != NULL)
		r = vv_lookups_add(w->lk, VV_INDEX_PHONE, *p->phone_idx, p->id);
	if (r == VV_OK && p->email_idx != NULL)
		r = vv_lookups_add(w->lk, VV_INDEX_EMAIL, *p->email_idx, p->id);
	return r == VV_OK ? VV_OK : vv_fail(v, r, "out of memory");
}

int
vv_writer_seal(vv_vault *v, struct vv_writer *w, struct vv_plain *p,
    struct vv_sealed *s)
{
	int r;

	if (!p->exists && (r = next_id(v, w, &p->id)) != VV_OK)
		return r;
	if ((r = seal_all(v, w, p, s)) != VV_OK)
		return r;
	if (++w->in_batch >= VV_BATCH_RECORDS)
		vv_writer_rotate(w);
	return VV_OK;
}

int
vv_writer_insert(vv_vault *v, struct vv_writer *w, const struct vv_plain *p,
    const struct vv_sealed *s)
{
	sqlite3_stmt *st;
	int rc;

	st = p->reseal ? w->reseal : p->exists ? w->update : w->insert;
	bind_row(st, p, s);
	rc = sqlite3_step(st);
	(void)sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE && !p->exists)
		return VV_ERR_EXISTS;
	if (rc != SQLITE_DONE)
		return vv_fail_db(v, rc, "storing a record");
	return index_changes(v, w, p);
}

int
vv_writer_store(vv_vault *v, struct vv_writer *w, struct vv_plain *p)
{
	int r;

	if ((r = vv_writer_seal(v, w, p, &w->own)) != VV_OK)
		return r;
	return vv_writer_insert(v, w, p, &w->own);
}

void
vv_writer_share_key_ids(struct vv_writer *w, _Atomic int64_t *next,
    int deferred)
{
	vv_batch_share_ids(w->batch, next, deferred);
}

size_t
vv_writer_take_keys(struct vv_writer *w, struct vv_dk_row *rows, size_t max)
{
	return vv_batch_take_keys(w->batch, rows, max);
}

int
vv_writer_store_key(vv_vault *v, struct vv_writer *w,
    const struct vv_dk_row *row)
{
	return vv_batch_store_key(v, w->batch, row);
}

void
vv_writer_set_next_id(struct vv_writer *w, int64_t id)
{
	w->next_id = id;
}

int
vv_writer_next_id(vv_vault *v, struct vv_writer *w, int64_t *id)
{
	int r;

	if ((r = next_id(v, w, id)) != VV_OK)
		return r;
	w->next_id = *id;	/* only looked at, not taken */
	return VV_OK;
}

/* Finds the record an external id names: its id, its tier if pinned, and
 * whether its contacts are under dual control (they stay there). */
int
vv_writer_lookup(vv_vault *v, struct vv_writer *w, struct vv_plain *p)
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
		p->contacts_sealed = sqlite3_column_int(w->lookup, 3) ==
		    VV_DOM_VIP_CONTACT;
		p->had_phone = sqlite3_column_type(w->lookup, 4) != SQLITE_NULL;
		p->old_phone_idx = sqlite3_column_int64(w->lookup, 4);
		p->had_email = sqlite3_column_type(w->lookup, 5) != SQLITE_NULL;
		p->old_email_idx = sqlite3_column_int64(w->lookup, 5);
	}
	(void)sqlite3_reset(w->lookup);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return vv_fail_db(v, rc, "looking up a record");
	return VV_OK;
}
