/*
 * shamir.c - Shamir secret sharing over GF(2^8), constant time in the
 * secret.
 *
 * Multiplication is shift-and-add with masks rather than log/exp tables:
 * a table index derived from a share value would leak it through the
 * cache.  Inversion is a^254, a fixed chain of multiplications.  Only
 * Lagrange weights are inverted, and they depend on share indices alone,
 * but they go through the same code so that nothing has two paths.
 *
 * The module needs nothing from the rest of the vault (not even
 * internal.h), so it can be built alone beside tests/ct_shamir.c.
 */
#include <string.h>

#include <sodium.h>

#include "vipvault.h"
#include "vault/shamir.h"

/*
 * tests/ct_shamir.c builds this file with -DVV_CT_VALGRIND and marks the
 * secrets undefined; a value derived from them that is public by design
 * (whether a share lies on the recovered polynomial: the caller is told)
 * is marked defined here, so that only unintended branches are reported.
 */
#ifdef VV_CT_VALGRIND
#include <valgrind/memcheck.h>
#define declassify(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define declassify(p, n) ((void)(p), (void)(n))
#endif

#define LEN VV_SHAMIR_SECRET_LEN

/* Byte offsets in the canonical encoding. */
#define OFF_VERSION   3
#define OFF_EPOCH     4
#define OFF_THRESHOLD 8
#define OFF_INDEX     9
#define OFF_Y         10

_Static_assert(OFF_Y + LEN == VV_SHARE_LEN, "share encoding layout");
_Static_assert(sizeof(VV_SHARE_MAGIC) - 1 == OFF_VERSION, "share magic");

uint8_t
vv_gf256_mul(uint8_t a, uint8_t b)
{
	unsigned x = a, y = b, r = 0;
	int i;

	/* Masks of all ones or all zeros stand in for "if bit set". */
	for (i = 0; i < 8; i++) {
		r ^= x & (0u - (y & 1u));
		x = (x << 1) ^ (0x11bu & (0u - (x >> 7)));
		y >>= 1;
	}
	return (uint8_t)r;
}

uint8_t
vv_gf256_inv(uint8_t a)
{
	uint8_t sq = a, r = 1;
	int i;

	/* a^255 = 1, so a^-1 = a^254 = a^2 * a^4 * ... * a^128; 0 maps to
	 * 0 with no special case. */
	for (i = 1; i < 8; i++) {
		sq = vv_gf256_mul(sq, sq);
		r = vv_gf256_mul(r, sq);
	}
	return r;
}

static int
valid_kn(unsigned k, unsigned n)
{
	return k >= 2 && k <= n && n <= VV_SHAMIR_MAX_SHARES;
}

/* y = secret + c1 x + ... + c(k-1) x^(k-1), byte by byte, by Horner. */
static void
eval_poly(uint8_t y[LEN], const uint8_t *secret, const uint8_t *coeffs,
    unsigned k, uint8_t x)
{
	unsigned j;
	size_t b;
	uint8_t acc;

	for (b = 0; b < LEN; b++) {
		acc = 0;
		for (j = k - 1; j > 0; j--)
			acc = vv_gf256_mul(acc, x) ^ coeffs[(j - 1) * LEN + b];
		y[b] = vv_gf256_mul(acc, x) ^ secret[b];
	}
}

int
vv_shamir_split_coeffs(const uint8_t secret[LEN], const uint8_t *coeffs,
    unsigned k, unsigned n, uint32_t epoch, struct vv_share *shares)
{
	unsigned i;

	if (secret == NULL || coeffs == NULL || shares == NULL ||
	    !valid_kn(k, n))
		return VV_ERR_INVALID;
	for (i = 0; i < n; i++) {
		shares[i].version = VV_SHARE_VERSION;
		shares[i].epoch = epoch;
		shares[i].threshold = (uint8_t)k;
		shares[i].index = (uint8_t)(i + 1);
		eval_poly(shares[i].y, secret, coeffs, k, shares[i].index);
	}
	return VV_OK;
}

int
vv_shamir_split(const uint8_t secret[LEN], unsigned k, unsigned n,
    uint32_t epoch, struct vv_share *shares)
{
	uint8_t *coeffs;
	size_t len;
	int r;

	if (secret == NULL || shares == NULL || !valid_kn(k, n))
		return VV_ERR_INVALID;
	len = (size_t)(k - 1) * LEN;
	/* Guarded and locked: the coefficients reveal the secret. */
	if ((coeffs = sodium_malloc(len)) == NULL) {
		sodium_memzero(shares, n * sizeof(*shares));
		return VV_ERR_NOMEM;
	}
	randombytes_buf(coeffs, len);
	r = vv_shamir_split_coeffs(secret, coeffs, k, n, epoch, shares);
	sodium_memzero(coeffs, len);
	sodium_free(coeffs);
	return r;
}

/*
 * out = the polynomial through shares[pick[0..k-1]], at x.  The weights
 * prod (x - xj) / (xi - xj) depend on indices only; the secret values
 * enter through constant-time products alone.  Indices must be distinct.
 */
static void
interpolate(uint8_t out[LEN], const struct vv_share *s, const uint8_t *pick,
    size_t k, uint8_t x)
{
	uint8_t num, den, w, xi, xj;
	size_t i, j, b;

	memset(out, 0, LEN);
	for (i = 0; i < k; i++) {
		xi = s[pick[i]].index;
		num = den = 1;
		for (j = 0; j < k; j++) {
			if (j == i)
				continue;
			xj = s[pick[j]].index;
			/* Subtraction is addition (xor) in GF(2^8). */
			num = vv_gf256_mul(num, x ^ xj);
			den = vv_gf256_mul(den, xi ^ xj);
		}
		w = vv_gf256_mul(num, vv_gf256_inv(den));
		for (b = 0; b < LEN; b++)
			out[b] ^= vv_gf256_mul(w, s[pick[i]].y[b]);
	}
}

/* Marks index in seen (a 256-bit set); returns 1 if it was already. */
static int
seen_before(uint8_t seen[32], uint8_t index)
{
	uint8_t bit = (uint8_t)(1u << (index & 7u));
	int dup = (seen[index >> 3] & bit) != 0;

	seen[index >> 3] |= bit;
	return dup;
}

int
vv_shamir_interpolate(uint8_t out[LEN], const struct vv_share *shares,
    size_t count, uint8_t x)
{
	uint8_t pick[VV_SHAMIR_MAX_SHARES], seen[32] = { 0 };
	size_t i;
	int r = VV_ERR_INVALID;

	if (out == NULL)
		return VV_ERR_INVALID;
	if (shares == NULL || count == 0 || count > VV_SHAMIR_MAX_SHARES)
		goto out;
	for (i = 0; i < count; i++) {
		if (shares[i].index == 0 || seen_before(seen, shares[i].index))
			goto out;
		pick[i] = (uint8_t)i;
	}
	interpolate(out, shares, pick, count, x);
	r = VV_OK;
out:
	if (r != VV_OK)
		sodium_memzero(out, LEN);
	return r;
}

/* What decode, encode and combine refuse in a single share. */
static const char *
share_fault(const struct vv_share *s)
{
	if (s->version != VV_SHARE_VERSION)
		return "unknown share version";
	if (s->index == 0)
		return "share index 0";
	if (s->threshold < 2)
		return "threshold below 2";
	return NULL;
}

/* What makes shares[i] unfit to combine with the shares before it. */
static const char *
set_fault(const struct vv_share *shares, size_t i, uint8_t seen[32])
{
	const char *fault;

	if ((fault = share_fault(&shares[i])) != NULL)
		return fault;
	if (shares[i].epoch != shares[0].epoch)
		return "key epoch differs";
	if (shares[i].threshold != shares[0].threshold)
		return "threshold differs";
	if (seen_before(seen, shares[i].index))
		return "index repeated";
	return NULL;
}

int
vv_shamir_validate(const struct vv_share *shares, size_t count,
    int *bad_index, const char **why)
{
	uint8_t seen[32] = { 0 };
	const char *fault = NULL;
	size_t i;

	if (bad_index != NULL)
		*bad_index = 0;
	if (why != NULL)
		*why = NULL;
	if (shares == NULL || count == 0)
		return VV_ERR_INVALID;
	/* A 256th share must repeat an index, so count stays below 256. */
	for (i = 0; i < count; i++)
		if ((fault = set_fault(shares, i, seen)) != NULL)
			break;
	if (fault == NULL)
		return VV_OK;
	if (bad_index != NULL)
		*bad_index = shares[i].index;
	if (why != NULL)
		*why = fault;
	return VV_ERR_INPUT;
}

/* The first k-subset of positions, in lexicographic order. */
static void
first_subset(uint8_t *pick, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++)
		pick[i] = (uint8_t)i;
}

/* Advances pick to the next k-subset of 0..count-1; 0 after the last. */
static int
next_subset(uint8_t *pick, size_t k, size_t count)
{
	size_t i = k, j;

	while (i-- > 0) {
		if (pick[i] < count - k + i) {
			pick[i]++;
			for (j = i + 1; j < k; j++)
				pick[j] = (uint8_t)(pick[j - 1] + 1);
			return 1;
		}
	}
	return 0;
}

/*
 * The index of the first share, in array order and outside pick (sorted),
 * that is not on the polynomial through the picked shares; 0 if none.
 */
static int
first_off_curve(const struct vv_share *s, size_t count, const uint8_t *pick,
    size_t k)
{
	uint8_t y[LEN];
	size_t i, next = 0;
	int differ = 0;

	for (i = 0; i < count && !differ; i++) {
		if (next < k && pick[next] == i) {
			next++;
			continue;
		}
		interpolate(y, s, pick, k, s[i].index);
		differ = sodium_memcmp(y, s[i].y, LEN) != 0;
		declassify(&differ, sizeof(differ));
	}
	sodium_memzero(y, sizeof(y));
	return differ ? s[i - 1].index : 0;
}

/*
 * Tries k-subsets until one gives a secret check accepts, then names a
 * share off its polynomial.  The secret is left in secret either way;
 * the caller wipes it on failure.
 */
static int
search(const struct vv_share *s, size_t count, size_t k,
    vv_shamir_check_fn *check, void *arg, uint8_t secret[LEN], int *bad)
{
	uint8_t pick[VV_SHAMIR_MAX_SHARES];
	unsigned tries = 0;

	first_subset(pick, k);
	do {
		interpolate(secret, s, pick, k, 0);
		if (check(secret, arg) == 0) {
			*bad = first_off_curve(s, count, pick, k);
			return VV_OK;
		}
	} while (++tries < VV_SHAMIR_MAX_TRIES && next_subset(pick, k, count));
	return VV_ERR_INTEGRITY;
}

int
vv_shamir_combine(const struct vv_share *shares, size_t count,
    vv_shamir_check_fn *check, void *arg, uint8_t secret[LEN],
    int *bad_index)
{
	uint8_t pick[VV_SHAMIR_MAX_SHARES] = { 0 };
	size_t k;
	int r, bad = 0;

	if (bad_index != NULL)
		*bad_index = 0;
	if (secret == NULL)
		return VV_ERR_INVALID;
	if (shares == NULL || check == NULL || count == 0) {
		r = VV_ERR_INVALID;
		goto out;
	}
	if ((r = vv_shamir_validate(shares, count, &bad, NULL)) != VV_OK)
		goto out;
	k = shares[0].threshold;
	if (count < k) {
		r = VV_ERR_INVALID;
		goto out;
	}
	/* Shares all on one polynomial give one candidate: no search. */
	first_subset(pick, k);
	if (count == k || first_off_curve(shares, count, pick, k) == 0) {
		interpolate(secret, shares, pick, k, 0);
		r = check(secret, arg) == 0 ? VV_OK : VV_ERR_INTEGRITY;
	} else
		r = search(shares, count, k, check, arg, secret, &bad);
out:
	if (r != VV_OK)
		sodium_memzero(secret, LEN);
	if (bad_index != NULL && (r == VV_OK || r == VV_ERR_INPUT))
		*bad_index = bad;
	return r;
}

int
vv_shamir_check_x25519(const uint8_t *secret, void *arg)
{
	uint8_t pk[crypto_scalarmult_BYTES];
	unsigned clamped;
	int r;

	/* Both conditions are computed before either is looked at. */
	clamped = (unsigned)(secret[0] & 7) | ((secret[31] & 0xc0u) ^ 0x40u);
	if (crypto_scalarmult_base(pk, secret) != 0)
		return -1;
	r = sodium_memcmp(pk, arg, sizeof(pk)) | (int)clamped;
	sodium_memzero(pk, sizeof(pk));
	return r != 0 ? -1 : 0;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
vv_share_encode(uint8_t out[VV_SHARE_LEN], const struct vv_share *s)
{
	if (out == NULL || s == NULL || share_fault(s) != NULL)
		return VV_ERR_INVALID;
	memcpy(out, VV_SHARE_MAGIC, OFF_VERSION);
	out[OFF_VERSION] = s->version;
	put_be32(out + OFF_EPOCH, s->epoch);
	out[OFF_THRESHOLD] = s->threshold;
	out[OFF_INDEX] = s->index;
	memcpy(out + OFF_Y, s->y, LEN);
	return VV_OK;
}

int
vv_share_decode(struct vv_share *s, const uint8_t *in, size_t len)
{
	if (s == NULL || in == NULL)
		return VV_ERR_INVALID;
	sodium_memzero(s, sizeof(*s));
	if (len != VV_SHARE_LEN || memcmp(in, VV_SHARE_MAGIC, OFF_VERSION) != 0)
		return VV_ERR_INPUT;
	s->version = in[OFF_VERSION];
	s->epoch = get_be32(in + OFF_EPOCH);
	s->threshold = in[OFF_THRESHOLD];
	s->index = in[OFF_INDEX];
	memcpy(s->y, in + OFF_Y, LEN);
	if (share_fault(s) != NULL) {
		sodium_memzero(s, sizeof(*s));
		return VV_ERR_INPUT;
	}
	return VV_OK;
}
