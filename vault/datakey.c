/*
 * datakey.c - data keys: fresh per batch on the write side, unsealed and
 * cached per reader on the read side.
 *
 * A data key is a random XChaCha20-Poly1305 key sealed to a domain's
 * public key with crypto_box_seal, so a writer needs no private key.
 * Within a batch each ciphertext gets nonce = 16 random bytes chosen with
 * the key (stored beside it) || a 64-bit counter: unique because the key
 * is never reused across batches and the counter never repeats in one.
 * Readers keep a small direct-mapped cache of unsealed keys (as their
 * XChaCha20 subkeys) in guarded memory, so one X25519 opening serves a
 * whole batch.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"

#define DK_CACHE_SLOTS 512u

struct vv_keys {
	uint8_t *sk[VV_DOM_COUNT];
	struct vv_dk *cache;	/* guarded: DK_CACHE_SLOTS entries */
};

int
vv_keys_new(struct vv_keys **out)
{
	struct vv_keys *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return VV_ERR_NOMEM;
	k->cache = sodium_allocarray(DK_CACHE_SLOTS, sizeof(struct vv_dk));
	if (k->cache == NULL) {
		free(k);
		return VV_ERR_NOMEM;
	}
	sodium_memzero(k->cache, DK_CACHE_SLOTS * sizeof(struct vv_dk));
	*out = k;
	return VV_OK;
}

void
vv_keys_free(struct vv_keys **kp)
{
	struct vv_keys *k;
	int d;

	if (kp == NULL || (k = *kp) == NULL)
		return;
	for (d = 0; d < VV_DOM_COUNT; d++)
		if (k->sk[d] != NULL)
			sodium_free(k->sk[d]);	/* wipes */
	sodium_free(k->cache);
	free(k);
	*kp = NULL;
}

void
vv_keys_set_sk(struct vv_keys *k, int domain, uint8_t *sk)
{
	if (k->sk[domain] != NULL)
		sodium_free(k->sk[domain]);
	k->sk[domain] = sk;
}

int
vv_keys_has(const struct vv_keys *k, int domain)
{
	return domain > 0 && domain < VV_DOM_COUNT && k->sk[domain] != NULL;
}

static int
load_data_key(vv_vault *v, struct vv_keys *k, int64_t dk_id,
    unsigned allowed, struct vv_dk *slot)
{
	sqlite3_stmt *st = NULL;
	int r, rc, domain;

	if ((r = vv_prepare(v, "SELECT domain, version, sealed, nonce_prefix "
	    "FROM data_keys WHERE id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, dk_id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? vv_fail(v, VV_ERR_INTEGRITY, "a data "
		    "key referenced by a record is missing") :
		    vv_fail_db(v, rc, "reading a data key");
		goto out;
	}
	domain = sqlite3_column_int(st, 0);
	if (domain < VV_DOM_BASIC || domain >= VV_DOM_COUNT ||
	    !(allowed & (1u << domain))) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "a record's data key belongs "
		    "to another tier");
		goto out;
	}
	slot->id = dk_id;
	slot->domain = domain;
	slot->version = (uint32_t)sqlite3_column_int64(st, 1);
	if (sqlite3_column_bytes(st, 3) != VV_NONCE_PREFIX) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "a data key is malformed");
		goto out;
	}
	memcpy(slot->prefix, sqlite3_column_blob(st, 3), VV_NONCE_PREFIX);
	if (!vv_keys_has(k, domain)) {
		/* Remember it: a list of VIP records asks again and again. */
		slot->sealed = domain == VV_DOM_VIP_CONTACT;
		r = slot->sealed ? VV_ERR_SEALED : vv_fail(v, VV_ERR_DENIED,
		    "no key for this tier");
		goto out;
	}
	/* Unsealed straight into the slot, then replaced by its subkey:
	 * the data key itself is needed for nothing else. */
	if (sqlite3_column_bytes(st, 2) != crypto_box_SEALBYTES + VV_KEY_LEN ||
	    crypto_box_seal_open(slot->subkey, sqlite3_column_blob(st, 2),
	    (unsigned long long)sqlite3_column_bytes(st, 2),
	    v->dom[domain].pk, k->sk[domain]) != 0) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "a data key does not open: "
		    "it was altered");
		goto out;
	}
	vv_xchacha_subkey(slot->subkey, slot->subkey, slot->prefix);
	r = VV_OK;
out:
	sqlite3_finalize(st);
	if (r != VV_OK && !slot->sealed)
		sodium_memzero(slot, sizeof(*slot));
	return r;
}

int
vv_keys_data_key(vv_vault *v, struct vv_keys *k, int64_t dk_id,
    unsigned allowed, const struct vv_dk **dk)
{
	struct vv_dk *slot = &k->cache[(uint64_t)dk_id % DK_CACHE_SLOTS];
	int r;

	*dk = slot;
	if (dk_id <= 0)
		return vv_fail(v, VV_ERR_INTEGRITY, "bad data key reference");
	if (slot->id != dk_id) {
		sodium_memzero(slot, sizeof(*slot));
		if ((r = load_data_key(v, k, dk_id, allowed, slot)) != VV_OK)
			return r;
	} else if (!(allowed & (1u << slot->domain)))
		return vv_fail(v, VV_ERR_INTEGRITY, "a record's data key "
		    "belongs to another tier");
	return slot->sealed ? VV_ERR_SEALED : VV_OK;
}

/* ------------------------------------------------------------- writers */

struct batch_dom {
	int live;
	int64_t id;
	uint32_t version;
	uint64_t counter;
	uint8_t prefix[VV_NONCE_PREFIX];
};

struct vv_batch {
	uint8_t *keys;		/* VV_DOM_COUNT subkeys, guarded */
	struct batch_dom d[VV_DOM_COUNT];
	sqlite3_stmt *insert;
	_Atomic int64_t *next_id;	/* shared id counter, or NULL */
	int deferred;		/* new keys wait in pending[] */
	struct vv_dk_row pending[VV_DK_PENDING_MAX];
	size_t npending;
};

int
vv_batch_new(vv_vault *v, struct vv_batch **out)
{
	struct vv_batch *b;
	int r;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	if ((b->keys = sodium_malloc(VV_DOM_COUNT * VV_KEY_LEN)) == NULL) {
		free(b);
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	}
	if ((r = vv_prepare(v, "INSERT INTO data_keys(id, domain, version, "
	    "sealed, nonce_prefix) VALUES (?, ?, ?, ?, ?)", &b->insert)) !=
	    VV_OK) {
		vv_batch_free(&b);
		return r;
	}
	*out = b;
	return VV_OK;
}

void
vv_batch_rotate(struct vv_batch *b)
{
	sodium_memzero(b->keys, VV_DOM_COUNT * VV_KEY_LEN);
	memset(b->d, 0, sizeof(b->d));
}

void
vv_batch_free(struct vv_batch **bp)
{
	struct vv_batch *b;

	if (bp == NULL || (b = *bp) == NULL)
		return;
	sodium_free(b->keys);
	sqlite3_finalize(b->insert);
	free(b);
	*bp = NULL;
}

int
vv_data_key_next_id(vv_vault *v, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT coalesce(max(id), 0) + 1 FROM "
	    "data_keys", &st)) != VV_OK)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		r = vv_fail_db(v, rc, "reading data key ids");
	sqlite3_finalize(st);
	return r;
}

void
vv_batch_share_ids(struct vv_batch *b, _Atomic int64_t *next, int deferred)
{
	b->next_id = next;
	b->deferred = deferred;
}

size_t
vv_batch_take_keys(struct vv_batch *b, struct vv_dk_row *rows, size_t max)
{
	size_t n = b->npending < max ? b->npending : max;

	memcpy(rows, b->pending, n * sizeof(*rows));
	memmove(b->pending, b->pending + n, (b->npending - n) *
	    sizeof(*rows));
	b->npending -= n;
	return n;
}

/* Stores row; with row->id 0 the database chooses the id, returned in
 * row's place through *id. */
static int
store_key(vv_vault *v, struct vv_batch *b, const struct vv_dk_row *row,
    int64_t *id)
{
	int rc;

	(void)sqlite3_reset(b->insert);
	if (row->id > 0)
		(void)sqlite3_bind_int64(b->insert, 1, row->id);
	else
		(void)sqlite3_bind_null(b->insert, 1);
	(void)sqlite3_bind_int(b->insert, 2, row->domain);
	(void)sqlite3_bind_int64(b->insert, 3, row->version);
	(void)sqlite3_bind_blob(b->insert, 4, row->sealed, sizeof(row->sealed),
	    SQLITE_STATIC);
	(void)sqlite3_bind_blob(b->insert, 5, row->prefix, sizeof(row->prefix),
	    SQLITE_STATIC);
	rc = sqlite3_step(b->insert);
	(void)sqlite3_reset(b->insert);
	if (rc != SQLITE_DONE)
		return vv_fail_db(v, rc, "storing a data key");
	*id = row->id > 0 ? row->id : sqlite3_last_insert_rowid(v->db);
	return VV_OK;
}

int
vv_batch_store_key(vv_vault *v, struct vv_batch *b,
    const struct vv_dk_row *row)
{
	int64_t id;

	return store_key(v, b, row, &id);
}

static int
start_domain(vv_vault *v, struct vv_batch *b, int domain)
{
	uint8_t *key = b->keys + (size_t)domain * VV_KEY_LEN;
	struct batch_dom *d = &b->d[domain];
	struct vv_dk_row row;
	int r;

	if (b->deferred && b->npending == VV_DK_PENDING_MAX)
		return vv_fail(v, VV_ERR_INTERNAL, "too many data keys "
		    "pending");
	memset(&row, 0, sizeof(row));
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	randombytes_buf(d->prefix, sizeof(d->prefix));
	d->counter = 0;
	d->version = v->dom[domain].version;
	if (crypto_box_seal(row.sealed, key, VV_KEY_LEN, v->dom[domain].pk) !=
	    0)
		return vv_fail(v, VV_ERR_INTERNAL, "sealing a data key");
	/* From here on the batch needs only the subkey. */
	vv_xchacha_subkey(key, key, d->prefix);
	row.domain = domain;
	row.version = d->version;
	memcpy(row.prefix, d->prefix, sizeof(row.prefix));
	if (b->next_id != NULL)
		row.id = atomic_fetch_add(b->next_id, 1);
	if (b->deferred) {
		b->pending[b->npending++] = row;
		d->id = row.id;
	} else if ((r = store_key(v, b, &row, &d->id)) != VV_OK)
		return r;
	d->live = 1;
	return VV_OK;
}

int
vv_batch_key(vv_vault *v, struct vv_batch *b, int domain, int64_t *dk_id,
    uint32_t *version, const uint8_t **key,
    uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES])
{
	struct batch_dom *d = &b->d[domain];
	int r;

	if (domain < VV_DOM_BASIC || domain >= VV_DOM_COUNT)
		return vv_fail(v, VV_ERR_INTERNAL, "bad key domain");
	if (!d->live && (r = start_domain(v, b, domain)) != VV_OK)
		return r;
	memcpy(nonce, d->prefix, VV_NONCE_PREFIX);
	vv_put_be64(nonce + VV_NONCE_PREFIX, d->counter++);
	*dk_id = d->id;
	*version = d->version;
	*key = b->keys + (size_t)domain * VV_KEY_LEN;
	return VV_OK;
}
