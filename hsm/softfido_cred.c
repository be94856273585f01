/*
 * softfido_cred.c - non-resident credentials: ids, keys, CredRandom, and
 * what makeCredential and getAssertion share (parameters, PIN, counter).
 *
 * Nothing is stored per credential.  A credential id is
 *
 *	version (1) | alg (1) | flags (1) | nonce (16) | tag (32)
 *
 * with tag = HMAC(K_id, first 19 bytes | SHA-256(rpId)), so the token
 * knows its own ids, for their RP only, and derives from the same bytes
 * the credential's key (HMAC under K_key) and its hmac-secret CredRandom
 * (HMAC under K_rand, with and without UV).  The K_* are HMACs of the
 * device secret: an id from another token, or shown to another RP, opens
 * nothing.
 */
#include <string.h>

#include <cbor.h>
#include <sodium.h>

#include "hsm/softfido_int.h"

static void
cred_tag(const struct vv_softfido *sf, const uint8_t *head,
    const uint8_t rp[32], uint8_t tag[32])
{
	struct sf_iov iov[2] = { { head, SF_ID_HEAD }, { rp, 32 } };
	uint8_t k[32];

	vv_sf_subkey(k, sf->st->secret, "vipvault-softfido/v1/cred-id");
	vv_sf_hmac(tag, k, sizeof(k), iov, 2);
	sodium_memzero(k, sizeof(k));
}

void
vv_sf_cred_new(const struct vv_softfido *sf, int alg, int hmac,
    const uint8_t rp[32], struct sf_cred *c)
{
	c->id[0] = SF_ID_VERSION;
	c->id[1] = alg == COSE_ES256 ? SF_ID_ES256 : SF_ID_EDDSA;
	c->id[2] = hmac ? SF_ID_HMAC : 0;
	randombytes_buf(c->id + 3, SF_ID_HEAD - 3);
	cred_tag(sf, c->id, rp, c->id + SF_ID_HEAD);
	c->alg = alg;
	memcpy(c->rp, rp, 32);
}

/* 0 if id is one of this token's credentials for rp. */
int
vv_sf_cred_open(const struct vv_softfido *sf, const uint8_t *id, size_t len,
    const uint8_t rp[32], struct sf_cred *c)
{
	uint8_t tag[32];
	int r;

	if (len != SF_ID_LEN || id[0] != SF_ID_VERSION ||
	    (id[1] != SF_ID_ES256 && id[1] != SF_ID_EDDSA) ||
	    (id[2] & ~SF_ID_HMAC) != 0)
		return -1;
	cred_tag(sf, id, rp, tag);
	r = crypto_verify_32(tag, id + SF_ID_HEAD);
	sodium_memzero(tag, sizeof(tag));
	if (r != 0)
		return -1;
	memcpy(c->id, id, SF_ID_LEN);
	c->alg = id[1] == SF_ID_ES256 ? COSE_ES256 : COSE_EDDSA;
	memcpy(c->rp, rp, 32);
	return 0;
}

/*
 * CredRandom, one with UV and one without, as CTAP asks: a secret sealed
 * with the PIN entered is not unsealed without it.  The wrong-hmac fault
 * stands for a token that answers with some other value.
 */
void
vv_sf_cred_random(const struct vv_softfido *sf, const struct sf_cred *c,
    int uv, uint8_t out[32])
{
	uint8_t k[32], u = uv ? 1 : 0;
	struct sf_iov iov[3] = { { c->id, SF_ID_HEAD }, { c->rp, 32 },
	    { &u, 1 } };

	if (sf->st->fault == SF_FAULT_WRONG_HMAC)
		u |= 0x80;
	vv_sf_subkey(k, sf->st->secret, "vipvault-softfido/v1/cred-random");
	vv_sf_hmac(out, k, sizeof(k), iov, 3);
	sodium_memzero(k, sizeof(k));
}

void
vv_sf_key_clear(struct sf_key *k)
{
	EVP_PKEY_free(k->p256);
	sodium_memzero(k, sizeof(*k));
}

/* The credential's key pair.  A P-256 seed that is not a valid scalar
 * (odds about 2^-32) is followed by the next one. */
int
vv_sf_key_derive(const struct vv_softfido *sf, const struct sf_cred *c,
    struct sf_key *k)
{
	uint8_t kk[32], seed[32], i;
	struct sf_iov iov[3] = { { c->id, SF_ID_HEAD }, { c->rp, 32 },
	    { &i, 1 } };
	int r = -1;

	memset(k, 0, sizeof(*k));
	k->alg = c->alg;
	vv_sf_subkey(kk, sf->st->secret, "vipvault-softfido/v1/cred-key");
	for (i = 0; i < 8 && r != 0; i++) {
		vv_sf_hmac(seed, kk, sizeof(kk), iov, 3);
		if (c->alg == COSE_EDDSA)
			r = crypto_sign_seed_keypair(k->ed_pk, k->ed_sk, seed);
		else if ((k->p256 = vv_sf_p256_from_scalar(seed)) != NULL)
			r = 0;
	}
	sodium_memzero(kk, sizeof(kk));
	sodium_memzero(seed, sizeof(seed));
	return r;
}

cbor_item_t *
vv_sf_key_cose(const struct sf_key *k)
{
	uint8_t x[32], y[32];
	cbor_item_t *m;

	if (k->alg == COSE_ES256)
		return vv_sf_p256_pub(k->p256, x, y) == 0 ?
		    vv_sf_cose_p256(x, y, COSE_ES256) : NULL;
	if ((m = cbor_new_definite_map(4)) == NULL)
		return NULL;
	if (vv_sf_put(m, cbor_build_uint8(1), cbor_build_uint8(1)) != 0 ||
	    vv_sf_put(m, cbor_build_uint8(3),
	    vv_sf_build_int(COSE_EDDSA)) != 0 ||
	    vv_sf_put(m, vv_sf_build_int(-1), cbor_build_uint8(6)) != 0 ||
	    vv_sf_put(m, vv_sf_build_int(-2), cbor_build_bytestring(k->ed_pk,
	    sizeof(k->ed_pk))) != 0)
		cbor_decref(&m);
	return m;
}

/* Signs authenticatorData | clientDataHash. */
int
vv_sf_key_sign(const struct sf_key *k, const uint8_t *ad, size_t adlen,
    const uint8_t *cdh, uint8_t *sig, size_t *siglen)
{
	struct sf_iov iov[2] = { { ad, adlen }, { cdh, 32 } };
	uint8_t msg[SF_AUTHDATA_MAX + 32];
	unsigned long long n;

	if (k->alg == COSE_ES256) {
		*siglen = SF_SIG_MAX;
		return vv_sf_es256_sign(k->p256, iov, 2, sig, siglen);
	}
	if (adlen > SF_AUTHDATA_MAX)
		return -1;
	memcpy(msg, ad, adlen);
	memcpy(msg + adlen, cdh, 32);
	if (crypto_sign_detached(sig, &n, msg, adlen + 32, k->ed_sk) != 0)
		return -1;
	*siglen = (size_t)n;
	return 0;
}

static int
parse_opts(const cbor_item_t *m, struct sf_opts *o)
{
	static const char *const names[] = { "rk", "up", "uv" };
	int *vals[] = { &o->rk, &o->up, &o->uv };
	const cbor_item_t *v;
	size_t i;

	o->rk = o->up = o->uv = -1;
	if (m == NULL)
		return CTAP2_OK;
	if (!cbor_isa_map(m))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	for (i = 0; i < 3; i++) {
		if (vv_sf_map_str(m, names[i], &v) != 0)
			return CTAP2_ERR_INVALID_CBOR;
		if (v != NULL && vv_sf_bool(v, vals[i]) != 0)
			return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	}
	return CTAP2_OK;
}

/* The fields both commands have; getAssertion's rpId is a string and
 * makeCredential's sits in an rp map, so the callers read it. */
int
vv_sf_req_parse(const cbor_item_t *m, int mc, struct sf_req *q)
{
	const cbor_item_t *opts;
	int64_t base = mc ? 0 : -2;	/* getAssertion's keys sit 2 lower */
	int r;

	if ((r = vv_sf_opt_bytes(m, mc ? 1 : 2, &q->cdh, &q->cdhlen)) != 0 ||
	    (r = vv_sf_opt_item(m, mc ? 5 : 3, &q->list)) != 0 ||
	    (r = vv_sf_opt_item(m, base + 6, &q->ext)) != 0 ||
	    (r = vv_sf_opt_item(m, base + 7, &opts)) != 0 ||
	    (r = vv_sf_opt_bytes(m, base + 8, &q->auth, &q->authlen)) != 0 ||
	    (r = vv_sf_opt_uint(m, base + 9, &q->proto, &q->has_proto)) != 0 ||
	    (r = parse_opts(opts, &q->o)) != 0)
		return r;
	if (q->cdh == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (q->cdhlen != 32)
		return CTAP1_ERR_INVALID_LENGTH;
	if (q->list != NULL && !cbor_isa_array(q->list))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (q->ext != NULL && !cbor_isa_map(q->ext))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	return CTAP2_OK;
}

int
vv_sf_req_rpid(struct sf_req *q, const char *id, size_t len)
{
	if (id == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (len == 0 || len > 255)
		return CTAP1_ERR_INVALID_PARAMETER;
	q->rpid = id;
	q->rpidlen = len;
	crypto_hash_sha256(q->rp, (const uint8_t *)id, len);
	return CTAP2_OK;
}

/*
 * pinUvAuthParam, as both commands check it.  An empty one is a
 * platform's way to wait for a touch; mc: a PIN, once set, is required.
 */
int
vv_sf_user_verify(struct vv_softfido *sf, const struct sf_req *q, int mc,
    int *uv)
{
	int r;

	*uv = 0;
	if (q->auth != NULL && q->authlen == 0) {
		if ((r = vv_sf_presence(sf)) != CTAP2_OK)
			return r;
		return sf->st->has_pin ? CTAP2_ERR_PIN_INVALID :
		    CTAP2_ERR_PIN_NOT_SET;
	}
	if (q->auth != NULL && !q->has_proto)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (q->auth != NULL && vv_sf_proto_ok(sf, q->proto) != 0)
		return CTAP1_ERR_INVALID_PARAMETER;
	if (q->o.rk == 1)
		return CTAP2_ERR_UNSUPPORTED_OPTION;
	/* No built-in user verification: only a PIN verifies. */
	if (q->o.uv == 1 && q->auth == NULL)
		return CTAP2_ERR_UNSUPPORTED_OPTION;
	if (q->auth == NULL && mc && sf->st->has_pin)
		return CTAP2_ERR_PIN_REQUIRED;
	if (q->auth == NULL)
		return CTAP2_OK;
	if (!sf->st->has_pin)
		return CTAP2_ERR_PIN_NOT_SET;
	if ((r = vv_sf_check_uv(sf, (unsigned)q->proto, q->cdh, q->auth,
	    q->authlen, mc ? SF_PERM_MC : SF_PERM_GA, q->rp)) != CTAP2_OK)
		return r;
	*uv = 1;
	return CTAP2_OK;
}

/* The first descriptor of list that is ours for the RP; *found says. */
int
vv_sf_find_cred(const struct vv_softfido *sf, const struct sf_req *q,
    struct sf_cred *c, int *found)
{
	const cbor_item_t *id, *type;
	cbor_item_t *e;
	const uint8_t *p;
	const char *t;
	size_t i, n, len, tlen;

	*found = 0;
	n = q->list != NULL ? cbor_array_size(q->list) : 0;
	for (i = 0; i < n; i++) {
		if ((e = cbor_array_get(q->list, i)) == NULL)
			return CTAP1_ERR_OTHER;
		if (!cbor_isa_map(e) || vv_sf_map_str(e, "id", &id) != 0 ||
		    vv_sf_map_str(e, "type", &type) != 0 ||
		    vv_sf_bytes(id, &p, &len) != 0 ||
		    vv_sf_text(type, &t, &tlen) != 0) {
			cbor_decref(&e);
			return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		}
		if (tlen == 10 && memcmp(t, "public-key", 10) == 0 &&
		    !*found && vv_sf_cred_open(sf, p, len, q->rp, c) == 0)
			*found = 1;
		cbor_decref(&e);
	}
	return CTAP2_OK;
}

int
vv_sf_bump_counter(struct vv_softfido *sf, uint32_t *out)
{
	if (sf->st->counter == UINT32_MAX)
		return CTAP1_ERR_OTHER;
	sf->st->counter++;
	if (vv_sf_save(sf) != 0) {
		sf->st->counter--;
		return CTAP1_ERR_OTHER;
	}
	*out = sf->st->counter;
	return CTAP2_OK;
}

/* rpIdHash | flags | signCount, then what the caller appends. */
size_t
vv_sf_authdata_head(uint8_t *ad, const uint8_t rp[32], uint8_t flags,
    uint32_t counter)
{
	memcpy(ad, rp, 32);
	ad[32] = flags;
	ad[33] = (uint8_t)(counter >> 24);
	ad[34] = (uint8_t)(counter >> 16);
	ad[35] = (uint8_t)(counter >> 8);
	ad[36] = (uint8_t)counter;
	return 37;
}

/* Serialises it after ad[*pos]; drops the reference; 0 or -1. */
int
vv_sf_append_cbor(uint8_t *ad, size_t *pos, cbor_item_t *it)
{
	size_t n;

	if (it == NULL)
		return -1;
	n = cbor_serialize(it, ad + *pos, SF_AUTHDATA_MAX - *pos);
	cbor_decref(&it);
	if (n == 0)
		return -1;
	*pos += n;
	return 0;
}

cbor_item_t *
vv_sf_ext_map(const char *name, cbor_item_t *val)
{
	cbor_item_t *m;

	if ((m = cbor_new_definite_map(1)) == NULL) {
		if (val != NULL)
			cbor_decref(&val);
		return NULL;
	}
	if (vv_sf_put(m, cbor_build_string(name), val) != 0)
		cbor_decref(&m);
	return m;
}
