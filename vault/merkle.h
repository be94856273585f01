/*
 * merkle.h - the Merkle tree of the compliance log (RFC 9162 section 2.1,
 * the tree of RFC 6962), SHA-256.
 *
 *   leaf hash   SHA-256(0x00 || entry)
 *   node hash   SHA-256(0x01 || left || right)
 *   MTH({})     SHA-256(""), the root of the empty tree
 *
 * The log keeps a frontier (struct vv_merkle): the roots of the perfect
 * subtrees its leaves fall into, at most 64, so appending a leaf costs
 * one node hash amortized and the root of the current size
 * O(log n).  Proofs need other leaves, which live in the vault's
 * database: the caller hands them out through a vv_merkle_leaf_fn.
 *
 * Sizes are at most VV_MERKLE_SIZE_MAX (2^63, beyond any SQLite row id),
 * which bounds an inclusion proof to 63 hashes and a consistency proof
 * to 64: VV_MERKLE_PROOF_MAX is enough for any proof this module makes.
 *
 * A verifier accepts a proof only against roots of the sizes it is
 * told.  Node hashes do not encode sizes, so roots paired with sizes
 * they were not signed with can verify: the root of 4 leaves is also
 * "the root of 2 leaves", its two inner nodes.  Take sizes and roots
 * together from one signed tree head.
 *
 * Every int-returning function returns 0 or -1; a failed verification
 * says nothing about why.
 */
#ifndef VV_MERKLE_H
#define VV_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define VV_MERKLE_HASH_LEN  32u
#define VV_MERKLE_LEVELS    64u
#define VV_MERKLE_PROOF_MAX 64u
#define VV_MERKLE_SIZE_MAX  (UINT64_C(1) << 63)
/* The bytes vv_merkle_save writes, at most. */
#define VV_MERKLE_SAVE_MAX  (VV_MERKLE_LEVELS * VV_MERKLE_HASH_LEN)

#define VV_MERKLE_CHECK __attribute__((warn_unused_result))

/*
 * A tree of size leaves, by its frontier: stack[0..popcount(size) - 1]
 * are the roots of the perfect subtrees covering the leaves, largest
 * (leftmost) first; a one bit of size at position k is a subtree of 2^k
 * leaves.
 */
struct vv_merkle {
	uint64_t size;
	uint8_t stack[VV_MERKLE_LEVELS][VV_MERKLE_HASH_LEN];
};

/* Writes the hash of leaf index (0-based) to out; returns 0, or -1 when
 * it cannot be read.  Called in no particular order. */
typedef int vv_merkle_leaf_fn(void *arg, uint64_t index, uint8_t out[32]);

/* The empty tree. */
void vv_merkle_init(struct vv_merkle *m);

/* The leaf hash of len bytes of entry (NULL when len is 0). */
void vv_merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[32]);

/* Appends one leaf by its leaf hash.  A tree of VV_MERKLE_SIZE_MAX
 * leaves is full and stays unchanged. */
void vv_merkle_append_leaf_hash(struct vv_merkle *m, const uint8_t leaf[32]);

/* The root of the tree at its current size. */
void vv_merkle_root(const struct vv_merkle *m, uint8_t out[32]);

/*
 * The frontier as stored: popcount(size) hashes in stack order,
 * *len = 32 * popcount(size) <= VV_MERKLE_SAVE_MAX bytes, written to out.
 */
void vv_merkle_save(const struct vv_merkle *m,
    uint8_t out[VV_MERKLE_SAVE_MAX], size_t *len);

/* The tree of size leaves from what vv_merkle_save wrote (buf may be
 * NULL when len is 0).  -1, m empty, for a length that does not fit
 * size or a size above VV_MERKLE_SIZE_MAX. */
VV_MERKLE_CHECK int vv_merkle_load(struct vv_merkle *m, uint64_t size,
    const uint8_t *buf, size_t len);

/*
 * MTH(D[begin:end]): the root of the tree made of leaves begin..end - 1
 * alone, computed from their leaf hashes (end - begin calls of leaf).
 * begin == end gives the empty tree's root.  -1 when begin > end, end >
 * VV_MERKLE_SIZE_MAX or leaf fails.
 */
VV_MERKLE_CHECK int vv_merkle_root_range(vv_merkle_leaf_fn *leaf, void *arg,
    uint64_t begin, uint64_t end, uint8_t out[32]);

/*
 * The audit path of leaf index in the tree of size leaves (RFC 9162
 * section 2.1.3.1), leaf side first: *n hashes to proof, which holds
 * VV_MERKLE_PROOF_MAX.  -1 when index >= size, size >
 * VV_MERKLE_SIZE_MAX or leaf fails.  Costs about size leaf calls.
 */
VV_MERKLE_CHECK int vv_merkle_inclusion_proof(vv_merkle_leaf_fn *leaf,
    void *arg, uint64_t index, uint64_t size, uint8_t (*proof)[32],
    size_t *n);

/*
 * The consistency proof between the tree of old_size leaves and that of
 * new_size (RFC 9162 section 2.1.4.1): *n hashes to proof, which holds
 * VV_MERKLE_PROOF_MAX; none when the sizes are equal.  -1 when old_size
 * is 0 (every tree extends the empty one: there is nothing to prove, and
 * a caller asking is confused), old_size > new_size, new_size >
 * VV_MERKLE_SIZE_MAX or leaf fails.  Costs about new_size leaf calls.
 */
VV_MERKLE_CHECK int vv_merkle_consistency_proof(vv_merkle_leaf_fn *leaf,
    void *arg, uint64_t old_size, uint64_t new_size, uint8_t (*proof)[32],
    size_t *n);

/*
 * 0 when the n hashes of proof (NULL when n is 0) prove that leaf, a
 * leaf hash, is leaf index of the tree of size leaves whose root is
 * root (RFC 9162 section 2.1.3.2).  -1 otherwise, and when index >=
 * size or size > VV_MERKLE_SIZE_MAX.  Reads no more than n hashes.
 */
VV_MERKLE_CHECK int vv_merkle_verify_inclusion(uint64_t index, uint64_t size,
    const uint8_t leaf[32], const uint8_t (*proof)[32], size_t n,
    const uint8_t root[32]);

/*
 * 0 when the n hashes of proof (NULL when n is 0) prove that the tree of
 * new_size leaves with root new_root extends the tree of old_size leaves
 * with root old_root (RFC 9162 section 2.1.4.2).  Equal sizes need an
 * empty proof and equal roots.  -1 otherwise, and when old_size is 0
 * (refused as meaningless, as by vv_merkle_consistency_proof), old_size >
 * new_size or new_size > VV_MERKLE_SIZE_MAX.  Reads no more than n
 * hashes.
 */
VV_MERKLE_CHECK int vv_merkle_verify_consistency(uint64_t old_size,
    uint64_t new_size, const uint8_t old_root[32],
    const uint8_t new_root[32], const uint8_t (*proof)[32], size_t n);

#endif /* VV_MERKLE_H */
