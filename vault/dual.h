/*
 * dual.h - what the dual-control modules share: key managers and their
 * shares (manager.c, share_seal.c), unseal requests (request.c, unseal*.c).
 *
 * See docs/design.md, "Dual control", for the protocol these implement.
 */
#ifndef VV_DUAL_H
#define VV_DUAL_H

#include <stddef.h>
#include <stdint.h>

#include "vault/internal.h"
#include "vault/shamir.h"
#include "hsm/fido.h"

#define VV_REQ_ID_LEN      16u
#define VV_REQ_REASON_MAX  500u	/* bytes of UTF-8 */
#define VV_REQ_RECORDS_MAX 255u	/* hard limit; the policy is lower */
#define VV_REQ_TTL_MAX     (24 * 3600)
#define VV_REQ_DEFAULT_MAX_RECORDS 20
#define VV_RP_ID_MAX       64u

enum vv_req_kind {
	VV_REQ_UNSEAL = 1,	/* release the contacts of a few VIP records */
	VV_REQ_RESHARE = 2	/* split the VIP key again, among all managers */
};

/* A re-split is asked for by the administrator, not by a token. */
#define VV_RESHARE_REQUESTER "administrator"
#define VV_RESHARE_TOKEN_ID "0000000000000000"
#define VV_RESHARE_ROLE "-"
/* How a re-split's reason starts in the log. */
#define VV_RESHARE_PREFIX "re-split: "

/* A request as its canonical encoding carries it (request.c). */
struct vv_request {
	uint8_t kind;
	uint8_t vault_id[VV_ID_LEN];
	uint8_t id[VV_REQ_ID_LEN];
	int64_t created;		/* Unix seconds */
	int64_t expires;
	char requester[VV_NAME_MAX];	/* the token's user */
	char token_id[17];		/* the token's id, hex */
	char role[VV_NAME_MAX];
	uint8_t recipient_pk[crypto_box_PUBLICKEYBYTES];
	char reason[VV_REQ_REASON_MAX + 1];
	size_t nrecords;
	char records[VV_REQ_RECORDS_MAX][VV_EXTID_MAX];	/* sorted, distinct */
};

/* Encoded size is at most this. */
#define VV_REQ_ENC_MAX (64 + 3 * VV_NAME_MAX + 32 + VV_REQ_REASON_MAX + \
	VV_REQ_RECORDS_MAX * VV_EXTID_MAX)

/* Canonical bytes of r into out (VV_REQ_ENC_MAX); VV_ERR_INPUT when r
 * breaks a rule the decoder enforces. */
int vv_request_encode(const struct vv_request *r, uint8_t *out,
    size_t *outlen);
/* Parses and validates; the one accepted encoding of any request, so
 * encode(decode(b)) == b.  VV_ERR_INPUT with a message in err. */
int vv_request_decode(const uint8_t *in, size_t len, struct vv_request *r,
    char *err, size_t errlen);
/* Sorts and de-duplicates r->records in place. */
void vv_request_sort(struct vv_request *r);
/* "unseal" / "reshare". */
const char *vv_request_kind_name(int kind);

/*
 * The 32 bytes a manager's token signs: a hash of the purpose, the vault
 * id, the decision ("approve" / "deny") and the request's digest
 * (SHA-256 of its encoding).  Over the digest, not the encoding, so that
 * compliance can re-verify an approval from the log, which names no
 * client.
 */
void vv_request_challenge(const uint8_t *vault_id, const char *decision,
    const uint8_t digest[32], uint8_t cdh[32]);

/* An HSM failure as the caller sees it: a key the token no longer has is
 * the HSM failing, not a missing request or record. */
static inline int
vv_hsm_err(int r)
{
	return r == VV_ERR_NOT_FOUND ? VV_ERR_HSM : r;
}

/* The relying-party id of a vault's credentials: "vipvault-<id hex>". */
void vv_rp_id(const vv_vault *v, char out[VV_RP_ID_MAX]);

/* --------------------------------------------------- unseal_request.c */

/* A stored request, its HSM seal checked and its encoding decoded. */
struct vv_req {
	struct vv_request *req;		/* malloc'd */
	uint8_t *enc;			/* canonical encoding, malloc'd */
	size_t enclen;
	uint8_t digest[32];		/* SHA-256 of enc */
	char id[2 * VV_REQ_ID_LEN + 1];
	char state[16];
};

/* VV_ERR_NOT_FOUND, or VV_ERR_INTEGRITY for a request altered in the
 * database (its HSM seal fails) or one that does not decode. */
int vv_req_load(vv_vault *v, const char *id, struct vv_req *q);
void vv_req_clear(struct vv_req *q);
/* VV_OK when q is in state want and unexpired; else VV_ERR_DENIED naming
 * what it is. */
int vv_req_check_open(vv_vault *v, const struct vv_req *q,
    const char *want);
/* Sets the state and deletes the request's pending shares and release;
 * inside the caller's transaction. */
int vv_req_close(vv_vault *v, const char *id, const char *state);
/* Deletes a request's pending shares, in the caller's transaction. */
int vv_req_destroy_pending(vv_vault *v, const char *id);
/* Expires every open request past its time, destroying its secrets. */
int vv_req_sweep(vv_vault *v);
/* The requester's key pair for one request, from his token's secret. */
int vv_recipient_keypair(const vv_vault *v, const uint8_t *token_secret,
    const uint8_t id[VV_REQ_ID_LEN], uint8_t pk[32], uint8_t *sk);

/* ----------------------------------------- unseal_decide.c, _complete.c */

#define VV_PENDING_AAD_MAX 256u
/* Associated data of a pending share: vault, request (id and digest),
 * manager, epoch.  Of a release: vault and request digest. */
size_t vv_pending_aad(const vv_vault *v, const struct vv_req *q,
    const char *manager, uint32_t epoch, uint8_t *aad);
size_t vv_release_aad(const vv_vault *v, const struct vv_req *q,
    uint8_t *aad);
/*
 * Records a manager's decision ("approve" or "deny") carried by assertion
 * a, checking everything vv_unseal_approve checks.  vv_unseal_approve is
 * this plus asking the token; tests call it with forged assertions.
 */
int vv_unseal_submit(vv_vault *v, const char *id, const char *manager,
    const char *decision, const struct vv_fido_assertion *a, int *complete);
/* The k-th approval's work, inside its transaction (unseal_complete.c). */
int vv_unseal_complete(vv_vault *v, const struct vv_req *q, unsigned k,
    uint32_t epoch);
/* A re-split's completion: the recombined key split among every
 * manager at epoch + 1 (manager.c), inside the caller's transaction. */
int vv_dual_reshare(vv_vault *v, const uint8_t *sk, unsigned k,
    uint32_t epoch);

/* ---------------------------------------------------------- release.c */

/* What a completed request hands over: each record's contacts. */
struct vv_release_item {
	char external_id[VV_EXTID_MAX];
	const char *f[VV_CLASS_FIELDS];	/* phone, email, address */
	size_t len[VV_CLASS_FIELDS];
};

/* Appends one record to a release being built in b (a vv_buf: wiped
 * as it grows).  The first call writes the header. */
int vv_release_add(struct vv_buf *b, const uint8_t id[VV_REQ_ID_LEN],
    const char *external_id, const struct vv_class_text *t);
/* Walks a release; fn returns non-zero to stop (its value is returned).
 * VV_ERR_INPUT for a malformed release or one for another request. */
int vv_release_walk(const uint8_t *p, size_t len,
    const uint8_t id[VV_REQ_ID_LEN],
    int (*fn)(void *arg, const struct vv_release_item *it), void *arg);

/* ---------------------------------------------------------- manager.c */

struct vv_manager {
	int64_t id;
	char name[VV_NAME_MAX];
	struct vv_fido_cred cred;
	uint8_t salt[VV_FIDO_SALT_LEN];
	uint8_t share_pk[crypto_box_PUBLICKEYBYTES];
	int active;
};

/* A managers row: the columns, and the row into m (VV_ERR_INTEGRITY for
 * a corrupt credential record). */
#define VV_MANAGER_COLUMNS "id, name, cred_id, alg, pubkey, aaguid, " \
	"sign_count, uv, hmac_salt, share_pk"
int vv_manager_from_row(vv_vault *v, sqlite3_stmt *st, struct vv_manager *m);
int vv_manager_load(vv_vault *v, const char *name, struct vv_manager *m);
/* Stores m (VV_ERR_EXISTS for a name or credential already enrolled). */
int vv_manager_insert(vv_vault *v, struct vv_manager *m);
/* Enrols one manager's token (two touches): the credential and the
 * share key pair's public half into m; nothing stored. */
int vv_manager_enroll_token(vv_vault *v, const char *name,
    const vv_fido_opts *o, int require_uv, struct vv_manager *m);
/* An unsigned setting of the vault's meta table, at most max. */
int vv_meta_uint(vv_vault *v, const char *key, unsigned max, unsigned *out);
/* Stores the token's new signature counter; VV_ERR_INTEGRITY (naming the
 * manager) when it did not increase: a cloned token. */
int vv_manager_bump_count(vv_vault *v, const struct vv_manager *m,
    uint32_t count);
/* The libfido2 device description for a public vv_fido_opts. */
void vv_fido_dev_from(vv_vault *v, const vv_fido_opts *o, const char *who,
    int require_uv, struct vv_fido_dev *d);
/* Meta settings of dual control. */
int vv_dual_threshold(vv_vault *v, unsigned *k, uint32_t *epoch);
int vv_dual_dev(vv_vault *v);
int vv_dual_max_records(vv_vault *v, unsigned *max);

/* ------------------------------------------------------- share_seal.c */

/*
 * A manager's share is sealed to an X25519 key pair derived from his
 * token's hmac-secret output, so anyone may seal to him but only his
 * token opens it.  Blob: ephemeral pk || nonce || ciphertext || tag,
 * associated data binds vault, manager name, epoch and share index.
 */
#define VV_SHARE_SEALED_LEN (crypto_box_PUBLICKEYBYTES + \
	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + VV_SHARE_LEN + \
	crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* An X25519 key pair from a secret key: seed = BLAKE2b keyed by key over
 * purpose, vault id and ctx.  sk: crypto_box_SECRETKEYBYTES of guarded
 * memory. */
int vv_derive_keypair(const uint8_t *key, size_t keylen, const char *purpose,
    const uint8_t *vault_id, const void *ctx, size_t ctxlen, uint8_t pk[32],
    uint8_t *sk);
/* The manager's share key pair from an hmac-secret output; sk is
 * sodium_malloc'd memory of crypto_box_SECRETKEYBYTES. */
int vv_share_keypair(const vv_vault *v, const char *manager,
    const uint8_t hmac[VV_FIDO_HMAC_LEN], uint8_t pk[32], uint8_t *sk);
int vv_share_seal(const vv_vault *v, const char *manager, const uint8_t pk[32],
    const struct vv_share *s, uint8_t out[VV_SHARE_SEALED_LEN]);
/* VV_ERR_INTEGRITY when the blob does not open for this manager, epoch
 * and index, or is not a share. */
int vv_share_open(const vv_vault *v, const char *manager, const uint8_t *sk,
    uint32_t epoch, uint8_t index, const uint8_t *blob, size_t bloblen,
    struct vv_share *s);

#endif /* VV_DUAL_H */
