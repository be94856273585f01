/*
 * test_merkle.c - the compliance log's Merkle tree: Certificate
 * Transparency's reference vectors, the frontier against the range
 * recursion, and every proof of small trees against tampering.
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

#include "testlib.h"
#include "vault/merkle.h"

#define LEAVES     300u	/* incremental against range roots */
#define PROOF_SIZES 70u	/* every proof of trees up to this size */
#define PMAX       (VV_MERKLE_PROOF_MAX + 1)	/* room for an extra hash */

/*
 * The reference tree of Certificate Transparency's test suites: eight
 * leaf inputs, their leaf and node hashes, the roots of sizes 0..8,
 * audit paths and consistency proofs.  Data only, copied from
 * google/certificate-transparency cpp/merkletree/merkle_tree_test.cc
 * (kInputs, kSHA256EmptyTreeHash, kSHA256Roots, kSHA256Paths,
 * kSHA256Proofs) and checked equal to transparency-dev/merkle
 * testonly/constants.go (LeafInputs, NodeHashes, RootHashes) and
 * cmd/proofgen/main.go (inclusionProofs, consistencyProofs), commit
 * 417fb0c314750d94e53942e9f92e79b6d35915db.  Leaf numbers there are
 * 1-based; here 0-based.
 */
static const char *const vec_inputs[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f"
};

/* NodeHashes: level 0 (the leaf hashes) to level 3 (the root of 8). */
static const char *const vec_level0[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
	"07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
	"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	"4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
	"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	"46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"
};
static const char *const vec_level1[4] = {
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
};
static const char *const vec_level2[2] = {
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
};

/* Roots by size, 0 to 8. */
static const char *const vec_roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
};

struct vec_proof {
	uint64_t a;	/* leaf index, or old size */
	uint64_t size;
	size_t n;
	const char *hash[3];
};

static const struct vec_proof vec_paths[] = {
	{ 0, 1, 0, { NULL } },
	{ 0, 8, 3, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, {
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, {
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, {
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } }
};

static const struct vec_proof vec_consistency[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, {
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, 3, {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } }
};

/* Leaf hashes handed out as the log would: none at or past limit. */
struct tree {
	uint8_t leaf[LEAVES][32];
	uint64_t limit;
};

static struct tree g;

static int
leaf_at(void *arg, uint64_t index, uint8_t out[32])
{
	const struct tree *t = arg;

	if (index >= t->limit)
		return -1;
	memcpy(out, t->leaf[index], 32);
	return 0;
}

static void
unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t got = 0;

	assert_int_equal(sodium_hex2bin(out, len, hex, strlen(hex), NULL,
	    &got, NULL), 0);
	assert_int_equal(got, len);
}

static void
assert_hash(const uint8_t h[32], const char *hex)
{
	uint8_t want[32];

	unhex(hex, want, sizeof(want));
	assert_memory_equal(h, want, sizeof(want));
}

/* The vectors' leaf hashes as g's first eight leaves. */
static void
vector_tree(void)
{
	size_t i;

	for (i = 0; i < 8; i++)
		unhex(vec_level0[i], g.leaf[i], 32);
	g.limit = 8;
}

/* Reproducible random leaves for the larger trees. */
static void
random_tree(void)
{
	static const uint8_t seed[randombytes_SEEDBYTES] = { 'm', 'e', 'r',
	    'k', 'l', 'e' };

	randombytes_buf_deterministic(g.leaf, sizeof(g.leaf), seed);
	g.limit = LEAVES;
}

static void
root_of(uint64_t size, uint8_t out[32])
{
	g.limit = size;
	assert_int_equal(vv_merkle_root_range(leaf_at, &g, 0, size, out), 0);
	g.limit = LEAVES;
}

/* ------------------------------------------------- shapes, by the RFC */

/*
 * What a verifier does with each proof hash, from RFC 9162's recursive
 * definitions (written apart from merkle.c): 'L' a left sibling, 'R' a
 * right one, 'S' the start of a consistency path.  A verifier accepts a
 * proof made for one shape exactly when asked about sizes of the same
 * shape: that is what lets the tests say which altered sizes must fail.
 */
struct shape {
	char op[PMAX + 1];
	size_t n;
};

static uint64_t
ref_split(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

static void
ref_path(uint64_t m, uint64_t n, struct shape *s)
{
	uint64_t k;

	if (n == 1)
		return;
	k = ref_split(n);
	if (m < k) {
		ref_path(m, k, s);
		s->op[s->n++] = 'R';
	} else {
		ref_path(m - k, n - k, s);
		s->op[s->n++] = 'L';
	}
}

static void
ref_subproof(uint64_t m, uint64_t n, int b, struct shape *s)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			s->op[s->n++] = 'S';
		return;
	}
	k = ref_split(n);
	if (m <= k) {
		ref_subproof(m, k, b, s);
		s->op[s->n++] = 'R';
	} else {
		ref_subproof(m - k, n - k, 0, s);
		s->op[s->n++] = 'L';
	}
}

static int
same_path_shape(uint64_t i1, uint64_t n1, uint64_t i2, uint64_t n2)
{
	struct shape a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ref_path(i1, n1, &a);
	ref_path(i2, n2, &b);
	return a.n == b.n && memcmp(a.op, b.op, a.n) == 0;
}

static int
same_subproof_shape(uint64_t m1, uint64_t n1, uint64_t m2, uint64_t n2)
{
	struct shape a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ref_subproof(m1, n1, 1, &a);
	ref_subproof(m2, n2, 1, &b);
	return a.n == b.n && memcmp(a.op, b.op, a.n) == 0;
}

/* ------------------------------------------------------------ vectors */

static void
test_empty_tree(void **state)
{
	struct vv_merkle m;
	uint8_t root[32];

	(void)state;
	vv_merkle_init(&m);
	vv_merkle_root(&m, root);
	assert_hash(root, vec_roots[0]);
	assert_int_equal(vv_merkle_root_range(leaf_at, &g, 0, 0, root), 0);
	assert_hash(root, vec_roots[0]);
	assert_int_equal(vv_merkle_root_range(leaf_at, &g, 5, 5, root), 0);
	assert_hash(root, vec_roots[0]);
}

static void
test_vector_leaves(void **state)
{
	uint8_t in[16], h[32];
	size_t i, len;

	(void)state;
	for (i = 0; i < 8; i++) {
		len = strlen(vec_inputs[i]) / 2;
		if (len > 0)
			unhex(vec_inputs[i], in, len);
		vv_merkle_leaf_hash(len > 0 ? in : NULL, len, h);
		assert_hash(h, vec_level0[i]);
	}
}

static void
test_vector_roots(void **state)
{
	struct vv_merkle m;
	uint8_t root[32];
	uint64_t s, i;

	(void)state;
	vector_tree();
	vv_merkle_init(&m);
	for (s = 1; s <= 8; s++) {
		vv_merkle_append_leaf_hash(&m, g.leaf[s - 1]);
		assert_int_equal(m.size, s);
		vv_merkle_root(&m, root);
		assert_hash(root, vec_roots[s]);
		assert_int_equal(vv_merkle_root_range(leaf_at, &g, 0, s, root),
		    0);
		assert_hash(root, vec_roots[s]);
	}
	/* Every complete subtree, as a range of its own. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(vv_merkle_root_range(leaf_at, &g, 2 * i,
		    2 * i + 2, root), 0);
		assert_hash(root, vec_level1[i]);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(vv_merkle_root_range(leaf_at, &g, 4 * i,
		    4 * i + 4, root), 0);
		assert_hash(root, vec_level2[i]);
	}
}

static void
check_vector(const struct vec_proof *v, int consistency)
{
	uint8_t proof[PMAX][32], want[3][32], leaf[32], r1[32], r2[32];
	size_t j, n = 99;

	for (j = 0; j < v->n; j++)
		unhex(v->hash[j], want[j], 32);
	unhex(vec_roots[v->size], r2, 32);
	if (consistency) {
		unhex(vec_roots[v->a], r1, 32);
		assert_int_equal(vv_merkle_consistency_proof(leaf_at, &g, v->a,
		    v->size, proof, &n), 0);
		assert_int_equal(vv_merkle_verify_consistency(v->a, v->size, r1,
		    r2, (const uint8_t (*)[32])want, v->n), 0);
	} else {
		unhex(vec_level0[v->a], leaf, 32);
		assert_int_equal(vv_merkle_inclusion_proof(leaf_at, &g, v->a,
		    v->size, proof, &n), 0);
		assert_int_equal(vv_merkle_verify_inclusion(v->a, v->size, leaf,
		    (const uint8_t (*)[32])want, v->n, r2), 0);
	}
	assert_int_equal(n, v->n);
	for (j = 0; j < n; j++)
		assert_memory_equal(proof[j], want[j], 32);
}

static void
test_vector_proofs(void **state)
{
	size_t i;

	(void)state;
	vector_tree();
	for (i = 0; i < sizeof(vec_paths) / sizeof(vec_paths[0]); i++)
		check_vector(&vec_paths[i], 0);
	for (i = 0; i < sizeof(vec_consistency) / sizeof(vec_consistency[0]);
	    i++)
		check_vector(&vec_consistency[i], 1);
}

/* ------------------------------------------------------------ frontier */

/* The frontier saved at size s, loaded and extended by one leaf, gives
 * the root of s + 1; lengths other than its own are refused. */
static void
check_save_load(const struct vv_merkle *m)
{
	uint8_t buf[VV_MERKLE_SAVE_MAX], root[32], want[32];
	struct vv_merkle c;
	size_t len = 0;

	vv_merkle_save(m, buf, &len);
	assert_int_equal(len, 32 * (size_t)__builtin_popcountll(m->size));
	assert_int_equal(vv_merkle_load(&c, m->size, buf, len + 32), -1);
	if (len > 0)
		assert_int_equal(vv_merkle_load(&c, m->size, buf, len - 1),
		    -1);
	assert_int_equal(vv_merkle_load(&c, m->size, len > 0 ? buf : NULL,
	    len), 0);
	assert_int_equal(c.size, m->size);
	vv_merkle_append_leaf_hash(&c, g.leaf[m->size]);
	vv_merkle_root(&c, root);
	root_of(m->size + 1, want);
	assert_memory_equal(root, want, 32);
}

static void
test_incremental_is_range(void **state)
{
	struct vv_merkle m;
	uint8_t a[32], b[32];
	uint64_t s;

	(void)state;
	random_tree();
	vv_merkle_init(&m);
	check_save_load(&m);
	for (s = 1; s <= LEAVES; s++) {
		vv_merkle_append_leaf_hash(&m, g.leaf[s - 1]);
		vv_merkle_root(&m, a);
		root_of(s, b);
		assert_memory_equal(a, b, 32);
		if (s < LEAVES)
			check_save_load(&m);
	}
}

static void
test_frontier_limits(void **state)
{
	uint8_t buf[VV_MERKLE_SAVE_MAX], before[32], after[32];
	struct vv_merkle m;
	size_t len = 0;

	(void)state;
	memset(buf, 0x5a, sizeof(buf));
	/* 2^64 - 1 leaves would be 64 subtrees, but is past the limit. */
	assert_int_equal(vv_merkle_load(&m, UINT64_MAX, buf, sizeof(buf)), -1);
	assert_int_equal(m.size, 0);
	assert_int_equal(vv_merkle_load(&m, VV_MERKLE_SIZE_MAX + 1, buf, 64),
	    -1);
	/* A full tree takes no more leaves. */
	assert_int_equal(vv_merkle_load(&m, VV_MERKLE_SIZE_MAX, buf, 32), 0);
	vv_merkle_root(&m, before);
	vv_merkle_append_leaf_hash(&m, buf);
	vv_merkle_root(&m, after);
	assert_int_equal(m.size, VV_MERKLE_SIZE_MAX);
	assert_memory_equal(before, after, 32);
	/* One short of full: 63 subtrees, all on the stack. */
	assert_int_equal(vv_merkle_load(&m, VV_MERKLE_SIZE_MAX - 1, buf,
	    63 * 32), 0);
	vv_merkle_append_leaf_hash(&m, buf);
	assert_int_equal(m.size, VV_MERKLE_SIZE_MAX);
	vv_merkle_save(&m, buf, &len);
	assert_int_equal(len, 32);
}

/* ------------------------------------------------------------ inclusion */

static int
verify_path(uint64_t i, uint64_t s, const uint8_t leaf[32],
    uint8_t (*proof)[32], size_t n, const uint8_t root[32])
{
	return vv_merkle_verify_inclusion(i, s, leaf,
	    (const uint8_t (*)[32])proof, n, root);
}

/* The size the proof is checked against, altered: accepted only for a
 * size of the same shape (e.g. index 0 of 3 and of 4 leaves). */
static void
check_path_sizes(uint64_t i, uint64_t s, const uint8_t leaf[32],
    uint8_t (*proof)[32], size_t n, const uint8_t root[32])
{
	const uint64_t alt[] = { s - 2, s - 1, s + 1, s + 2, 2 * s, s / 2, 0,
	    VV_MERKLE_SIZE_MAX + 1, UINT64_MAX };
	size_t k;
	int want;

	for (k = 0; k < sizeof(alt) / sizeof(alt[0]); k++) {
		if (alt[k] == s)
			continue;
		want = i < alt[k] && alt[k] <= VV_MERKLE_SIZE_MAX &&
		    same_path_shape(i, s, i, alt[k]) ? 0 : -1;
		assert_int_equal(verify_path(i, alt[k], leaf, proof, n, root),
		    want);
	}
	/* As Certificate Transparency's suites require. */
	assert_int_equal(verify_path(i, 2 * s, leaf, proof, n, root), -1);
	assert_int_equal(verify_path(i, s / 2, leaf, proof, n, root), -1);
}

static void
check_path_tamper(uint64_t i, uint64_t s, const uint8_t leaf[32],
    uint8_t (*proof)[32], size_t n, const uint8_t root[32])
{
	const uint64_t idx[] = { i - 1, i + 1, i ^ 1, i ^ 2, s - 1 - i, s,
	    UINT64_MAX };
	uint8_t bad[32], p[PMAX][32];
	size_t j, k;

	for (j = 0; j < n; j++) {
		proof[j][j % 32] ^= 0x01;
		assert_int_equal(verify_path(i, s, leaf, proof, n, root), -1);
		proof[j][j % 32] ^= 0x01;
	}
	memcpy(bad, leaf, 32);
	bad[31] ^= 0x80;
	assert_int_equal(verify_path(i, s, bad, proof, n, root), -1);
	memcpy(bad, root, 32);
	bad[0] ^= 0x01;
	assert_int_equal(verify_path(i, s, leaf, proof, n, bad), -1);
	for (k = 0; k < sizeof(idx) / sizeof(idx[0]); k++)
		if (idx[k] != i)
			assert_int_equal(verify_path(idx[k], s, leaf, proof, n,
			    root), -1);
	if (n > 0)
		assert_int_equal(verify_path(i, s, leaf, proof, n - 1, root),
		    -1);
	/* An extra hash at the end, then at the start. */
	memcpy(p, proof, n * 32);
	memcpy(p[n], root, 32);
	assert_int_equal(verify_path(i, s, leaf, p, n + 1, root), -1);
	memcpy(p[0], root, 32);
	memcpy(p[1], proof, n * 32);
	assert_int_equal(verify_path(i, s, leaf, p, n + 1, root), -1);
}

static void
test_every_inclusion_proof(void **state)
{
	uint8_t proof[PMAX][32], root[32];
	uint64_t s, i;
	size_t n;

	(void)state;
	random_tree();
	for (s = 1; s <= PROOF_SIZES; s++) {
		root_of(s, root);
		for (i = 0; i < s; i++) {
			/* The prover asks for no leaf past the tree. */
			g.limit = s;
			assert_int_equal(vv_merkle_inclusion_proof(leaf_at, &g,
			    i, s, proof, &n), 0);
			g.limit = LEAVES;
			assert_true(n <= VV_MERKLE_PROOF_MAX);
			assert_true(same_path_shape(i, s, i, s));
			assert_int_equal(verify_path(i, s, g.leaf[i], proof, n,
			    root), 0);
			check_path_tamper(i, s, g.leaf[i], proof, n, root);
			check_path_sizes(i, s, g.leaf[i], proof, n, root);
		}
	}
}

/* ---------------------------------------------------------- consistency */

static int
verify_cons(uint64_t m, uint64_t n, const uint8_t r1[32],
    const uint8_t r2[32], uint8_t (*proof)[32], size_t len)
{
	return vv_merkle_verify_consistency(m, n, r1, r2,
	    (const uint8_t (*)[32])proof, len);
}

static void
check_cons_sizes(uint64_t m, uint64_t n, const uint8_t r1[32],
    const uint8_t r2[32], uint8_t (*proof)[32], size_t len)
{
	const uint64_t am[] = { m - 2, m - 1, m + 1, m + 2, m ^ 2, 0 };
	const uint64_t an[] = { n - 2, n - 1, n + 1, n + 2, 2 * n, n / 2, 0,
	    VV_MERKLE_SIZE_MAX + 1 };
	size_t k;
	int want;

	for (k = 0; k < sizeof(am) / sizeof(am[0]); k++) {
		if (am[k] == m)
			continue;
		want = am[k] >= 1 && am[k] <= n &&
		    same_subproof_shape(m, n, am[k], n) ? 0 : -1;
		assert_int_equal(verify_cons(am[k], n, r1, r2, proof, len),
		    want);
	}
	for (k = 0; k < sizeof(an) / sizeof(an[0]); k++) {
		if (an[k] == n)
			continue;
		want = m <= an[k] && an[k] <= VV_MERKLE_SIZE_MAX &&
		    same_subproof_shape(m, n, m, an[k]) ? 0 : -1;
		assert_int_equal(verify_cons(m, an[k], r1, r2, proof, len),
		    want);
	}
	if (m == n)
		return;
	/* As Certificate Transparency's suites require. */
	assert_int_equal(verify_cons(m - 1, n, r1, r2, proof, len), -1);
	assert_int_equal(verify_cons(m + 1, n, r1, r2, proof, len), -1);
	assert_int_equal(verify_cons(m ^ 2, n, r1, r2, proof, len), -1);
	assert_int_equal(verify_cons(m, 2 * n, r1, r2, proof, len), -1);
	assert_int_equal(verify_cons(m, n / 2, r1, r2, proof, len), -1);
}

static void
check_cons_tamper(uint64_t m, uint64_t n, const uint8_t r1[32],
    const uint8_t r2[32], uint8_t (*proof)[32], size_t len)
{
	uint8_t bad[32], p[PMAX][32];
	size_t j;

	for (j = 0; j < len; j++) {
		proof[j][(j * 7) % 32] ^= 0x10;
		assert_int_equal(verify_cons(m, n, r1, r2, proof, len), -1);
		proof[j][(j * 7) % 32] ^= 0x10;
	}
	memcpy(bad, r1, 32);
	bad[5] ^= 0x02;
	assert_int_equal(verify_cons(m, n, bad, r2, proof, len), -1);
	memcpy(bad, r2, 32);
	bad[17] ^= 0x40;
	assert_int_equal(verify_cons(m, n, r1, bad, proof, len), -1);
	if (m != n)
		assert_int_equal(verify_cons(m, n, r2, r1, proof, len), -1);
	if (len > 0) {
		assert_int_equal(verify_cons(m, n, r1, r2, proof, len - 1), -1);
		assert_int_equal(verify_cons(m, n, r1, r2, NULL, 0), -1);
	}
	memcpy(p, proof, len * 32);
	memcpy(p[len], len > 0 ? proof[len - 1] : r1, 32);
	assert_int_equal(verify_cons(m, n, r1, r2, p, len + 1), -1);
	memcpy(p[0], r1, 32);
	memcpy(p[1], proof, len * 32);
	assert_int_equal(verify_cons(m, n, r1, r2, p, len + 1), -1);
}

static void
test_every_consistency_proof(void **state)
{
	uint8_t proof[PMAX][32], roots[PROOF_SIZES + 1][32];
	uint64_t m, n;
	size_t len;

	(void)state;
	random_tree();
	for (n = 1; n <= PROOF_SIZES; n++)
		root_of(n, roots[n]);
	for (n = 1; n <= PROOF_SIZES; n++)
		for (m = 1; m <= n; m++) {
			g.limit = n;
			assert_int_equal(vv_merkle_consistency_proof(leaf_at,
			    &g, m, n, proof, &len), 0);
			g.limit = LEAVES;
			assert_true(len <= VV_MERKLE_PROOF_MAX);
			assert_int_equal(verify_cons(m, n, roots[m], roots[n],
			    proof, len), 0);
			check_cons_tamper(m, n, roots[m], roots[n], proof,
			    len);
			check_cons_sizes(m, n, roots[m], roots[n], proof, len);
		}
}

/* ------------------------------------------------------------ refusals */

static void
test_refusals(void **state)
{
	uint8_t proof[PMAX][32], h[32], e[32];
	size_t n = 7;

	(void)state;
	random_tree();
	unhex(vec_roots[0], e, 32);
	/* Arguments. */
	assert_int_equal(vv_merkle_root_range(leaf_at, &g, 3, 2, h), -1);
	assert_int_equal(vv_merkle_root_range(leaf_at, &g, 0,
	    VV_MERKLE_SIZE_MAX + 1, h), -1);
	assert_int_equal(vv_merkle_inclusion_proof(leaf_at, &g, 0, 0, proof,
	    &n), -1);
	assert_int_equal(n, 0);
	assert_int_equal(vv_merkle_inclusion_proof(leaf_at, &g, 5, 5, proof,
	    &n), -1);
	assert_int_equal(vv_merkle_inclusion_proof(leaf_at, &g, 0,
	    VV_MERKLE_SIZE_MAX + 1, proof, &n), -1);
	assert_int_equal(vv_merkle_consistency_proof(leaf_at, &g, 0, 5, proof,
	    &n), -1);
	assert_int_equal(vv_merkle_consistency_proof(leaf_at, &g, 6, 5, proof,
	    &n), -1);
	assert_int_equal(vv_merkle_consistency_proof(leaf_at, &g, 1,
	    VV_MERKLE_SIZE_MAX + 1, proof, &n), -1);
	/* A leaf that cannot be read fails the proof. */
	g.limit = 9;
	assert_int_equal(vv_merkle_root_range(leaf_at, &g, 0, 10, h), -1);
	assert_int_equal(vv_merkle_inclusion_proof(leaf_at, &g, 3, 10, proof,
	    &n), -1);
	assert_int_equal(vv_merkle_consistency_proof(leaf_at, &g, 4, 10,
	    proof, &n), -1);
	g.limit = LEAVES;
	/* Old size 0 is meaningless, even against the empty tree's root. */
	assert_int_equal(vv_merkle_verify_consistency(0, 0, e, e, NULL, 0), -1);
	assert_int_equal(vv_merkle_verify_consistency(0, 1, e, g.leaf[0], NULL,
	    0), -1);
	/* Equal sizes: equal roots and no proof. */
	assert_int_equal(vv_merkle_verify_consistency(1, 1, g.leaf[0],
	    g.leaf[0], NULL, 0), 0);
	assert_int_equal(vv_merkle_verify_consistency(1, 1, g.leaf[0],
	    g.leaf[1], NULL, 0), -1);
	memcpy(proof[0], g.leaf[0], 32);
	assert_int_equal(vv_merkle_verify_consistency(1, 1, g.leaf[0],
	    g.leaf[0], (const uint8_t (*)[32])proof, 1), -1);
	assert_int_equal(vv_merkle_verify_consistency(2, 1, g.leaf[0],
	    g.leaf[0], NULL, 0), -1);
	/* A size-1 tree is its leaf; index past the size is refused. */
	assert_int_equal(vv_merkle_verify_inclusion(0, 1, g.leaf[0], NULL, 0,
	    g.leaf[0]), 0);
	assert_int_equal(vv_merkle_verify_inclusion(1, 1, g.leaf[0], NULL, 0,
	    g.leaf[0]), -1);
	assert_int_equal(vv_merkle_verify_inclusion(0, 0, e, NULL, 0, e), -1);
	assert_int_equal(vv_merkle_verify_inclusion(0, VV_MERKLE_SIZE_MAX + 1,
	    g.leaf[0], NULL, 0, g.leaf[0]), -1);
}

/* The limit merkle.h states: node hashes carry no size, so a proof for 4
 * leaves verifies as one for 3 against the same root.  Sizes and roots
 * must come together from a signed tree head. */
static void
test_sizes_come_with_roots(void **state)
{
	uint8_t proof[PMAX][32], root[32];
	size_t n;

	(void)state;
	random_tree();
	root_of(4, root);
	assert_int_equal(vv_merkle_inclusion_proof(leaf_at, &g, 0, 4, proof,
	    &n), 0);
	assert_int_equal(verify_path(0, 4, g.leaf[0], proof, n, root), 0);
	assert_int_equal(verify_path(0, 3, g.leaf[0], proof, n, root), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_tree),
		cmocka_unit_test(test_vector_leaves),
		cmocka_unit_test(test_vector_roots),
		cmocka_unit_test(test_vector_proofs),
		cmocka_unit_test(test_incremental_is_range),
		cmocka_unit_test(test_frontier_limits),
		cmocka_unit_test(test_every_inclusion_proof),
		cmocka_unit_test(test_every_consistency_proof),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_sizes_come_with_roots),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
