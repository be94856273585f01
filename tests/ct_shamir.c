/*
 * ct_shamir.c - proof, ctgrind style, that sharing is constant time in
 * the secret.
 *
 * The secret, the polynomial coefficients and the share values are
 * marked undefined, as if uninitialised, so that memcheck reports every
 * branch and every memory address that depends on them; results are
 * marked defined again only to be compared.  Values that are public by
 * design (the verdict of combine's check, whether a share lies on the
 * recovered polynomial) are declassified explicitly, here and in
 * shamir.c under VV_CT_VALGRIND.
 *
 * With --broken-table or --broken-branch the program instead shares
 * through a multiplication that leaks (log/exp tables, or a branch per
 * bit), and memcheck must report it: proof that the harness sees leaks.
 *
 *   cc -std=c11 -D_DEFAULT_SOURCE -DVV_CT_VALGRIND -O2 -g -Iinclude -I. \
 *     tests/ct_shamir.c vault/shamir.c -lsodium -o build/ct_shamir
 *   valgrind -q --error-exitcode=1 --track-origins=yes build/ct_shamir
 *
 * Without valgrind nothing is proven, and it exits 77 (skipped).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <valgrind/memcheck.h>

#include "vipvault.h"
#include "vault/shamir.h"

#define LEN VV_SHAMIR_SECRET_LEN
#define MAXK 9u

#define poison(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define unpoison(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))

static int failed;

static void
expect(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "ct_shamir: %s: wrong result\n", what);
		failed = 1;
	}
}

/* The GF(2^8) primitives on secret operands, every value of each. */
static void
ct_field(void)
{
	uint8_t a[256], b[256], prod[256], inv[256];
	unsigned i;

	for (i = 0; i < 256; i++) {
		a[i] = (uint8_t)i;
		b[i] = (uint8_t)(255 - i);
	}
	poison(a, sizeof(a));
	poison(b, sizeof(b));
	for (i = 0; i < 256; i++) {
		prod[i] = vv_gf256_mul(a[i], b[i]);
		inv[i] = vv_gf256_inv(a[i]);
		prod[i] ^= vv_gf256_mul(a[i], inv[i]);
	}
	unpoison(prod, sizeof(prod));
	unpoison(inv, sizeof(inv));
	expect(inv[0x53] == 0xca && inv[0] == 0, "inverse");
	expect((prod[0x57] ^ 0x01) == vv_gf256_mul(0x57, 0xa8), "product");
}

/* combine's check: its verdict is public, the candidate is not. */
static int
check_equal(const uint8_t *candidate, void *arg)
{
	uint8_t c[LEN];
	int r;

	memcpy(c, candidate, LEN);
	unpoison(c, sizeof(c));
	r = memcmp(c, arg, LEN) != 0;
	sodium_memzero(c, sizeof(c));
	return r;
}

/* Splits with secret coefficients and recombines k and k + 1 shares,
 * one of them wrong. */
static void
ct_split_combine(unsigned k, unsigned n)
{
	uint8_t secret[LEN], copy[LEN], coeffs[(MAXK - 1) * LEN], out[LEN];
	struct vv_share s[MAXK + 1];
	size_t i;
	int bad = -1;

	randombytes_buf(secret, sizeof(secret));
	randombytes_buf(coeffs, sizeof(coeffs));
	memcpy(copy, secret, sizeof(copy));
	poison(secret, sizeof(secret));
	poison(coeffs, sizeof(coeffs));
	expect(vv_shamir_split_coeffs(secret, coeffs, k, n, 1, s) == VV_OK,
	    "split");
	for (i = 0; i < n; i++)
		poison(s[i].y, LEN);
	expect(vv_shamir_interpolate(out, s, k, 0) == VV_OK, "interpolate");
	unpoison(out, sizeof(out));
	expect(memcmp(out, copy, LEN) == 0, "interpolated secret");
	expect(vv_shamir_combine(s, k, check_equal, copy, out, &bad) ==
	    VV_OK, "combine k");
	unpoison(out, sizeof(out));
	expect(memcmp(out, copy, LEN) == 0 && bad == 0, "combined secret");
	s[0].y[3] ^= 0x40;
	expect(vv_shamir_combine(s, k + 1, check_equal, copy, out, &bad) ==
	    VV_OK, "combine k + 1");
	unpoison(out, sizeof(out));
	expect(memcmp(out, copy, LEN) == 0 && bad == 1, "wrong share named");
	sodium_memzero(s, sizeof(s));
}

/* The real split (its coefficients are fresh, defined randomness), and
 * the encoding of shares. */
static void
ct_split_encode(void)
{
	uint8_t secret[LEN], enc[VV_SHARE_LEN];
	struct vv_share s[3], t;

	randombytes_buf(secret, sizeof(secret));
	poison(secret, sizeof(secret));
	expect(vv_shamir_split(secret, 2, 3, 9, s) == VV_OK, "real split");
	expect(vv_share_encode(enc, &s[2]) == VV_OK, "encode");
	expect(vv_share_decode(&t, enc, sizeof(enc)) == VV_OK, "decode");
	unpoison(t.y, LEN);
	unpoison(s[2].y, LEN);
	expect(memcmp(t.y, s[2].y, LEN) == 0 && t.index == 3, "round trip");
	sodium_memzero(s, sizeof(s));
	sodium_memzero(&t, sizeof(t));
}

/* The X25519 check combine's callers use, on a secret key. */
static void
ct_check_x25519(void)
{
	uint8_t sk[LEN], pk[crypto_scalarmult_BYTES];
	int r;

	randombytes_buf(sk, sizeof(sk));
	sk[0] &= 248;
	sk[31] &= 127;
	sk[31] |= 64;
	expect(crypto_scalarmult_base(pk, sk) == 0, "public key");
	poison(sk, sizeof(sk));
	r = vv_shamir_check_x25519(sk, pk);
	unpoison(&r, sizeof(r));
	expect(r == 0, "x25519 check");
	sk[0] |= 1;
	r = vv_shamir_check_x25519(sk, pk);
	unpoison(&r, sizeof(r));
	expect(r != 0, "x25519 check of an unclamped key");
	sodium_memzero(sk, sizeof(sk));
}

/* ------------------------------------------------ broken on purpose */

static uint8_t gf_log[256], gf_exp[256];

static void
make_tables(void)
{
	unsigned i, x = 1;

	for (i = 0; i < 255; i++) {
		gf_exp[i] = (uint8_t)x;
		gf_log[x] = (uint8_t)i;
		x = vv_gf256_mul((uint8_t)x, 3);
	}
}

/* Branch-free but indexed by the operands: leaks through the cache. */
static uint8_t
mul_table(uint8_t a, uint8_t b)
{
	unsigned nz = (unsigned)(a != 0) & (unsigned)(b != 0);

	return (uint8_t)(gf_exp[(gf_log[a] + gf_log[b]) % 255] & (0u - nz));
}

/* Schoolbook: a branch on each bit of b. */
static uint8_t
mul_branch(uint8_t a, uint8_t b)
{
	unsigned x = a, r = 0;

	for (; b != 0; b >>= 1) {
		if (b & 1)
			r ^= x;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11b;
	}
	return (uint8_t)r;
}

/* A 2-of-n share value by Horner with the given multiplication. */
static void
broken_split(uint8_t (*mul)(uint8_t, uint8_t))
{
	uint8_t secret[LEN], c[LEN], y[LEN];
	size_t b;

	randombytes_buf(secret, sizeof(secret));
	randombytes_buf(c, sizeof(c));
	poison(secret, sizeof(secret));
	poison(c, sizeof(c));
	for (b = 0; b < LEN; b++)
		y[b] = mul(2, c[b]) ^ secret[b];
	unpoison(y, sizeof(y));
	printf("broken share byte: %02x\n", y[0]);
}

int
main(int argc, char *argv[])
{
	if (!RUNNING_ON_VALGRIND) {
		fprintf(stderr, "ct_shamir: not under valgrind, nothing "
		    "proven\n");
		return 77;
	}
	if (sodium_init() < 0)
		return 2;
	if (argc > 1) {
		make_tables();
		if (strcmp(argv[1], "--broken-table") == 0)
			broken_split(mul_table);
		else if (strcmp(argv[1], "--broken-branch") == 0)
			broken_split(mul_branch);
		else {
			fprintf(stderr, "usage: ct_shamir [--broken-table | "
			    "--broken-branch]\n");
			return 2;
		}
		return 0;
	}
	ct_field();
	ct_split_combine(2, 3);
	ct_split_combine(3, 5);
	ct_split_combine(MAXK, MAXK + 1);
	ct_split_encode();
	ct_check_x25519();
	if (!failed)
		printf("ct_shamir: no secret-dependent branch or index\n");
	return failed;
}
