/*
 * softfido_ops.c - authenticatorMakeCredential and authenticatorGetAssertion
 * (CTAP 2.1, 6.1 and 6.2) with the hmac-secret extension (12.5).
 *
 * Order matters to what a platform can observe: parameters, then the
 * PIN, then credentials, then the touch; the signature counter is saved
 * before a signature leaves, so a counter can never be seen twice.
 */
#include <string.h>

#include <cbor.h>
#include <sodium.h>

#include "hsm/softfido_int.h"

static int
is_public_key(const cbor_item_t *type)
{
	const char *t;
	size_t len;

	return vv_sf_text(type, &t, &len) == 0 && len == 10 &&
	    memcmp(t, "public-key", 10) == 0;
}

/* The first of pubKeyCredParams this token knows: ES256 or EdDSA. */
static int
pick_alg(const cbor_item_t *params, int *alg)
{
	const cbor_item_t *a, *t;
	cbor_item_t *e;
	size_t i, n;
	int64_t v;
	int r = CTAP2_OK;

	*alg = 0;
	if (params == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (!cbor_isa_array(params))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	n = cbor_array_size(params);
	for (i = 0; i < n && r == CTAP2_OK; i++) {
		if ((e = cbor_array_get(params, i)) == NULL)
			return CTAP1_ERR_OTHER;
		if (!cbor_isa_map(e) || vv_sf_map_str(e, "alg", &a) != 0 ||
		    vv_sf_map_str(e, "type", &t) != 0 ||
		    vv_sf_int(a, &v) != 0 || t == NULL || !cbor_isa_string(t))
			r = CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		else if (*alg == 0 && is_public_key(t) &&
		    (v == COSE_ES256 || v == COSE_EDDSA))
			*alg = (int)v;
		cbor_decref(&e);
	}
	if (r == CTAP2_OK && *alg == 0)
		r = CTAP2_ERR_UNSUPPORTED_ALGORITHM;
	return r;
}

static int
parse_mc(const cbor_item_t *m, struct sf_req *q, int *alg, int *hmac)
{
	const cbor_item_t *rp, *user, *params, *id, *hs = NULL;
	const uint8_t *uid;
	const char *rpid;
	size_t len;
	int r;

	*hmac = 0;
	if ((r = vv_sf_req_parse(m, 1, q)) != CTAP2_OK ||
	    (r = vv_sf_opt_item(m, 2, &rp)) != CTAP2_OK ||
	    (r = vv_sf_opt_item(m, 3, &user)) != CTAP2_OK ||
	    (r = vv_sf_opt_item(m, 4, &params)) != CTAP2_OK)
		return r;
	if (rp == NULL || user == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (!cbor_isa_map(rp) || vv_sf_map_str(rp, "id", &id) != 0 ||
	    id == NULL || vv_sf_text(id, &rpid, &len) != 0)
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if ((r = vv_sf_req_rpid(q, rpid, len)) != CTAP2_OK)
		return r;
	if (!cbor_isa_map(user) || vv_sf_map_str(user, "id", &id) != 0 ||
	    id == NULL || vv_sf_bytes(id, &uid, &len) != 0)
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (len > 64)
		return CTAP1_ERR_INVALID_LENGTH;
	if ((r = pick_alg(params, alg)) != CTAP2_OK)
		return r;
	if (q->ext != NULL && vv_sf_map_str(q->ext, "hmac-secret", &hs) != 0)
		return CTAP2_ERR_INVALID_CBOR;
	if (hs != NULL && vv_sf_bool(hs, hmac) != 0)
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	return CTAP2_OK;
}

/* rpIdHash | flags | counter | aaguid | id length | id | key | ext. */
static int
mc_authdata(const struct sf_cred *c, const struct sf_key *k, int uv,
    uint32_t counter, uint8_t *ad, size_t *adlen)
{
	int hmac = (c->id[2] & SF_ID_HMAC) != 0;
	uint8_t flags = SF_FLAG_UP | SF_FLAG_AT;
	size_t pos;

	flags |= (uv ? SF_FLAG_UV : 0) | (hmac ? SF_FLAG_ED : 0);
	pos = vv_sf_authdata_head(ad, c->rp, flags, counter);
	memcpy(ad + pos, vv_softfido_aaguid, 16);
	pos += 16;
	ad[pos++] = 0;
	ad[pos++] = SF_ID_LEN;
	memcpy(ad + pos, c->id, SF_ID_LEN);
	pos += SF_ID_LEN;
	if (vv_sf_append_cbor(ad, &pos, vv_sf_key_cose(k)) != 0 ||
	    (hmac && vv_sf_append_cbor(ad, &pos, vv_sf_ext_map("hmac-secret",
	    cbor_build_bool(true))) != 0))
		return -1;
	*adlen = pos;
	return 0;
}

/* { 1: "packed", 2: authData, 3: { "alg": alg, "sig": sig } }: self
 * attestation, signed by the credential's own key. */
static int
mc_reply(int alg, const uint8_t *ad, size_t adlen, const uint8_t *sig,
    size_t siglen, cbor_item_t **resp)
{
	cbor_item_t *att;

	if ((att = cbor_new_definite_map(2)) == NULL)
		return CTAP1_ERR_OTHER;
	if (vv_sf_put(att, cbor_build_string("alg"),
	    vv_sf_build_int(alg)) != 0 ||
	    vv_sf_put(att, cbor_build_string("sig"),
	    cbor_build_bytestring(sig, siglen)) != 0 ||
	    (*resp = cbor_new_definite_map(3)) == NULL) {
		cbor_decref(&att);
		return CTAP1_ERR_OTHER;
	}
	if (vv_sf_put(*resp, cbor_build_uint8(1),
	    cbor_build_string("packed")) != 0 ||
	    vv_sf_put(*resp, cbor_build_uint8(2), cbor_build_bytestring(ad,
	    adlen)) != 0 || vv_sf_put(*resp, cbor_build_uint8(3), att) != 0)
		return CTAP1_ERR_OTHER;
	return CTAP2_OK;
}

int
vv_sf_make_credential(struct vv_softfido *sf, const cbor_item_t *req,
    cbor_item_t **resp)
{
	struct sf_req q;
	struct sf_cred c;
	struct sf_key k;
	uint8_t ad[SF_AUTHDATA_MAX], sig[SF_SIG_MAX];
	size_t adlen, siglen;
	uint32_t counter;
	int alg, hmac, uv, found, r;

	memset(&k, 0, sizeof(k));
	if ((r = parse_mc(req, &q, &alg, &hmac)) != CTAP2_OK)
		return r;
	if (q.o.up == 0)
		return CTAP2_ERR_INVALID_OPTION;
	if ((r = vv_sf_user_verify(sf, &q, 1, &uv)) != CTAP2_OK ||
	    (r = vv_sf_find_cred(sf, &q, &c, &found)) != CTAP2_OK)
		return r;
	/* Excluded or not, the user touches first: CTAP does not let a
	 * page probe for credentials silently. */
	if ((r = vv_sf_presence(sf)) != CTAP2_OK)
		return r;
	if (found)
		return CTAP2_ERR_CREDENTIAL_EXCLUDED;
	vv_sf_cred_new(sf, alg, hmac, q.rp, &c);
	if (vv_sf_key_derive(sf, &c, &k) != 0) {
		r = CTAP1_ERR_OTHER;
		goto out;
	}
	if ((r = vv_sf_bump_counter(sf, &counter)) != CTAP2_OK)
		goto out;
	if (mc_authdata(&c, &k, uv, counter, ad, &adlen) != 0 ||
	    vv_sf_key_sign(&k, ad, adlen, q.cdh, sig, &siglen) != 0) {
		r = CTAP1_ERR_OTHER;
		goto out;
	}
	r = mc_reply(alg, ad, adlen, sig, siglen, resp);
out:
	vv_sf_key_clear(&k);
	return r;
}

/*
 * hmac-secret: { 1: platform key, 2: saltEnc, 3: saltAuth, 4: protocol }
 * in; the HMACs of one or two salts under CredRandom, encrypted, out.
 */
static int
hmac_secret(struct vv_softfido *sf, const cbor_item_t *hs,
    const struct sf_cred *c, int uv, uint8_t *out, size_t *outlen)
{
	const cbor_item_t *ka;
	const uint8_t *enc, *auth;
	uint8_t shared[64], salt[64], cr[32], res[64];
	struct sf_iov iov;
	size_t enclen, authlen, n, i;
	uint64_t proto;
	int has, r;

	if (!cbor_isa_map(hs))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if ((r = vv_sf_opt_item(hs, 1, &ka)) != CTAP2_OK ||
	    (r = vv_sf_opt_bytes(hs, 2, &enc, &enclen)) != CTAP2_OK ||
	    (r = vv_sf_opt_bytes(hs, 3, &auth, &authlen)) != CTAP2_OK ||
	    (r = vv_sf_opt_uint(hs, 4, &proto, &has)) != CTAP2_OK)
		return r;
	if (!has)
		proto = 1;
	if (ka == NULL || enc == NULL || auth == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (vv_sf_proto_ok(sf, proto) != 0)
		return CTAP1_ERR_INVALID_PARAMETER;
	if ((r = vv_sf_agree(sf, (unsigned)proto, ka, shared)) != CTAP2_OK)
		goto out;
	iov.p = enc;
	iov.len = enclen;
	if (vv_sf_pp_verify((unsigned)proto, shared, &iov, 1, auth,
	    authlen) != 0) {
		r = CTAP2_ERR_PIN_AUTH_INVALID;
		goto out;
	}
	n = enclen == vv_sf_pp_ct_len((unsigned)proto, 32) ? 32 :
	    enclen == vv_sf_pp_ct_len((unsigned)proto, 64) ? 64 : 0;
	if (n == 0 || vv_sf_pp_decrypt((unsigned)proto, shared, enc, enclen,
	    salt, n) != 0) {
		r = CTAP1_ERR_INVALID_LENGTH;
		goto out;
	}
	vv_sf_cred_random(sf, c, uv, cr);
	for (i = 0; i < n; i += 32) {
		iov.p = salt + i;
		iov.len = 32;
		vv_sf_hmac(res + i, cr, sizeof(cr), &iov, 1);
	}
	if (vv_sf_pp_encrypt((unsigned)proto, shared, res, n, out) != 0) {
		r = CTAP1_ERR_OTHER;
		goto out;
	}
	*outlen = vv_sf_pp_ct_len((unsigned)proto, n);
	r = CTAP2_OK;
out:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(salt, sizeof(salt));
	sodium_memzero(cr, sizeof(cr));
	sodium_memzero(res, sizeof(res));
	return r;
}

static int
ga_reply(const struct sf_cred *c, const uint8_t *ad, size_t adlen,
    const uint8_t *sig, size_t siglen, cbor_item_t **resp)
{
	cbor_item_t *desc;

	if ((desc = cbor_new_definite_map(2)) == NULL)
		return CTAP1_ERR_OTHER;
	if (vv_sf_put(desc, cbor_build_string("id"),
	    cbor_build_bytestring(c->id, SF_ID_LEN)) != 0 ||
	    vv_sf_put(desc, cbor_build_string("type"),
	    cbor_build_string("public-key")) != 0 ||
	    (*resp = cbor_new_definite_map(3)) == NULL) {
		cbor_decref(&desc);
		return CTAP1_ERR_OTHER;
	}
	if (vv_sf_put(*resp, cbor_build_uint8(1), desc) != 0 ||
	    vv_sf_put(*resp, cbor_build_uint8(2), cbor_build_bytestring(ad,
	    adlen)) != 0 || vv_sf_put(*resp, cbor_build_uint8(3),
	    cbor_build_bytestring(sig, siglen)) != 0)
		return CTAP1_ERR_OTHER;
	return CTAP2_OK;
}

/* Signs for c; hmac (hmaclen bytes, or none) goes into the extensions. */
static int
ga_sign(struct vv_softfido *sf, const struct sf_req *q,
    const struct sf_cred *c, uint8_t flags, const uint8_t *hmac,
    size_t hmaclen, cbor_item_t **resp)
{
	struct sf_key k;
	uint8_t ad[SF_AUTHDATA_MAX], sig[SF_SIG_MAX];
	size_t adlen, siglen;
	uint32_t counter;
	int r;

	if (vv_sf_key_derive(sf, c, &k) != 0) {
		r = CTAP1_ERR_OTHER;
		goto out;
	}
	if ((r = vv_sf_bump_counter(sf, &counter)) != CTAP2_OK)
		goto out;
	adlen = vv_sf_authdata_head(ad, q->rp, flags |
	    (hmac != NULL ? SF_FLAG_ED : 0), counter);
	if ((hmac != NULL && vv_sf_append_cbor(ad, &adlen,
	    vv_sf_ext_map("hmac-secret", cbor_build_bytestring(hmac,
	    hmaclen))) != 0) ||
	    vv_sf_key_sign(&k, ad, adlen, q->cdh, sig, &siglen) != 0) {
		r = CTAP1_ERR_OTHER;
		goto out;
	}
	r = ga_reply(c, ad, adlen, sig, siglen, resp);
out:
	vv_sf_key_clear(&k);
	return r;
}

int
vv_sf_get_assertion(struct vv_softfido *sf, const cbor_item_t *req,
    cbor_item_t **resp)
{
	struct sf_req q;
	struct sf_cred c;
	const cbor_item_t *hs = NULL;
	const char *rpid;
	uint8_t out[16 + 64];
	size_t rpidlen, outlen = 0;
	int uv, found, up, r;

	if ((r = vv_sf_req_parse(req, 0, &q)) != CTAP2_OK ||
	    (r = vv_sf_opt_text(req, 1, &rpid, &rpidlen)) != CTAP2_OK ||
	    (r = vv_sf_req_rpid(&q, rpid, rpidlen)) != CTAP2_OK)
		return r;
	if (q.ext != NULL && vv_sf_map_str(q.ext, "hmac-secret", &hs) != 0)
		return CTAP2_ERR_INVALID_CBOR;
	if ((r = vv_sf_user_verify(sf, &q, 0, &uv)) != CTAP2_OK ||
	    (r = vv_sf_find_cred(sf, &q, &c, &found)) != CTAP2_OK)
		return r;
	if (!found)
		return CTAP2_ERR_NO_CREDENTIALS;
	/* up = false: a silent assertion, without the UP flag. */
	if ((up = q.o.up != 0) && (r = vv_sf_presence(sf)) != CTAP2_OK)
		return r;
	/* A credential made without hmac-secret ignores the extension. */
	if (hs != NULL && (c.id[2] & SF_ID_HMAC) != 0 &&
	    (r = hmac_secret(sf, hs, &c, uv, out, &outlen)) != CTAP2_OK)
		goto out;
	r = ga_sign(sf, &q, &c, (up ? SF_FLAG_UP : 0) | (uv ? SF_FLAG_UV : 0),
	    outlen > 0 ? out : NULL, outlen, resp);
out:
	sodium_memzero(out, sizeof(out));
	return r;
}
