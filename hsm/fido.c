/*
 * fido.c - enrolment, assertions and verification with libfido2.
 *
 * Every token, real or software, is driven through libfido2's client
 * code; only the software authenticator's transport differs (softfido.c).
 * Errors name what failed and libfido2's reason, never a secret.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fido.h>
#include <fido/es256.h>
#include <fido/eddsa.h>
#include <sodium.h>

#include "vipvault.h"
#include "hsm/fido.h"
#include "hsm/softfido.h"

#define FLAG_UP 0x01
#define FLAG_UV 0x04
#define MANIFEST_MAX 16

static int
fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* libfido2's answer as our error: a token that said no is DENIED, a PIN
 * problem INVALID, anything else a token failure. */
static int
map_fido(int fr)
{
	switch (fr) {
	case FIDO_ERR_PIN_INVALID:
	case FIDO_ERR_PIN_REQUIRED:
	case FIDO_ERR_PIN_AUTH_BLOCKED:
	case FIDO_ERR_PIN_BLOCKED:
	case FIDO_ERR_PIN_POLICY_VIOLATION:
		return VV_ERR_DENIED;
	case FIDO_ERR_NO_CREDENTIALS:
	case FIDO_ERR_OPERATION_DENIED:
	case FIDO_ERR_ACTION_TIMEOUT:
	case FIDO_ERR_USER_ACTION_TIMEOUT:
		return VV_ERR_DENIED;
	default:
		return VV_ERR_TOKEN;
	}
}

const char *
vv_fido_alg_name(int alg)
{
	if (alg == VV_FIDO_ES256)
		return "es256";
	if (alg == VV_FIDO_EDDSA)
		return "eddsa";
	return NULL;
}

int
vv_fido_alg_from_name(const char *name)
{
	if (strcmp(name, "es256") == 0)
		return VV_FIDO_ES256;
	if (strcmp(name, "eddsa") == 0)
		return VV_FIDO_EDDSA;
	return 0;
}

/* The first token libfido2 finds, copied into path. */
static int
first_token(char *path, size_t pathlen, char *err, size_t errlen)
{
	fido_dev_info_t *list;
	const char *p;
	size_t n = 0;
	int r;

	if ((list = fido_dev_info_new(MANIFEST_MAX)) == NULL)
		return fail(err, errlen, VV_ERR_NOMEM, "out of memory");
	if (fido_dev_info_manifest(list, MANIFEST_MAX, &n) != FIDO_OK ||
	    n == 0) {
		r = fail(err, errlen, VV_ERR_TOKEN, "no FIDO2 token found: "
		    "plug one in or name it with --device");
		goto out;
	}
	p = fido_dev_info_path(fido_dev_info_ptr(list, 0));
	if (p == NULL || strlen(p) >= pathlen) {
		r = fail(err, errlen, VV_ERR_TOKEN, "bad FIDO2 device path");
		goto out;
	}
	(void)snprintf(path, pathlen, "%s", p);
	r = VV_OK;
out:
	fido_dev_info_free(&list, MANIFEST_MAX);
	return r;
}

static int
open_dev(const struct vv_fido_dev *d, fido_dev_t **out, char *err,
    size_t errlen)
{
	char found[256], why[256];
	const char *path = d->path;
	size_t plen = strlen(VV_SOFTFIDO_PREFIX);
	fido_dev_t *dev = NULL;
	int r, fr, soft;

	*out = NULL;
	if (path == NULL) {
		if ((r = first_token(found, sizeof(found), err, errlen)) !=
		    VV_OK)
			return r;
		path = found;
	}
	soft = strncmp(path, VV_SOFTFIDO_PREFIX, plen) == 0;
	if (soft && !d->allow_soft)
		return fail(err, errlen, VV_ERR_DENIED, "the software FIDO2 "
		    "authenticator is for development vaults only");
	/* libfido2 would only say FIDO_ERR_INTERNAL: ask the file why. */
	if (soft && vv_softfido_check(path + plen, why, sizeof(why)) != 0)
		return fail(err, errlen, VV_ERR_TOKEN, "software token: %s",
		    why);
	if ((dev = fido_dev_new()) == NULL)
		return fail(err, errlen, VV_ERR_NOMEM, "out of memory");
	if (soft && (fr = vv_softfido_attach(dev)) != FIDO_OK) {
		r = fail(err, errlen, VV_ERR_TOKEN, "software token: %s",
		    fido_strerr(fr));
		goto out;
	}
	if ((fr = fido_dev_open(dev, soft ? path + plen : path)) != FIDO_OK) {
		r = fail(err, errlen, VV_ERR_TOKEN, "cannot open the FIDO2 "
		    "token %s: %s", path, fido_strerr(fr));
		goto out;
	}
	if (!fido_dev_is_fido2(dev)) {
		(void)fido_dev_close(dev);
		r = fail(err, errlen, VV_ERR_TOKEN, "%s is a U2F-only token; "
		    "FIDO2 with hmac-secret is needed", path);
		goto out;
	}
	*out = dev;
	dev = NULL;
	r = VV_OK;
out:
	fido_dev_free(&dev);
	return r;
}

static void
close_dev(fido_dev_t **dev)
{
	if (*dev != NULL)
		(void)fido_dev_close(*dev);
	fido_dev_free(dev);
}

/* The PIN, when this operation needs one: want says so. */
static int
get_pin(const struct vv_fido_dev *d, int want, char *pin, size_t pinmax,
    char *err, size_t errlen)
{
	char prompt[128];

	pin[0] = '\0';
	if (!want)
		return VV_OK;
	if (d->pin_fn == NULL)
		return fail(err, errlen, VV_ERR_DENIED, "the FIDO2 token of "
		    "%s needs its PIN and none can be asked for",
		    d->who != NULL ? d->who : "this user");
	(void)snprintf(prompt, sizeof(prompt), "PIN for the FIDO2 token of "
	    "%s: ", d->who != NULL ? d->who : "this user");
	if (d->pin_fn(d->pin_arg, prompt, pin, pinmax) != 0 ||
	    pin[0] == '\0') {
		sodium_memzero(pin, pinmax);
		return fail(err, errlen, VV_ERR_DENIED, "no PIN given");
	}
	return VV_OK;
}

static int
cred_request(fido_cred_t *cred, const char *rp_id, const char *user,
    int alg)
{
	uint8_t cdh[32], uid[32];

	/* Nothing is attested about the challenge: we check the
	 * self-signature and keep the key, as a password manager would. */
	randombytes_buf(cdh, sizeof(cdh));
	randombytes_buf(uid, sizeof(uid));
	if (fido_cred_set_type(cred, alg) != FIDO_OK ||
	    fido_cred_set_clientdata_hash(cred, cdh, sizeof(cdh)) != FIDO_OK ||
	    fido_cred_set_rp(cred, rp_id, "vipvault") != FIDO_OK ||
	    fido_cred_set_user(cred, uid, sizeof(uid), user, user, NULL) !=
	    FIDO_OK ||
	    fido_cred_set_extensions(cred, FIDO_EXT_HMAC_SECRET) != FIDO_OK ||
	    fido_cred_set_rk(cred, FIDO_OPT_FALSE) != FIDO_OK)
		return -1;
	return 0;
}

static int
cred_copy(const fido_cred_t *cred, int alg, int uv, struct vv_fido_cred *c,
    char *err, size_t errlen)
{
	size_t idlen = fido_cred_id_len(cred), pklen = fido_cred_pubkey_len(cred);

	if (idlen == 0 || idlen > sizeof(c->id) || pklen == 0 ||
	    pklen > sizeof(c->pk) || fido_cred_aaguid_len(cred) != 16)
		return fail(err, errlen, VV_ERR_TOKEN, "the token returned a "
		    "credential of an unexpected shape");
	if ((fido_cred_flags(cred) & FLAG_UP) == 0 ||
	    (uv && (fido_cred_flags(cred) & FLAG_UV) == 0))
		return fail(err, errlen, VV_ERR_TOKEN, "the token did not "
		    "confirm user presence%s", uv ? " and verification" : "");
	memset(c, 0, sizeof(*c));
	memcpy(c->id, fido_cred_id_ptr(cred), idlen);
	c->id_len = idlen;
	memcpy(c->pk, fido_cred_pubkey_ptr(cred), pklen);
	c->pk_len = pklen;
	memcpy(c->aaguid, fido_cred_aaguid_ptr(cred), 16);
	c->alg = alg;
	c->sign_count = fido_cred_sigcount(cred);
	c->uv = uv;
	return VV_OK;
}

int
vv_fido_enroll(const struct vv_fido_dev *d, const char *rp_id,
    const char *user, int alg, struct vv_fido_cred *c, char *err,
    size_t errlen)
{
	char pin[VV_FIDO_PIN_MAX];
	fido_cred_t *cred = NULL;
	fido_dev_t *dev = NULL;
	int r, fr, has_pin;

	pin[0] = '\0';
	if (vv_fido_alg_name(alg) == NULL)
		return fail(err, errlen, VV_ERR_INVALID, "unknown credential "
		    "algorithm %d", alg);
	fido_init(0);
	/* Enrolment is where one token is swapped for the next. */
	if (d->ready_fn != NULL && d->ready_fn(d->ready_arg, d->who != NULL ?
	    d->who : "this user") != 0) {
		r = fail(err, errlen, VV_ERR_DENIED, "no FIDO2 token was "
		    "presented");
		goto out;
	}
	if ((r = open_dev(d, &dev, err, errlen)) != VV_OK)
		goto out;
	has_pin = fido_dev_has_pin(dev);
	if (d->require_uv && !has_pin) {
		r = fail(err, errlen, VV_ERR_DENIED, "the vault requires user "
		    "verification: set a PIN on the token first");
		goto out;
	}
	if ((r = get_pin(d, has_pin, pin, sizeof(pin), err, errlen)) != VV_OK)
		goto out;
	if ((cred = fido_cred_new()) == NULL ||
	    cred_request(cred, rp_id, user, alg) != 0) {
		r = fail(err, errlen, VV_ERR_NOMEM, "preparing the credential");
		goto out;
	}
	fr = fido_dev_make_cred(dev, cred, has_pin ? pin : NULL);
	if (fr != FIDO_OK) {
		r = fail(err, errlen, map_fido(fr), "the token refused to "
		    "make a credential: %s", fido_strerr(fr));
		goto out;
	}
	/* Both also check that the token granted hmac-secret: libfido2
	 * compares the extensions it returned with those we asked for. */
	fr = fido_cred_x5c_len(cred) > 0 ? fido_cred_verify(cred) :
	    fido_cred_verify_self(cred);
	if (fr != FIDO_OK) {
		r = fail(err, errlen, VV_ERR_INTEGRITY, "the token's "
		    "attestation does not verify: %s", fido_strerr(fr));
		goto out;
	}
	r = cred_copy(cred, alg, has_pin, c, err, errlen);
out:
	sodium_memzero(pin, sizeof(pin));
	fido_cred_free(&cred);
	close_dev(&dev);
	return r;
}

void
vv_fido_assertion_clear(struct vv_fido_assertion *a)
{
	if (a->hmac != NULL)
		sodium_free(a->hmac);
	memset(a, 0, sizeof(*a));
}

static int
assert_request(fido_assert_t *fa, const char *rp_id,
    const struct vv_fido_cred *c, const uint8_t cdh[32], const uint8_t *salt)
{
	if (fido_assert_set_rp(fa, rp_id) != FIDO_OK ||
	    fido_assert_set_clientdata_hash(fa, cdh, 32) != FIDO_OK ||
	    fido_assert_allow_cred(fa, c->id, c->id_len) != FIDO_OK)
		return -1;
	if (salt != NULL && (fido_assert_set_extensions(fa,
	    FIDO_EXT_HMAC_SECRET) != FIDO_OK ||
	    fido_assert_set_hmac_salt(fa, salt, VV_FIDO_SALT_LEN) != FIDO_OK))
		return -1;
	return 0;
}

static int
assert_copy(const fido_assert_t *fa, int want_hmac,
    struct vv_fido_assertion *a, char *err, size_t errlen)
{
	size_t adlen = fido_assert_authdata_len(fa, 0);
	size_t siglen = fido_assert_sig_len(fa, 0);

	if (fido_assert_count(fa) != 1 || adlen == 0 ||
	    adlen > sizeof(a->authdata) || siglen == 0 ||
	    siglen > sizeof(a->sig))
		return fail(err, errlen, VV_ERR_TOKEN, "the token returned an "
		    "assertion of an unexpected shape");
	memcpy(a->authdata, fido_assert_authdata_ptr(fa, 0), adlen);
	a->authdata_len = adlen;
	memcpy(a->sig, fido_assert_sig_ptr(fa, 0), siglen);
	a->sig_len = siglen;
	a->sign_count = fido_assert_sigcount(fa, 0);
	if (!want_hmac)
		return VV_OK;
	if (fido_assert_hmac_secret_len(fa, 0) != VV_FIDO_HMAC_LEN)
		return fail(err, errlen, VV_ERR_TOKEN, "the token returned no "
		    "hmac-secret output");
	if ((a->hmac = sodium_malloc(VV_FIDO_HMAC_LEN)) == NULL)
		return fail(err, errlen, VV_ERR_NOMEM, "out of guarded memory");
	memcpy(a->hmac, fido_assert_hmac_secret_ptr(fa, 0), VV_FIDO_HMAC_LEN);
	return VV_OK;
}

int
vv_fido_assert(const struct vv_fido_dev *d, const char *rp_id,
    const struct vv_fido_cred *c, const uint8_t cdh[32], const uint8_t *salt,
    struct vv_fido_assertion *a, char *err, size_t errlen)
{
	char pin[VV_FIDO_PIN_MAX];
	fido_assert_t *fa = NULL;
	fido_dev_t *dev = NULL;
	int r, fr;

	pin[0] = '\0';
	memset(a, 0, sizeof(*a));
	fido_init(0);
	if ((r = open_dev(d, &dev, err, errlen)) != VV_OK)
		goto out;
	if (c->uv && !fido_dev_has_pin(dev)) {
		r = fail(err, errlen, VV_ERR_DENIED, "this credential was "
		    "enrolled with a PIN and the token has none");
		goto out;
	}
	/* The PIN only when enrolled with one: hmac-secret gives another
	 * output with user verification than without. */
	if ((r = get_pin(d, c->uv, pin, sizeof(pin), err, errlen)) != VV_OK)
		goto out;
	if ((fa = fido_assert_new()) == NULL ||
	    assert_request(fa, rp_id, c, cdh, salt) != 0) {
		r = fail(err, errlen, VV_ERR_NOMEM, "preparing the assertion");
		goto out;
	}
	fr = fido_dev_get_assert(dev, fa, c->uv ? pin : NULL);
	if (fr != FIDO_OK) {
		r = fail(err, errlen, map_fido(fr), "the token refused the "
		    "assertion: %s", fido_strerr(fr));
		goto out;
	}
	r = assert_copy(fa, salt != NULL, a, err, errlen);
out:
	if (r != VV_OK)
		vv_fido_assertion_clear(a);
	sodium_memzero(pin, sizeof(pin));
	fido_assert_free(&fa);
	close_dev(&dev);
	return r;
}

static int
verify_sig(const fido_assert_t *fa, const struct vv_fido_cred *c)
{
	es256_pk_t *es = NULL;
	eddsa_pk_t *ed = NULL;
	int fr = FIDO_ERR_INVALID_ARGUMENT;

	if (c->alg == VV_FIDO_ES256) {
		if ((es = es256_pk_new()) != NULL &&
		    es256_pk_from_ptr(es, c->pk, c->pk_len) == FIDO_OK)
			fr = fido_assert_verify(fa, 0, COSE_ES256, es);
		es256_pk_free(&es);
	} else if (c->alg == VV_FIDO_EDDSA) {
		if ((ed = eddsa_pk_new()) != NULL &&
		    eddsa_pk_from_ptr(ed, c->pk, c->pk_len) == FIDO_OK)
			fr = fido_assert_verify(fa, 0, COSE_EDDSA, ed);
		eddsa_pk_free(&ed);
	}
	return fr;
}

int
vv_fido_verify(const char *rp_id, const struct vv_fido_cred *c,
    const uint8_t cdh[32], int hmac_ext, const uint8_t *authdata,
    size_t authdata_len, const uint8_t *sig, size_t sig_len, uint32_t *count)
{
	fido_assert_t *fa;
	int r = VV_ERR_INTEGRITY;

	*count = 0;
	if ((fa = fido_assert_new()) == NULL)
		return VV_ERR_NOMEM;
	if (fido_assert_set_rp(fa, rp_id) != FIDO_OK ||
	    fido_assert_set_clientdata_hash(fa, cdh, 32) != FIDO_OK ||
	    fido_assert_set_count(fa, 1) != FIDO_OK ||
	    fido_assert_set_authdata(fa, 0, authdata, authdata_len) !=
	    FIDO_OK ||
	    fido_assert_set_sig(fa, 0, sig, sig_len) != FIDO_OK ||
	    fido_assert_set_up(fa, FIDO_OPT_TRUE) != FIDO_OK ||
	    fido_assert_set_uv(fa, c->uv ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) !=
	    FIDO_OK ||
	    (hmac_ext && fido_assert_set_extensions(fa,
	    FIDO_EXT_HMAC_SECRET) != FIDO_OK))
		goto out;
	if (verify_sig(fa, c) != FIDO_OK)
		goto out;
	*count = fido_assert_sigcount(fa, 0);
	r = VV_OK;
out:
	fido_assert_free(&fa);
	return r;
}
