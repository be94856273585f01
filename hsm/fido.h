/*
 * fido.h - key managers' FIDO2 tokens, through libfido2.
 *
 * Three things are asked of a token: make a credential with the
 * hmac-secret extension (enrolment), and sign an assertion over a
 * challenge we choose, optionally returning its hmac-secret output for a
 * salt we stored (approval).  Verification of a stored assertion needs no
 * token and is here too, so that everything FIDO2 sits behind one header.
 *
 * Device paths are libfido2's (/dev/hidrawN), or "soft:STATEFILE" for the
 * software authenticator (hsm/softfido.h).  A NULL path picks the first
 * token libfido2 finds.
 */
#ifndef VV_FIDO_H
#define VV_FIDO_H

#include <stddef.h>
#include <stdint.h>

#define VV_FIDO_CREDID_MAX 256u
#define VV_FIDO_PK_MAX     65u	/* ES256 x||y (64) or Ed25519 (32) */
#define VV_FIDO_AUTHDATA_MAX 1024u	/* CBOR-wrapped authenticator data */
#define VV_FIDO_SIG_MAX    128u
#define VV_FIDO_HMAC_LEN   32u
#define VV_FIDO_SALT_LEN   32u
#define VV_FIDO_PIN_MAX    64u

/* COSE algorithm numbers, as libfido2 takes them. */
#define VV_FIDO_ES256 (-7)
#define VV_FIDO_EDDSA (-8)

/* What the vault keeps of an enrolled credential. */
struct vv_fido_cred {
	uint8_t id[VV_FIDO_CREDID_MAX];
	size_t id_len;
	int alg;
	uint8_t pk[VV_FIDO_PK_MAX];
	size_t pk_len;
	uint8_t aaguid[16];
	uint32_t sign_count;
	int uv;			/* enrolled with user verification (PIN) */
};

/*
 * Asks for the token's PIN when it has one.  Writes a NUL-terminated PIN
 * into pin (pinmax bytes) and returns 0, or returns -1 to give up.  The
 * caller wipes pin.
 */
typedef int vv_fido_pin_fn(void *arg, const char *prompt, char *pin,
    size_t pinmax);

struct vv_fido_dev {
	const char *path;	/* NULL: the first token found */
	vv_fido_pin_fn *pin_fn;	/* NULL: a token with a PIN fails */
	void *pin_arg;
	const char *who;	/* "manager alice", for prompts */
	/* Before enrolment, to have the token inserted; may be NULL. */
	int (*ready_fn)(void *arg, const char *who);
	void *ready_arg;
	int require_uv;		/* refuse a token without a PIN */
	int allow_soft;		/* accept the software authenticator */
};

/* An assertion as the token gave it. */
struct vv_fido_assertion {
	uint8_t authdata[VV_FIDO_AUTHDATA_MAX];	/* CBOR byte string */
	size_t authdata_len;
	uint8_t sig[VV_FIDO_SIG_MAX];
	size_t sig_len;
	uint32_t sign_count;
	uint8_t *hmac;		/* sodium_malloc'd VV_FIDO_HMAC_LEN, or NULL */
};

/*
 * Makes a non-resident credential for rp_id / user with hmac-secret, alg
 * ES256 or EdDSA, checks its attestation and fills cred.  VV_ERR_* codes;
 * a message in err.
 */
int vv_fido_enroll(const struct vv_fido_dev *d, const char *rp_id,
    const char *user, int alg, struct vv_fido_cred *cred, char *err,
    size_t errlen);

/*
 * Asks the token for an assertion by cred over cdh (32 bytes) with user
 * presence, and with user verification when cred->uv.  With salt (32
 * bytes), also its hmac-secret output.  The assertion is not verified
 * here: see vv_fido_verify.  Free with vv_fido_assertion_clear.
 */
int vv_fido_assert(const struct vv_fido_dev *d, const char *rp_id,
    const struct vv_fido_cred *cred, const uint8_t cdh[32],
    const uint8_t *salt, struct vv_fido_assertion *a, char *err,
    size_t errlen);
void vv_fido_assertion_clear(struct vv_fido_assertion *a);

/*
 * Verifies authdata/sig against cred for rp_id and cdh: the signature,
 * the relying party, user presence, and user verification when cred->uv.
 * hmac_ext says whether the assertion carried hmac-secret (libfido2
 * insists the extensions match).  The signature counter is returned in
 * *count (the caller decides about clones).  VV_OK or VV_ERR_INTEGRITY.
 */
int vv_fido_verify(const char *rp_id, const struct vv_fido_cred *cred,
    const uint8_t cdh[32], int hmac_ext, const uint8_t *authdata,
    size_t authdata_len, const uint8_t *sig, size_t sig_len,
    uint32_t *count);

/* "es256" / "eddsa" and back; 0 for an unknown name. */
const char *vv_fido_alg_name(int alg);
int vv_fido_alg_from_name(const char *name);

#endif
