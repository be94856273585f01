/*
 * test_p11.c - hsm/p11 against a real SoftHSM2 development token.
 *
 * The group makes one token in a fresh directory; each test opens and
 * frees its own handle, so none sees another's login state.  Run as
 * "test_p11 --child URI LABEL BLOBFILE" it is the second process of
 * test_new_process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <p11-kit/p11-kit.h>

#include "vipvault.h"
#include "hsm/p11.h"
#include "testlib.h"

#define LABEL "vv-test"
#define URI_MAX 1024

extern char **environ;

static struct {
	char *dir;		/* temporary root */
	char *hsm;		/* dir/hsm: the token */
	char uri[URI_MAX];
	char errmsg[256];
	const char *module;
	vv_p11 *p, *q;		/* freed after each test, even a failed one */
	char *self;		/* this program, for a second process */
} g;

static int
group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || (g.module = vv_softhsm_module_path()) == NULL)
		return -1;
	if ((g.dir = tl_tmpdir("p11")) == NULL ||
	    (g.hsm = tl_join(g.dir, "hsm")) == NULL)
		return -1;
	if (vv_softhsm_dev_create(g.hsm, LABEL, g.uri, sizeof(g.uri),
	    g.errmsg, sizeof(g.errmsg)) != VV_OK) {
		fprintf(stderr, "dev_create: %s\n", g.errmsg);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	tl_rmrf(g.dir);
	free(g.dir);
	free(g.hsm);
	return 0;
}

/*
 * Frees what a test left open and selects the group's token again, so
 * that a failure does not spread to later tests.
 */
static int
close_handles(void **state)
{
	char uri[URI_MAX];

	(void)state;
	vv_p11_free(&g.p);
	vv_p11_free(&g.q);
	return vv_softhsm_dev_uri(g.hsm, LABEL, uri, sizeof(uri)) == VV_OK &&
	    strcmp(uri, g.uri) == 0 ? 0 : -1;
}

static vv_p11 *
open_ok(const char *uri)
{
	vv_p11 *p = NULL;
	char err[256];
	int r;

	r = vv_p11_open(&p, uri, err, sizeof(err));
	if (r != VV_OK)
		fprintf(stderr, "vv_p11_open: %s\n", err);
	assert_int_equal(r, VV_OK);
	assert_non_null(p);
	return p;
}

/* Opens uri expecting err; returns the message in g.errmsg. */
static void
open_fails(const char *uri, int err)
{
	vv_p11 *p = (vv_p11 *)&g;	/* must be reset to NULL */

	assert_int_equal(vv_p11_open(&p, uri, g.errmsg, sizeof(g.errmsg)),
	    err);
	assert_null(p);
	assert_true(g.errmsg[0] != '\0');
}

/* The URI of the test token with another pin-source or module. */
static void
uri_with(char *out, size_t len, const char *token, const char *module,
    const char *pinpath)
{
	int n = snprintf(out, len, "pkcs11:token=%s?module-path=%s"
	    "&pin-source=file:%s", token, module, pinpath);

	assert_true(n > 0 && (size_t)n < len);
}

static char *
read_pin(void)
{
	char *path = tl_join(g.hsm, "user.pin");
	char *pin = tl_read_file(path, NULL);

	free(path);
	assert_non_null(pin);
	return pin;
}

static void
test_dev_files(void **state)
{
	char *conf = tl_join(g.hsm, "softhsm2.conf");
	char *pinpath = tl_join(g.hsm, "user.pin");
	char *text, *pin, *want, uri2[URI_MAX];
	struct stat st;
	size_t len, i;

	(void)state;
	assert_int_equal(stat(g.hsm, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(pinpath, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	pin = tl_read_file(pinpath, &len);
	assert_non_null(pin);
	assert_int_equal(len, 32);
	for (i = 0; i < len; i++)
		assert_non_null(strchr("0123456789abcdef", pin[i]));
	/* The PIN is in user.pin only: not in the token, URI or env. */
	assert_int_equal(tl_dir_contains(g.hsm, pin, len, "user.pin"), 0);
	assert_null(strstr(g.uri, pin));
	for (i = 0; environ[i] != NULL; i++)
		assert_null(strstr(environ[i], pin));
	text = tl_read_file(conf, NULL);
	assert_non_null(text);
	assert_true(asprintf(&want, "directories.tokendir = %s/tokens\n",
	    g.hsm) > 0);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "objectstore.backend = file\n"));
	assert_non_null(strstr(text, "log.level = ERROR\n"));
	assert_string_equal(getenv("SOFTHSM2_CONF"), conf);
	free(want);
	assert_true(asprintf(&want, "pkcs11:token=" LABEL "?module-path=%s"
	    "&pin-source=file:%s", g.module, pinpath) > 0);
	assert_string_equal(g.uri, want);
	assert_int_equal(vv_softhsm_dev_uri(g.hsm, LABEL, uri2,
	    sizeof(uri2)), VV_OK);
	assert_string_equal(uri2, g.uri);
	/* An existing directory is never reused. */
	assert_int_equal(vv_softhsm_dev_create(g.hsm, LABEL, uri2,
	    sizeof(uri2), g.errmsg, sizeof(g.errmsg)), VV_ERR_EXISTS);
	free(want);
	free(text);
	free(pin);
	free(conf);
	free(pinpath);
}

static void
test_dev_uri_encoding(void **state)
{
	char *dir = tl_join(g.dir, "odd dir%"), *conf;
	char uri[URI_MAX], want[URI_MAX];

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(vv_softhsm_dev_uri(dir, "x", uri, sizeof(uri)),
	    VV_ERR_NOT_FOUND);
	conf = tl_join(dir, "softhsm2.conf");
	assert_int_equal(tl_write_file(conf, "", 0), 0);
	assert_int_equal(vv_softhsm_dev_uri(dir, "a b/c", uri, sizeof(uri)),
	    VV_OK);
	(void)snprintf(want, sizeof(want), "pkcs11:token=a%%20b%%2Fc"
	    "?module-path=%s&pin-source=file:%s/odd%%20dir%%25/user.pin",
	    g.module, g.dir);
	assert_string_equal(uri, want);
	assert_string_equal(getenv("SOFTHSM2_CONF"), conf);
	assert_int_equal(vv_softhsm_dev_uri(dir, "x", uri, 20),
	    VV_ERR_INVALID);
	assert_int_equal(vv_softhsm_dev_uri(dir, "", uri, sizeof(uri)),
	    VV_ERR_INVALID);
	/* Back to the group's token for the other tests. */
	assert_int_equal(vv_softhsm_dev_uri(g.hsm, LABEL, uri, sizeof(uri)),
	    VV_OK);
	tl_rmrf(dir);
	free(conf);
	free(dir);
}

static void
test_key_lifecycle(void **state)
{
	vv_p11 *p = g.p = open_ok(g.uri);
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
	vv_p11_free(&g.p);
	assert_null(g.p);
	vv_p11_free(&g.p);
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
	vv_p11 *p = g.p = open_ok(g.uri);
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
	vv_p11_free(&g.p);
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
	vv_p11 *p = g.p = open_ok(g.uri);
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
	vv_p11_free(&g.p);
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
	vv_p11 *p = g.p = open_ok(g.uri);
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
	vv_p11_free(&g.p);
}

static void
test_wrong_pin(void **state)
{
	char *bad = tl_join(g.dir, "wrong.pin"), *pin = read_pin();
	char uri[URI_MAX];

	(void)state;
	assert_int_equal(tl_write_file(bad, "00000000000000000000000000000000\n",
	    33), 0);
	uri_with(uri, sizeof(uri), LABEL, g.module, bad);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(g.errmsg, "CKR_PIN_INCORRECT"));
	assert_null(strstr(g.errmsg, "0000000000"));
	assert_null(strstr(g.errmsg, pin));
	free(bad);
	free(pin);
}

static void
test_pin_files(void **state)
{
	char *missing = tl_join(g.dir, "no-such.pin");
	char *empty = tl_join(g.dir, "empty.pin");
	char *crlf = tl_join(g.dir, "crlf.pin"), *pin = read_pin(), *text;
	char uri[URI_MAX];

	(void)state;
	/* A trailing newline, as an editor leaves it, is not the PIN's. */
	assert_true(asprintf(&text, "%s\r\n", pin) > 0);
	assert_int_equal(tl_write_file(crlf, text, strlen(text)), 0);
	uri_with(uri, sizeof(uri), LABEL, g.module, crlf);
	g.p = open_ok(uri);
	vv_p11_free(&g.p);
	uri_with(uri, sizeof(uri), LABEL, g.module, missing);
	open_fails(uri, VV_ERR_IO);
	assert_non_null(strstr(g.errmsg, "no-such.pin"));
	assert_int_equal(tl_write_file(empty, "\n", 1), 0);
	uri_with(uri, sizeof(uri), LABEL, g.module, empty);
	open_fails(uri, VV_ERR_IO);
	uri_with(uri, sizeof(uri), LABEL, g.module, g.dir);
	open_fails(uri, VV_ERR_IO);
	free(missing);
	free(empty);
	free(crlf);
	free(pin);
	free(text);
}

static void
test_missing_module(void **state)
{
	char *pinpath = tl_join(g.hsm, "user.pin");
	char uri[URI_MAX];

	(void)state;
	uri_with(uri, sizeof(uri), LABEL, "/nonexistent/libnope.so", pinpath);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(g.errmsg, "/nonexistent/libnope.so"));
	/* A file that is no PKCS#11 module. */
	uri_with(uri, sizeof(uri), LABEL, pinpath, pinpath);
	open_fails(uri, VV_ERR_HSM);
	free(pinpath);
}

static void
test_no_token(void **state)
{
	char *pinpath = tl_join(g.hsm, "user.pin");
	char uri[URI_MAX];

	(void)state;
	uri_with(uri, sizeof(uri), "no-such-token", g.module, pinpath);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(g.errmsg, "no token matches"));
	assert_non_null(strstr(g.errmsg, "no-such-token"));
	/* A label that only starts like ours does not match either. */
	uri_with(uri, sizeof(uri), "vv-tes", g.module, pinpath);
	open_fails(uri, VV_ERR_HSM);
	free(pinpath);
}

static void
test_bad_uris(void **state)
{
	char uri[URI_MAX];

	(void)state;
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-path=%s&pin-value=12345678", g.module);
	open_fails(uri, VV_ERR_INVALID);
	assert_non_null(strstr(g.errmsg, "pin-value"));
	assert_null(strstr(g.errmsg, "12345678"));
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    ";pin-value=12345678?module-path=%s&pin-source=file:%s/user.pin",
	    g.module, g.hsm);
	open_fails(uri, VV_ERR_INVALID);
	assert_null(strstr(g.errmsg, "12345678"));
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-path=%s", g.module);
	open_fails(uri, VV_ERR_INVALID);
	assert_non_null(strstr(g.errmsg, "pin-source"));
	open_fails("https://example.com/", VV_ERR_INVALID);
	open_fails("pkcs11:token", VV_ERR_INVALID);
	open_fails("pkcs11:token=" LABEL ";frobnicate=1?pin-source=file:/x",
	    VV_ERR_INVALID);
	open_fails(NULL, VV_ERR_INVALID);
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-path=%s&pin-source=%%7Cfoo", g.module);
	open_fails(uri, VV_ERR_INVALID);
}

/* Initialises SoftHSM2's blank token directly, as another tool would. */
static void
add_token(const char *label)
{
	CK_FUNCTION_LIST *f = p11_kit_module_load(g.module,
	    P11_KIT_MODULE_UNMANAGED);
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16, i;
	CK_TOKEN_INFO ti;
	unsigned char lab[32];
	int done = 0;

	assert_non_null(f);
	assert_int_equal(p11_kit_module_initialize(f), CKR_OK);
	assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	memset(lab, ' ', sizeof(lab));
	memcpy(lab, label, strlen(label));
	for (i = 0; i < n && !done; i++) {
		assert_int_equal(f->C_GetTokenInfo(slots[i], &ti), CKR_OK);
		if ((ti.flags & CKF_TOKEN_INITIALIZED) == 0) {
			assert_int_equal(f->C_InitToken(slots[i],
			    (CK_UTF8CHAR *)"87654321", 8, lab), CKR_OK);
			done = 1;
		}
	}
	assert_int_equal(p11_kit_module_finalize(f), CKR_OK);
	p11_kit_module_release(f);
	assert_true(done);
}

static void
test_token_matching(void **state)
{
	char uri[URI_MAX];

	(void)state;
	add_token("vv-other");
	/* Two tokens and a URI that does not say which. */
	(void)snprintf(uri, sizeof(uri), "pkcs11:?module-path=%s"
	    "&pin-source=file:%s/user.pin", g.module, g.hsm);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(g.errmsg, "2 tokens match"));
	assert_non_null(strstr(g.errmsg, "(any)"));
	(void)snprintf(uri, sizeof(uri), "pkcs11:model=SoftHSM%%20v2;"
	    "token=" LABEL "?module-path=%s&pin-source=file:%s/user.pin",
	    g.module, g.hsm);
	g.p = open_ok(uri);
	vv_p11_free(&g.p);
	(void)snprintf(uri, sizeof(uri), "pkcs11:library-manufacturer=Nobody;"
	    "token=" LABEL "?module-path=%s&pin-source=file:%s/user.pin",
	    g.module, g.hsm);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(g.errmsg, "no token matches"));
	/* vv-other has no user PIN yet. */
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=vv-other"
	    "?module-path=%s&pin-source=file:%s/user.pin", g.module, g.hsm);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(g.errmsg, "C_Login"));
}

/* No module-path: the token is found among p11-kit's registered modules. */
static void
test_registered_modules(void **state)
{
	char uri[URI_MAX];
	vv_p11 *p;

	(void)state;
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?pin-source=file:%s/user.pin", g.hsm);
	p = g.p = open_ok(uri);
	assert_int_equal(vv_p11_key_generate(p, "reg"), VV_OK);
	vv_p11_free(&g.p);
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-name=softhsm2&pin-source=file:%s/user.pin", g.hsm);
	p = g.p = open_ok(uri);
	assert_int_equal(vv_p11_key_exists(p, "reg"), VV_OK);
	assert_int_equal(vv_p11_key_destroy(p, "reg"), VV_OK);
	vv_p11_free(&g.p);
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-name=nosuchmodule&pin-source=file:%s/user.pin", g.hsm);
	open_fails(uri, VV_ERR_HSM);
}

static void
test_reopen(void **state)
{
	static const uint8_t msg[] = "kept across handles";
	uint8_t blob[sizeof(msg) + VV_P11_OVERHEAD], out[sizeof(msg)];
	vv_p11 *p = g.p = open_ok(g.uri), *q;
	size_t n, olen;

	(void)state;
	assert_int_equal(vv_p11_key_generate(p, "re"), VV_OK);
	assert_int_equal(vv_p11_seal(p, "re", NULL, 0, msg, sizeof(msg), blob,
	    &n), VV_OK);
	/* Two handles at once share the module and the login. */
	q = g.q = open_ok(g.uri);
	assert_int_equal(vv_p11_unseal(q, "re", NULL, 0, blob, n, out, &olen),
	    VV_OK);
	vv_p11_free(&g.q);
	assert_int_equal(vv_p11_key_exists(p, "re"), VV_OK);
	vv_p11_free(&g.p);
	p = g.p = open_ok(g.uri);
	assert_int_equal(vv_p11_unseal(p, "re", NULL, 0, blob, n, out, &olen),
	    VV_OK);
	assert_memory_equal(out, msg, sizeof(msg));
	assert_int_equal(vv_p11_key_destroy(p, "re"), VV_OK);
	vv_p11_free(&g.p);
}

static void
test_second_token(void **state)
{
	char *dir2 = tl_join(g.dir, "hsm2"), uri2[URI_MAX], uri1[URI_MAX];
	vv_p11 *p, *q;

	(void)state;
	p = g.p = open_ok(g.uri);
	assert_int_equal(vv_p11_key_generate(p, "first"), VV_OK);
	/* While SoftHSM2 runs with the first config, a second is refused. */
	assert_int_equal(vv_softhsm_dev_create(dir2, "vv-second", uri2,
	    sizeof(uri2), g.errmsg, sizeof(g.errmsg)), VV_ERR_HSM);
	assert_int_equal(access(dir2, F_OK), -1);
	vv_p11_free(&g.p);
	assert_int_equal(vv_softhsm_dev_create(dir2, "vv-second", uri2,
	    sizeof(uri2), g.errmsg, sizeof(g.errmsg)), VV_OK);
	q = g.q = open_ok(uri2);
	assert_int_equal(vv_p11_key_exists(q, "first"), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_p11_key_generate(q, "second"), VV_OK);
	vv_p11_free(&g.q);
	/* The first token is not visible under the second's config... */
	open_fails(g.uri, VV_ERR_HSM);
	assert_non_null(strstr(g.errmsg, "no token matches"));
	/* ...and is back once its config is selected again. */
	assert_int_equal(vv_softhsm_dev_uri(g.hsm, LABEL, uri1, sizeof(uri1)),
	    VV_OK);
	assert_string_equal(uri1, g.uri);
	p = g.p = open_ok(g.uri);
	assert_int_equal(vv_p11_key_exists(p, "second"), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_p11_key_destroy(p, "first"), VV_OK);
	vv_p11_free(&g.p);
	tl_rmrf(dir2);
	free(dir2);
}

static void
test_new_process(void **state)
{
	static const uint8_t msg[] = "sealed by the parent";
	uint8_t blob[sizeof(msg) + VV_P11_OVERHEAD];
	char *blobfile = tl_join(g.dir, "blob");
	vv_p11 *p = g.p = open_ok(g.uri);
	size_t n;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(vv_p11_key_generate(p, "persist"), VV_OK);
	assert_int_equal(vv_p11_seal(p, "persist", NULL, 0, msg, sizeof(msg),
	    blob, &n), VV_OK);
	vv_p11_free(&g.p);
	assert_int_equal(tl_write_file(blobfile, blob, n), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(g.self, g.self, "--child", g.uri, "persist", blobfile,
		    (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	p = g.p = open_ok(g.uri);
	assert_int_equal(vv_p11_key_destroy(p, "persist"), VV_OK);
	vv_p11_free(&g.p);
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
		cmocka_unit_test_teardown(test_dev_files, close_handles),
		cmocka_unit_test_teardown(test_dev_uri_encoding, close_handles),
		cmocka_unit_test_teardown(test_key_lifecycle, close_handles),
		cmocka_unit_test_teardown(test_seal_roundtrip, close_handles),
		cmocka_unit_test_teardown(test_integrity, close_handles),
		cmocka_unit_test_teardown(test_nonextractable, close_handles),
		cmocka_unit_test_teardown(test_wrong_pin, close_handles),
		cmocka_unit_test_teardown(test_pin_files, close_handles),
		cmocka_unit_test_teardown(test_missing_module, close_handles),
		cmocka_unit_test_teardown(test_no_token, close_handles),
		cmocka_unit_test_teardown(test_bad_uris, close_handles),
		cmocka_unit_test_teardown(test_token_matching, close_handles),
		cmocka_unit_test_teardown(test_registered_modules, close_handles),
		cmocka_unit_test_teardown(test_reopen, close_handles),
		cmocka_unit_test_teardown(test_second_token, close_handles),
		cmocka_unit_test_teardown(test_new_process, close_handles),
	};

	int r;

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2], argv[3], argv[4]);
	/* Not /proc/self/exe: under valgrind that is valgrind itself. */
	if ((g.self = realpath(argv[0], NULL)) == NULL)
		return 1;
	r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	free(g.self);
	return r;
}
