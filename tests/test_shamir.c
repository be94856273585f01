/*
 * test_shamir.c - Shamir sharing of a key: field arithmetic against the
 * AES field's published values, known answers, every subset, the secrecy
 * of k - 1 shares, and wrong, foreign or malformed shares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "vipvault.h"
#include "vault/shamir.h"

#define LEN VV_SHAMIR_SECRET_LEN

/* How combine's check decides. */
enum check_mode {
	CHECK_STRICT,	/* vv_shamir_check_x25519 */
	CHECK_NAIVE,	/* the public key matches: blind to clamped bits */
	CHECK_EQUAL	/* the very bytes: cheap, for long searches */
};

struct key {
	uint8_t sk[LEN];	/* clamped X25519 private key */
	uint8_t pk[crypto_scalarmult_BYTES];
	enum check_mode mode;
	unsigned calls;
};

static void
key_new(struct key *k, enum check_mode mode)
{
	memset(k, 0, sizeof(*k));
	randombytes_buf(k->sk, sizeof(k->sk));
	/* Clamped as X25519 uses it, so a strict check can demand it. */
	k->sk[0] &= 248;
	k->sk[31] &= 127;
	k->sk[31] |= 64;
	assert_int_equal(crypto_scalarmult_base(k->pk, k->sk), 0);
	k->mode = mode;
}

/* What a caller holding the public key does; CHECK_NAIVE shows why the
 * library's check also demands a clamped key. */
static int
check_key(const uint8_t *secret, void *arg)
{
	uint8_t pk[crypto_scalarmult_BYTES];
	struct key *k = arg;

	k->calls++;
	if (k->mode == CHECK_EQUAL)
		return sodium_memcmp(secret, k->sk, LEN);
	if (k->mode == CHECK_STRICT)
		return vv_shamir_check_x25519(secret, k->pk);
	if (crypto_scalarmult_base(pk, secret) != 0)
		return -1;
	return sodium_memcmp(pk, k->pk, sizeof(pk));
}

static struct vv_share *
split_new(const uint8_t *secret, unsigned k, unsigned n)
{
	struct vv_share *s;

	s = sodium_allocarray(n, sizeof(*s));
	assert_non_null(s);
	assert_int_equal(vv_shamir_split(secret, k, n, 7, s), VV_OK);
	return s;
}

/* Combines and checks that exactly k's secret came back. */
static void
assert_recovers(const struct vv_share *s, size_t count, struct key *k)
{
	uint8_t out[LEN];
	int bad = -1;

	assert_int_equal(vv_shamir_combine(s, count, check_key, k, out, &bad),
	    VV_OK);
	assert_memory_equal(out, k->sk, LEN);
	assert_int_equal(bad, 0);
	assert_int_equal(vv_shamir_interpolate(out, s, count, 0), VV_OK);
	assert_memory_equal(out, k->sk, LEN);
	sodium_memzero(out, sizeof(out));
}

/* Copies a random arrangement of m of the n shares into sub. */
static void
random_subset(struct vv_share *sub, const struct vv_share *s, size_t n,
    size_t m)
{
	size_t pos[VV_SHAMIR_MAX_SHARES], i, j, t;

	for (i = 0; i < n; i++)
		pos[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = randombytes_uniform((uint32_t)i + 1);
		t = pos[i];
		pos[i] = pos[j];
		pos[j] = t;
	}
	for (i = 0; i < m; i++)
		sub[i] = s[pos[i]];
}

/* ------------------------------------------------------------- GF(2^8) */

/* Schoolbook product with branches: the reference, not constant time. */
static uint8_t
ref_mul(uint8_t a, uint8_t b)
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

static uint8_t
rotl8(uint8_t b, unsigned n)
{
	return (uint8_t)(b << n | b >> (8 - n));
}

/* The AES S-box: the field inverse, then FIPS-197's affine map. */
static uint8_t
sbox(uint8_t x)
{
	uint8_t b = vv_gf256_inv(x);

	return b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^
	    0x63;
}

static void
test_gf_known_answers(void **state)
{
	static const uint8_t in[] = { 0x00, 0x01, 0x02, 0x03, 0x10, 0x53,
	    0x80, 0xff };
	static const uint8_t out[] = { 0x63, 0x7c, 0x77, 0x7b, 0xca, 0xed,
	    0xcd, 0x16 };
	size_t i;

	(void)state;
	/* FIPS-197 section 4.2 and 4.2.1. */
	assert_int_equal(vv_gf256_mul(0x57, 0x83), 0xc1);
	assert_int_equal(vv_gf256_mul(0x57, 0x13), 0xfe);
	assert_int_equal(vv_gf256_mul(0x57, 0x02), 0xae);
	assert_int_equal(vv_gf256_mul(0x57, 0x04), 0x47);
	assert_int_equal(vv_gf256_mul(0x57, 0x08), 0x8e);
	assert_int_equal(vv_gf256_mul(0x57, 0x10), 0x07);
	/* FIPS-197 section 5.1.1 (the worked {53} -> {ca}), and 2^-1 = 8d. */
	assert_int_equal(vv_gf256_inv(0x53), 0xca);
	assert_int_equal(vv_gf256_inv(0x02), 0x8d);
	assert_int_equal(vv_gf256_inv(0x03), 0xf6);
	assert_int_equal(vv_gf256_inv(0x01), 0x01);
	assert_int_equal(vv_gf256_inv(0x00), 0x00);
	/* S-box entries (FIPS-197 figure 7) exercise the inverse. */
	for (i = 0; i < sizeof(in); i++)
		assert_int_equal(sbox(in[i]), out[i]);
}

static void
test_gf_exhaustive(void **state)
{
	unsigned a, b;

	(void)state;
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++)
			assert_int_equal(vv_gf256_mul((uint8_t)a, (uint8_t)b),
			    ref_mul((uint8_t)a, (uint8_t)b));
	for (a = 1; a < 256; a++) {
		assert_int_equal(vv_gf256_mul((uint8_t)a,
		    vv_gf256_inv((uint8_t)a)), 1);
		assert_int_equal(vv_gf256_inv(vv_gf256_inv((uint8_t)a)), a);
	}
}

/* ------------------------------------------------------- known answers */

/*
 * f(x) = s + 0x83 x + 0x01 x^2 for every byte, s[b] = b.  By hand, with
 * 2 * 0x83 = 0x106 + 0x11b = 0x1d:
 *   f(1) = s + 0x83 + 0x01               = s ^ 0x82
 *   f(2) = s + 0x1d + 0x04               = s ^ 0x19
 *   f(3) = s + (0x1d ^ 0x83) + (3*3 = 5) = s ^ 0x9e ^ 0x05 = s ^ 0x9b
 *   f(4) = s + 2 * 0x1d = 0x3a, + 0x10   = s ^ 0x2a
 *   f(5) = s + (0x3a ^ 0x83) + (5*5 = 0x11) = s ^ 0xb9 ^ 0x11 = s ^ 0xa8
 */
static void
test_split_known_answer(void **state)
{
	static const uint8_t off[] = { 0x82, 0x19, 0x9b, 0x2a };
	static const uint8_t head[] = { 'V', 'V', 'S', 0x01, 0xde, 0xad,
	    0xbe, 0xef, 0x03, 0x02 };
	uint8_t secret[LEN], coeffs[2 * LEN], out[LEN], enc[VV_SHARE_LEN];
	struct vv_share s[4];
	size_t i, b;

	(void)state;
	for (b = 0; b < LEN; b++) {
		secret[b] = (uint8_t)b;
		coeffs[b] = 0x83;
		coeffs[LEN + b] = 0x01;
	}
	assert_int_equal(vv_shamir_split_coeffs(secret, coeffs, 3, 4,
	    0xdeadbeef, s), VV_OK);
	for (i = 0; i < 4; i++) {
		assert_int_equal(s[i].version, VV_SHARE_VERSION);
		assert_int_equal(s[i].epoch, 0xdeadbeef);
		assert_int_equal(s[i].threshold, 3);
		assert_int_equal(s[i].index, i + 1);
		for (b = 0; b < LEN; b++)
			assert_int_equal(s[i].y[b], b ^ off[i]);
	}
	assert_int_equal(vv_shamir_interpolate(out, s + 1, 3, 0), VV_OK);
	assert_memory_equal(out, secret, LEN);
	assert_int_equal(vv_shamir_interpolate(out, s, 3, 5), VV_OK);
	for (b = 0; b < LEN; b++)
		assert_int_equal(out[b], b ^ 0xa8);
	/* The encoding of share 2, byte by byte. */
	assert_int_equal(vv_share_encode(enc, &s[1]), VV_OK);
	assert_memory_equal(enc, head, sizeof(head));
	for (b = 0; b < LEN; b++)
		assert_int_equal(enc[sizeof(head) + b], b ^ 0x19);
}

static void
test_split_fields(void **state)
{
	struct vv_share *s, *t;
	uint8_t secret[LEN];
	size_t i;

	(void)state;
	randombytes_buf(secret, sizeof(secret));
	s = split_new(secret, 3, 5);
	t = split_new(secret, 3, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(s[i].version, VV_SHARE_VERSION);
		assert_int_equal(s[i].epoch, 7);
		assert_int_equal(s[i].threshold, 3);
		assert_int_equal(s[i].index, i + 1);
		/* Fresh coefficients each time: 2^-256 odds of a match. */
		assert_memory_not_equal(s[i].y, t[i].y, LEN);
		assert_memory_not_equal(s[i].y, secret, LEN);
	}
	sodium_free(s);
	sodium_free(t);
}

/* --------------------------------------------------------- reconstruction */

/* Every subset of n shares: those of k or more give the key back. */
static void
all_subsets(unsigned k, unsigned n)
{
	struct vv_share *s, sub[8];
	unsigned mask, i, m;
	struct key key;
	uint8_t out[LEN];
	int bad;

	key_new(&key, CHECK_STRICT);
	s = split_new(key.sk, k, n);
	for (mask = 1; mask < 1u << n; mask++) {
		for (i = m = 0; i < n; i++)
			if (mask & (1u << i))
				sub[m++] = s[i];
		if (m >= k) {
			assert_recovers(sub, m, &key);
			continue;
		}
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(vv_shamir_combine(sub, m, check_key, &key,
		    out, &bad), VV_ERR_INVALID);
		assert_true(sodium_is_zero(out, sizeof(out)));
	}
	sodium_memzero(sub, sizeof(sub));
	sodium_free(s);
}

static void
test_all_subsets_2of5(void **state)
{
	(void)state;
	all_subsets(2, 5);
}

static void
test_all_subsets_3of6(void **state)
{
	(void)state;
	all_subsets(3, 6);
}

static void
random_subsets(unsigned k, unsigned n, unsigned rounds)
{
	struct vv_share *s, *sub;
	struct key key;
	unsigned i;
	size_t m;

	key_new(&key, CHECK_STRICT);
	s = split_new(key.sk, k, n);
	sub = sodium_allocarray(n, sizeof(*sub));
	assert_non_null(sub);
	for (i = 0; i < rounds; i++) {
		m = k + randombytes_uniform(n - k + 1);
		random_subset(sub, s, n, m);
		assert_recovers(sub, m, &key);
	}
	sodium_free(sub);
	sodium_free(s);
}

static void
test_random_subsets_5of9(void **state)
{
	(void)state;
	random_subsets(5, 9, 200);
}

static void
test_edges(void **state)
{
	struct vv_share *s, *sub;
	struct key key;
	uint8_t out[LEN];
	int bad;

	(void)state;
	/* k = n = 255: all of them, in any order, and not one fewer. */
	random_subsets(255, 255, 3);
	key_new(&key, CHECK_STRICT);
	s = split_new(key.sk, 255, 255);
	assert_int_equal(vv_shamir_combine(s, 254, check_key, &key, out,
	    &bad), VV_ERR_INVALID);
	sodium_free(s);
	/* 2 of 255 and 2 of 2. */
	random_subsets(2, 255, 50);
	random_subsets(2, 2, 3);
	sub = sodium_allocarray(2, sizeof(*sub));
	assert_non_null(sub);
	s = split_new(key.sk, 2, 255);
	sub[0] = s[0];
	sub[1] = s[254];
	assert_recovers(sub, 2, &key);
	sodium_free(sub);
	sodium_free(s);
}

/* ------------------------------------------------------------- secrecy */

typedef int split_fn(const uint8_t *secret, unsigned k, unsigned n,
    uint32_t epoch, struct vv_share *shares);

/* Broken on purpose: no coefficients, so every share is the secret. */
static int
split_zero(const uint8_t *secret, unsigned k, unsigned n, uint32_t epoch,
    struct vv_share *shares)
{
	uint8_t coeffs[2 * LEN] = { 0 };

	assert_int_equal(k, 3);
	return vv_shamir_split_coeffs(secret, coeffs, k, n, epoch, shares);
}

/* Broken on purpose: a reused coefficient, f(x) = s + c x + c x^2.  Each
 * share alone is uniform, but f(2) = f(3) (2 + 4 = 3 + 5 = 6 in GF(2^8)). */
static int
split_reuse(const uint8_t *secret, unsigned k, unsigned n, uint32_t epoch,
    struct vv_share *shares)
{
	uint8_t coeffs[2 * LEN];

	assert_int_equal(k, 3);
	randombytes_buf(coeffs, LEN);
	memcpy(coeffs + LEN, coeffs, LEN);
	return vv_shamir_split_coeffs(secret, coeffs, k, n, epoch, shares);
}

#define STAT_SPLITS 4096u
/*
 * Chi-square with 255 degrees of freedom has mean 255 and standard
 * deviation 22.6; P(X > 450) is about 1e-12, so six statistics per run
 * leave a correct implementation a 1e-11 chance of a false failure.
 */
#define CHI2_MAX 450.0

static double
chi2(const uint32_t hist[256], double total)
{
	double e = total / 256, x = 0, d;
	size_t i;

	for (i = 0; i < 256; i++) {
		d = hist[i] - e;
		x += d * d / e;
	}
	return x;
}

/*
 * The largest chi-square statistic, over many 3-of-5 splits of secret,
 * of the bytes of shares 2 and 3 (k - 1 of them) and of their sum: each
 * share, and the pair jointly, must look uniform whatever the secret.
 */
static double
leak_stat(split_fn *split, const uint8_t *secret)
{
	static uint32_t hist[3][256];
	struct vv_share s[5];
	double worst = 0, x;
	size_t i, b;

	memset(hist, 0, sizeof(hist));
	for (i = 0; i < STAT_SPLITS; i++) {
		assert_int_equal(split(secret, 3, 5, 1, s), VV_OK);
		for (b = 0; b < LEN; b++) {
			hist[0][s[1].y[b]]++;
			hist[1][s[2].y[b]]++;
			hist[2][s[1].y[b] ^ s[2].y[b]]++;
		}
	}
	for (i = 0; i < 3; i++)
		if ((x = chi2(hist[i], STAT_SPLITS * LEN)) > worst)
			worst = x;
	sodium_memzero(s, sizeof(s));
	return worst;
}

static void
test_k_minus_1_shares_reveal_nothing(void **state)
{
	uint8_t zero[LEN] = { 0 }, ramp[LEN];
	size_t b;

	(void)state;
	for (b = 0; b < LEN; b++)
		ramp[b] = (uint8_t)(b * 8);
	assert_true(leak_stat(vv_shamir_split, zero) < CHI2_MAX);
	assert_true(leak_stat(vv_shamir_split, ramp) < CHI2_MAX);
	/* The test can fail: it catches both broken splits. */
	assert_true(leak_stat(split_zero, zero) > CHI2_MAX);
	assert_true(leak_stat(split_zero, ramp) > CHI2_MAX);
	assert_true(leak_stat(split_reuse, zero) > CHI2_MAX);
	assert_true(leak_stat(split_reuse, ramp) > CHI2_MAX);
}

/* ------------------------------------------------------- wrong shares */

static void
test_wrong_share_exactly_k(void **state)
{
	struct vv_share *s, *other;
	struct key key;
	uint8_t out[LEN];
	size_t i, b;
	int bad;

	(void)state;
	key_new(&key, CHECK_STRICT);
	s = split_new(key.sk, 3, 5);
	for (i = 0; i < 3; i++) {
		for (b = 0; b < LEN; b += 7) {
			s[i].y[b] ^= 0x10;
			memset(out, 0xaa, sizeof(out));
			bad = -1;
			assert_int_equal(vv_shamir_combine(s, 3, check_key,
			    &key, out, &bad), VV_ERR_INTEGRITY);
			/* No wrong key comes out, and no share is blamed. */
			assert_true(sodium_is_zero(out, sizeof(out)));
			assert_int_equal(bad, 0);
			s[i].y[b] ^= 0x10;
		}
	}
	/* A share of another key, same epoch and index. */
	other = split_new(key.pk, 3, 5);
	s[1] = other[1];
	assert_int_equal(vv_shamir_combine(s, 3, check_key, &key, out, &bad),
	    VV_ERR_INTEGRITY);
	sodium_free(other);
	sodium_free(s);
}

static void
test_bad_share_named(void **state)
{
	struct vv_share *s;
	struct key key;
	uint8_t out[LEN];
	size_t i;
	int bad;

	(void)state;
	key_new(&key, CHECK_STRICT);
	s = split_new(key.sk, 3, 5);
	/* k + 1 shares, each in turn wrong: found, named, key recovered. */
	for (i = 0; i < 4; i++) {
		s[i].y[5] ^= 0x01;
		key.calls = 0;
		bad = -1;
		assert_int_equal(vv_shamir_combine(s, 4, check_key, &key, out,
		    &bad), VV_OK);
		assert_memory_equal(out, key.sk, LEN);
		assert_int_equal(bad, s[i].index);
		assert_true(key.calls <= 4);
		s[i].y[5] ^= 0x01;
	}
	/* k + 2 with two wrong: the first in array order is named. */
	s[3].y[0] ^= 0x80;
	s[1].y[31] ^= 0x02;
	assert_int_equal(vv_shamir_combine(s, 5, check_key, &key, out, &bad),
	    VV_OK);
	assert_memory_equal(out, key.sk, LEN);
	assert_int_equal(bad, 2);
	/* k + 1 with two wrong: no k of them are right. */
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(vv_shamir_combine(s, 4, check_key, &key, out, &bad),
	    VV_ERR_INTEGRITY);
	assert_true(sodium_is_zero(out, sizeof(out)));
	assert_int_equal(bad, 0);
	sodium_free(s);
}

/* Shares that agree with each other, but on another key: one check. */
static void
test_consistent_but_foreign(void **state)
{
	struct vv_share *s;
	struct key key;
	uint8_t out[LEN];
	int bad;

	(void)state;
	key_new(&key, CHECK_STRICT);
	s = split_new(key.pk, 3, 5);
	assert_int_equal(vv_shamir_combine(s, 5, check_key, &key, out, &bad),
	    VV_ERR_INTEGRITY);
	assert_int_equal(key.calls, 1);
	assert_int_equal(bad, 0);
	sodium_free(s);
}

/* The search gives up after VV_SHAMIR_MAX_TRIES subsets. */
static void
test_search_bounded(void **state)
{
	struct vv_share *s;
	struct key key;
	uint8_t out[LEN];
	size_t i;
	int bad;

	(void)state;
	key_new(&key, CHECK_EQUAL);
	s = split_new(key.sk, 2, 120);
	/* Only the last pair in lexicographic order is right: C(120, 2) =
	 * 7140 subsets lie beyond the bound. */
	for (i = 0; i < 118; i++)
		s[i].y[0] ^= 1;
	assert_int_equal(vv_shamir_combine(s, 120, check_key, &key, out,
	    &bad), VV_ERR_INTEGRITY);
	assert_int_equal(key.calls, VV_SHAMIR_MAX_TRIES);
	/* Within the bound it is found, and the first wrong share named. */
	key.calls = 0;
	assert_int_equal(vv_shamir_combine(s + 60, 60, check_key, &key, out,
	    &bad), VV_OK);
	assert_memory_equal(out, key.sk, LEN);
	assert_int_equal(bad, 61);
	sodium_free(s);
}

/*
 * X25519 ignores five bits of its scalar, so a check on the public key
 * alone accepts a key off in those bits.  A share crafted to flip one of
 * them gets through such a check, and with k + 1 shares an honest share
 * is blamed; the strict check (the key was clamped before splitting)
 * sees through it.
 */
static void
test_clamped_bits_need_strict_check(void **state)
{
	struct vv_share *s;
	struct key key;
	uint8_t out[LEN];
	unsigned d;
	int bad;

	(void)state;
	key_new(&key, CHECK_NAIVE);
	s = split_new(key.sk, 3, 5);
	for (d = 1; d < 256; d++) {
		s[0].y[0] ^= (uint8_t)d;
		assert_int_equal(vv_shamir_interpolate(out, s, 3, 0), VV_OK);
		if ((out[0] ^ key.sk[0]) == 1)
			break;
		s[0].y[0] ^= (uint8_t)d;
	}
	assert_true(d < 256);
	assert_int_equal(vv_shamir_combine(s, 4, check_key, &key, out, &bad),
	    VV_OK);
	assert_memory_not_equal(out, key.sk, LEN);
	assert_int_equal(bad, 4);
	key.mode = CHECK_STRICT;
	assert_int_equal(vv_shamir_combine(s, 3, check_key, &key, out, &bad),
	    VV_ERR_INTEGRITY);
	assert_int_equal(vv_shamir_combine(s, 4, check_key, &key, out, &bad),
	    VV_OK);
	assert_memory_equal(out, key.sk, LEN);
	assert_int_equal(bad, 1);
	sodium_free(s);
}

static void
test_check_x25519(void **state)
{
	uint8_t sk[LEN];
	struct key key;
	size_t i;

	(void)state;
	key_new(&key, CHECK_STRICT);
	assert_int_equal(vv_shamir_check_x25519(key.sk, key.pk), 0);
	/* Each ignored bit, set wrong, is refused though the public key is
	 * the same; and any other bit changes the public key. */
	for (i = 0; i < 8 * LEN; i++) {
		memcpy(sk, key.sk, LEN);
		sk[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(vv_shamir_check_x25519(sk, key.pk), 0);
	}
	sodium_memzero(sk, sizeof(sk));
}

/* ---------------------------------------------------- refused input */

static void
assert_refused(const struct vv_share *s, size_t count, int index,
    const char *fault)
{
	const char *why = NULL;
	uint8_t out[LEN];
	struct key key;
	int bad = -1;

	key_new(&key, CHECK_STRICT);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(vv_shamir_combine(s, count, check_key, &key, out,
	    &bad), VV_ERR_INPUT);
	assert_int_equal(bad, index);
	assert_true(sodium_is_zero(out, sizeof(out)));
	assert_int_equal(key.calls, 0);
	assert_int_equal(vv_shamir_validate(s, count, &bad, &why),
	    VV_ERR_INPUT);
	assert_int_equal(bad, index);
	assert_string_equal(why, fault);
}

static void
test_mismatched_shares(void **state)
{
	struct vv_share *s, t[4];
	uint8_t secret[LEN];

	(void)state;
	randombytes_buf(secret, sizeof(secret));
	s = split_new(secret, 3, 5);
	memcpy(t, s, sizeof(t));
	t[2].epoch = 8;
	assert_refused(t, 4, 3, "key epoch differs");
	memcpy(t, s, sizeof(t));
	t[3].threshold = 4;
	assert_refused(t, 4, 4, "threshold differs");
	memcpy(t, s, sizeof(t));
	t[3] = s[1];
	assert_refused(t, 4, 2, "index repeated");
	memcpy(t, s, sizeof(t));
	t[1].version = 2;
	assert_refused(t, 4, 2, "unknown share version");
	memcpy(t, s, sizeof(t));
	t[0].index = 0;
	assert_refused(t, 4, 0, "share index 0");
	memcpy(t, s, sizeof(t));
	t[0].threshold = 1;
	assert_refused(t, 4, 1, "threshold below 2");
	assert_int_equal(vv_shamir_validate(s, 5, NULL, NULL), VV_OK);
	sodium_memzero(t, sizeof(t));
	sodium_free(s);
}

static void
test_invalid_arguments(void **state)
{
	struct vv_share s[4];
	uint8_t secret[LEN] = { 1 }, out[LEN];
	struct key key;
	int bad;

	(void)state;
	assert_int_equal(vv_shamir_split(secret, 1, 5, 1, s), VV_ERR_INVALID);
	assert_int_equal(vv_shamir_split(secret, 0, 0, 1, s), VV_ERR_INVALID);
	assert_int_equal(vv_shamir_split(secret, 4, 3, 1, s), VV_ERR_INVALID);
	assert_int_equal(vv_shamir_split(secret, 2, 256, 1, s),
	    VV_ERR_INVALID);
	assert_int_equal(vv_shamir_split(secret, 256, 256, 1, s),
	    VV_ERR_INVALID);
	assert_int_equal(vv_shamir_split(NULL, 2, 3, 1, s), VV_ERR_INVALID);
	assert_int_equal(vv_shamir_split(secret, 2, 3, 1, NULL),
	    VV_ERR_INVALID);
	assert_int_equal(vv_shamir_split_coeffs(secret, NULL, 2, 3, 1, s),
	    VV_ERR_INVALID);
	key_new(&key, CHECK_STRICT);
	assert_int_equal(vv_shamir_split(key.sk, 3, 4, 1, s), VV_OK);
	assert_int_equal(vv_shamir_combine(s, 2, check_key, &key, out, &bad),
	    VV_ERR_INVALID);
	assert_int_equal(vv_shamir_combine(s, 0, check_key, &key, out, &bad),
	    VV_ERR_INVALID);
	assert_int_equal(vv_shamir_combine(NULL, 3, check_key, &key, out,
	    &bad), VV_ERR_INVALID);
	assert_int_equal(vv_shamir_combine(s, 3, NULL, &key, out, &bad),
	    VV_ERR_INVALID);
	assert_int_equal(vv_shamir_combine(s, 3, check_key, &key, NULL,
	    &bad), VV_ERR_INVALID);
	assert_int_equal(vv_shamir_combine(s, 3, check_key, &key, out,
	    NULL), VV_OK);
	assert_int_equal(vv_shamir_validate(NULL, 1, NULL, NULL),
	    VV_ERR_INVALID);
	assert_int_equal(vv_shamir_interpolate(out, s, 0, 0), VV_ERR_INVALID);
	assert_int_equal(vv_shamir_interpolate(out, s, 256, 0),
	    VV_ERR_INVALID);
	s[1].index = s[0].index;
	assert_int_equal(vv_shamir_interpolate(out, s, 3, 0), VV_ERR_INVALID);
	s[1].index = 0;
	assert_int_equal(vv_shamir_interpolate(out, s, 3, 0), VV_ERR_INVALID);
	assert_true(sodium_is_zero(out, sizeof(out)));
	assert_int_equal(vv_shamir_interpolate(NULL, s, 3, 0),
	    VV_ERR_INVALID);
	sodium_memzero(s, sizeof(s));
}

/* ------------------------------------------------------------ encoding */

static void
test_encoding_round_trip(void **state)
{
	uint8_t enc[VV_SHARE_LEN], secret[LEN];
	struct vv_share *s, t;
	size_t i;

	(void)state;
	randombytes_buf(secret, sizeof(secret));
	s = split_new(secret, 2, 255);
	for (i = 0; i < 255; i++) {
		s[i].epoch = (uint32_t)i * 0x01010101u;
		assert_int_equal(vv_share_encode(enc, &s[i]), VV_OK);
		assert_int_equal(vv_share_decode(&t, enc, sizeof(enc)), VV_OK);
		assert_int_equal(t.version, s[i].version);
		assert_int_equal(t.epoch, s[i].epoch);
		assert_int_equal(t.threshold, s[i].threshold);
		assert_int_equal(t.index, s[i].index);
		assert_memory_equal(t.y, s[i].y, LEN);
	}
	sodium_memzero(&t, sizeof(t));
	sodium_free(s);
}

static void
assert_decode_refused(const uint8_t *in, size_t len)
{
	struct vv_share t;

	memset(&t, 0xaa, sizeof(t));
	assert_int_equal(vv_share_decode(&t, in, len), VV_ERR_INPUT);
	assert_true(sodium_is_zero((const unsigned char *)&t, sizeof(t)));
}

static void
test_decode_malformed(void **state)
{
	uint8_t enc[VV_SHARE_LEN + 1], secret[LEN] = { 0 };
	struct vv_share s[2], t;
	size_t i;

	(void)state;
	assert_int_equal(vv_shamir_split(secret, 2, 2, 1, s), VV_OK);
	assert_int_equal(vv_share_encode(enc, &s[1]), VV_OK);
	enc[VV_SHARE_LEN] = 0;
	for (i = 0; i <= VV_SHARE_LEN + 1; i++)
		if (i != VV_SHARE_LEN)
			assert_decode_refused(enc, i);
	for (i = 0; i < 3; i++) {
		enc[i] ^= 0x20;
		assert_decode_refused(enc, VV_SHARE_LEN);
		enc[i] ^= 0x20;
	}
	enc[3] = 0;
	assert_decode_refused(enc, VV_SHARE_LEN);
	enc[3] = 2;
	assert_decode_refused(enc, VV_SHARE_LEN);
	enc[3] = 1;
	enc[8] = 1;
	assert_decode_refused(enc, VV_SHARE_LEN);
	enc[8] = 0;
	assert_decode_refused(enc, VV_SHARE_LEN);
	enc[8] = 2;
	enc[9] = 0;
	assert_decode_refused(enc, VV_SHARE_LEN);
	enc[9] = 255;
	assert_int_equal(vv_share_decode(&t, enc, VV_SHARE_LEN), VV_OK);
	assert_int_equal(vv_share_decode(NULL, enc, VV_SHARE_LEN),
	    VV_ERR_INVALID);
	assert_int_equal(vv_share_decode(&t, NULL, 0), VV_ERR_INVALID);
	/* Encoding refuses what decoding would. */
	t.threshold = 1;
	assert_int_equal(vv_share_encode(enc, &t), VV_ERR_INVALID);
	t.threshold = 2;
	t.index = 0;
	assert_int_equal(vv_share_encode(enc, &t), VV_ERR_INVALID);
	t.index = 1;
	t.version = 0;
	assert_int_equal(vv_share_encode(enc, &t), VV_ERR_INVALID);
	assert_int_equal(vv_share_encode(NULL, &s[0]), VV_ERR_INVALID);
	assert_int_equal(vv_share_encode(enc, NULL), VV_ERR_INVALID);
	sodium_memzero(s, sizeof(s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gf_known_answers),
		cmocka_unit_test(test_gf_exhaustive),
		cmocka_unit_test(test_split_known_answer),
		cmocka_unit_test(test_split_fields),
		cmocka_unit_test(test_all_subsets_2of5),
		cmocka_unit_test(test_all_subsets_3of6),
		cmocka_unit_test(test_random_subsets_5of9),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_k_minus_1_shares_reveal_nothing),
		cmocka_unit_test(test_wrong_share_exactly_k),
		cmocka_unit_test(test_bad_share_named),
		cmocka_unit_test(test_consistent_but_foreign),
		cmocka_unit_test(test_search_bounded),
		cmocka_unit_test(test_clamped_bits_need_strict_check),
		cmocka_unit_test(test_check_x25519),
		cmocka_unit_test(test_mismatched_shares),
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_encoding_round_trip),
		cmocka_unit_test(test_decode_malformed),
	};

	if (vv_global_init() != VV_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
