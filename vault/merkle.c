/*
 * merkle.c - the compliance log's Merkle tree (RFC 9162 section 2.1).
 *
 * The frontier is a binary counter of subtree roots: appending a leaf to
 * a tree whose size ends in k one bits merges it with the k smallest
 * roots, so a leaf costs one node hash amortized, two counting its leaf
 * hash.
 *
 * Provers walk from the root down to the subtrees whose roots make up
 * the proof, the way RFC 9162's PATH and SUBPROOF recurse, and hash each
 * of those leaf ranges.  Range roots are computed by the RFC's own
 * recursion, independently of the frontier, so the tests can hold one
 * against the other.  Verifiers are the RFC's algorithms step by step:
 * a verifier merely "equivalent" to them is where bugs accepting forged
 * proofs hide.
 */
#include <string.h>

#include <sodium.h>

#include "vault/merkle.h"

_Static_assert(crypto_hash_sha256_BYTES == VV_MERKLE_HASH_LEN,
    "the tree hashes with SHA-256");
_Static_assert(sizeof(unsigned long long) == 8,
    "sizes go through the 64-bit builtins");

static const uint8_t leaf_prefix[1] = { 0x00 };
static const uint8_t node_prefix[1] = { 0x01 };

/* A run of leaves [begin, end) whose root is one hash of a proof. */
struct range {
	uint64_t begin;
	uint64_t end;
};

static unsigned
popcount(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

/* The largest power of two below n, n >= 2: where RFC 9162 splits a tree
 * of n leaves. */
static uint64_t
split(uint64_t n)
{
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/* out may be left or right: both are read before out is written. */
static void
node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
	crypto_hash_sha256_state st;

	(void)crypto_hash_sha256_init(&st);
	(void)crypto_hash_sha256_update(&st, node_prefix, sizeof(node_prefix));
	(void)crypto_hash_sha256_update(&st, left, VV_MERKLE_HASH_LEN);
	(void)crypto_hash_sha256_update(&st, right, VV_MERKLE_HASH_LEN);
	(void)crypto_hash_sha256_final(&st, out);
}

static void
empty_root(uint8_t out[32])
{
	/* A real pointer with length 0: SHA-256 of nothing. */
	(void)crypto_hash_sha256(out, leaf_prefix, 0);
}

void
vv_merkle_init(struct vv_merkle *m)
{
	memset(m, 0, sizeof(*m));
}

void
vv_merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[32])
{
	crypto_hash_sha256_state st;

	(void)crypto_hash_sha256_init(&st);
	(void)crypto_hash_sha256_update(&st, leaf_prefix, sizeof(leaf_prefix));
	if (len > 0)
		(void)crypto_hash_sha256_update(&st, entry, len);
	(void)crypto_hash_sha256_final(&st, out);
}

void
vv_merkle_append_leaf_hash(struct vv_merkle *m, const uint8_t leaf[32])
{
	uint8_t h[VV_MERKLE_HASH_LEN];
	unsigned top = popcount(m->size);
	uint64_t s;

	if (m->size >= VV_MERKLE_SIZE_MAX)
		return;
	memcpy(h, leaf, sizeof(h));
	/* Each trailing one bit is a subtree as large as the one h now
	 * roots: the two become their parent.  top never goes below 0, as
	 * each one bit has its root on the stack. */
	for (s = m->size; (s & 1) != 0; s >>= 1)
		node_hash(m->stack[--top], h, h);
	memcpy(m->stack[top], h, sizeof(h));
	m->size++;
}

void
vv_merkle_root(const struct vv_merkle *m, uint8_t out[32])
{
	uint8_t r[VV_MERKLE_HASH_LEN];
	unsigned i = popcount(m->size);

	if (i == 0) {
		empty_root(out);
		return;
	}
	/* Right to left: the smallest subtree is the deepest right child. */
	memcpy(r, m->stack[--i], sizeof(r));
	while (i > 0)
		node_hash(m->stack[--i], r, r);
	memcpy(out, r, sizeof(r));
}

void
vv_merkle_save(const struct vv_merkle *m, uint8_t out[VV_MERKLE_SAVE_MAX],
    size_t *len)
{
	*len = (size_t)popcount(m->size) * VV_MERKLE_HASH_LEN;
	if (*len > 0)
		memcpy(out, m->stack, *len);
}

int
vv_merkle_load(struct vv_merkle *m, uint64_t size, const uint8_t *buf,
    size_t len)
{
	vv_merkle_init(m);
	if (size > VV_MERKLE_SIZE_MAX ||
	    len != (size_t)popcount(size) * VV_MERKLE_HASH_LEN)
		return -1;
	if (len > 0)
		memcpy(m->stack, buf, len);
	m->size = size;
	return 0;
}

/* ------------------------------------------------------------ ranges */

/* MTH(D[begin:end]) for end > begin, as RFC 9162 defines it: the left
 * part is a perfect subtree, so the recursion is at most 64 deep. */
static int
range_root(vv_merkle_leaf_fn *leaf, void *arg, uint64_t begin, uint64_t end,
    uint8_t out[32])
{
	uint8_t right[VV_MERKLE_HASH_LEN];
	uint64_t k;

	if (end - begin == 1)
		return leaf(arg, begin, out) == 0 ? 0 : -1;
	k = begin + split(end - begin);
	if (range_root(leaf, arg, begin, k, out) != 0 ||
	    range_root(leaf, arg, k, end, right) != 0)
		return -1;
	node_hash(out, right, out);
	return 0;
}

int
vv_merkle_root_range(vv_merkle_leaf_fn *leaf, void *arg, uint64_t begin,
    uint64_t end, uint8_t out[32])
{
	if (begin > end || end > VV_MERKLE_SIZE_MAX)
		return -1;
	if (begin == end) {
		empty_root(out);
		return 0;
	}
	return range_root(leaf, arg, begin, end, out);
}

/* ------------------------------------------------------------ proofs */

static int
push(struct range *r, size_t *nr, uint64_t begin, uint64_t end)
{
	/* Sizes up to VV_MERKLE_SIZE_MAX never get here; a bug would. */
	if (*nr == VV_MERKLE_PROOF_MAX)
		return -1;
	r[*nr].begin = begin;
	r[*nr].end = end;
	(*nr)++;
	return 0;
}

/* The walks find the subtrees root side first; a proof lists them leaf
 * side first. */
static int
hash_ranges(vv_merkle_leaf_fn *leaf, void *arg, const struct range *r,
    size_t nr, uint8_t (*proof)[32], size_t *n)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (range_root(leaf, arg, r[nr - 1 - i].begin,
		    r[nr - 1 - i].end, proof[i]) != 0)
			return -1;
	*n = nr;
	return 0;
}

int
vv_merkle_inclusion_proof(vv_merkle_leaf_fn *leaf, void *arg, uint64_t index,
    uint64_t size, uint8_t (*proof)[32], size_t *n)
{
	struct range r[VV_MERKLE_PROOF_MAX];
	uint64_t begin = 0, end = size, k;
	size_t nr = 0;

	*n = 0;
	if (index >= size || size > VV_MERKLE_SIZE_MAX)
		return -1;
	/* PATH: down to the leaf, keeping the subtree not taken. */
	while (end - begin > 1) {
		k = begin + split(end - begin);
		if (index < k) {
			if (push(r, &nr, k, end) != 0)
				return -1;
			end = k;
		} else {
			if (push(r, &nr, begin, k) != 0)
				return -1;
			begin = k;
		}
	}
	return hash_ranges(leaf, arg, r, nr, proof, n);
}

int
vv_merkle_consistency_proof(vv_merkle_leaf_fn *leaf, void *arg,
    uint64_t old_size, uint64_t new_size, uint8_t (*proof)[32], size_t *n)
{
	struct range r[VV_MERKLE_PROOF_MAX];
	uint64_t begin = 0, end = new_size, k;
	size_t nr = 0;
	int whole = 1;

	*n = 0;
	if (old_size == 0 || old_size > new_size ||
	    new_size > VV_MERKLE_SIZE_MAX)
		return -1;
	/* SUBPROOF: down until a subtree ends exactly at old_size.  Here
	 * begin < old_size < end, so the subtree has two children. */
	while (end != old_size) {
		k = begin + split(end - begin);
		if (old_size <= k) {
			if (push(r, &nr, k, end) != 0)
				return -1;
			end = k;
		} else {
			if (push(r, &nr, begin, k) != 0)
				return -1;
			begin = k;
			whole = 0;
		}
	}
	/* Its root too, unless it is the old tree, whose root the verifier
	 * holds. */
	if (!whole && push(r, &nr, begin, end) != 0)
		return -1;
	return hash_ranges(leaf, arg, r, nr, proof, n);
}

/* ------------------------------------------------------ verification */

/*
 * One level up the path, RFC 9162 section 2.1.3.2 step 4 and 2.1.4.2
 * step 6: returns 1 when the next proof hash is a left sibling, 0 when
 * a right one, -1 when the path is already at the root (sn == 0); moves
 * fn and sn to the parent.
 */
static int
climb(uint64_t *fn, uint64_t *sn)
{
	int left;

	if (*sn == 0)
		return -1;
	left = (*fn & 1) != 0 || *fn == *sn;
	/* A last node with no right sibling: up to where it has one. */
	if (left)
		while (*fn != 0 && (*fn & 1) == 0) {
			*fn >>= 1;
			*sn >>= 1;
		}
	*fn >>= 1;
	*sn >>= 1;
	return left;
}

int
vv_merkle_verify_inclusion(uint64_t index, uint64_t size,
    const uint8_t leaf[32], const uint8_t (*proof)[32], size_t n,
    const uint8_t root[32])
{
	uint8_t r[VV_MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i;
	int side;

	if (index >= size || size > VV_MERKLE_SIZE_MAX)
		return -1;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, sizeof(r));
	for (i = 0; i < n; i++) {
		if ((side = climb(&fn, &sn)) < 0)
			return -1;
		if (side)
			node_hash(proof[i], r, r);
		else
			node_hash(r, proof[i], r);
	}
	return sn == 0 && sodium_memcmp(r, root, sizeof(r)) == 0 ? 0 : -1;
}

int
vv_merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
    const uint8_t old_root[32], const uint8_t new_root[32],
    const uint8_t (*proof)[32], size_t n)
{
	uint8_t fr[VV_MERKLE_HASH_LEN], sr[VV_MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;
	int side;

	if (old_size == 0 || old_size > new_size ||
	    new_size > VV_MERKLE_SIZE_MAX)
		return -1;
	if (old_size == new_size)
		return n == 0 && sodium_memcmp(old_root, new_root, 32) == 0 ?
		    0 : -1;
	if (n == 0)
		return -1;
	/* An old tree that is a perfect subtree is the path's first node:
	 * the RFC prepends old_root, we start from it. */
	if ((old_size & (old_size - 1)) == 0)
		memcpy(fr, old_root, sizeof(fr));
	else
		memcpy(fr, proof[i++], sizeof(fr));
	memcpy(sr, fr, sizeof(sr));
	fn = old_size - 1;
	sn = new_size - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if ((side = climb(&fn, &sn)) < 0)
			return -1;
		if (side) {
			node_hash(proof[i], fr, fr);
			node_hash(proof[i], sr, sr);
		} else
			node_hash(sr, proof[i], sr);
	}
	if (sn != 0)
		return -1;
	return (sodium_memcmp(fr, old_root, sizeof(fr)) |
	    sodium_memcmp(sr, new_root, sizeof(sr))) == 0 ? 0 : -1;
}
