/*
 * bench_sodium.c - the raw libsodium baselines: XChaCha20-Poly1305 opens
 * of 100-byte messages (what a read of one field class costs at least)
 * and crypto_box_seal_open (what a data key's first use costs).
 */
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "bench.h"

#define AEAD_OPS	500000u
#define SEAL_OPS	4000u

double
bench_aead_rate(void)
{
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	uint8_t ad[54], msg[100], pt[100];
	uint8_t ct[sizeof(msg) + crypto_aead_xchacha20poly1305_ietf_ABYTES];
	unsigned long long ptlen;
	double t0;
	size_t i;

	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(ad, sizeof(ad));
	randombytes_buf(msg, sizeof(msg));
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, msg,
	    sizeof(msg), ad, sizeof(ad), NULL, nonce, key);
	for (t0 = 0, i = 0; i < AEAD_OPS / 10 + AEAD_OPS; i++) {
		if (i == AEAD_OPS / 10)
			t0 = bench_now();
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen,
		    NULL, ct, sizeof(ct), ad, sizeof(ad), nonce, key) != 0)
			return -1;
	}
	return AEAD_OPS / (bench_now() - t0);
}

double
bench_seal_rate(void)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	uint8_t key[32], out[32], sealed[crypto_box_SEALBYTES + 32];
	double t0, rate = -1;
	size_t i;

	(void)crypto_box_keypair(pk, sk);
	randombytes_buf(key, sizeof(key));
	if (crypto_box_seal(sealed, key, sizeof(key), pk) != 0)
		goto out;
	for (t0 = 0, i = 0; i < SEAL_OPS / 10 + SEAL_OPS; i++) {
		if (i == SEAL_OPS / 10)
			t0 = bench_now();
		if (crypto_box_seal_open(out, sealed, sizeof(sealed), pk,
		    sk) != 0)
			goto out;
	}
	rate = SEAL_OPS / (bench_now() - t0);
out:
	sodium_memzero(sk, sizeof(sk));
	return rate;
}
