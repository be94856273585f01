/*
 * test_p11.c - hsm/p11 against a real SoftHSM2 development token: the
 * development token's files and URI, opening tokens by URI, PIN sources,
 * and the ways opening and login fail.  Keys and sealing are in
 * test_p11_keys.c.
 *
 * The group makes one token in a fresh directory (testlib's token
 * fixture); each test opens and frees its own handle, so none sees
 * another's login state.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <p11-kit/p11-kit.h>

#include "vipvault.h"
#include "hsm/p11.h"
#include "testlib.h"

extern char **environ;

#define LABEL TL_P11_LABEL
#define URI_MAX TL_P11_URI_MAX


/* Opens uri expecting err; returns the message in tl_p11_g.errmsg. */
static void
open_fails(const char *uri, int err)
{
	vv_p11 *p = (vv_p11 *)&tl_p11_g;	/* must be reset to NULL */

	assert_int_equal(vv_p11_open(&p, uri, tl_p11_g.errmsg,
	    sizeof(tl_p11_g.errmsg)), err);
	assert_null(p);
	assert_true(tl_p11_g.errmsg[0] != '\0');
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
	char *path = tl_join(tl_p11_g.hsm, "user.pin");
	char *pin = tl_read_file(path, NULL);

	free(path);
	assert_non_null(pin);
	return pin;
}

static void
test_dev_files(void **state)
{
	char *conf = tl_join(tl_p11_g.hsm, "softhsm2.conf");
	char *pinpath = tl_join(tl_p11_g.hsm, "user.pin");
	char *text, *pin, *want, uri2[URI_MAX];
	struct stat st;
	size_t len, i;

	(void)state;
	assert_int_equal(stat(tl_p11_g.hsm, &st), 0);
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
	assert_int_equal(tl_dir_contains(tl_p11_g.hsm, pin, len, "user.pin"), 0);
	assert_null(strstr(tl_p11_g.uri, pin));
	for (i = 0; environ[i] != NULL; i++)
		assert_null(strstr(environ[i], pin));
	text = tl_read_file(conf, NULL);
	assert_non_null(text);
	assert_true(asprintf(&want, "directories.tokendir = %s/tokens\n",
	    tl_p11_g.hsm) > 0);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "objectstore.backend = file\n"));
	assert_non_null(strstr(text, "log.level = ERROR\n"));
	assert_string_equal(getenv("SOFTHSM2_CONF"), conf);
	free(want);
	assert_true(asprintf(&want, "pkcs11:token=" LABEL "?module-path=%s"
	    "&pin-source=file:%s", tl_p11_g.module, pinpath) > 0);
	assert_string_equal(tl_p11_g.uri, want);
	assert_int_equal(vv_softhsm_dev_uri(tl_p11_g.hsm, LABEL, uri2,
	    sizeof(uri2)), VV_OK);
	assert_string_equal(uri2, tl_p11_g.uri);
	/* An existing directory is never reused. */
	assert_int_equal(vv_softhsm_dev_create(tl_p11_g.hsm, LABEL, uri2,
	    sizeof(uri2), tl_p11_g.errmsg, sizeof(tl_p11_g.errmsg)), VV_ERR_EXISTS);
	free(want);
	free(text);
	free(pin);
	free(conf);
	free(pinpath);
}

static void
test_dev_uri_encoding(void **state)
{
	char *dir = tl_join(tl_p11_g.dir, "odd dir%"), *conf;
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
	    tl_p11_g.module, tl_p11_g.dir);
	assert_string_equal(uri, want);
	assert_string_equal(getenv("SOFTHSM2_CONF"), conf);
	assert_int_equal(vv_softhsm_dev_uri(dir, "x", uri, 20),
	    VV_ERR_INVALID);
	assert_int_equal(vv_softhsm_dev_uri(dir, "", uri, sizeof(uri)),
	    VV_ERR_INVALID);
	/* Back to the group's token for the other tests. */
	assert_int_equal(vv_softhsm_dev_uri(tl_p11_g.hsm, LABEL, uri, sizeof(uri)),
	    VV_OK);
	tl_rmrf(dir);
	free(conf);
	free(dir);
}

static void
test_wrong_pin(void **state)
{
	char *bad = tl_join(tl_p11_g.dir, "wrong.pin"), *pin = read_pin();
	char uri[URI_MAX];

	(void)state;
	assert_int_equal(tl_write_file(bad, "00000000000000000000000000000000\n",
	    33), 0);
	uri_with(uri, sizeof(uri), LABEL, tl_p11_g.module, bad);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(tl_p11_g.errmsg, "CKR_PIN_INCORRECT"));
	assert_null(strstr(tl_p11_g.errmsg, "0000000000"));
	assert_null(strstr(tl_p11_g.errmsg, pin));
	free(bad);
	free(pin);
}

static void
test_pin_files(void **state)
{
	char *missing = tl_join(tl_p11_g.dir, "no-such.pin");
	char *empty = tl_join(tl_p11_g.dir, "empty.pin");
	char *crlf = tl_join(tl_p11_g.dir, "crlf.pin"), *pin = read_pin(), *text;
	char uri[URI_MAX];

	(void)state;
	/* A trailing newline, as an editor leaves it, is not the PIN's. */
	assert_true(asprintf(&text, "%s\r\n", pin) > 0);
	assert_int_equal(tl_write_file(crlf, text, strlen(text)), 0);
	uri_with(uri, sizeof(uri), LABEL, tl_p11_g.module, crlf);
	tl_p11_g.p = tl_p11_open_ok(uri);
	vv_p11_free(&tl_p11_g.p);
	uri_with(uri, sizeof(uri), LABEL, tl_p11_g.module, missing);
	open_fails(uri, VV_ERR_IO);
	assert_non_null(strstr(tl_p11_g.errmsg, "no-such.pin"));
	assert_int_equal(tl_write_file(empty, "\n", 1), 0);
	uri_with(uri, sizeof(uri), LABEL, tl_p11_g.module, empty);
	open_fails(uri, VV_ERR_IO);
	uri_with(uri, sizeof(uri), LABEL, tl_p11_g.module, tl_p11_g.dir);
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
	char *pinpath = tl_join(tl_p11_g.hsm, "user.pin");
	char uri[URI_MAX];

	(void)state;
	uri_with(uri, sizeof(uri), LABEL, "/nonexistent/libnope.so", pinpath);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(tl_p11_g.errmsg, "/nonexistent/libnope.so"));
	/* A file that is no PKCS#11 module. */
	uri_with(uri, sizeof(uri), LABEL, pinpath, pinpath);
	open_fails(uri, VV_ERR_HSM);
	free(pinpath);
}

static void
test_no_token(void **state)
{
	char *pinpath = tl_join(tl_p11_g.hsm, "user.pin");
	char uri[URI_MAX];

	(void)state;
	uri_with(uri, sizeof(uri), "no-such-token", tl_p11_g.module, pinpath);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(tl_p11_g.errmsg, "no token matches"));
	assert_non_null(strstr(tl_p11_g.errmsg, "no-such-token"));
	/* A label that only starts like ours does not match either. */
	uri_with(uri, sizeof(uri), "vv-tes", tl_p11_g.module, pinpath);
	open_fails(uri, VV_ERR_HSM);
	free(pinpath);
}

static void
test_bad_uris(void **state)
{
	char uri[URI_MAX];

	(void)state;
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-path=%s&pin-value=12345678", tl_p11_g.module);
	open_fails(uri, VV_ERR_INVALID);
	assert_non_null(strstr(tl_p11_g.errmsg, "pin-value"));
	assert_null(strstr(tl_p11_g.errmsg, "12345678"));
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    ";pin-value=12345678?module-path=%s&pin-source=file:%s/user.pin",
	    tl_p11_g.module, tl_p11_g.hsm);
	open_fails(uri, VV_ERR_INVALID);
	assert_null(strstr(tl_p11_g.errmsg, "12345678"));
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-path=%s", tl_p11_g.module);
	open_fails(uri, VV_ERR_INVALID);
	assert_non_null(strstr(tl_p11_g.errmsg, "pin-source"));
	open_fails("https://example.com/", VV_ERR_INVALID);
	open_fails("pkcs11:token", VV_ERR_INVALID);
	open_fails("pkcs11:token=" LABEL ";frobnicate=1?pin-source=file:/x",
	    VV_ERR_INVALID);
	open_fails(NULL, VV_ERR_INVALID);
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-path=%s&pin-source=%%7Cfoo", tl_p11_g.module);
	open_fails(uri, VV_ERR_INVALID);
}

/* Initialises SoftHSM2's blank token directly, as another tool would. */
static void
add_token(const char *label)
{
	CK_FUNCTION_LIST *f = p11_kit_module_load(tl_p11_g.module,
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
	    "&pin-source=file:%s/user.pin", tl_p11_g.module, tl_p11_g.hsm);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(tl_p11_g.errmsg, "2 tokens match"));
	assert_non_null(strstr(tl_p11_g.errmsg, "(any)"));
	(void)snprintf(uri, sizeof(uri), "pkcs11:model=SoftHSM%%20v2;"
	    "token=" LABEL "?module-path=%s&pin-source=file:%s/user.pin",
	    tl_p11_g.module, tl_p11_g.hsm);
	tl_p11_g.p = tl_p11_open_ok(uri);
	vv_p11_free(&tl_p11_g.p);
	(void)snprintf(uri, sizeof(uri), "pkcs11:library-manufacturer=Nobody;"
	    "token=" LABEL "?module-path=%s&pin-source=file:%s/user.pin",
	    tl_p11_g.module, tl_p11_g.hsm);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(tl_p11_g.errmsg, "no token matches"));
	/* vv-other has no user PIN yet. */
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=vv-other"
	    "?module-path=%s&pin-source=file:%s/user.pin", tl_p11_g.module,
	    tl_p11_g.hsm);
	open_fails(uri, VV_ERR_HSM);
	assert_non_null(strstr(tl_p11_g.errmsg, "C_Login"));
}

/* No module-path: the token is found among p11-kit's registered modules. */
static void
test_registered_modules(void **state)
{
	char uri[URI_MAX];
	vv_p11 *p;

	(void)state;
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?pin-source=file:%s/user.pin", tl_p11_g.hsm);
	p = tl_p11_g.p = tl_p11_open_ok(uri);
	assert_int_equal(vv_p11_key_generate(p, "reg"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-name=softhsm2&pin-source=file:%s/user.pin", tl_p11_g.hsm);
	p = tl_p11_g.p = tl_p11_open_ok(uri);
	assert_int_equal(vv_p11_key_exists(p, "reg"), VV_OK);
	assert_int_equal(vv_p11_key_destroy(p, "reg"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL
	    "?module-name=nosuchmodule&pin-source=file:%s/user.pin", tl_p11_g.hsm);
	open_fails(uri, VV_ERR_HSM);
}

static void
test_second_token(void **state)
{
	char *dir2 = tl_join(tl_p11_g.dir, "hsm2"), uri2[URI_MAX], uri1[URI_MAX];
	vv_p11 *p, *q;

	(void)state;
	p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	assert_int_equal(vv_p11_key_generate(p, "first"), VV_OK);
	/* While SoftHSM2 runs with the first config, a second is refused. */
	assert_int_equal(vv_softhsm_dev_create(dir2, "vv-second", uri2,
	    sizeof(uri2), tl_p11_g.errmsg, sizeof(tl_p11_g.errmsg)), VV_ERR_HSM);
	assert_int_equal(access(dir2, F_OK), -1);
	vv_p11_free(&tl_p11_g.p);
	assert_int_equal(vv_softhsm_dev_create(dir2, "vv-second", uri2,
	    sizeof(uri2), tl_p11_g.errmsg, sizeof(tl_p11_g.errmsg)), VV_OK);
	q = tl_p11_g.q = tl_p11_open_ok(uri2);
	assert_int_equal(vv_p11_key_exists(q, "first"), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_p11_key_generate(q, "second"), VV_OK);
	vv_p11_free(&tl_p11_g.q);
	/* The first token is not visible under the second's config... */
	open_fails(tl_p11_g.uri, VV_ERR_HSM);
	assert_non_null(strstr(tl_p11_g.errmsg, "no token matches"));
	/* ...and is back once its config is selected again. */
	assert_int_equal(vv_softhsm_dev_uri(tl_p11_g.hsm, LABEL, uri1, sizeof(uri1)),
	    VV_OK);
	assert_string_equal(uri1, tl_p11_g.uri);
	p = tl_p11_g.p = tl_p11_open_ok(tl_p11_g.uri);
	assert_int_equal(vv_p11_key_exists(p, "second"), VV_ERR_NOT_FOUND);
	assert_int_equal(vv_p11_key_destroy(p, "first"), VV_OK);
	vv_p11_free(&tl_p11_g.p);
	tl_rmrf(dir2);
	free(dir2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_dev_files,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_dev_uri_encoding,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_wrong_pin,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_pin_files,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_missing_module,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_no_token,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_bad_uris,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_token_matching,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_registered_modules,
		    tl_p11_close_handles),
		cmocka_unit_test_teardown(test_second_token,
		    tl_p11_close_handles),
	};

	return cmocka_run_group_tests(tests, tl_p11_group_setup,
	    tl_p11_group_teardown);
}
