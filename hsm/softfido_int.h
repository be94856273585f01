/*
 * softfido_int.h - what the soft authenticator's files share; not part
 * of any public API.
 *
 * softfido.c        transport hooks, load/free, command dispatch, getInfo
 * softfido_state.c  the state file: parse, format, atomic rewrite, create
 * softfido_cbor.c   CBOR request checks, map look-ups, reply framing
 * softfido_crypto.c P-256, Ed25519, AES-CBC, HMAC/HKDF, PIN protocols
 * softfido_pin.c    authenticatorClientPIN, pinUvAuthParam checks
 * softfido_cred.c   credential ids and keys, what both commands share
 * softfido_ops.c    makeCredential, getAssertion, hmac-secret
 */
#ifndef VV_SOFTFIDO_INT_H
#define VV_SOFTFIDO_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>
#include <openssl/evp.h>

#include "hsm/softfido.h"

/* CTAP2 status codes (CTAP 2.1, section 8.2). */
#define CTAP2_OK			0x00
#define CTAP1_ERR_INVALID_COMMAND	0x01
#define CTAP1_ERR_INVALID_PARAMETER	0x02
#define CTAP1_ERR_INVALID_LENGTH	0x03
#define CTAP2_ERR_CBOR_UNEXPECTED_TYPE	0x11
#define CTAP2_ERR_INVALID_CBOR		0x12
#define CTAP2_ERR_MISSING_PARAMETER	0x14
#define CTAP2_ERR_CREDENTIAL_EXCLUDED	0x19
#define CTAP2_ERR_UNSUPPORTED_ALGORITHM	0x26
#define CTAP2_ERR_UNSUPPORTED_OPTION	0x2b
#define CTAP2_ERR_INVALID_OPTION	0x2c
#define CTAP2_ERR_NO_CREDENTIALS	0x2e
#define CTAP2_ERR_USER_ACTION_TIMEOUT	0x2f
#define CTAP2_ERR_NOT_ALLOWED		0x30
#define CTAP2_ERR_PIN_INVALID		0x31
#define CTAP2_ERR_PIN_BLOCKED		0x32
#define CTAP2_ERR_PIN_AUTH_INVALID	0x33
#define CTAP2_ERR_PIN_AUTH_BLOCKED	0x34
#define CTAP2_ERR_PIN_NOT_SET		0x35
#define CTAP2_ERR_PIN_REQUIRED		0x36
#define CTAP2_ERR_PIN_POLICY_VIOLATION	0x37
#define CTAP2_ERR_INVALID_SUBCOMMAND	0x3e
#define CTAP2_ERR_UNAUTHORIZED_PERMISSION 0x40
#define CTAP1_ERR_OTHER			0x7f

/* CTAP2 commands. */
#define CTAP_MAKE_CREDENTIAL	0x01
#define CTAP_GET_ASSERTION	0x02
#define CTAP_GET_INFO		0x04
#define CTAP_CLIENT_PIN		0x06

/* authenticatorData flags. */
#define SF_FLAG_UP	0x01
#define SF_FLAG_UV	0x04
#define SF_FLAG_AT	0x40
#define SF_FLAG_ED	0x80

/* pinUvAuthToken permissions. */
#define SF_PERM_MC	0x01
#define SF_PERM_GA	0x02

#define SF_SECRET_LEN	32u
#define SF_PINHASH_LEN	16u	/* LEFT(SHA-256(pin), 16), what CTAP checks */
#define SF_TOKEN_LEN	32u
#define SF_MAX_RETRIES	8u
#define SF_MAX_PIN_FAILS 3u	/* wrong PINs in a row before a power cycle */
#define SF_STATE_MAX	4096u	/* bytes in a state file */

/* COSE_ES256 (-7) and COSE_EDDSA (-8) come from <fido/param.h>. */

enum sf_presence { SF_PRESENCE_ALLOW, SF_PRESENCE_DENY };
enum sf_fault { SF_FAULT_NONE, SF_FAULT_WRONG_HMAC };

/* What the state file holds. */
struct sf_state {
	uint8_t		secret[SF_SECRET_LEN];
	uint32_t	counter;
	int		has_pin;
	uint8_t		pin_hash[SF_PINHASH_LEN];
	unsigned	pin_retries;
	enum sf_presence presence;
	enum sf_fault	fault;
	uint8_t		protocols[2];	/* in getInfo's order */
	size_t		nprotocols;
	int		ctap21;		/* advertise FIDO_2_1 and permissions */
};

/* What must not be swapped out or left behind: in sodium_malloc memory. */
struct sf_guarded {
	struct sf_state	st;
	uint8_t		token[SF_TOKEN_LEN];	/* pinUvAuthToken */
};

/*
 * One powered-up authenticator.  What a power cycle resets lives here and
 * not in the file: the key agreement key, the PIN token, the count of
 * wrong PINs in a row.  Pointers to heap objects stay out of the guarded
 * block, where leak checkers would not see them.
 */
struct vv_softfido {
	char		*path;
	struct sf_guarded *g;
	struct sf_state	*st;			/* &g->st */
	uint8_t		*token;			/* g->token */
	EVP_PKEY	*ka;			/* key agreement key */
	int		 token_valid;
	uint8_t		 token_perms;
	int		 token_has_rp;
	uint8_t		 token_rp[32];		/* SHA-256 of the bound rpId */
	unsigned	 pin_fails;
	uint8_t		 nonce[8];		/* CTAPHID_INIT */
	int		 init_pending;
	size_t		 reply_len;		/* 0: nothing to read */
	uint8_t		 reply[VV_SOFTFIDO_MSG_MAX];
};

/* ------------------------------------------------------ softfido_state.c */

/*
 * Parses a state file's text strictly: the header line, then every key
 * exactly once, each line ending in '\n'.  Returns 0, or -1 with a
 * message in err (line number and key only, never a value).
 */
int vv_sf_state_parse(const char *text, size_t len, struct sf_state *st,
    char *err, size_t errlen);
/* Formats st; returns the length, or 0 if out is too small. */
size_t vv_sf_state_format(const struct sf_state *st, char *out,
    size_t outlen);
/* Reads and parses the state file at path after checking its owner and
 * mode; 0, or -1 with a message in err. */
int vv_sf_state_read(const char *path, struct sf_state *st, char *err,
    size_t errlen);
/* Rewrites sf's state file atomically; 0 or -1. */
int vv_sf_save(struct vv_softfido *sf);
/* 1 if pin (len bytes) is 4..63 bytes of UTF-8 with at least 4 code
 * points, CTAP's default minimum. */
int vv_sf_pin_ok(const uint8_t *pin, size_t len);

/* ------------------------------------------------------- softfido_cbor.c */

/* 0 if buf holds exactly one well-formed, definite-length CBOR item whose
 * declared sizes fit in buf; -1 otherwise.  Run before cbor_load so that
 * a forged count cannot make libcbor allocate more than the input. */
int vv_sf_cbor_check(const uint8_t *buf, size_t len);
/* The value under integer key k (or text key s) of map m: 0 with *v set,
 * or NULL when absent; -1 if the key occurs twice. */
int vv_sf_map_int(const cbor_item_t *m, int64_t k, const cbor_item_t **v);
int vv_sf_map_str(const cbor_item_t *m, const char *s,
    const cbor_item_t **v);
/* Typed reads: 0, or -1 if it has another type. */
int vv_sf_bytes(const cbor_item_t *it, const uint8_t **p, size_t *len);
int vv_sf_text(const cbor_item_t *it, const char **p, size_t *len);
int vv_sf_uint(const cbor_item_t *it, uint64_t *v);
int vv_sf_int(const cbor_item_t *it, int64_t *v);
int vv_sf_bool(const cbor_item_t *it, int *v);
/* Optional fields of a request map, as CTAP2 statuses; a present field
 * gets a non-NULL pointer (has = 1), even when it is empty. */
int vv_sf_opt_bytes(const cbor_item_t *m, int64_t k, const uint8_t **p,
    size_t *len);
int vv_sf_opt_text(const cbor_item_t *m, int64_t k, const char **p,
    size_t *len);
int vv_sf_opt_uint(const cbor_item_t *m, int64_t k, uint64_t *v, int *has);
int vv_sf_opt_item(const cbor_item_t *m, int64_t k, const cbor_item_t **v);
/* Adds key/val to map and drops the caller's references to both (NULLs
 * allowed: then it fails); 0 or -1. */
int vv_sf_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *val);
/* Builds an int, negative or not. */
cbor_item_t *vv_sf_build_int(int64_t v);
/* Encodes a P-256 point as a COSE_Key with alg. */
cbor_item_t *vv_sf_cose_p256(const uint8_t x[32], const uint8_t y[32],
    int alg);
/* Reads a P-256 COSE_Key (kty 2, crv 1); 0 or -1. */
int vv_sf_cose_p256_read(const cbor_item_t *m, uint8_t x[32],
    uint8_t y[32]);
/* status byte + serialised map (or the status byte alone); the length. */
size_t vv_sf_frame(uint8_t *reply, size_t max, uint8_t status,
    const cbor_item_t *map);

/* ----------------------------------------------------- softfido_crypto.c */

struct sf_iov {
	const void	*p;
	size_t		 len;
};

/* HMAC-SHA-256 over the concatenation of n pieces. */
void vv_sf_hmac(uint8_t out[32], const uint8_t *key, size_t keylen,
    const struct sf_iov *iov, size_t n);
/* A 32-byte key for one purpose, derived from the device secret. */
void vv_sf_subkey(uint8_t out[32], const uint8_t secret[SF_SECRET_LEN],
    const char *label);
/* A fresh P-256 key; NULL on failure. */
EVP_PKEY *vv_sf_p256_new(void);
/* The affine coordinates of a P-256 key's public point; 0 or -1. */
int vv_sf_p256_pub(EVP_PKEY *k, uint8_t x[32], uint8_t y[32]);
/* The P-256 key with private scalar d (big-endian), or NULL if d is 0 or
 * not below the group order. */
EVP_PKEY *vv_sf_p256_from_scalar(const uint8_t d[32]);
/* ECDH with the peer (x, y), which must lie on the curve: z is the shared
 * point's x coordinate.  0 or -1. */
int vv_sf_ecdh(EVP_PKEY *k, const uint8_t x[32], const uint8_t y[32],
    uint8_t z[32]);
/* DER ECDSA-SHA-256 signature over the pieces; 0 or -1. */
int vv_sf_es256_sign(EVP_PKEY *k, const struct sf_iov *iov, size_t n,
    uint8_t *sig, size_t *siglen);
/* AES-256-CBC without padding, len a multiple of 16; 0 or -1. */
int vv_sf_aes_cbc(const uint8_t key[32], const uint8_t iv[16],
    const uint8_t *in, size_t len, uint8_t *out, int enc);

/*
 * PIN/UV auth protocols 1 and 2 (CTAP 2.1, 6.5.6 and 6.5.7).  shared is
 * 32 bytes (protocol 1) or 64 (2: HMAC key, then AES key).
 */
size_t vv_sf_pp_shared_len(unsigned proto);
int vv_sf_pp_shared(unsigned proto, const uint8_t z[32], uint8_t *shared);
/* Ciphertext length for a plaintext of len bytes. */
size_t vv_sf_pp_ct_len(unsigned proto, size_t len);
int vv_sf_pp_encrypt(unsigned proto, const uint8_t *shared,
    const uint8_t *in, size_t len, uint8_t *out);
/* Decrypts ct into out, which holds want bytes; -1 unless ct is exactly
 * the ciphertext of want bytes. */
int vv_sf_pp_decrypt(unsigned proto, const uint8_t *shared,
    const uint8_t *ct, size_t ctlen, uint8_t *out, size_t want);
/* Checks sig = authenticate(key, pieces): 16 bytes (protocol 1) or 32;
 * key is 32 bytes (a PIN token, or the HMAC part of shared).  0 or -1,
 * in constant time. */
int vv_sf_pp_verify(unsigned proto, const uint8_t key[32],
    const struct sf_iov *iov, size_t n, const uint8_t *sig, size_t siglen);

/* -------------------------------------------------------- softfido_pin.c */

int vv_sf_client_pin(struct vv_softfido *sf, const cbor_item_t *req,
    cbor_item_t **resp);
/* 0 if proto is one of those getInfo advertises. */
int vv_sf_proto_ok(const struct vv_softfido *sf, uint64_t proto);
/* Checks a makeCredential/getAssertion pinUvAuthParam against the PIN
 * token: a CTAP2 status. */
int vv_sf_check_uv(struct vv_softfido *sf, unsigned proto,
    const uint8_t cdh[32], const uint8_t *param, size_t paramlen,
    uint8_t perm, const uint8_t rp_hash[32]);
/* Agrees a shared secret with the platform key in a COSE_Key; a CTAP2
 * status.  shared holds 64 bytes. */
int vv_sf_agree(struct vv_softfido *sf, unsigned proto,
    const cbor_item_t *cose, uint8_t *shared);

/* ------------------------------------------------------- softfido_cred.c */

#define SF_ID_VERSION	1
#define SF_ID_ES256	1
#define SF_ID_EDDSA	2
#define SF_ID_HMAC	0x01	/* flag: made with hmac-secret */
#define SF_ID_HEAD	19u	/* version, alg, flags, nonce */
#define SF_ID_LEN	(SF_ID_HEAD + 32u)
#define SF_AUTHDATA_MAX	512u
#define SF_SIG_MAX	80u	/* DER ECDSA P-256: 72 at most */

struct sf_cred {
	uint8_t	id[SF_ID_LEN];
	int	alg;			/* COSE */
	uint8_t	rp[32];			/* SHA-256(rpId) */
};

struct sf_key {
	int		 alg;
	EVP_PKEY	*p256;
	uint8_t		 ed_pk[32];
	uint8_t		 ed_sk[64];
};

/* Options, each -1 when absent. */
struct sf_opts {
	int	rk, up, uv;
};

/* What makeCredential and getAssertion share. */
struct sf_req {
	const uint8_t		*cdh, *auth;
	size_t			 cdhlen, authlen;
	const char		*rpid;
	size_t			 rpidlen;
	const cbor_item_t	*list;		/* excludeList, allowList */
	const cbor_item_t	*ext;
	struct sf_opts		 o;
	uint64_t		 proto;
	int			 has_proto;
	uint8_t			 rp[32];
};

/* A new credential id for the RP. */
void vv_sf_cred_new(const struct vv_softfido *sf, int alg, int hmac,
    const uint8_t rp[32], struct sf_cred *c);
/* 0 if id is one of this token's credentials for the RP. */
int vv_sf_cred_open(const struct vv_softfido *sf, const uint8_t *id,
    size_t len, const uint8_t rp[32], struct sf_cred *c);
/* The credential's CredRandom, with or without UV (or a wrong one, when
 * the state's fault knob says so). */
void vv_sf_cred_random(const struct vv_softfido *sf, const struct sf_cred *c,
    int uv, uint8_t out[32]);
int vv_sf_key_derive(const struct vv_softfido *sf, const struct sf_cred *c,
    struct sf_key *k);
void vv_sf_key_clear(struct sf_key *k);
cbor_item_t *vv_sf_key_cose(const struct sf_key *k);
/* Signs authenticatorData | clientDataHash; sig holds SF_SIG_MAX. */
int vv_sf_key_sign(const struct sf_key *k, const uint8_t *ad, size_t adlen,
    const uint8_t *cdh, uint8_t *sig, size_t *siglen);
/* Reads the fields both commands have (mc: makeCredential's keys); a
 * CTAP2 status. */
int vv_sf_req_parse(const cbor_item_t *m, int mc, struct sf_req *q);
int vv_sf_req_rpid(struct sf_req *q, const char *id, size_t len);
/* The pinUvAuthParam rules; *uv tells whether the PIN verified. */
int vv_sf_user_verify(struct vv_softfido *sf, const struct sf_req *q, int mc,
    int *uv);
/* The first descriptor in q->list that is ours for the RP. */
int vv_sf_find_cred(const struct vv_softfido *sf, const struct sf_req *q,
    struct sf_cred *c, int *found);
/* Counts a signature and saves the state before anyone sees it. */
int vv_sf_bump_counter(struct vv_softfido *sf, uint32_t *out);
size_t vv_sf_authdata_head(uint8_t *ad, const uint8_t rp[32], uint8_t flags,
    uint32_t counter);
/* Serialises it into ad at *pos (ad holds SF_AUTHDATA_MAX) and drops the
 * reference; 0 or -1. */
int vv_sf_append_cbor(uint8_t *ad, size_t *pos, cbor_item_t *it);
/* { name: val }, taking val's reference. */
cbor_item_t *vv_sf_ext_map(const char *name, cbor_item_t *val);

/* -------------------------------------------------------- softfido_ops.c */

int vv_sf_make_credential(struct vv_softfido *sf, const cbor_item_t *req,
    cbor_item_t **resp);
int vv_sf_get_assertion(struct vv_softfido *sf, const cbor_item_t *req,
    cbor_item_t **resp);

/* ------------------------------------------------------------ softfido.c */

/* Loads the state at path (a "soft:" prefix is allowed) into a fresh
 * authenticator; 0, or -1 with a message in err. */
int vv_sf_load(const char *path, struct vv_softfido **out, char *err,
    size_t errlen);
/* The user's touch, as the state's presence knob decides: a status. */
int vv_sf_presence(const struct vv_softfido *sf);

#endif /* VV_SOFTFIDO_INT_H */
