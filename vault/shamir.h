/*
 * shamir.h - k-of-n Shamir secret sharing of a 32-byte key over GF(2^8).
 *
 * Each byte of the secret is the constant term of its own random
 * polynomial of degree k - 1 over GF(2^8) (the AES field, reduction
 * polynomial x^8 + x^4 + x^3 + x + 1, 0x11b); share i holds the 32
 * polynomials evaluated at x = i, for i = 1..n.  Any k shares give the
 * secret back by Lagrange interpolation at 0; k - 1 shares are uniformly
 * distributed whatever the secret, so they say nothing about it.
 *
 * Arithmetic on share values, coefficients and the secret is constant
 * time: no branch and no table index depends on them (tests/ct_shamir.c
 * checks this under valgrind).  Share indices, thresholds, epochs and the
 * outcome of a check are public and may steer control flow.
 *
 * Shares carry no checksum or MAC of their own: they travel sealed (to a
 * key manager's token), and a recombined secret is accepted only when the
 * caller's check, e.g. crypto_scalarmult_base(secret) == the domain's
 * public key, accepts it.
 */
#ifndef VV_SHAMIR_H
#define VV_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#define VV_SHAMIR_SECRET_LEN 32u
#define VV_SHAMIR_MAX_SHARES 255u	/* indices are the field's non-zero
					   elements */
#define VV_SHAMIR_MAX_TRIES  4096u	/* subsets combine checks, at most */

#define VV_SHARE_VERSION 1u
/*
 * Canonical encoding, VV_SHARE_LEN bytes:
 *   "VVS" | version | epoch (big-endian 32) | threshold | index | y[32]
 */
#define VV_SHARE_MAGIC "VVS"
#define VV_SHARE_LEN (3u + 1u + 4u + 1u + 1u + VV_SHAMIR_SECRET_LEN)

struct vv_share {
	uint8_t version;	/* VV_SHARE_VERSION */
	uint32_t epoch;		/* the key epoch the secret belongs to */
	uint8_t threshold;	/* k: shares needed, >= 2 */
	uint8_t index;		/* x: 1..255, distinct within a split */
	uint8_t y[VV_SHAMIR_SECRET_LEN];	/* secret: wipe after use */
};

/*
 * Splits secret into n shares of which any k recombine it, with
 * 2 <= k <= n <= 255; shares[i] gets index i + 1.  shares (n entries) is
 * the caller's, best sodium_malloc'd.  Returns VV_OK, VV_ERR_INVALID for
 * a NULL pointer or a bad k or n (shares untouched), or VV_ERR_NOMEM
 * (shares wiped).
 */
int vv_shamir_split(const uint8_t secret[VV_SHAMIR_SECRET_LEN], unsigned k,
    unsigned n, uint32_t epoch, struct vv_share *shares);

/*
 * vv_shamir_split with the coefficients given: coeffs holds (k - 1) *
 * VV_SHAMIR_SECRET_LEN bytes, coeffs[(j - 1) * VV_SHAMIR_SECRET_LEN + b]
 * being the coefficient of x^j in the polynomial of secret byte b.  For
 * known-answer and constant-time tests only: shares made from anything
 * but uniformly random coefficients leak the secret.
 */
int vv_shamir_split_coeffs(const uint8_t secret[VV_SHAMIR_SECRET_LEN],
    const uint8_t *coeffs, unsigned k, unsigned n, uint32_t epoch,
    struct vv_share *shares);

/*
 * Evaluates at x the polynomial of degree count - 1 through the count
 * shares (1 <= count <= 255, distinct non-zero indices; the other fields
 * are ignored).  x = 0 gives the secret.  Returns VV_OK, or
 * VV_ERR_INVALID (out wiped).
 */
int vv_shamir_interpolate(uint8_t out[VV_SHAMIR_SECRET_LEN],
    const struct vv_share *shares, size_t count, uint8_t x);

/*
 * Returns VV_OK when count >= 1 shares may be combined: each well formed
 * (known version, index >= 1, threshold >= 2), all with the first
 * share's epoch and threshold, no index twice.  Otherwise VV_ERR_INPUT,
 * with *bad_index (if not NULL) the index of the first share in array
 * order at fault (a repeated index names itself; an index 0 gives 0) and
 * *why (if not NULL) a static phrase: "unknown share version", "share
 * index 0", "threshold below 2", "key epoch differs", "threshold
 * differs" or "index repeated".  VV_ERR_INVALID for NULL shares or count
 * 0.
 */
int vv_shamir_validate(const struct vv_share *shares, size_t count,
    int *bad_index, const char **why);

/* Returns 0 when secret is exactly the one the shares were made from
 * (e.g. the private key of a known public key), anything else otherwise.
 * A check blind to some bits of the secret lets a share wrong in them
 * through: see vv_shamir_check_x25519. */
typedef int vv_shamir_check_fn(const uint8_t *secret, void *arg);

/*
 * A check for an X25519 private key: accepts secret when it is clamped
 * (secret[0] & 7 == 0, secret[31] & 0xc0 == 0x40) and its public key is
 * arg, 32 bytes.  X25519 ignores those five bits, so a check on the
 * public key alone would let a share altered in them through, and with
 * k + 1 shares name an honest share bad.  So clamp a private key before
 * splitting it: sk[0] &= 248; sk[31] &= 127; sk[31] |= 64 changes no
 * crypto_box or crypto_scalarmult result.  Constant time.
 */
int vv_shamir_check_x25519(const uint8_t *secret, void *arg);

/*
 * Recombines count shares into secret, accepting only a secret that
 * check(secret, arg) accepts.
 *
 *   VV_ERR_INVALID   NULL shares, check or secret, or count 0;
 *                    or fewer shares than their threshold.
 *   VV_ERR_INPUT     vv_shamir_validate refused the set: *bad_index names
 *                    the share at fault.
 *   VV_ERR_INTEGRITY no secret passed the check.  With exactly k shares
 *                    at least one is wrong but which cannot be told, so
 *                    *bad_index is 0.  With more than k, no k of them
 *                    (among the first VV_SHAMIR_MAX_TRIES subsets tried)
 *                    are right; *bad_index is 0.
 *   VV_OK            secret holds the checked secret.  With more than k
 *                    shares, *bad_index is the index of the first share
 *                    in array order that does not lie on the recovered
 *                    polynomial (a wrong or tampered share the caller
 *                    should report), or 0 when all of them do.
 *
 * Combining allocates nothing, so it never fails with VV_ERR_NOMEM.
 * secret is wiped on every failure: a wrong key is never returned.
 * bad_index may be NULL.  With more than k shares that all lie on one
 * polynomial, check runs once; otherwise k-subsets are tried in
 * lexicographic order of position, so check runs at most
 * VV_SHAMIR_MAX_TRIES times (k + 1 shares with one bad: at most k + 1).
 */
int vv_shamir_combine(const struct vv_share *shares, size_t count,
    vv_shamir_check_fn *check, void *arg,
    uint8_t secret[VV_SHAMIR_SECRET_LEN], int *bad_index);

/*
 * Writes the canonical encoding of s to out.  VV_ERR_INVALID for a share
 * vv_share_decode would refuse.
 */
int vv_share_encode(uint8_t out[VV_SHARE_LEN], const struct vv_share *s);

/*
 * Parses exactly VV_SHARE_LEN bytes into s.  VV_ERR_INPUT (s wiped) for a
 * wrong length or magic, an unknown version, index 0 or a threshold
 * below 2; VV_ERR_INVALID for NULL s or in.
 */
int vv_share_decode(struct vv_share *s, const uint8_t *in, size_t len);

/* GF(2^8) product and inverse (inv(0) = 0), constant time; for tests. */
uint8_t vv_gf256_mul(uint8_t a, uint8_t b);
uint8_t vv_gf256_inv(uint8_t a);

#endif /* VV_SHAMIR_H */
