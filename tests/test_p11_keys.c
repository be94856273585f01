/*
 * test_p11_keys.c - hsm/p11's keys in a real SoftHSM2 development token:
 * generating and destroying keys, AES-GCM sealing and the failures that
 * protect it, keys that cannot be read out, and keys that outlive their
 * handle and process.  Opening tokens is in test_p11.c.
 *
 * The group makes one token in a fresh directory (testlib's token
 * fixture); each test opens and frees its own handle, so none sees
 * another's login state.  Run as "test_p11_keys --child URI LABEL
 * BLOBFILE" it is the second process of test_new_process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <p11-kit/p11-kit.h>

#include "vipvault.h"
#include "hsm/p11.h"
#include "testlib.h"

static char *self;	/* this program, for a second process */

static void
test_key_lifecycle(void **state)
{
	vv_p11 *p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	char big[VV_P11_LABEL_MAX + 1];

	(void)state;
	assert_int_equal(vv_p11_key_exists(p, "life"), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_p11_key_generate(p, "life"), VV_OK);
	assert_int_equal(vv_p11_key_exists(p, "life"), VV_OK);
	assert_int_equal(vv_p11_key_generate(p, "life"), VV_ERR_EXISTS);
	assert_non_null(strstr(vv_p11_errmsg(p), "life"));
	assert_int_equal(vv_p11_key_exists(p, "lif"), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_p11_key_destroy(p, "life"), VV_OK);
	assert_int_equal(vv_p11_key_exists(p, "life"), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_p11_key_destroy(p, "life"), VV_ERR_NOT_FOUND);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vv_p11_key_generate(p, big), VV_ERR_INVALID);
	assert_int_equal(vv_p11_key_generate(p, ""), VV_ERR_INVALID);
	big[VV_P11_LABEL_MAX - 1] = '\0';
	assert_int_equal(vv_p11_key_generate(p, big), VV_OK);
	assert_int_equal(vv_p11_key_destroy(p, big), VV_OK);
	vv_p11_free(&tl_p11_g.p);
	assert_null(tl_p11_g.p);
	vv_p11_free(&tl_p11_g.p);
}

static void
roundtrip(vv_p11 *p, size_t len)
{
	static const uint8_t aad[] = "vault-id|purpose";
	uint8_t *pt = malloc(len + 1), *b1, *b2, *out;
	size_t n1, n2, olen;

	assert_non_null(pt);
	randombytes_buf(pt, len);
	b1 = malloc(len + VV_P11_OVERHEAD);
	b2 = malloc(len + VV_P11_OVERHEAD);
	out = sodium_malloc(len + 1);
	assert_true(b1 != NULL && b2 != NULL && out != NULL);
	assert_int_equal(vv_p11_seal(p, "rt", aad, sizeof(aad), pt, len, b1,
	    &n1), VV_OK);
	assert_int_equal(vv_p11_seal(p, "rt", aad, sizeof(aad), pt, len, b2,
	    &n2), VV_OK);
	assert_int_equal(n1, len + VV_P11_OVERHEAD);
	assert_int_equal(n2, n1);
	/* A fresh IV each time, so the whole blob differs. */
	assert_memory_not_equal(b1, b2, VV_P11_IV_LEN);
	assert_memory_not_equal(b1 + VV_P11_IV_LEN, b2 + VV_P11_IV_LEN,
	    n1 - VV_P11_IV_LEN);
	if (len >= 16)
		assert_memory_not_equal(b1 + VV_P11_IV_LEN, pt, 16);
	assert_int_equal(vv_p11_unseal(p, "rt", aad, sizeof(aad), b1, n1, out,
	    &olen), VV_OK);
	assert_int_equal(olen, len);
	assert_memory_equal(out, pt, len);
	assert_int_equal(vv_p11_unseal(p, "rt", aad, sizeof(aad), b2, n2, out,
	    &olen), VV_OK);
	assert_memory_equal(out, pt, len);
	sodium_free(out);
	free(b1);
	free(b2);
	free(pt);
}

static void
test_seal_roundtrip(void **state)
{
	vv_p11 *p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	uint8_t blob[64], out[8];
	size_t n, olen;

	(void)state;
	assert_int_equal(vv_p11_key_generate(p, "rt"), VV_OK);
	roundtrip(p, 32);
	roundtrip(p, 1000);
	roundtrip(p, 1);
	/* Empty plaintext and empty aad: the tag alone authenticates. */
	assert_int_equal(vv_p11_seal(p, "rt", NULL, 0, (const uint8_t *)"",
	    0, blob, &n), VV_OK);
	assert_int_equal(n, VV_P11_OVERHEAD);
	assert_int_equal(vv_p11_unseal(p, "rt", NULL, 0, blob, n, out, &olen),
	    VV_OK);
	assert_int_equal(olen, 0);
	assert_int_equal(vv_p11_seal(p, "missing", NULL, 0,
	    (const uint8_t *)"x", 1, blob, &n), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_p11_key_destroy(p, "rt"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
}

/* Unseals blob expecting VV_ERR_INTEGRITY and a wiped output. */
static void
unseal_bad(vv_p11 *p, const char *label, const uint8_t *aad, size_t aadlen,
    const uint8_t *blob, size_t len)
{
	uint8_t *out = sodium_malloc(64);
	size_t olen = 99, i;

	assert_non_null(out);
	memset(out, 0xa5, 64);
	assert_int_equal(vv_p11_unseal(p, label, aad, aadlen, blob, len, out,
	    &olen), VV_ERR_INTEGRITY);
	assert_int_equal(olen, 0);
	for (i = 0; len >= VV_P11_OVERHEAD && i < len - VV_P11_OVERHEAD; i++)
		assert_int_equal(out[i], 0);
	sodium_free(out);
}

static void
test_integrity(void **state)
{
	static const uint8_t aad[] = "record 42";
	static const uint8_t pt[32] = "thirty-two bytes of plaintext..";
	vv_p11 *p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	uint8_t blob[32 + VV_P11_OVERHEAD], bad[sizeof(blob)];
	size_t n, i, spots[] = { 0, VV_P11_IV_LEN - 1, VV_P11_IV_LEN,
	    VV_P11_IV_LEN + 31, VV_P11_IV_LEN + 32, sizeof(blob) - 1 };

	(void)state;
	assert_int_equal(vv_p11_key_generate(p, "int"), VV_OK);
	assert_int_equal(vv_p11_key_generate(p, "int2"), VV_OK);
	assert_int_equal(vv_p11_seal(p, "int", aad, sizeof(aad), pt,
	    sizeof(pt), blob, &n), VV_OK);
	assert_int_equal(n, sizeof(blob));
	/* Wrong aad: shorter, changed, absent. */
	unseal_bad(p, "int", aad, sizeof(aad) - 1, blob, n);
	unseal_bad(p, "int", (const uint8_t *)"record 43", sizeof(aad), blob,
	    n);
	unseal_bad(p, "int", NULL, 0, blob, n);
	/* Wrong key. */
	unseal_bad(p, "int2", aad, sizeof(aad), blob, n);
	/* One flipped bit in the IV, the ciphertext and the tag. */
	for (i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		memcpy(bad, blob, n);
		bad[spots[i]] ^= 0x01;
		unseal_bad(p, "int", aad, sizeof(aad), bad, n);
	}
	/* Truncated: below the overhead, and by one byte. */
	unseal_bad(p, "int", aad, sizeof(aad), blob, VV_P11_OVERHEAD - 1);
	unseal_bad(p, "int", aad, sizeof(aad), blob, 0);
	unseal_bad(p, "int", aad, sizeof(aad), blob, n - 1);
	/* The untouched blob still opens: the failures were the changes. */
	assert_int_equal(vv_p11_unseal(p, "int", aad, sizeof(aad), blob, n,
	    bad, &i), VV_OK);
	assert_int_equal(i, sizeof(pt));
	assert_memory_equal(bad, pt, sizeof(pt));
	assert_int_equal(vv_p11_key_destroy(p, "int"), VV_OK);
	assert_int_equal(vv_p11_key_destroy(p, "int2"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
}

static CK_OBJECT_HANDLE
find_key(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label)
{
	CK_ATTRIBUTE t = { CKA_LABEL, (void *)(uintptr_t)label,
	    strlen(label) };
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0;

	assert_int_equal(f->C_FindObjectsInit(s, &t, 1), CKR_OK);
	assert_int_equal(f->C_FindObjects(s, h, 2, &n), CKR_OK);
	assert_int_equal(f->C_FindObjectsFinal(s), CKR_OK);
	assert_int_equal(n, 1);
	return h[0];
}

static void
test_nonextractable(void **state)
{
	vv_p11 *p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	CK_FUNCTION_LIST *f = vv_p11_module(p);
	CK_SESSION_HANDLE s = vv_p11_session(p);
	CK_OBJECT_HANDLE h;
	uint8_t value[64];
	CK_BBOOL b[10], yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG len = 0, i;
	CK_ATTRIBUTE v = { CKA_VALUE, value, sizeof(value) };
	CK_ATTRIBUTE flags[] = {
		{ CKA_SENSITIVE, &b[0], 1 }, { CKA_EXTRACTABLE, &b[1], 1 },
		{ CKA_WRAP, &b[2], 1 }, { CKA_UNWRAP, &b[3], 1 },
		{ CKA_TOKEN, &b[4], 1 }, { CKA_PRIVATE, &b[5], 1 },
		{ CKA_ENCRYPT, &b[6], 1 }, { CKA_DECRYPT, &b[7], 1 },
		{ CKA_ALWAYS_SENSITIVE, &b[8], 1 },
		{ CKA_NEVER_EXTRACTABLE, &b[9], 1 },
	};
	static const CK_BBOOL want[10] = { 1, 0, 0, 0, 1, 1, 1, 1, 1, 1 };
	CK_ATTRIBUTE vl = { CKA_VALUE_LEN, &len, sizeof(len) };
	CK_ATTRIBUTE set_x = { CKA_EXTRACTABLE, &yes, 1 };
	CK_ATTRIBUTE set_s = { CKA_SENSITIVE, &no, 1 };

	(void)state;
	assert_int_equal(vv_p11_key_generate(p, "nx"), VV_OK);
	h = find_key(f, s, "nx");
	assert_int_equal(f->C_GetAttributeValue(s, h, &v, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(v.ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(f->C_GetAttributeValue(s, h, flags, 10), CKR_OK);
	for (i = 0; i < 10; i++)
		assert_int_equal(b[i], want[i]);
	assert_int_equal(f->C_GetAttributeValue(s, h, &vl, 1), CKR_OK);
	assert_int_equal(len, 32);
	/* Neither protection can be lifted afterwards. */
	assert_int_not_equal(f->C_SetAttributeValue(s, h, &set_x, 1), CKR_OK);
	assert_int_not_equal(f->C_SetAttributeValue(s, h, &set_s, 1), CKR_OK);
	v.ulValueLen = sizeof(value);
	assert_int_equal(f->C_GetAttributeValue(s, h, &v, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(vv_p11_key_destroy(p, "nx"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
}

static void
test_reopen(void **state)
{
	static const uint8_t msg[] = "kept across handles";
	uint8_t blob[sizeof(msg) + VV_P11_OVERHEAD], out[sizeof(msg)];
	vv_p11 *p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri), *q;
	size_t n, olen;

	(void)state;
	assert_int_equal(vv_p11_key_generate(p, "re"), VV_OK);
	assert_int_equal(vv_p11_seal(p, "re", NULL, 0, msg, sizeof(msg), blob,
	    &n), VV_OK);
	/* Two handles at once share the module and the login. */
	q = tl_p11_g.q = tl_p11_open_ok(tl_p11_g.uri);
	assert_int_equal(vv_p11_unseal(q, "re", NULL, 0, blob, n, out, &olen),
	    VV_OK);
	vv_p11_free(&tl_p11_g.q);
	assert_int_equal(vv_p11_key_exists(p, "re"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
	p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	assert_int_equal(vv_p11_unseal(p, "re", NULL, 0, blob, n, out, &olen),
	    VV_OK);
	assert_memory_equal(out, msg, sizeof(msg));
	assert_int_equal(vv_p11_key_destroy(p, "re"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
}

static void
test_new_process(void **state)
{
	static const uint8_t msg[] = "sealed by the parent";
	uint8_t blob[sizeof(msg) + VV_P11_OVERHEAD];
	char *blobfile = tl_join(tl_p11_g.dir, "blob");
	vv_p11 *p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	size_t n;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(vv_p11_key_generate(p, "persist"), VV_OK);
	assert_int_equal(vv_p11_seal(p, "persist", NULL, 0, msg, sizeof(msg),
	    blob, &n), VV_OK);
	vv_p11_free(&tl_p11_g.p);
	assert_int_equal(tl_write_file(blobfile, blob, n), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(self, self, "--child", tl_p11_g.uri, "persist", blobfile,
		    (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	assert_int_equal(vv_p11_key_destroy(p, "persist"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
	free(blobfile);
}

/* The second process: opens the token and unseals the parent's blob. */
static int
child_main(const char *uri, const char *label, const char *blobfile)
{
	static const uint8_t msg[] = "sealed by the parent";
	uint8_t out[sizeof(msg)];
	char err[256], *blob;
	size_t len, olen;
	vv_p11 *p;
	int ok;

	if (sodium_init() < 0 || (blob = tl_read_file(blobfile, &len)) ==
	    NULL || len != sizeof(out) + VV_P11_OVERHEAD)
		return 2;
	if (vv_p11_open(&p, uri, err, sizeof(err)) != VV_OK) {
		fprintf(stderr, "child: %s\n", err);
		return 3;
	}
	ok = vv_p11_unseal(p, label, NULL, 0, (uint8_t *)blob, len, out,
	    &olen) == VV_OK && olen == sizeof(msg) &&
	    memcmp(out, msg, sizeof(msg)) == 0;
	vv_p11_free(&p);
	free(blob);
	return ok ? 0 : 4;
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_key_lifecycle,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_seal_roundtrip,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_integrity,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_nonextractable,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_reopen,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_new_process,
		    tl_p11_close_handles),
	};

	int r;

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2], argv[3], argv[4]);
	/* Not /proc/self/exe: under valgrind that is valgrind itself. */
	if ((self = realpath(argv[0], NULL)) == NULL)
		return 1;
	r = cmocka_run_group_tests(tests, tl_p11_group_setup,
	    tl_p11_group_teardown);
	free(self);
	return r;
}
