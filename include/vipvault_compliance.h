/*
 * vipvault_compliance.h - the compliance log as the vault keeps it and as an
 * officer reads and verifies its mirror.
 * Included by vipvault.h: include that one.  Conventions as there.
 */
#ifndef VIPVAULT_COMPLIANCE_H
#define VIPVAULT_COMPLIANCE_H

#include "vipvault.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------- compliance */

/*
 * Every security-relevant act is an entry in the compliance log: kept in
 * the vault (hash-chained, Merkle tree heads signed by the vault) and
 * mirrored to a directory compliance owns, each entry sealed to the
 * compliance officer's key.  Records appear as keyed pseudonyms.  See
 * docs/compliance.md.
 */

/* Writes a new officer key pair: the secret file (mode 0600, never
 * replaced) and the public file the vault is given at init. */
int vv_compliance_keygen(const char *secret_path, const char *public_path);

/* The vault's current signed tree head as one line of text (out holds
 * VV_CHECKPOINT_MAX bytes): what an officer keeps outside the vault. */
#define VV_CHECKPOINT_MAX 512
int vv_compliance_checkpoint(vv_vault *v, char *out, size_t outlen);

/* Appends a heartbeat entry and signs a tree head: run it from cron, so
 * that a quiet log cannot be cut silently. */
int vv_compliance_heartbeat(vv_vault *v);

/* The officer's view of a mirror, opened with his secret key. */
typedef struct vv_officer vv_officer;
int vv_officer_open(vv_officer **out, const char *mirror_dir,
    const char *secret_key_path, char *errmsg, size_t errlen);
void vv_officer_free(vv_officer **o);
const char *vv_officer_errmsg(const vv_officer *o);

/* One log entry as the officer reads it.  Absent strings are NULL. */
typedef struct vv_log_entry {
	uint64_t seq;
	int64_t time_ms;
	const char *type;		/* "unseal-request", "approval", ... */
	const char *outcome;		/* "ok", "denied", "failed" */
	const char *actor;
	const char *role;
	const char *token_id;
	const char *request_id;
	const char *manager;
	const char *detail;
	size_t nrefs;
	const char *const *refs;	/* record pseudonyms, 32 hex each */
	int has_count;
	uint64_t count;
	int has_epoch;
	uint32_t epoch;
	int has_expires;
	int64_t expires;
	int has_sign_count;
	uint32_t sign_count;
	const char *aaguid;		/* 32 hex, or NULL */
	/* Approvals and denials: 1 when the stored assertion verifies
	 * against the credential enrolled earlier in the log, 0 when it
	 * does not, -1 when there is none to check. */
	int assertion_ok;
} vv_log_entry;

typedef int vv_log_fn(void *arg, const vv_log_entry *e);
/* Walks the mirror's entries in order (each one decrypted, chained and
 * checked); fn returns non-zero to stop. */
int vv_officer_foreach(vv_officer *o, vv_log_fn *fn, void *arg);

/* The pseudonym of a record, to find its entries (32 hex into out). */
int vv_officer_ref(vv_officer *o, const char *external_id, char out[33]);

typedef struct vv_verify_report {
	uint64_t entries;		/* entries checked */
	uint64_t heads;			/* signed heads checked */
	uint64_t vault_entries;		/* entries in the vault (0: not
					 * compared) */
	uint64_t first_bad;		/* 0 when all is well */
	char problem[256];		/* what is wrong with it */
} vv_verify_report;

/*
 * Verifies the mirror: every entry decrypts and decodes, sequence numbers
 * run on without a gap, the hash chain holds, every signed head verifies
 * with the vault's key and matches the Merkle root of its size.  With v,
 * also compares the vault's log entry by entry.  With since_head (a file
 * written from vv_compliance_checkpoint), proves with a consistency proof
 * that the log only grew since that head.  VV_OK when everything holds;
 * VV_ERR_INTEGRITY with rep->first_bad and rep->problem otherwise.
 */
int vv_officer_verify(vv_officer *o, vv_vault *v, const char *since_head,
    vv_verify_report *rep);

/*
 * Verifies the PostgreSQL sink (connecting with conninfo as compliance,
 * the database's owner) against the mirror: entries numbered on without
 * a gap, each following the one before, opening with the compliance
 * key, chained, and equal to the mirror's entry of that number.
 * rep->entries counts the database's entries, rep->vault_entries the
 * mirror's.  VV_ERR_INTEGRITY names the first bad entry; VV_ERR_IO when
 * the database cannot be read.
 */
int vv_officer_verify_pg(vv_officer *o, const char *conninfo,
    vv_verify_report *rep);

#ifdef __cplusplus
}
#endif

#endif /* VIPVAULT_COMPLIANCE_H */
