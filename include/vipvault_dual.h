/*
 * vipvault_dual.h - dual control: key managers on FIDO2 tokens, the
 * VIP contact key as Shamir shares, unseal requests and their release.
 * Included by vipvault.h: include that one.  Conventions as there.
 */
#ifndef VIPVAULT_DUAL_H
#define VIPVAULT_DUAL_H

#include "vipvault.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -------------------------------------------------------- dual control */

/*
 * VIP contacts are sealed to a key that exists only as Shamir shares (k
 * of n) held by key managers, each share sealed to his FIDO2 token's
 * hmac-secret.  An unseal request names a few VIP records and a reason;
 * k distinct managers approve it by touching their tokens; the requester
 * then fetches those records' contacts once.
 */

/* Asks for a FIDO2 token's PIN: writes it NUL-terminated into pin and
 * returns 0, or returns -1 to give up.  The library wipes pin. */
typedef int vv_pin_fn(void *arg, const char *prompt, char *pin,
    size_t pinmax);

#define VV_ALG_ES256 (-7)	/* COSE numbers */
#define VV_ALG_EDDSA (-8)

/* Reads a PIN from a file that is ours alone (a regular file of mode
 * 0600 or stricter, owned by us), dropping trailing newlines, into pin
 * (pinmax bytes).  VV_ERR_IO with the reason in err otherwise. */
int vv_pin_file_read(const char *path, char *pin, size_t pinmax, char *err,
    size_t errlen);

/* Which FIDO2 token, and how to ask for its PIN. */
typedef struct vv_fido_opts {
	const char *device;	/* NULL: the first token found; "soft:FILE"
				 * a software token (development vaults) */
	int alg;		/* 0 (ES256), VV_ALG_ES256 or VV_ALG_EDDSA */
	vv_pin_fn *pin_fn;	/* NULL: tokens with a PIN fail */
	void *pin_arg;
	/* Called before a token is enrolled, e.g. to have the manager
	 * insert his; a non-zero return gives up.  NULL: use it at once. */
	int (*ready_fn)(void *arg, const char *who);
	void *ready_arg;
} vv_fido_opts;

typedef struct vv_dual_config {
	unsigned threshold;	/* k, 2 <= k <= managers; 0 means 2 */
	unsigned max_records;	/* per request; 0 means 20 */
	int require_uv;		/* tokens must verify their user (PIN) */
} vv_dual_config;

/* vv_vault_create, optionally setting up dual control in the same step:
 * if enrolling a manager fails, no vault is left behind. */
typedef struct vv_create_opts {
	const char *pkcs11_uri;		/* NULL: a development SoftHSM2 token */
	size_t nmanagers;		/* 0: VIP contacts stay write-only */
	const char *const *managers;
	const vv_fido_opts *fido;	/* one per manager, or NULL */
	vv_dual_config dual;
	/* The compliance mirror: a directory compliance owns, and the
	 * officer's public key file (vipvault compliance keygen).  NULL on
	 * a development vault: a mirror in DIR/mirror, and a development
	 * officer key in DIR/compliance.key and .pub.  Without a mirror,
	 * no VIP contact is ever released (fail closed). */
	const char *compliance_dir;
	const char *compliance_pub;
	/* A PostgreSQL database compliance owns (libpq connection string;
	 * docs/compliance-pg.sql sets it up): a second mirror, whose signed
	 * receipts the vault checks.  NULL: none. */
	const char *compliance_pg;
	/* A local syslog socket (e.g. /dev/log) that gets a best-effort
	 * RFC 5424 copy of every entry, for a SIEM; NULL: none. */
	const char *syslog_socket;
} vv_create_opts;
int vv_vault_create_with(vv_vault **out, const char *dir,
    const vv_create_opts *o, char *errmsg, size_t errlen);

/*
 * Enrolls n key managers (names[i] touching the token opts[i]: a
 * credential with hmac-secret, then an assertion to derive his share
 * key), makes a new VIP contact key, splits it k of n, seals each share
 * to its manager and wipes the key.  Only before any VIP contact is
 * stored and when no manager exists.  Each manager touches his token
 * twice.
 */
int vv_dual_setup(vv_vault *v, const char *const *names,
    const vv_fido_opts *opts, size_t n, const vv_dual_config *cfg);

/* The dual-control settings; VV_ERR_NOT_FOUND before vv_dual_setup. */
int vv_dual_get(vv_vault *v, vv_dual_config *cfg, uint32_t *epoch);

typedef struct vv_manager_info {
	const char *name;
	const char *alg;		/* "es256" or "eddsa" */
	const char *aaguid;		/* 32 hex digits */
	uint32_t sign_count;
	uint32_t share_epoch;		/* 0: holds no share */
	int uv;				/* enrolled with a PIN */
	int soft;			/* a software authenticator */
	int64_t created;
} vv_manager_info;

typedef int vv_manager_fn(void *arg, const vv_manager_info *m);
int vv_manager_foreach(vv_vault *v, vv_manager_fn *fn, void *arg);

/* A request id: 32 hex digits and a NUL. */
#define VV_REQ_ID_HEX 33

/*
 * Enrolls one more key manager after setup.  He holds no share until the
 * key is split again (vv_manager_reshare); until then he can neither
 * approve nor deny.
 */
int vv_manager_enroll(vv_vault *v, const char *name,
    const vv_fido_opts *opts);

/*
 * Asks k managers to split the VIP key again, among every enrolled
 * manager, at the next key epoch: a request like an unseal (approved with
 * vv_unseal_approve), naming no records.  When the k-th approves, the key
 * is recombined, split anew, the old epoch's shares are deleted, and
 * pending unseal requests (whose approvals hold old shares) are closed.
 * The key itself does not change: copies of old shares still combine.
 */
int vv_manager_reshare(vv_vault *v, const char *reason, int64_t ttl,
    char id_out[VV_REQ_ID_HEX]);

/*
 * Asks for the contacts of VIP records external_ids[0..n) for reason,
 * valid for ttl seconds (0: 15 minutes; at most 24 hours).  The token's
 * role must read VIP records and see each of them; non-VIP records are
 * refused (they need no unseal).  The request id (32 hex digits) goes
 * to id_out.
 */
int vv_unseal_request(vv_vault *v, const char *token,
    const char *const *external_ids, size_t n, const char *reason,
    int64_t ttl, char id_out[VV_REQ_ID_HEX]);

typedef struct vv_unseal_info {
	const char *id;
	const char *kind;	/* "unseal", or "reshare" (a re-split) */
	const char *state;	/* pending, approved, denied, fetched,
				 * expired; a re-split ends done */
	const char *requester;
	const char *role;
	const char *reason;
	int64_t created;
	int64_t expires;
	size_t nrecords;
	const char *const *records;
	size_t napproved;	/* distinct managers who approved */
	const char *const *approvers;
	const char *denied_by;	/* NULL unless denied */
	unsigned threshold;
} vv_unseal_info;

typedef int vv_unseal_fn(void *arg, const vv_unseal_info *r);
/* Walks requests, newest first; all_states 0 shows only pending and
 * approved ones. */
int vv_unseal_foreach(vv_vault *v, int all_states, vv_unseal_fn *fn,
    void *arg);
int vv_unseal_show(vv_vault *v, const char *id, vv_unseal_fn *fn,
    void *arg);

/*
 * A key manager's decision, signed by his token over the request's
 * canonical encoding.  Approving also unlocks his share, kept until the
 * request completes only encrypted by the HSM and bound to the request.
 * When the k-th distinct manager approves, the VIP key is recombined and
 * checked, the requested contacts are sealed to the requester, and the
 * key and every pending share are wiped: *complete is then 1.
 */
int vv_unseal_approve(vv_vault *v, const char *id, const char *manager,
    const vv_fido_opts *opts, int *complete);
int vv_unseal_deny(vv_vault *v, const char *id, const char *manager,
    const vv_fido_opts *opts);

/* One released record's contacts (NULL: none stored). */
typedef struct vv_contact {
	const char *external_id;
	const char *phone;
	const char *email;
	const char *address;
} vv_contact;

typedef int vv_contact_fn(void *arg, const vv_contact *c);
/*
 * Hands an approved request's contacts to its requester, once: the
 * release is recorded and the request closed before fn sees any of
 * them.  Needs the token that made the request.
 */
int vv_unseal_fetch(vv_vault *v, const char *token, const char *id,
    vv_contact_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* VIPVAULT_DUAL_H */
