/*
 * fuzz_merkle.c - libFuzzer target for the Merkle proof verifiers, fed
 * sizes and proof hashes against a fixed tree of TREE leaves.
 *
 *   flags(1) a(1) b(1) pick(1) [claim(32)] proof(32 each)
 *
 * flags bit 0: an inclusion proof of leaf a in the tree of size b,
 * else a consistency proof from size a to size b.  Bit 1: the claimed
 * leaf hash or old root is the 32 bytes of claim, else leaf pick or the
 * root of size pick.  Bit 2: a and b sit around VV_MERKLE_SIZE_MAX.
 *
 * The root of size b is always the tree's true one: it stands for the
 * signed tree head.  Whatever verifies must then be true: the claim is
 * leaf a or the root of size a, and the proof is the prover's.  Sizes
 * and roots both chosen by the input can verify without being true
 * (merkle.h), so that is not asserted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/merkle.h"

#define TREE 37u	/* 100101: left subtrees of 32, 4 and 1 leaves */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t leaves[TREE][32];
static uint8_t roots[TREE + 1][32];
static uint8_t no_root[32];	/* the "root" of sizes past the tree */

static int
leaf_at(void *arg, uint64_t index, uint8_t out[32])
{
	(void)arg;
	if (index >= TREE)
		return -1;
	memcpy(out, leaves[index], 32);
	return 0;
}

static void
setup(void)
{
	struct vv_merkle m;
	uint8_t b;

	vv_merkle_init(&m);
	vv_merkle_root(&m, roots[0]);
	for (b = 0; b < TREE; b++) {
		vv_merkle_leaf_hash(&b, 1, leaves[b]);
		vv_merkle_append_leaf_hash(&m, leaves[b]);
		vv_merkle_root(&m, roots[b + 1]);
	}
	vv_merkle_leaf_hash((const uint8_t *)"no tree", 7, no_root);
}

/* An accepted proof must be the one the prover makes for these sizes. */
static void
check_canonical(int inclusion, uint64_t a, uint64_t b,
    const uint8_t (*proof)[32], size_t n)
{
	uint8_t want[VV_MERKLE_PROOF_MAX][32];
	size_t wn = 0;
	int r;

	if (inclusion)
		r = vv_merkle_inclusion_proof(leaf_at, NULL, a, b, want, &wn);
	else
		r = vv_merkle_consistency_proof(leaf_at, NULL, a, b, want,
		    &wn);
	if (r != 0 || wn != n || (n > 0 && memcmp(want, proof, n * 32) != 0))
		abort();
}

/* The prover's own proof for small true sizes verifies. */
static void
check_complete(int inclusion, uint64_t a, uint64_t b)
{
	uint8_t p[VV_MERKLE_PROOF_MAX][32];
	size_t n = 0;

	if (inclusion) {
		if (a >= b || b > TREE)
			return;
		if (vv_merkle_inclusion_proof(leaf_at, NULL, a, b, p, &n) != 0 ||
		    vv_merkle_verify_inclusion(a, b, leaves[a],
		    (const uint8_t (*)[32])p, n, roots[b]) != 0)
			abort();
		return;
	}
	if (a == 0 || a > b || b > TREE)
		return;
	if (vv_merkle_consistency_proof(leaf_at, NULL, a, b, p, &n) != 0 ||
	    vv_merkle_verify_consistency(a, b, roots[a], roots[b],
	    (const uint8_t (*)[32])p, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const uint8_t *claim, *head;
	uint8_t (*proof)[32] = NULL;
	uint64_t a, b;
	size_t n;
	int inclusion, r;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 4)
		return 0;
	inclusion = data[0] & 1;
	a = data[1];
	b = data[2];
	if (data[0] & 4) {
		a += VV_MERKLE_SIZE_MAX - 128;
		b += VV_MERKLE_SIZE_MAX - 128;
	}
	if (data[0] & 2) {
		if (size < 4 + 32)
			return 0;
		claim = data + 4;
		data += 4 + 32;
		size -= 4 + 32;
	} else {
		claim = inclusion ? leaves[data[3] % TREE] :
		    roots[data[3] % (TREE + 1)];
		data += 4;
		size -= 4;
	}
	head = b <= TREE ? roots[b] : no_root;
	/* Exactly n hashes on the heap: a read past them is ASan's. */
	if ((n = size / 32) > 0) {
		if ((proof = malloc(n * 32)) == NULL)
			return 0;
		memcpy(proof, data, n * 32);
	}
	if (inclusion)
		r = vv_merkle_verify_inclusion(a, b, claim,
		    (const uint8_t (*)[32])proof, n, head);
	else
		r = vv_merkle_verify_consistency(a, b, claim, head,
		    (const uint8_t (*)[32])proof, n);
	if (r == 0) {
		if (b > TREE || a > b || (inclusion && a == b) ||
		    (!inclusion && a == 0))
			abort();
		if (memcmp(claim, inclusion ? leaves[a] : roots[a], 32) != 0)
			abort();
		check_canonical(inclusion, a, b,
		    (const uint8_t (*)[32])proof, n);
	}
	check_complete(inclusion, a, b);
	free(proof);
	return 0;
}
