/*
 * envelope.c - one field class under one data key.
 *
 * A class (identity, contact, profile, masked) is encrypted as one
 * XChaCha20-Poly1305 message: its fields joined, each ending in NUL.  The
 * nonce is the data key's random prefix and a per-batch counter; only the
 * counter is stored with the ciphertext (the prefix is stored once, with
 * the data key), which keeps rows small.
 *
 * XChaCha20-Poly1305 is HChaCha20(key, nonce[0..16]) as a subkey, then
 * ChaCha20-Poly1305 (IETF) under it with nonce 0^4 || nonce[16..24].  All
 * ciphertexts under one data key share the prefix, so the subkey is
 * computed once per data key (vv_xchacha_subkey) instead of once per
 * field; the bytes are exactly XChaCha20-Poly1305's, which a known-answer
 * test checks against libsodium's own construction.  The
 * associated data names the vault, the record's row id, external id and
 * owner, the key domain (the tier it was sealed for), the class, the
 * domain key version and the data key id, so a ciphertext moved to another
 * row, class or tier, paired with another data key, or a row whose
 * external id or owner was rewritten (which would defeat segmentation),
 * does not authenticate.
 */
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"

#define FIELD_AAD "vipvault/field/v1"
#define AAD_FIXED (sizeof(FIELD_AAD) - 1 + VV_ID_LEN + 8 + 1 + 1 + 4 + 8)
#define AAD_LEN (AAD_FIXED + 1 + VV_EXTID_MAX + 1 + VV_NAME_MAX)
#define NPUB crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

_Static_assert(VV_NONCE_PREFIX + VV_NONCE_COUNTER == NPUB,
    "a nonce is the data key's prefix and a counter");

int
vv_buf_reserve(struct vv_buf *b, size_t cap)
{
	uint8_t *p;

	if (cap <= b->cap)
		return VV_OK;
	if (cap < 2 * b->cap)
		cap = 2 * b->cap;
	/* No realloc: the old block must be wiped, not left to the heap. */
	if ((p = malloc(cap)) == NULL)
		return VV_ERR_NOMEM;
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return VV_OK;
}

void
vv_buf_free(struct vv_buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* Appends a string with a one-byte length: the lengths keep "ab"+"c"
 * and "a"+"bc" apart. */
static size_t
put_str(uint8_t *at, const char *str)
{
	size_t n = str != NULL ? strlen(str) : 0;

	at[0] = (uint8_t)n;
	if (n > 0)
		memcpy(at + 1, str, n);
	return n + 1;
}

/* Returns the length of the associated data written to aad, or 0 when an
 * identifier is too long to bind (callers validate them first). */
static size_t
make_aad(const struct vv_env_ctx *c, uint8_t aad[AAD_LEN])
{
	size_t n = sizeof(FIELD_AAD) - 1;

	if ((c->external_id != NULL && strlen(c->external_id) >= VV_EXTID_MAX) ||
	    (c->owner != NULL && strlen(c->owner) >= VV_NAME_MAX))
		return 0;
	memcpy(aad, FIELD_AAD, n);
	memcpy(aad + n, c->vault_id, VV_ID_LEN);
	n += VV_ID_LEN;
	vv_put_be64(aad + n, (uint64_t)c->record_id);
	n += 8;
	aad[n++] = (uint8_t)c->domain;
	aad[n++] = (uint8_t)c->cls;
	vv_put_be32(aad + n, c->version);
	n += 4;
	vv_put_be64(aad + n, (uint64_t)c->dk_id);
	n += 8;
	n += put_str(aad + n, c->external_id);
	return n + put_str(aad + n, c->owner);
}

void
vv_xchacha_subkey(uint8_t subkey[VV_KEY_LEN], const uint8_t key[VV_KEY_LEN],
    const uint8_t prefix[VV_NONCE_PREFIX])
{
	uint8_t tmp[VV_KEY_LEN];

	/* Through tmp: callers may pass the same buffer for key and subkey. */
	(void)crypto_core_hchacha20(tmp, prefix, key, NULL);
	memcpy(subkey, tmp, VV_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
}

/* The IETF nonce under the subkey: four zero bytes and the counter. */
static void
ietf_nonce(uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES],
    const uint8_t counter[VV_NONCE_COUNTER])
{
	memset(n, 0, 4);
	memcpy(n + 4, counter, VV_NONCE_COUNTER);
}

size_t
vv_env_plain_len(const struct vv_class_text *t)
{
	size_t i, n = 0;

	for (i = 0; i < VV_CLASS_FIELDS; i++)
		n += t->len[i] + 1;
	return n;
}

int
vv_env_seal(const struct vv_env_ctx *ctx, const uint8_t *subkey,
    const uint8_t *nonce, const struct vv_class_text *t, struct vv_buf *out)
{
	uint8_t aad[AAD_LEN], n12[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	size_t i, plen = vv_env_plain_len(t), off = VV_NONCE_COUNTER, aadlen;
	int r;

	if ((aadlen = make_aad(ctx, aad)) == 0)
		return VV_ERR_INVALID;
	if ((r = vv_buf_reserve(out, VV_ENV_OVERHEAD + plen)) != VV_OK)
		return r;
	memcpy(out->p, nonce + VV_NONCE_PREFIX, VV_NONCE_COUNTER);
	for (i = 0; i < VV_CLASS_FIELDS; i++) {
		if (t->len[i] > 0)
			memcpy(out->p + off, t->f[i], t->len[i]);
		off += t->len[i];
		out->p[off++] = '\0';
	}
	/* In place: the plaintext never exists outside this buffer. */
	ietf_nonce(n12, nonce + VV_NONCE_PREFIX);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out->p +
	    VV_NONCE_COUNTER, NULL, out->p + VV_NONCE_COUNTER, plen, aad,
	    aadlen, NULL, n12, subkey) != 0)
		return VV_ERR_INTERNAL;
	out->len = VV_ENV_OVERHEAD + plen;
	return VV_OK;
}

/* The plaintext must be exactly VV_CLASS_FIELDS NUL-terminated strings. */
static int
split_fields(uint8_t *plain, size_t plen, struct vv_class_text *t)
{
	size_t i, start = 0, field = 0;

	for (i = 0; i < plen; i++) {
		if (plain[i] != '\0')
			continue;
		if (field == VV_CLASS_FIELDS)
			return VV_ERR_INTEGRITY;
		t->f[field] = (const char *)plain + start;
		t->len[field++] = i - start;
		start = i + 1;
	}
	return field == VV_CLASS_FIELDS && start == plen ? VV_OK :
	    VV_ERR_INTEGRITY;
}

int
vv_env_open(const struct vv_env_ctx *ctx, const struct vv_dk *dk,
    const uint8_t *blob, size_t bloblen, uint8_t *plain,
    struct vv_class_text *t)
{
	uint8_t aad[AAD_LEN], n12[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long plen = 0;
	size_t aadlen;

	memset(t, 0, sizeof(*t));
	if (bloblen < VV_ENV_OVERHEAD || (aadlen = make_aad(ctx, aad)) == 0)
		return VV_ERR_INTEGRITY;
	ietf_nonce(n12, blob);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plen, NULL,
	    blob + VV_NONCE_COUNTER, bloblen - VV_NONCE_COUNTER, aad,
	    aadlen, n12, dk->subkey) != 0)
		return VV_ERR_INTEGRITY;
	if (split_fields(plain, (size_t)plen, t) != VV_OK) {
		sodium_memzero(plain, (size_t)plen);
		memset(t, 0, sizeof(*t));
		return VV_ERR_INTEGRITY;
	}
	return VV_OK;
}
