/*
 * test_softfido.c - the soft FIDO2 authenticator, driven through libfido2's
 * own client code: getInfo, make_cred, get_assert with hmac-secret, the
 * PIN under both PIN protocols, the signature counter, the test knobs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <sodium.h>

#include "testlib.h"
#include "hsm/softfido.h"

#define RP	"vipvault.test"
#define PIN	"4711"

struct fx {
	char		*dir;
	char		*path;		/* the token's state */
	char		*path2;		/* another token's */
	fido_dev_t	*dev;
	fido_cred_t	*cred;
	fido_cred_t	*cred2;
	fido_assert_t	*a;
};

static uint8_t salt1[32], salt2[32];

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL || (f->dir = tl_tmpdir("softfido")) == NULL ||
	    (f->path = tl_join(f->dir, "token")) == NULL ||
	    (f->path2 = tl_join(f->dir, "token2")) == NULL)
		return -1;
	if (vv_softfido_create(f->path, NULL, err, sizeof(err)) != 0 ||
	    vv_softfido_create(f->path2, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static void
close_dev(struct fx *f)
{
	if (f->dev != NULL) {
		(void)fido_dev_close(f->dev);
		fido_dev_free(&f->dev);
	}
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	close_dev(f);
	fido_cred_free(&f->cred);
	fido_cred_free(&f->cred2);
	fido_assert_free(&f->a);
	tl_rmrf(f->dir);
	free(f->dir);
	free(f->path);
	free(f->path2);
	free(f);
	return 0;
}

static fido_dev_t *
open_path(const char *path)
{
	fido_dev_t *dev;

	assert_non_null(dev = fido_dev_new());
	assert_int_equal(vv_softfido_attach(dev), FIDO_OK);
	assert_int_equal(fido_dev_open(dev, path), FIDO_OK);
	assert_true(fido_dev_is_fido2(dev));
	return dev;
}

/* (Re)opens the fixture's token: a power cycle. */
static void
reopen(struct fx *f)
{
	close_dev(f);
	f->dev = open_path(f->path);
}

static void
knob(struct fx *f, const char *key, const char *value)
{
	char err[256];

	if (vv_softfido_set(f->path, key, value, err, sizeof(err)) != 0)
		fail_msg("vv_softfido_set %s: %s", key, err);
}

/* A credential for rp; returns libfido2's status. */
static int
make_cred(fido_dev_t *dev, fido_cred_t **cp, int type, const char *rp,
    int hmac, const char *pin)
{
	static const uint8_t user[] = { 'u', 's', 'e', 'r' };
	uint8_t cdh[32];

	fido_cred_free(cp);
	assert_non_null(*cp = fido_cred_new());
	randombytes_buf(cdh, sizeof(cdh));
	assert_int_equal(fido_cred_set_type(*cp, type), FIDO_OK);
	assert_int_equal(fido_cred_set_clientdata_hash(*cp, cdh,
	    sizeof(cdh)), FIDO_OK);
	assert_int_equal(fido_cred_set_rp(*cp, rp, "VIP vault"), FIDO_OK);
	assert_int_equal(fido_cred_set_user(*cp, user, sizeof(user), "km1",
	    NULL, NULL), FIDO_OK);
	if (hmac)
		assert_int_equal(fido_cred_set_extensions(*cp,
		    FIDO_EXT_HMAC_SECRET), FIDO_OK);
	return fido_dev_make_cred(dev, *cp, pin);
}

/* An assertion for cred on rp, with salt (32 or 64 bytes) when not NULL. */
static int
get_assert(fido_dev_t *dev, fido_assert_t **ap, const fido_cred_t *cred,
    const char *rp, const uint8_t *salt, size_t saltlen, const char *pin)
{
	uint8_t cdh[32];

	fido_assert_free(ap);
	assert_non_null(*ap = fido_assert_new());
	randombytes_buf(cdh, sizeof(cdh));
	assert_int_equal(fido_assert_set_clientdata_hash(*ap, cdh,
	    sizeof(cdh)), FIDO_OK);
	assert_int_equal(fido_assert_set_rp(*ap, rp), FIDO_OK);
	assert_int_equal(fido_assert_allow_cred(*ap, fido_cred_id_ptr(cred),
	    fido_cred_id_len(cred)), FIDO_OK);
	if (salt != NULL) {
		assert_int_equal(fido_assert_set_extensions(*ap,
		    FIDO_EXT_HMAC_SECRET), FIDO_OK);
		assert_int_equal(fido_assert_set_hmac_salt(*ap, salt,
		    saltlen), FIDO_OK);
	}
	return fido_dev_get_assert(dev, *ap, pin);
}

/* The assertion's signature checks out under the credential's key. */
static void
verify_assert(const fido_assert_t *a, const fido_cred_t *cred)
{
	es256_pk_t *es = NULL;
	eddsa_pk_t *ed = NULL;
	int type = fido_cred_type(cred), r;

	if (type == COSE_ES256) {
		assert_non_null(es = es256_pk_new());
		assert_int_equal(es256_pk_from_ptr(es,
		    fido_cred_pubkey_ptr(cred), fido_cred_pubkey_len(cred)),
		    FIDO_OK);
		r = fido_assert_verify(a, 0, type, es);
	} else {
		assert_non_null(ed = eddsa_pk_new());
		assert_int_equal(eddsa_pk_from_ptr(ed,
		    fido_cred_pubkey_ptr(cred), fido_cred_pubkey_len(cred)),
		    FIDO_OK);
		r = fido_assert_verify(a, 0, type, ed);
	}
	es256_pk_free(&es);
	eddsa_pk_free(&ed);
	assert_int_equal(r, FIDO_OK);
}

/* hmac-secret output of an assertion with salt; out holds 64 bytes. */
static size_t
hmac_out(struct fx *f, const uint8_t *salt, size_t saltlen, const char *pin,
    uint8_t *out)
{
	size_t n;

	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, salt, saltlen,
	    pin), FIDO_OK);
	verify_assert(f->a, f->cred);
	n = fido_assert_hmac_secret_len(f->a, 0);
	assert_int_equal(n, saltlen);
	memcpy(out, fido_assert_hmac_secret_ptr(f->a, 0), n);
	return n;
}

static void
test_getinfo(void **state)
{
	struct fx *f = *state;
	fido_cbor_info_t *ci;
	char **v;
	size_t i;
	int has_21 = 0;

	f->dev = open_path(f->path);
	assert_non_null(ci = fido_cbor_info_new());
	assert_int_equal(fido_dev_get_cbor_info(f->dev, ci), FIDO_OK);
	assert_int_equal(fido_cbor_info_aaguid_len(ci), 16);
	assert_memory_equal(fido_cbor_info_aaguid_ptr(ci), vv_softfido_aaguid,
	    16);
	assert_int_equal(fido_cbor_info_extensions_len(ci), 1);
	assert_string_equal(fido_cbor_info_extensions_ptr(ci)[0],
	    "hmac-secret");
	assert_int_equal(fido_cbor_info_protocols_len(ci), 2);
	assert_int_equal(fido_cbor_info_protocols_ptr(ci)[0], 2);
	assert_int_equal(fido_cbor_info_protocols_ptr(ci)[1], 1);
	assert_int_equal(fido_cbor_info_maxmsgsiz(ci), VV_SOFTFIDO_MSG_MAX);
	v = fido_cbor_info_versions_ptr(ci);
	for (i = 0; i < fido_cbor_info_versions_len(ci); i++)
		has_21 |= strcmp(v[i], "FIDO_2_1") == 0;
	assert_true(has_21);
	fido_cbor_info_free(&ci);
	assert_true(fido_dev_supports_pin(f->dev));
	assert_false(fido_dev_has_pin(f->dev));
	assert_true(fido_dev_supports_permissions(f->dev));
	assert_false(fido_dev_supports_uv(f->dev));
}

static void
check_make_cred(struct fx *f, int type)
{
	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, type, RP, 1, NULL),
	    FIDO_OK);
	assert_int_equal(fido_cred_verify_self(f->cred), FIDO_OK);
	assert_string_equal(fido_cred_fmt(f->cred), "packed");
	assert_int_equal(fido_cred_type(f->cred), type);
	assert_int_equal(fido_cred_aaguid_len(f->cred), 16);
	assert_memory_equal(fido_cred_aaguid_ptr(f->cred), vv_softfido_aaguid,
	    16);
	/* UP, AT and ED (hmac-secret); no UV without a PIN. */
	assert_int_equal(fido_cred_flags(f->cred), 0x01 | 0x40 | 0x80);
	assert_int_equal(fido_cred_pubkey_len(f->cred),
	    type == COSE_ES256 ? 64 : 32);
	/* An attestation over other data does not verify. */
	assert_int_equal(fido_cred_set_clientdata_hash(f->cred, salt1,
	    sizeof(salt1)), FIDO_OK);
	assert_int_equal(fido_cred_verify_self(f->cred), FIDO_ERR_INVALID_SIG);
}

static void
test_make_cred_es256(void **state)
{
	check_make_cred(*state, COSE_ES256);
}

static void
test_make_cred_eddsa(void **state)
{
	check_make_cred(*state, COSE_EDDSA);
}

static void
check_hmac_secret(struct fx *f, int type)
{
	uint8_t a[64], b[64], c[64], d[64], both[64];
	fido_cred_t *keep;

	memcpy(both, salt1, 32);
	memcpy(both + 32, salt2, 32);
	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, type, RP, 1, NULL),
	    FIDO_OK);
	hmac_out(f, salt1, 32, NULL, a);
	hmac_out(f, salt1, 32, NULL, b);
	assert_memory_equal(a, b, 32);			/* same salt */
	assert_int_equal(fido_assert_flags(f->a, 0), 0x01 | 0x80);
	hmac_out(f, salt2, 32, NULL, c);
	assert_memory_not_equal(a, c, 32);		/* other salt */
	hmac_out(f, both, 64, NULL, d);			/* two salts */
	assert_memory_equal(d, a, 32);
	assert_memory_equal(d + 32, c, 32);
	keep = f->cred;
	f->cred = NULL;
	assert_int_equal(make_cred(f->dev, &f->cred, type, RP, 1, NULL),
	    FIDO_OK);
	hmac_out(f, salt1, 32, NULL, b);
	assert_memory_not_equal(a, b, 32);		/* other credential */
	fido_cred_free(&f->cred);
	f->cred = keep;
	reopen(f);					/* power cycle */
	hmac_out(f, salt1, 32, NULL, b);
	assert_memory_equal(a, b, 32);
}

static void
test_hmac_secret_es256(void **state)
{
	check_hmac_secret(*state, COSE_ES256);
}

static void
test_hmac_secret_eddsa(void **state)
{
	check_hmac_secret(*state, COSE_EDDSA);
}

static void
test_no_hmac_without_extension(void **state)
{
	struct fx *f = *state;

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 0, NULL),
	    FIDO_OK);
	assert_int_equal(fido_cred_flags(f->cred), 0x01 | 0x40);
	assert_int_equal(fido_cred_verify_self(f->cred), FIDO_OK);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, salt1, 32,
	    NULL), FIDO_OK);
	assert_int_equal(fido_assert_hmac_secret_len(f->a, 0), 0);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, NULL, 0,
	    NULL), FIDO_OK);
	verify_assert(f->a, f->cred);
}

static long
state_counter(const char *path)
{
	char *text, *p;
	long v = -1;
	size_t len;

	assert_non_null(text = tl_read_file(path, &len));
	if ((p = strstr(text, "\ncounter ")) != NULL)
		v = strtol(p + 9, NULL, 10);
	free(text);
	return v;
}

static void
test_counter(void **state)
{
	struct fx *f = *state;
	uint32_t c1, c2, c3;

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 1, NULL),
	    FIDO_OK);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, NULL, 0,
	    NULL), FIDO_OK);
	c1 = fido_assert_sigcount(f->a, 0);
	assert_true(c1 > fido_cred_sigcount(f->cred));
	assert_int_equal(state_counter(f->path), c1);	/* saved already */
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, NULL, 0,
	    NULL), FIDO_OK);
	c2 = fido_assert_sigcount(f->a, 0);
	assert_true(c2 > c1);
	reopen(f);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, NULL, 0,
	    NULL), FIDO_OK);
	c3 = fido_assert_sigcount(f->a, 0);
	assert_true(c3 > c2);
	verify_assert(f->a, f->cred);
	/* The knob that lets a test play a cloned token. */
	close_dev(f);
	knob(f, "counter", "1");
	f->dev = open_path(f->path);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, NULL, 0,
	    NULL), FIDO_OK);
	assert_int_equal(fido_assert_sigcount(f->a, 0), 2);
	verify_assert(f->a, f->cred);
}

static void
test_counter_exhausted(void **state)
{
	struct fx *f = *state;

	knob(f, "counter", "4294967295");
	f->dev = open_path(f->path);
	assert_int_not_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 1,
	    NULL), FIDO_OK);
	assert_int_equal(state_counter(f->path), 4294967295L);
}

/* No signature leaves unless its counter is on disk first. */
static void
test_save_fails(void **state)
{
	struct fx *f = *state;
	char *moved;
	long before;

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 1, NULL),
	    FIDO_OK);
	before = state_counter(f->path);
	assert_non_null(moved = malloc(strlen(f->dir) + 8));
	(void)sprintf(moved, "%s.moved", f->dir);
	assert_int_equal(rename(f->dir, moved), 0);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, salt1, 32,
	    NULL), FIDO_ERR_ERR_OTHER);
	assert_int_equal(fido_assert_count(f->a), 0);
	assert_int_equal(rename(moved, f->dir), 0);
	free(moved);
	assert_int_equal(state_counter(f->path), before);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, salt1, 32,
	    NULL), FIDO_OK);
	assert_int_equal(fido_assert_sigcount(f->a, 0), before + 1);
}

static int
retries(fido_dev_t *dev)
{
	int n = -1;

	assert_int_equal(fido_dev_get_retry_count(dev, &n), FIDO_OK);
	return n;
}

/* The PIN story under whichever protocols the token advertises. */
static void
check_pin(struct fx *f)
{
	uint8_t plain[64], verified[64];

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 1, NULL),
	    FIDO_OK);
	hmac_out(f, salt1, 32, NULL, plain);
	assert_int_equal(fido_dev_set_pin(f->dev, PIN, NULL), FIDO_OK);
	assert_int_equal(retries(f->dev), 8);
	reopen(f);
	assert_true(fido_dev_has_pin(f->dev));
	assert_int_equal(make_cred(f->dev, &f->cred2, COSE_ES256, RP, 1,
	    NULL), FIDO_ERR_PIN_REQUIRED);
	assert_int_equal(make_cred(f->dev, &f->cred2, COSE_ES256, RP, 1,
	    "0000"), FIDO_ERR_PIN_INVALID);
	assert_int_equal(retries(f->dev), 7);
	reopen(f);
	assert_int_equal(retries(f->dev), 7);		/* saved */
	assert_int_equal(make_cred(f->dev, &f->cred2, COSE_EDDSA, RP, 1, PIN),
	    FIDO_OK);
	assert_int_equal(retries(f->dev), 8);
	assert_int_equal(fido_cred_flags(f->cred2), 0x01 | 0x04 | 0x40 | 0x80);
	assert_int_equal(fido_cred_set_uv(f->cred2, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(fido_cred_verify_self(f->cred2), FIDO_OK);
	/* Assertions: without the PIN as before, with it UV and another
	 * CredRandom. */
	hmac_out(f, salt1, 32, NULL, verified);
	assert_memory_equal(plain, verified, 32);
	hmac_out(f, salt1, 32, PIN, verified);
	assert_int_equal(fido_assert_flags(f->a, 0), 0x01 | 0x04 | 0x80);
	assert_memory_not_equal(plain, verified, 32);
	hmac_out(f, salt1, 32, PIN, plain);
	assert_memory_equal(plain, verified, 32);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, salt1, 32,
	    "9999"), FIDO_ERR_PIN_INVALID);
	/* Change it. */
	assert_int_equal(fido_dev_set_pin(f->dev, "new pin", PIN), FIDO_OK);
	assert_int_equal(make_cred(f->dev, &f->cred2, COSE_ES256, RP, 0, PIN),
	    FIDO_ERR_PIN_INVALID);
	assert_int_equal(make_cred(f->dev, &f->cred2, COSE_ES256, RP, 0,
	    "new pin"), FIDO_OK);
}

static void
test_pin_default(void **state)
{
	check_pin(*state);
}

static void
test_pin_protocol1(void **state)
{
	struct fx *f = *state;

	knob(f, "protocols", "1");
	check_pin(f);
}

static void
test_pin_protocol2(void **state)
{
	struct fx *f = *state;

	knob(f, "protocols", "2");
	check_pin(f);
}

static void
test_pin_ctap20(void **state)
{
	struct fx *f = *state;

	knob(f, "ctap", "2.0");
	f->dev = open_path(f->path);
	assert_false(fido_dev_supports_permissions(f->dev));
	close_dev(f);
	check_pin(f);
}

static void
test_pin_ctap20_protocol1(void **state)
{
	struct fx *f = *state;

	knob(f, "ctap", "2.0");
	knob(f, "protocols", "1");
	check_pin(f);
}

/* CredRandom does not depend on the protocol that carries it. */
static void
test_protocols_agree(void **state)
{
	struct fx *f = *state;
	uint8_t p1[64], p2[64];

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_EDDSA, RP, 1, NULL),
	    FIDO_OK);
	hmac_out(f, salt1, 32, NULL, p2);
	close_dev(f);
	knob(f, "protocols", "1");
	f->dev = open_path(f->path);
	hmac_out(f, salt1, 32, NULL, p1);
	assert_memory_equal(p1, p2, 32);
}

static void
test_pin_blocked(void **state)
{
	struct fx *f = *state;
	char err[256];

	tl_rmrf(f->path);
	assert_int_equal(vv_softfido_create(f->path, PIN, err, sizeof(err)),
	    0);
	f->dev = open_path(f->path);
	assert_true(fido_dev_has_pin(f->dev));
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 0, "1"
	    "111"), FIDO_ERR_PIN_INVALID);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 0,
	    "2222"), FIDO_ERR_PIN_INVALID);
	/* Three in a row: no more guesses until a power cycle. */
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 0,
	    "3333"), FIDO_ERR_PIN_AUTH_BLOCKED);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 0, PIN),
	    FIDO_ERR_PIN_AUTH_BLOCKED);
	assert_int_equal(retries(f->dev), 5);
	reopen(f);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 0, PIN),
	    FIDO_OK);
	assert_int_equal(retries(f->dev), 8);
	close_dev(f);
	knob(f, "pin-retries", "1");
	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 0,
	    "4444"), FIDO_ERR_PIN_BLOCKED);
	assert_int_equal(retries(f->dev), 0);
	reopen(f);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 0, PIN),
	    FIDO_ERR_PIN_BLOCKED);
}

static void
test_pin_policy(void **state)
{
	struct fx *f = *state;

	f->dev = open_path(f->path);
	/* libfido2 refuses short PINs itself; the token refuses bad ones. */
	assert_int_equal(fido_dev_set_pin(f->dev, "123", NULL),
	    FIDO_ERR_PIN_POLICY_VIOLATION);
	assert_int_equal(fido_dev_set_pin(f->dev, "\xff\xfe\xfd\xfc", NULL),
	    FIDO_ERR_PIN_POLICY_VIOLATION);
	assert_int_equal(fido_dev_set_pin(f->dev, PIN, NULL), FIDO_OK);
	/* A PIN is set once; after that only changed. */
	assert_int_equal(fido_dev_set_pin(f->dev, "other", NULL),
	    FIDO_ERR_PIN_AUTH_INVALID);
	assert_int_equal(fido_dev_set_pin(f->dev, "other", "0000"),
	    FIDO_ERR_PIN_INVALID);
}

static void
test_presence_denied(void **state)
{
	struct fx *f = *state;

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 1, NULL),
	    FIDO_OK);
	close_dev(f);
	knob(f, "presence", "deny");
	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred2, COSE_ES256, RP, 1,
	    NULL), FIDO_ERR_USER_ACTION_TIMEOUT);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, salt1, 32,
	    NULL), FIDO_ERR_USER_ACTION_TIMEOUT);
	/* A silent assertion needs no touch, and says so. */
	assert_non_null(f->a);
	assert_int_equal(fido_assert_set_up(f->a, FIDO_OPT_FALSE), FIDO_OK);
	assert_int_equal(fido_dev_get_assert(f->dev, f->a, NULL), FIDO_OK);
	assert_int_equal(fido_assert_flags(f->a, 0) & 0x01, 0);
	verify_assert(f->a, f->cred);
}

static void
test_fault_wrong_hmac(void **state)
{
	struct fx *f = *state;
	uint8_t honest[64], faulty[64];

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 1, NULL),
	    FIDO_OK);
	hmac_out(f, salt1, 32, NULL, honest);
	close_dev(f);
	knob(f, "fault", "wrong-hmac");
	f->dev = open_path(f->path);
	hmac_out(f, salt1, 32, NULL, faulty);	/* still signed */
	assert_memory_not_equal(honest, faulty, 32);
	close_dev(f);
	knob(f, "fault", "none");
	f->dev = open_path(f->path);
	hmac_out(f, salt1, 32, NULL, faulty);
	assert_memory_equal(honest, faulty, 32);
}

static void
test_foreign_credential(void **state)
{
	struct fx *f = *state;
	fido_dev_t *other;

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 1, NULL),
	    FIDO_OK);
	other = open_path(f->path2);
	assert_int_equal(get_assert(other, &f->a, f->cred, RP, salt1, 32,
	    NULL), FIDO_ERR_NO_CREDENTIALS);
	(void)fido_dev_close(other);
	fido_dev_free(&other);
	/* Nor does the credential answer for another RP. */
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, "other.test",
	    salt1, 32, NULL), FIDO_ERR_NO_CREDENTIALS);
	assert_int_equal(get_assert(f->dev, &f->a, f->cred, RP, salt1, 32,
	    NULL), FIDO_OK);
}

static void
test_exclude_list(void **state)
{
	struct fx *f = *state;
	static const uint8_t user[] = { 'u' };
	uint8_t cdh[32] = { 0 };

	f->dev = open_path(f->path);
	assert_int_equal(make_cred(f->dev, &f->cred, COSE_ES256, RP, 1, NULL),
	    FIDO_OK);
	assert_non_null(f->cred2 = fido_cred_new());
	assert_int_equal(fido_cred_set_type(f->cred2, COSE_EDDSA), FIDO_OK);
	assert_int_equal(fido_cred_set_clientdata_hash(f->cred2, cdh,
	    sizeof(cdh)), FIDO_OK);
	assert_int_equal(fido_cred_set_rp(f->cred2, RP, NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_user(f->cred2, user, sizeof(user),
	    NULL, NULL, NULL), FIDO_OK);
	assert_int_equal(fido_cred_exclude(f->cred2, cdh, sizeof(cdh)),
	    FIDO_OK);
	assert_int_equal(fido_dev_make_cred(f->dev, f->cred2, NULL), FIDO_OK);
	assert_int_equal(fido_cred_exclude(f->cred2, fido_cred_id_ptr(f->cred),
	    fido_cred_id_len(f->cred)), FIDO_OK);
	assert_int_equal(fido_dev_make_cred(f->dev, f->cred2, NULL),
	    FIDO_ERR_CREDENTIAL_EXCLUDED);
}

static void
test_state_refused(void **state)
{
	struct fx *f = *state;
	fido_dev_t *dev;

	assert_int_equal(chmod(f->path, 0644), 0);
	assert_non_null(dev = fido_dev_new());
	assert_int_equal(vv_softfido_attach(dev), FIDO_OK);
	assert_int_not_equal(fido_dev_open(dev, f->path), FIDO_OK);
	fido_dev_free(&dev);
	assert_int_equal(chmod(f->path, 0600), 0);
	f->dev = open_path(f->path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_getinfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_make_cred_es256, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_make_cred_eddsa, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hmac_secret_es256, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hmac_secret_eddsa, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_hmac_without_extension,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_exhausted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_save_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_default, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_protocol1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_protocol2, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_ctap20, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_ctap20_protocol1,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocols_agree, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_blocked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_policy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_presence_denied, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fault_wrong_hmac, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_foreign_credential, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exclude_list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_state_refused, setup,
		    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	fido_init(0);
	randombytes_buf(salt1, sizeof(salt1));
	randombytes_buf(salt2, sizeof(salt2));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
