/*
 * vipvault.h - public interface of libvipvault, a dual-control encrypted
 * vault for client records.
 *
 * Conventions (as in libfido2 and libsodium):
 *  - every type is opaque and every name carries the vv_ prefix;
 *  - objects are created by vv_X_new/open/create and released by
 *    vv_X_free(&p), which wipes what the object held and sets p to NULL;
 *  - every function that can fail returns a vv_err; VV_OK is 0;
 *  - after a failure on a vault, vv_vault_errmsg() describes it.  Error
 *    messages never contain key material or client data: they name the
 *    line, column, record id or field class that was wrong, not its value.
 *
 * Strings are UTF-8 and NUL-terminated.  Strings returned by accessors
 * belong to the object they came from and live as long as it does.
 */
#ifndef VIPVAULT_H
#define VIPVAULT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VV_VERSION_STRING "0.1.0"

/*
 * One error space for the whole library.  Numbers are never reused; a
 * retired code keeps its number.  vv_strerror() gives a fixed English
 * sentence for each.  The CLI maps them to exit codes (docs/vipvault.1).
 */
typedef enum vv_err {
	VV_OK = 0,
	VV_ERR_INVALID = 1,      /* an argument or option is not acceptable */
	VV_ERR_DENIED = 2,       /* the caller may not do this */
	VV_ERR_NOT_FOUND = 3,    /* no such record, role, token or vault */
	VV_ERR_INPUT = 4,        /* malformed input data (CSV, phone, ...) */
	VV_ERR_INTEGRITY = 5,    /* authentication failed: tampered or corrupt */
	VV_ERR_HSM = 6,          /* the PKCS#11 token is missing or failed */
	VV_ERR_IO = 7,           /* a file could not be read or written */
	VV_ERR_NOMEM = 8,        /* out of (guarded) memory */
	VV_ERR_DB = 9,           /* the database refused an operation */
	VV_ERR_SCHEMA = 10,      /* the vault was made by a newer vipvault */
	VV_ERR_EXISTS = 11,      /* it already exists */
	VV_ERR_SEALED = 12,      /* data under dual control: needs an unseal */
	VV_ERR_INTERNAL = 13,    /* a bug: please report it */
	VV_ERR_TOKEN = 14,       /* a FIDO2 token is missing or failed */
	VV_ERR_FROZEN = 15       /* the bearer token is frozen */
} vv_err;

/* Returns a static description of err; never NULL. */
const char *vv_strerror(int err);

/* Must be called once before anything else; initialises libsodium. */
int vv_global_init(void);

/* ---------------------------------------------------------------- tiers */

typedef enum vv_tier {
	VV_TIER_BASIC = 1,
	VV_TIER_STANDARD = 2,
	VV_TIER_VIP = 3
} vv_tier;

#define VV_TIER_MASK(t) (1u << (unsigned)(t))
#define VV_TIERS_ALL                                                          \
	(VV_TIER_MASK(VV_TIER_BASIC) | VV_TIER_MASK(VV_TIER_STANDARD) |       \
	    VV_TIER_MASK(VV_TIER_VIP))

/* "basic", "standard", "vip"; NULL for an unknown tier. */
const char *vv_tier_name(int tier);
/* Returns the tier named name, or 0. */
int vv_tier_from_name(const char *name);

/*
 * The value policy: a record belongs to the highest tier whose two
 * minimums it meets.  Spend is in minor units (cents); years are whole
 * years between client_since and the evaluation date.
 */
typedef struct vv_policy {
	int64_t vip_min_spend;
	int32_t vip_min_years;
	int64_t standard_min_spend;
	int32_t standard_min_years;
} vv_policy;

/* vip: >= 100,000.00 and >= 5 years; standard: >= 10,000.00. */
void vv_policy_default(vv_policy *p);

/* ---------------------------------------------------------------- vault */

typedef struct vv_vault vv_vault;

/*
 * Creates a vault in dir (made if absent; it must be empty).  With
 * pkcs11_uri NULL a development SoftHSM2 token is created inside
 * dir/hsm with a random PIN kept in dir/hsm/user.pin (mode 0600).
 * Otherwise pkcs11_uri is an RFC 7512 URI naming an existing token; its
 * PIN comes from the URI's pin-source (file:...) attribute.
 * On failure nothing is left behind in dir.
 */
int vv_vault_create(vv_vault **out, const char *dir, const char *pkcs11_uri,
    char *errmsg, size_t errlen);

/*
 * Opens an existing vault.  Fails with VV_ERR_HSM when the token cannot be
 * reached, VV_ERR_INTEGRITY when the key blob or the database does not
 * authenticate, VV_ERR_SCHEMA when the schema is newer than this library.
 * A failed open changes nothing on disk.
 */
int vv_vault_open(vv_vault **out, const char *dir, char *errmsg,
    size_t errlen);

/* Closes the vault, wiping every key it held; *v becomes NULL. */
void vv_vault_free(vv_vault **v);

/* Describes the last failure on v (never client data); never NULL. */
const char *vv_vault_errmsg(const vv_vault *v);

/* The vault's 128-bit id as 32 hex digits. */
const char *vv_vault_id(const vv_vault *v);

/* Current tier policy / replace it and re-tier every unpinned record in
 * one transaction.  changed, if not NULL, receives the number of records
 * whose tier changed. */
int vv_policy_get(vv_vault *v, vv_policy *p);
int vv_policy_set(vv_vault *v, const vv_policy *p, size_t *changed);

/* Pins a record to a tier (tier 0 unpins and re-applies the policy). */
int vv_record_pin(vv_vault *v, const char *external_id, int tier);

/* Number of records in each tier: counts[VV_TIER_BASIC..VV_TIER_VIP]. */
int vv_tier_counts(vv_vault *v, size_t counts[4]);

/* ---------------------------------------------------------------- writes */

/*
 * A record as it comes from a CRM.  Strings may be NULL or "" when
 * unknown (except external_id, name and owner).  Phone numbers are
 * normalised to E.164 (a number without a country code is refused),
 * e-mail addresses to lower case.  annual_spend is in minor units and
 * client_since is YYYY-MM-DD.  Writing needs no private key: fields are
 * sealed to the tier's public key.
 */
typedef struct vv_record_input {
	const char *external_id;
	const char *owner;
	const char *name;
	const char *phone;
	const char *email;
	const char *address;
	const char *notes;
	const char *preferences;
	int64_t annual_spend;
	const char *client_since;
} vv_record_input;

/* Inserts or updates (by external_id) one record, in its own
 * transaction. */
int vv_record_put(vv_vault *v, const vv_record_input *in);

typedef struct vv_import_summary {
	size_t records;            /* rows read */
	size_t inserted;
	size_t updated;
	size_t per_tier[4];        /* indexed by vv_tier */
} vv_import_summary;

/* Called now and then during long work (an import: bytes read so far of
 * the file's size; a re-tiering: records done of those to move). */
typedef void vv_progress_fn(void *arg, uint64_t done, uint64_t total);

/* vv_policy_set, reporting progress through progress(arg, ...) when it
 * is not NULL. */
int vv_policy_set_progress(vv_vault *v, const vv_policy *p, size_t *changed,
    vv_progress_fn *progress, void *arg);

/*
 * Imports an RFC 4180 CSV file (header row, UTF-8, CRLF or LF).  All or
 * nothing: on any error the vault is left exactly as it was and
 * vv_vault_errmsg names the line and column.
 */
int vv_import_csv(vv_vault *v, const char *path, vv_progress_fn *progress,
    void *arg, vv_import_summary *summary);

/* ---------------------------------------------------------- roles, tokens */

#define VV_ROLE_OWN_CLIENTS_ONLY 0x1u
#define VV_ROLE_WRITE 0x2u	/* may add and update records (the API) */

/* Creates a role reading the tiers in tier_mask (VV_TIER_MASK bits), with
 * its own non-extractable key in the HSM. */
int vv_role_add(vv_vault *v, const char *name, unsigned tier_mask,
    unsigned flags);

/*
 * Issues a bearer token for user in role.  The token is written to out
 * (at least VV_TOKEN_MAX bytes) and is never stored: only its hash is.
 */
#define VV_TOKEN_MAX 96
int vv_token_issue(vv_vault *v, const char *role, const char *user,
    int64_t expires_at, char *out, size_t outlen);

/* Revokes a token by its public id (the part before the second '_'). */
int vv_token_revoke(vv_vault *v, const char *token_id);

/*
 * A token that broke its role's budget is frozen: it authenticates no
 * more (VV_ERR_FROZEN) until an administrator unfreezes it.  Both are
 * compliance log entries; reason (one line, no client data) goes in.
 */
int vv_token_freeze(vv_vault *v, const char *token_id, const char *reason);
int vv_token_unfreeze(vv_vault *v, const char *token_id);

/*
 * What a role's tokens may do per unit of time through the API; 0 means
 * no limit.  Going over reads_per_minute, records_per_hour (distinct
 * records) or pages_per_hour (list pages) freezes the token; going over
 * burst_per_second only slows it down (HTTP 429).  With hours_from >= 0,
 * a read outside [hours_from, hours_to) o'clock, server local time,
 * freezes the token too (hours_to may be below hours_from: a night
 * shift).  Defaults: 300, 1000, 100, 20, any time.
 */
typedef struct vv_budget {
	uint32_t reads_per_minute;
	uint32_t records_per_hour;
	uint32_t pages_per_hour;
	uint32_t burst_per_second;
	int hours_from;		/* 0..23, or -1: any time */
	int hours_to;		/* 0..24 */
} vv_budget;
void vv_budget_default(vv_budget *b);
int vv_role_budget(vv_vault *v, const char *role, vv_budget *b);
/* vv_role_add with a budget (NULL: the defaults), in one transaction. */
int vv_role_add_with(vv_vault *v, const char *name, unsigned tier_mask,
    unsigned flags, const vv_budget *budget);
int vv_role_set_budget(vv_vault *v, const char *role, const vv_budget *b);

/* Walks roles / tokens; the callback returns non-zero to stop. */
typedef int vv_role_fn(void *arg, const char *name, unsigned tier_mask,
    unsigned flags);
int vv_role_foreach(vv_vault *v, vv_role_fn *fn, void *arg);

typedef struct vv_token_info {
	const char *id;		/* the public id */
	const char *role;
	const char *user;
	int64_t created;
	int64_t expires;	/* 0: never */
	int revoked;
	int frozen;
	int64_t frozen_at;
	const char *frozen_reason;	/* NULL unless frozen */
} vv_token_info;
typedef int vv_token_fn(void *arg, const vv_token_info *t);
int vv_token_foreach(vv_vault *v, vv_token_fn *fn, void *arg);

/* ---------------------------------------------------------------- reads */

/* A reader: a vault plus an authenticated bearer token. */
typedef struct vv_session vv_session;

/* Authenticates token (constant-time hash comparison).  VV_ERR_DENIED for
 * an unknown, revoked or expired token; the message does not say which. */
int vv_session_open(vv_vault *v, const char *token, vv_session **out);
void vv_session_free(vv_session **s);

/*
 * Every record a session reads is logged for compliance; the entries
 * wait in the session so that many reads share one entry and one fsync.
 * Call vv_session_flush before the data leaves (a response is sent, a
 * command prints): it returns once the entries are durable.
 * vv_session_free flushes what is left.
 */
int vv_session_flush(vv_session *s);

const char *vv_session_user(const vv_session *s);
const char *vv_session_role(const vv_session *s);
/* The token's public id, and its role's budget and flags. */
const char *vv_session_token_id(const vv_session *s);
void vv_session_budget(const vv_session *s, vv_budget *b);
unsigned vv_session_flags(const vv_session *s);

/* Checks that the session's token still holds (a long-lived session, as
 * the API server keeps, sees a revocation or freeze at once):
 * VV_ERR_DENIED when revoked or expired, VV_ERR_FROZEN when frozen.  It
 * also re-reads the role's budget. */
int vv_session_check(vv_session *s);

/*
 * A session's read log entries, taken away so that another vault handle
 * commits them: the API server's committer gathers those of many
 * requests into one transaction and one fsync (group commit).
 * vv_session_take_audit leaves *out NULL when nothing is pending.
 * vv_audit_commit writes the entries of batches[0..n) in one transaction
 * (entries of one token and kind are merged into one); the caller frees
 * the batches either way, and does not commit them twice.  When it
 * returns they are durable in the vault's log; the compliance mirror
 * gets them at the next vv_compliance_sync (or any later commit), so
 * that responses wait for one fsync, not two.
 */
typedef struct vv_audit vv_audit;
int vv_session_take_audit(vv_session *s, vv_audit **out);
int vv_audit_commit(vv_vault *v, vv_audit **batches, size_t n);
/* Copies the log entries the compliance mirror lacks to it, fsynced. */
int vv_compliance_sync(vv_vault *v);
/* How many of a batch's entries are canary alerts. */
size_t vv_audit_alerts(const vv_audit *a);
void vv_audit_free(vv_audit **a);

typedef enum vv_field {
	VV_FIELD_NAME = 0,
	VV_FIELD_PHONE,
	VV_FIELD_EMAIL,
	VV_FIELD_ADDRESS,
	VV_FIELD_NOTES,
	VV_FIELD_PREFERENCES,
	VV_FIELD_COUNT
} vv_field;

/* "name", "phone", ...; NULL for an unknown field. */
const char *vv_field_name(int field);

/* A decrypted record as one reader may see it. */
typedef struct vv_record vv_record;

/*
 * Reads one record.  VV_ERR_NOT_FOUND if it does not exist or lies outside
 * the session's segment (so existence does not leak); VV_ERR_DENIED if the
 * role may not read its tier; VV_ERR_INTEGRITY if a ciphertext does not
 * authenticate.  VIP contacts come back masked.
 */
int vv_get(vv_session *s, const char *external_id, vv_record **out);

/* Walks the records the session may read, in external id order, with
 * tier == 0 meaning every permitted tier.  The record passed to fn is
 * freed after fn returns; fn returns non-zero to stop. */
typedef int vv_record_fn(void *arg, const vv_record *r);
int vv_list(vv_session *s, int tier, vv_record_fn *fn, void *arg);

/* Finds records by exact (normalised) phone or e-mail through the keyed
 * blind index, without decrypting any other record. */
int vv_find_phone(vv_session *s, const char *phone, vv_record_fn *fn,
    void *arg);
int vv_find_email(vv_session *s, const char *email, vv_record_fn *fn,
    void *arg);

/*
 * One page of vv_list: records with external id after `after` (NULL or
 * "": from the start), owned by owner (NULL: any the session may see),
 * at most limit of them.  *more is set to 1 when records follow.
 */
int vv_list_page(vv_session *s, int tier, const char *owner,
    const char *after, size_t limit, vv_record_fn *fn, void *arg,
    int *more);

/*
 * Finds records by exact phone (kind 0) or e-mail (kind 1) through the
 * blind index alone: nothing is decrypted.  fn gets each match's
 * external id, tier, and the looked-for contact masked.
 */
typedef int vv_lookup_fn(void *arg, const char *external_id, int tier,
    const char *masked);
int vv_lookup(vv_session *s, int kind, const char *value, vv_lookup_fn *fn,
    void *arg);

/*
 * Adds or updates a record as the session's user: the role needs
 * VV_ROLE_WRITE, may update only records in tiers it reads, and an
 * own-clients-only role only its user's records, owned by its user.
 * *created is 1 for a new record; *tier receives its tier.
 */
int vv_session_put(vv_session *s, const vv_record_input *in, int *created,
    int *tier);

void vv_record_free(vv_record **r);

const char *vv_record_external_id(const vv_record *r);
const char *vv_record_owner(const vv_record *r);
int vv_record_tier(const vv_record *r);
int vv_record_pinned(const vv_record *r);
int64_t vv_record_annual_spend(const vv_record *r);
const char *vv_record_client_since(const vv_record *r);
/* The field's value, or NULL when empty.  For a masked field this is the
 * masked rendition and vv_record_masked() returns 1. */
const char *vv_record_field(const vv_record *r, int field);
int vv_record_masked(const vv_record *r, int field);

/* -------------------------------------------------------------- canaries */

/*
 * Canary clients: realistic fake records owned by one user, seen only by
 * that user's tokens, and marked in no way a reader can see.  Any read or
 * lookup of one through a session is a compliance alert naming the token
 * and the user; so a canary's phone number found outside names the
 * leaker.  vv_canary_plant creates n of them (in one transaction).
 */
int vv_canary_plant(vv_vault *v, const char *owner, size_t n);
typedef struct vv_canary_info {
	const char *external_id;
	const char *owner;
	const char *name;
	const char *phone;
	const char *email;
	int tier;
	int64_t planted;
} vv_canary_info;
typedef int vv_canary_fn(void *arg, const vv_canary_info *c);
/* Administrators only (the escrowed tier keys open them). */
int vv_canary_foreach(vv_vault *v, vv_canary_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif

/* Dual control (key managers, unseal requests) and the compliance log:
 * part of the same interface, in headers of their own. */
#include "vipvault_dual.h"
#include "vipvault_compliance.h"

#endif /* VIPVAULT_H */
