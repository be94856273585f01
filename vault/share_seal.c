/*
 * share_seal.c - a key manager's share, sealed so that only his token
 * opens it.
 *
 * The token's hmac-secret output (for the salt stored with the manager)
 * is the seed of an X25519 key pair.  Shares are sealed to its public
 * half with an ephemeral key, so the vault can hand a manager a new share
 * (a re-split) without his token, while opening one always needs a touch
 * of it.  The AEAD's associated data names vault, manager, epoch and
 * share index: a share moved to another manager, epoch or slot fails.
 */
#include <string.h>

#include "vault/dual.h"

#define SEED_AAD "vipvault/manager-share-key/v1"
#define SEAL_AAD "vipvault/manager-share/v1"
#define AAD_MAX (sizeof(SEAL_AAD) + VV_ID_LEN + VV_NAME_MAX + 5)
#define NPUB crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

int
vv_derive_keypair(const uint8_t *key, size_t keylen, const char *purpose,
    const uint8_t *vault_id, const void *ctx, size_t ctxlen, uint8_t pk[32],
    uint8_t *sk)
{
	crypto_generichash_state h;
	uint8_t seed[crypto_box_SEEDBYTES];
	int r;

	r = crypto_generichash_init(&h, key, keylen, sizeof(seed));
	if (r == 0)
		r = crypto_generichash_update(&h, (const uint8_t *)purpose,
		    strlen(purpose) + 1);
	if (r == 0)
		r = crypto_generichash_update(&h, vault_id, VV_ID_LEN);
	if (r == 0)
		r = crypto_generichash_update(&h, ctx, ctxlen);
	if (r == 0)
		r = crypto_generichash_final(&h, seed, sizeof(seed));
	if (r == 0)
		r = crypto_box_seed_keypair(pk, sk, seed);
	sodium_memzero(&h, sizeof(h));
	sodium_memzero(seed, sizeof(seed));
	return r == 0 ? VV_OK : VV_ERR_INTERNAL;
}

int
vv_share_keypair(const vv_vault *v, const char *manager,
    const uint8_t hmac[VV_FIDO_HMAC_LEN], uint8_t pk[32], uint8_t *sk)
{
	/* Keyed by the token's output; the vault id and name make two
	 * vaults (or managers) on one credential differ anyway. */
	return vv_derive_keypair(hmac, VV_FIDO_HMAC_LEN, SEED_AAD, v->id,
	    manager, strlen(manager) + 1, pk, sk);
}

static size_t
seal_aad(const vv_vault *v, const char *manager, uint32_t epoch,
    uint8_t index, uint8_t aad[AAD_MAX])
{
	size_t n = sizeof(SEAL_AAD), ml = strlen(manager) + 1;

	memcpy(aad, SEAL_AAD, n);
	memcpy(aad + n, v->id, VV_ID_LEN);
	n += VV_ID_LEN;
	memcpy(aad + n, manager, ml);
	n += ml;
	vv_put_be32(aad + n, epoch);
	n += 4;
	aad[n++] = index;
	return n;
}

/* The AEAD key between an ephemeral and a manager's key pair. */
static int
shared_key(uint8_t key[VV_KEY_LEN], const uint8_t *sk, const uint8_t *peer,
    const uint8_t *epk, const uint8_t *mpk)
{
	crypto_generichash_state h;
	uint8_t q[crypto_scalarmult_BYTES];
	int r;

	if (crypto_scalarmult(q, sk, peer) != 0)
		return -1;
	r = crypto_generichash_init(&h, NULL, 0, VV_KEY_LEN);
	if (r == 0)
		r = crypto_generichash_update(&h, q, sizeof(q));
	if (r == 0)
		r = crypto_generichash_update(&h, epk, 32);
	if (r == 0)
		r = crypto_generichash_update(&h, mpk, 32);
	if (r == 0)
		r = crypto_generichash_final(&h, key, VV_KEY_LEN);
	sodium_memzero(q, sizeof(q));
	sodium_memzero(&h, sizeof(h));
	return r;
}

int
vv_share_seal(const vv_vault *v, const char *manager, const uint8_t pk[32],
    const struct vv_share *s, uint8_t out[VV_SHARE_SEALED_LEN])
{
	uint8_t esk[crypto_box_SECRETKEYBYTES], key[VV_KEY_LEN];
	uint8_t plain[VV_SHARE_LEN], aad[AAD_MAX];
	uint8_t *epk = out, *nonce = out + 32, *ct = out + 32 + NPUB;
	size_t aadlen;
	int r = VV_ERR_INTERNAL;

	if (vv_share_encode(plain, s) != VV_OK)
		goto out;
	if (crypto_box_keypair(epk, esk) != 0 ||
	    shared_key(key, esk, pk, epk, pk) != 0)
		goto out;
	randombytes_buf(nonce, NPUB);
	aadlen = seal_aad(v, manager, s->epoch, s->index, aad);
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, plain,
	    sizeof(plain), aad, aadlen, NULL, nonce, key);
	r = VV_OK;
out:
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(plain, sizeof(plain));
	return r;
}

int
vv_share_open(const vv_vault *v, const char *manager, const uint8_t *sk,
    uint32_t epoch, uint8_t index, const uint8_t *blob, size_t bloblen,
    struct vv_share *s)
{
	uint8_t key[VV_KEY_LEN], plain[VV_SHARE_LEN], aad[AAD_MAX];
	uint8_t mpk[crypto_box_PUBLICKEYBYTES];
	size_t aadlen;
	int r = VV_ERR_INTEGRITY;

	if (bloblen != VV_SHARE_SEALED_LEN ||
	    crypto_scalarmult_base(mpk, sk) != 0 ||
	    shared_key(key, sk, blob, blob, mpk) != 0)
		goto out;
	aadlen = seal_aad(v, manager, epoch, index, aad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL,
	    blob + 32 + NPUB, VV_SHARE_LEN +
	    crypto_aead_xchacha20poly1305_ietf_ABYTES, aad, aadlen,
	    blob + 32, key) != 0)
		goto out;
	if (vv_share_decode(s, plain, sizeof(plain)) != VV_OK ||
	    s->epoch != epoch || s->index != index)
		goto out;
	r = VV_OK;
out:
	if (r != VV_OK)
		sodium_memzero(s, sizeof(*s));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(plain, sizeof(plain));
	return r;
}
