/*
 * clog.h - the compliance log: the vault's own copy (a table in the
 * vault database, hash-chained, with signed Merkle tree heads) and its
 * mirror (a directory compliance owns, each entry sealed to the
 * compliance officer's key).  See docs/compliance.md.
 */
#ifndef VV_CLOG_H
#define VV_CLOG_H

#include <stddef.h>
#include <stdint.h>

#include "vault/internal.h"
#include "vault/event.h"
#include "vault/merkle.h"

#define VV_CLOG_HASH_LEN 32u
#define VV_CLOG_HEAD_EVERY 1000u	/* entries between signed heads */
#define VV_CLOG_HEAD_SECONDS 60	/* ... or seconds */
#define VV_COMPLIANCE_PK_LEN crypto_box_PUBLICKEYBYTES

/* A signed tree head: the log's size and Merkle root at a time. */
struct vv_tree_head {
	uint8_t vault_id[VV_ID_LEN];
	uint64_t size;
	uint8_t root[32];
	int64_t time_ms;
	uint8_t sig[crypto_sign_BYTES];
};

/* ------------------------------------------------------------ clog.c */

/* Starts an event of type with the vault's clock. */
void vv_clog_event(struct vv_event *e, int type);
/* The pseudonym of a record in log entries: keyed BLAKE2b-128. */
void vv_clog_ref(const vv_vault *v, const char *external_id,
    uint8_t out[VV_EVENT_REF_LEN]);
/* Adds e to the vault log inside the caller's transaction: assigns seq
 * and chains it; signs a tree head when one is due. */
int vv_clog_append(vv_vault *v, struct vv_event *e);
/* e in a transaction of its own; the commit syncs the mirror, and a
 * mirror failure is not the caller's: the entry waits in the vault log
 * and the next sync catches the mirror up. */
int vv_clog_log(vv_vault *v, struct vv_event *e);
/* A simple entry in the caller's transaction: actor (NULL: the
 * administrator), role, detail and a record reference may be NULL. */
#define VV_ACTOR_ADMIN "administrator"
int vv_clog_note(vv_vault *v, int type, const char *actor, const char *role,
    const char *detail, const char *ref, int has_count, uint64_t count);
/* Signs the current tree head into the log's heads (in the caller's
 * transaction); always, not only when due. */
int vv_clog_sign_head(vv_vault *v);
/* The chain hash before entry 1. */
void vv_clog_genesis(const uint8_t vault_id[VV_ID_LEN], uint8_t out[32]);
/* The chain hash of entry n from the previous one. */
void vv_clog_chain(const uint8_t prev[32], const uint8_t *entry,
    size_t len, uint8_t out[32]);
/* The bytes a tree head signature covers. */
#define VV_HEAD_MSG_LEN (24 + VV_ID_LEN + 8 + 32 + 8)
void vv_tree_head_message(const struct vv_tree_head *h,
    uint8_t msg[VV_HEAD_MSG_LEN]);
int vv_tree_head_verify(const struct vv_tree_head *h, const uint8_t pk[32]);
/* The log's signing public key and the compliance public key. */
const uint8_t *vv_clog_sign_pk(const vv_vault *v);

/* ------------------------------------------------------ clog_dual.c */

struct vv_manager;
struct vv_request;
struct vv_req;
struct vv_fido_assertion;
/* Entries of dual control, in the caller's transaction. */
int vv_clog_manager(vv_vault *v, const struct vv_manager *m);
/* VV_EV_DUAL_SETUP or VV_EV_RESHARE_DONE: threshold, managers, epoch. */
int vv_clog_dual(vv_vault *v, int type, unsigned k, size_t n,
    uint32_t epoch);
int vv_clog_request(vv_vault *v, const struct vv_request *q,
    const uint8_t digest[32]);
/* An approval or denial with its evidence; outcome and why for one that
 * was refused (a, cdh may then be NULL). */
int vv_clog_decision(vv_vault *v, const struct vv_req *q, const char *manager,
    const char *decision, const struct vv_fido_assertion *a,
    const uint8_t cdh[32], uint32_t epoch, int outcome, const char *why);
/* Expiry, completion, release, refused release of request q. */
int vv_clog_request_event(vv_vault *v, int type, const struct vv_req *q,
    int outcome, uint64_t count, const char *why);

/* --------------------------------------------------------- mirror.c */

/*
 * The mirror directory:
 *   header   text: vault id, signing key, compliance key, the pseudonym
 *            key sealed to compliance, signed by the vault
 *   entries  records: u32 length | u64 seq | chain hash (32) |
 *            nonce (24) | XChaCha20-Poly1305(entry encoding) under the
 *            mirror key, associated data: vault id and seq
 *   heads    records: u64 size | root (32) | i64 time_ms | sig (64)
 * Appended with O_APPEND and fdatasync'd before the vault goes on.
 */
#define VV_MIRROR_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define VV_MIRROR_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define VV_MIRROR_REC_MIN (4 + 8 + 32 + VV_MIRROR_NONCE + VV_MIRROR_TAG + 1)
#define VV_MIRROR_REC_MAX (4 + 8 + 32 + VV_MIRROR_NONCE + VV_MIRROR_TAG + \
	VV_EVENT_ENC_MAX)
/* The associated data of a mirrored entry. */
#define VV_MIRROR_AD_LEN (VV_ID_LEN + 8)
void vv_mirror_ad(const uint8_t vault_id[VV_ID_LEN], uint64_t seq,
    uint8_t ad[VV_MIRROR_AD_LEN]);
#define VV_MIRROR_HEAD_REC (8 + 32 + 8 + crypto_sign_BYTES)

/* Creates the mirror directory's header (the directory may exist empty). */
int vv_mirror_create(vv_vault *v, const char *dir,
    const uint8_t compliance_pk[32]);
/* vv_mirror_sync (internal.h): appends every vault log entry and head
 * the mirror lacks; fsyncs. */

/* An entry encrypted as the mirrors keep it: nonce || ciphertext || tag
 * into out (VV_MIRROR_REC_MAX); its length. */
size_t vv_mirror_seal(const vv_vault *v, uint64_t seq, const uint8_t *enc,
    size_t len, uint8_t *out);

/* --------------------------------------------------------- sink_pg.c */

/* At init: the sink's public key, pinned, and the connection string. */
int vv_pgsink_setup(vv_vault *v, const char *conninfo);
/* Sends the entries the database sink lacks, each receipt checked;
 * VV_ERR_NOT_FOUND when no database sink is configured. */
int vv_pgsink_sync(vv_vault *v);

/* After a crash between a mirror write and its note: checks that the
 * records between bytes and fsize are the vault's next entries and
 * advances past them; VV_ERR_INTEGRITY otherwise. */
int vv_mirror_adopt(vv_vault *v, const char *dir, uint64_t mirrored,
    uint64_t bytes, uint64_t fsize, uint64_t *mirrored_out,
    uint64_t *bytes_out);

/* A mirror as the officer reads it (compliance.c). */
struct vv_mirror_header {
	uint8_t vault_id[VV_ID_LEN];
	uint8_t sign_pk[32];
	uint8_t compliance_pk[32];
	uint8_t sealed_pseudonym[32 + crypto_box_SEALBYTES];
	uint8_t sealed_mirror_key[32 + crypto_box_SEALBYTES];
};
int vv_mirror_header_parse(const char *text, size_t len,
    struct vv_mirror_header *h, char *err, size_t errlen);

/* One framed record at p[*off]: VV_OK and the parts, VV_ERR_NOT_FOUND at
 * the clean end, VV_ERR_INPUT for a torn or malformed record. */
int vv_mirror_next(const uint8_t *p, size_t len, size_t *off, uint64_t *seq,
    const uint8_t **hash, const uint8_t **sealed, size_t *sealedlen);
int vv_mirror_next_head(const uint8_t *p, size_t len, size_t *off,
    struct vv_tree_head *h);

/* ---------------------------------------------------- compliance_key.c */

/* Writes a new officer key pair: secret (0600, never replaced) and
 * public file. */
int vv_compliance_keygen(const char *secret_path, const char *public_path);
int vv_compliance_public_read(const char *path, uint8_t pk[32], char *err,
    size_t errlen);
/* sk: 32 bytes of guarded memory. */
int vv_compliance_secret_read(const char *path, uint8_t pk[32], uint8_t *sk,
    char *err, size_t errlen);

#endif /* VV_CLOG_H */
