/*
 * softfido_crypto.c - the primitives of the soft authenticator.
 *
 * libsodium for hashes, MACs and randomness; OpenSSL for what libsodium
 * lacks: P-256 (ECDSA credentials, ECDH key agreement) and AES-256-CBC,
 * which the CTAP2 PIN protocols prescribe.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include "hsm/softfido_int.h"

void
vv_sf_hmac(uint8_t out[32], const uint8_t *key, size_t keylen,
    const struct sf_iov *iov, size_t n)
{
	crypto_auth_hmacsha256_state st;
	size_t i;

	(void)crypto_auth_hmacsha256_init(&st, key, keylen);
	for (i = 0; i < n; i++)
		(void)crypto_auth_hmacsha256_update(&st, iov[i].p,
		    iov[i].len);
	(void)crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void
vv_sf_subkey(uint8_t out[32], const uint8_t secret[SF_SECRET_LEN],
    const char *label)
{
	struct sf_iov iov = { label, strlen(label) };

	vv_sf_hmac(out, secret, SF_SECRET_LEN, &iov, 1);
}

EVP_PKEY *
vv_sf_p256_new(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

int
vv_sf_p256_pub(EVP_PKEY *k, uint8_t x[32], uint8_t y[32])
{
	uint8_t pub[65];
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub), &n) != 1 || n != sizeof(pub) || pub[0] != 0x04)
		return -1;
	memcpy(x, pub + 1, 32);
	memcpy(y, pub + 33, 32);
	return 0;
}

/* A P-256 key from its uncompressed public point and, for a key pair, its
 * private scalar.  OpenSSL refuses a point off the curve. */
static EVP_PKEY *
p256_from(const uint8_t pub[65], const BIGNUM *d)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, 65) != 1 ||
	    (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
	    d) != 1) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, d != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	/* d is a BN_secure_new BIGNUM: its copy sits in the secure part of
	 * params, which OSSL_PARAM_free clears. */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return k;
}

EVP_PKEY *
vv_sf_p256_from_scalar(const uint8_t d[32])
{
	EC_GROUP *g = NULL;
	EC_POINT *q = NULL;
	BIGNUM *bn = NULL;
	EVP_PKEY *k = NULL;
	uint8_t pub[65];

	if ((g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
	    (bn = BN_secure_new()) == NULL ||
	    BN_bin2bn(d, 32, bn) == NULL || BN_is_zero(bn) ||
	    BN_cmp(bn, EC_GROUP_get0_order(g)) >= 0)
		goto out;
	if ((q = EC_POINT_new(g)) == NULL ||
	    EC_POINT_mul(g, q, bn, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub,
	    sizeof(pub), NULL) != sizeof(pub))
		goto out;
	k = p256_from(pub, bn);
out:
	EC_POINT_free(q);
	BN_clear_free(bn);
	EC_GROUP_free(g);
	return k;
}

int
vv_sf_ecdh(EVP_PKEY *k, const uint8_t x[32], const uint8_t y[32],
    uint8_t z[32])
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;
	uint8_t pub[65];
	size_t zlen = 32;
	int r = -1;

	pub[0] = 0x04;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	if ((peer = p256_from(pub, NULL)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zlen) != 1 || zlen != 32)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}

int
vv_sf_es256_sign(EVP_PKEY *k, const struct sf_iov *iov, size_t n,
    uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx;
	size_t i;
	int r = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if (EVP_DigestSignUpdate(ctx, iov[i].p, iov[i].len) != 1)
			goto out;
	if (EVP_DigestSignFinal(ctx, sig, siglen) != 1)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int
vv_sf_aes_cbc(const uint8_t key[32], const uint8_t iv[16],
    const uint8_t *in, size_t len, uint8_t *out, int enc)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0, r = -1;

	if (len == 0 || len % 16 != 0 || len > 4096 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv,
	    enc) != 1 || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + n, &fin) != 1 ||
	    (size_t)n + (size_t)fin != len)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* HKDF-SHA-256 with 32 zero bytes of salt, one block of output. */
static void
hkdf32(uint8_t out[32], const uint8_t z[32], const char *info)
{
	static const uint8_t salt[32];
	static const uint8_t one = 1;
	struct sf_iov ikm = { z, 32 };
	struct sf_iov expand[2] = { { info, strlen(info) }, { &one, 1 } };
	uint8_t prk[32];

	vv_sf_hmac(prk, salt, sizeof(salt), &ikm, 1);
	vv_sf_hmac(out, prk, sizeof(prk), expand, 2);
	sodium_memzero(prk, sizeof(prk));
}

size_t
vv_sf_pp_shared_len(unsigned proto)
{
	return proto == 2 ? 64 : 32;
}

int
vv_sf_pp_shared(unsigned proto, const uint8_t z[32], uint8_t *shared)
{
	switch (proto) {
	case 1:
		crypto_hash_sha256(shared, z, 32);
		return 0;
	case 2:
		hkdf32(shared, z, "CTAP2 HMAC key");
		hkdf32(shared + 32, z, "CTAP2 AES key");
		return 0;
	default:
		return -1;
	}
}

size_t
vv_sf_pp_ct_len(unsigned proto, size_t len)
{
	return proto == 2 ? 16 + len : len;
}

/* Protocol 1: zero IV, key = shared; 2: random IV sent ahead of the
 * ciphertext, key = the second half of shared. */
int
vv_sf_pp_encrypt(unsigned proto, const uint8_t *shared, const uint8_t *in,
    size_t len, uint8_t *out)
{
	static const uint8_t zero_iv[16];

	if (proto == 1)
		return vv_sf_aes_cbc(shared, zero_iv, in, len, out, 1);
	if (proto != 2)
		return -1;
	randombytes_buf(out, 16);
	return vv_sf_aes_cbc(shared + 32, out, in, len, out + 16, 1);
}

int
vv_sf_pp_decrypt(unsigned proto, const uint8_t *shared, const uint8_t *ct,
    size_t ctlen, uint8_t *out, size_t want)
{
	static const uint8_t zero_iv[16];

	if ((proto != 1 && proto != 2) || ctlen != vv_sf_pp_ct_len(proto, want))
		return -1;
	if (proto == 1)
		return vv_sf_aes_cbc(shared, zero_iv, ct, want, out, 0);
	return vv_sf_aes_cbc(shared + 32, ct, ct + 16, want, out, 0);
}

int
vv_sf_pp_verify(unsigned proto, const uint8_t key[32],
    const struct sf_iov *iov, size_t n, const uint8_t *sig, size_t siglen)
{
	uint8_t mac[32];
	size_t want = proto == 1 ? 16 : 32;
	int r;

	if ((proto != 1 && proto != 2) || siglen != want)
		return -1;
	vv_sf_hmac(mac, key, 32, iov, n);
	r = sodium_memcmp(mac, sig, want) == 0 ? 0 : -1;
	sodium_memzero(mac, sizeof(mac));
	return r;
}
