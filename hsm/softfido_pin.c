/*
 * softfido_pin.c - authenticatorClientPIN (CTAP 2.1, 6.5) and the check
 * of a pinUvAuthParam on makeCredential and getAssertion.
 *
 * PIN retries are counted down and written to the state file before the
 * PIN is compared, as CTAP asks: pulling the plug in the middle of a
 * guess must not give the guess back.
 */
#include <string.h>

#include <cbor.h>
#include <sodium.h>

#include "hsm/softfido_int.h"

#define SUB_GET_RETRIES		0x01
#define SUB_GET_KEY_AGREEMENT	0x02
#define SUB_SET_PIN		0x03
#define SUB_CHANGE_PIN		0x04
#define SUB_GET_PIN_TOKEN	0x05
#define SUB_GET_TOKEN_PERMS	0x09

#define PADDED_PIN_LEN		64u

struct pin_req {
	uint64_t		 proto;
	int			 has_proto;
	uint64_t		 sub;
	const cbor_item_t	*ka;
	const uint8_t		*auth, *newpin, *pinhash;
	size_t			 authlen, newpinlen, pinhashlen;
	uint64_t		 perms;
	int			 has_perms;
	const char		*rpid;
	size_t			 rpidlen;
};

static int
parse_req(const cbor_item_t *m, struct pin_req *q)
{
	int has_sub, r;

	memset(q, 0, sizeof(*q));
	if ((r = vv_sf_opt_uint(m, 1, &q->proto, &q->has_proto)) != 0 ||
	    (r = vv_sf_opt_uint(m, 2, &q->sub, &has_sub)) != 0 ||
	    (r = vv_sf_opt_item(m, 3, &q->ka)) != 0 ||
	    (r = vv_sf_opt_bytes(m, 4, &q->auth, &q->authlen)) != 0 ||
	    (r = vv_sf_opt_bytes(m, 5, &q->newpin, &q->newpinlen)) != 0 ||
	    (r = vv_sf_opt_bytes(m, 6, &q->pinhash, &q->pinhashlen)) != 0 ||
	    (r = vv_sf_opt_uint(m, 9, &q->perms, &q->has_perms)) != 0 ||
	    (r = vv_sf_opt_text(m, 10, &q->rpid, &q->rpidlen)) != 0)
		return r;
	return has_sub ? CTAP2_OK : CTAP2_ERR_MISSING_PARAMETER;
}

int
vv_sf_proto_ok(const struct vv_softfido *sf, uint64_t proto)
{
	size_t i;

	for (i = 0; i < sf->st->nprotocols; i++)
		if (sf->st->protocols[i] == proto)
			return 0;
	return -1;
}

/* A new key agreement key; the old one stays if that fails. */
static void
regenerate(struct vv_softfido *sf)
{
	EVP_PKEY *k;

	if ((k = vv_sf_p256_new()) == NULL)
		return;
	EVP_PKEY_free(sf->ka);
	sf->ka = k;
}

int
vv_sf_agree(struct vv_softfido *sf, unsigned proto, const cbor_item_t *cose,
    uint8_t *shared)
{
	uint8_t x[32], y[32], z[32];
	int r = CTAP1_ERR_INVALID_PARAMETER;

	if (cose == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (vv_sf_cose_p256_read(cose, x, y) != 0 ||
	    vv_sf_ecdh(sf->ka, x, y, z) != 0 ||
	    vv_sf_pp_shared(proto, z, shared) != 0)
		goto out;
	r = CTAP2_OK;
out:
	sodium_memzero(z, sizeof(z));
	return r;
}

/* Persists st, or puts back the state the file still holds. */
static int
commit(struct vv_softfido *sf, const struct sf_state *old)
{
	if (vv_sf_save(sf) == 0)
		return CTAP2_OK;
	*sf->st = *old;
	return CTAP1_ERR_OTHER;
}

/*
 * Compares the decrypted pinHashEnc with the PIN.  A wrong PIN costs a
 * retry and the key agreement key, so that the platform must start over.
 */
static int
check_pin(struct vv_softfido *sf, unsigned proto, const uint8_t *shared,
    const struct pin_req *q)
{
	struct sf_state old;
	uint8_t got[SF_PINHASH_LEN];
	int r, ok;

	if (!sf->st->has_pin)
		return CTAP2_ERR_PIN_NOT_SET;
	if (sf->st->pin_retries == 0)
		return CTAP2_ERR_PIN_BLOCKED;
	if (sf->pin_fails >= SF_MAX_PIN_FAILS)
		return CTAP2_ERR_PIN_AUTH_BLOCKED;
	if (q->pinhash == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (vv_sf_pp_decrypt(proto, shared, q->pinhash, q->pinhashlen, got,
	    sizeof(got)) != 0)
		return CTAP1_ERR_INVALID_PARAMETER;
	old = *sf->st;
	sf->st->pin_retries--;
	if ((r = commit(sf, &old)) != CTAP2_OK)
		goto out;
	ok = sodium_memcmp(got, sf->st->pin_hash, sizeof(got)) == 0;
	if (!ok) {
		regenerate(sf);
		sf->pin_fails++;
		if (sf->st->pin_retries == 0)
			r = CTAP2_ERR_PIN_BLOCKED;
		else if (sf->pin_fails >= SF_MAX_PIN_FAILS)
			r = CTAP2_ERR_PIN_AUTH_BLOCKED;
		else
			r = CTAP2_ERR_PIN_INVALID;
		goto out;
	}
	sf->pin_fails = 0;
	old = *sf->st;
	sf->st->pin_retries = SF_MAX_RETRIES;
	r = commit(sf, &old);
out:
	sodium_memzero(&old, sizeof(old));
	sodium_memzero(got, sizeof(got));
	return r;
}

/* Decrypts newPinEnc and stores the PIN's hash in st (not yet saved). */
static int
take_new_pin(struct vv_softfido *sf, unsigned proto, const uint8_t *shared,
    const struct pin_req *q)
{
	uint8_t pin[PADDED_PIN_LEN], digest[crypto_hash_sha256_BYTES];
	const uint8_t *nul;
	size_t len;
	int r = CTAP2_ERR_PIN_POLICY_VIOLATION;

	if (vv_sf_pp_decrypt(proto, shared, q->newpin, q->newpinlen, pin,
	    sizeof(pin)) != 0) {
		r = CTAP1_ERR_INVALID_PARAMETER;
		goto out;
	}
	if ((nul = memchr(pin, 0, sizeof(pin))) == NULL)
		goto out;
	len = (size_t)(nul - pin);
	if (!vv_sf_pin_ok(pin, len))
		goto out;
	crypto_hash_sha256(digest, pin, len);
	memcpy(sf->st->pin_hash, digest, sizeof(sf->st->pin_hash));
	sf->st->has_pin = 1;
	sf->st->pin_retries = SF_MAX_RETRIES;
	r = CTAP2_OK;
out:
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(digest, sizeof(digest));
	return r;
}

static int
set_pin(struct vv_softfido *sf, unsigned proto, const uint8_t *shared,
    const struct pin_req *q)
{
	struct sf_state old = *sf->st;
	struct sf_iov iov = { q->newpin, q->newpinlen };
	int r;

	if (sf->st->has_pin)
		r = CTAP2_ERR_PIN_AUTH_INVALID;
	else if (q->auth == NULL || q->newpin == NULL)
		r = CTAP2_ERR_MISSING_PARAMETER;
	else if (vv_sf_pp_verify(proto, shared, &iov, 1, q->auth,
	    q->authlen) != 0)
		r = CTAP2_ERR_PIN_AUTH_INVALID;
	else if ((r = take_new_pin(sf, proto, shared, q)) == CTAP2_OK)
		r = commit(sf, &old);
	else
		*sf->st = old;
	sodium_memzero(&old, sizeof(old));
	return r;
}

static int
change_pin(struct vv_softfido *sf, unsigned proto, const uint8_t *shared,
    const struct pin_req *q)
{
	struct sf_state old;
	struct sf_iov iov[2] = { { q->newpin, q->newpinlen },
	    { q->pinhash, q->pinhashlen } };
	int r;

	if (!sf->st->has_pin)
		return CTAP2_ERR_PIN_NOT_SET;
	if (sf->st->pin_retries == 0)
		return CTAP2_ERR_PIN_BLOCKED;
	if (q->auth == NULL || q->newpin == NULL || q->pinhash == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (vv_sf_pp_verify(proto, shared, iov, 2, q->auth, q->authlen) != 0)
		return CTAP2_ERR_PIN_AUTH_INVALID;
	if ((r = check_pin(sf, proto, shared, q)) != CTAP2_OK)
		return r;
	old = *sf->st;
	sf->token_valid = 0;
	if ((r = take_new_pin(sf, proto, shared, q)) == CTAP2_OK)
		r = commit(sf, &old);
	else
		*sf->st = old;
	sodium_memzero(&old, sizeof(old));
	return r;
}

/* Which permissions a token asks for, and for which RP: subcommand 5 is
 * CTAP 2.0's getPinToken (mc and ga, any RP), 9 is CTAP 2.1's. */
static int
token_scope(const struct vv_softfido *sf, const struct pin_req *q,
    uint8_t *perms)
{
	if (q->sub == SUB_GET_PIN_TOKEN) {
		if (q->has_perms || q->rpid != NULL)
			return CTAP1_ERR_INVALID_PARAMETER;
		*perms = SF_PERM_MC | SF_PERM_GA;
		return CTAP2_OK;
	}
	if (!sf->st->ctap21)
		return CTAP2_ERR_INVALID_SUBCOMMAND;
	if (!q->has_perms)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (q->perms == 0)
		return CTAP1_ERR_INVALID_PARAMETER;
	if ((q->perms & ~(uint64_t)(SF_PERM_MC | SF_PERM_GA)) != 0)
		return CTAP2_ERR_UNAUTHORIZED_PERMISSION;
	if (q->rpid == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	*perms = (uint8_t)q->perms;
	return CTAP2_OK;
}

static int
get_token(struct vv_softfido *sf, unsigned proto, const uint8_t *shared,
    const struct pin_req *q, cbor_item_t **resp)
{
	uint8_t enc[16 + SF_TOKEN_LEN];
	uint8_t perms = 0;
	int r;

	if ((r = token_scope(sf, q, &perms)) != CTAP2_OK ||
	    (r = check_pin(sf, proto, shared, q)) != CTAP2_OK)
		return r;
	/* A new token each time: the old one dies with the old scope. */
	randombytes_buf(sf->token, SF_TOKEN_LEN);
	sf->token_valid = 1;
	sf->token_perms = perms;
	if ((sf->token_has_rp = q->rpid != NULL))
		crypto_hash_sha256(sf->token_rp, (const uint8_t *)q->rpid,
		    q->rpidlen);
	if (vv_sf_pp_encrypt(proto, shared, sf->token, SF_TOKEN_LEN,
	    enc) != 0 || (*resp = cbor_new_definite_map(1)) == NULL)
		return CTAP1_ERR_OTHER;
	if (vv_sf_put(*resp, cbor_build_uint8(2), cbor_build_bytestring(enc,
	    vv_sf_pp_ct_len(proto, SF_TOKEN_LEN))) != 0)
		return CTAP1_ERR_OTHER;
	return CTAP2_OK;
}

static int
key_agreement(struct vv_softfido *sf, cbor_item_t **resp)
{
	uint8_t x[32], y[32];

	/* -25: ECDH-ES+HKDF-256, as CTAP asks, whatever the protocol. */
	if (vv_sf_p256_pub(sf->ka, x, y) != 0 ||
	    (*resp = cbor_new_definite_map(1)) == NULL ||
	    vv_sf_put(*resp, cbor_build_uint8(1), vv_sf_cose_p256(x, y,
	    -25)) != 0)
		return CTAP1_ERR_OTHER;
	return CTAP2_OK;
}

static int
retries(struct vv_softfido *sf, cbor_item_t **resp)
{
	if ((*resp = cbor_new_definite_map(1)) == NULL ||
	    vv_sf_put(*resp, cbor_build_uint8(3),
	    cbor_build_uint8((uint8_t)sf->st->pin_retries)) != 0)
		return CTAP1_ERR_OTHER;
	return CTAP2_OK;
}

/* The subcommands that carry a keyAgreement and a shared secret. */
static int
with_shared(struct vv_softfido *sf, const struct pin_req *q,
    cbor_item_t **resp)
{
	uint8_t shared[64];
	unsigned proto = (unsigned)q->proto;
	int r;

	if ((r = vv_sf_agree(sf, proto, q->ka, shared)) != CTAP2_OK)
		goto out;
	switch (q->sub) {
	case SUB_SET_PIN:
		r = set_pin(sf, proto, shared, q);
		break;
	case SUB_CHANGE_PIN:
		r = change_pin(sf, proto, shared, q);
		break;
	default:
		r = get_token(sf, proto, shared, q, resp);
		break;
	}
out:
	sodium_memzero(shared, sizeof(shared));
	return r;
}

int
vv_sf_client_pin(struct vv_softfido *sf, const cbor_item_t *req,
    cbor_item_t **resp)
{
	struct pin_req q;
	int r;

	if ((r = parse_req(req, &q)) != CTAP2_OK)
		return r;
	/* libfido2 asks for retries under protocol 1 whatever it uses. */
	if (q.sub == SUB_GET_RETRIES)
		return retries(sf, resp);
	if (q.sub != SUB_GET_KEY_AGREEMENT && q.sub != SUB_SET_PIN &&
	    q.sub != SUB_CHANGE_PIN && q.sub != SUB_GET_PIN_TOKEN &&
	    q.sub != SUB_GET_TOKEN_PERMS)
		return CTAP2_ERR_INVALID_SUBCOMMAND;
	if (!q.has_proto)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (vv_sf_proto_ok(sf, q.proto) != 0)
		return CTAP1_ERR_INVALID_PARAMETER;
	if (q.sub == SUB_GET_KEY_AGREEMENT)
		return key_agreement(sf, resp);
	return with_shared(sf, &q, resp);
}

int
vv_sf_check_uv(struct vv_softfido *sf, unsigned proto, const uint8_t cdh[32],
    const uint8_t *param, size_t paramlen, uint8_t perm,
    const uint8_t rp_hash[32])
{
	struct sf_iov iov = { cdh, 32 };

	if (!sf->token_valid ||
	    vv_sf_pp_verify(proto, sf->token, &iov, 1, param, paramlen) != 0)
		return CTAP2_ERR_PIN_AUTH_INVALID;
	/* CTAP 2.1 answers a token used outside its scope the same way. */
	if ((sf->token_perms & perm) == 0 || (sf->token_has_rp &&
	    sodium_memcmp(sf->token_rp, rp_hash, 32) != 0))
		return CTAP2_ERR_PIN_AUTH_INVALID;
	return CTAP2_OK;
}
