/*
 * internal.h - what the vault's modules share and the public API hides.
 *
 * Key material lives only in sodium_malloc'd memory reached from these
 * structures; every *_free wipes it.  See docs/design.md for the
 * hierarchy these types implement.
 */
#ifndef VV_INTERNAL_H
#define VV_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>
#include <sqlite3.h>

#include "vipvault.h"
#include "hsm/p11.h"

#define VV_ID_LEN        16u	/* vault id, bytes */
#define VV_KEY_LEN       32u
#define VV_IDX_LEN       8u	/* blind index: a 64-bit integer */
#define VV_ERRMSG_MAX    320u
#define VV_NAME_MAX      64u	/* role, user, owner names */
#define VV_EXTID_MAX     128u
#define VV_BATCH_RECORDS 1024u	/* records sharing one data key */
#define VV_SCHEMA_VERSION 5
#define VV_FIELD_MAX     65536u	/* bytes in one field */
#define VV_LOG_KEYS_LEN  (32u + crypto_sign_SECRETKEYBYTES + 32u)
#define VV_LOG_MIRROR_KEY (32u + crypto_sign_SECRETKEYBYTES)	/* offset */

/*
 * Key domains: one X25519 key pair each.  A tier's records are sealed in
 * the domain with the tier's number; VIP contacts in their own domain,
 * whose private key is never stored whole.
 */
enum vv_domain {
	VV_DOM_BASIC = 1,
	VV_DOM_STANDARD = 2,
	VV_DOM_VIP = 3,
	VV_DOM_VIP_CONTACT = 4,
	VV_DOM_COUNT = 5	/* array size; index 0 unused */
};

/* Field classes: the unit of encryption. */
enum vv_class {
	VV_CLASS_IDENTITY = 1,	/* name */
	VV_CLASS_CONTACT = 2,	/* phone, email, address */
	VV_CLASS_PROFILE = 3,	/* notes, preferences */
	VV_CLASS_MASKED = 4,	/* masked phone, email, address */
	VV_CLASS_COUNT = 5
};

struct vv_domain_key {
	int present;
	uint32_t version;
	uint8_t pk[crypto_box_PUBLICKEYBYTES];
};

struct clog_state;

struct vv_vault {
	char *dir;
	uint8_t id[VV_ID_LEN];
	char id_hex[2 * VV_ID_LEN + 1];
	char *hsm_uri;		/* as configured; "dev" for a dev token */
	vv_p11 *p11;
	sqlite3 *db;
	/* Blind-index hash states, keyed and with "phone\0" / "email\0"
	 * absorbed: each lookup copies one and hashes only the value. */
	crypto_generichash_state *index_state;	/* sodium_malloc, [2] */
	/* Compliance log: pseudonym key (32) || Ed25519 secret key (64) ||
	 * mirror key (32), sodium_malloc'd; the signing public key. */
	uint8_t *log_keys;
	uint8_t log_sign_pk[crypto_sign_PUBLICKEYBYTES];
	int clog_dirty;		/* this transaction appended log entries */
	/* The next commit leaves the mirror to a later vv_compliance_sync
	 * (the API server's group commit: responses wait for the vault's
	 * log only, the mirror follows right after). */
	int mirror_defer;
	uint64_t clog_first, clog_last;	/* ... these ones, for syslog */
	/* The log's state as this transaction left it (clog.c), so that
	 * many appends in one transaction read it once; dropped at every
	 * begin and rollback. */
	struct clog_state *clog_cache;
	int clog_cache_valid;
	/* Blind-index changes made by writers and not yet applied
	 * (lookups.c): a commit is refused while there are any. */
	size_t lookups_pending;
	/* Lookup statements kept prepared (lookups_read.c): lookups run on
	 * every CRM call, and preparing was most of their time. */
#define VV_LOOKUP_STMTS 5u
	sqlite3_stmt *lookup_st[VV_LOOKUP_STMTS];
	unsigned lookup_busy;	/* bit i: lookup_st[i] is handed out */
	struct vv_domain_key dom[VV_DOM_COUNT];
	vv_policy policy;
	char errmsg[VV_ERRMSG_MAX];
};

/* ------------------------------------------------------------- err.c */

/* Records a printf-style message on v and returns err. */
int vv_fail(vv_vault *v, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a SQLite result to a vv_err and records what failed (the SQLite
 * message never holds row values: we bind every value). */
int vv_fail_db(vv_vault *v, int rc, const char *what);

/* ------------------------------------------------------------ conf.c */

struct vv_conf {
	uint8_t id[VV_ID_LEN];
	char *hsm;		/* "dev" or a pkcs11: URI, malloc'd */
};

int vv_conf_parse(const char *text, size_t len, struct vv_conf *c,
    char *errmsg, size_t errlen);
int vv_conf_read(const char *path, struct vv_conf *c, char *errmsg,
    size_t errlen);
int vv_conf_write(const char *path, const struct vv_conf *c);
void vv_conf_clear(struct vv_conf *c);

/* ------------------------------------------------------------ util.c */

void vv_hex(char *out, const uint8_t *in, size_t len);
int vv_unhex(uint8_t *out, size_t outlen, const char *in);
/* Writes data to path atomically (temp file, fsync, rename, fsync dir)
 * with mode 0600; excl refuses to replace an existing file. */
int vv_write_file(const char *path, const void *data, size_t len, int excl);
/* Reads at most max bytes of a file into a malloc'd buffer. */
int vv_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
char *vv_path(const char *dir, const char *name);
int64_t vv_now(void);
/* Days since 1970-01-01 of a valid YYYY-MM-DD, or -1. */
int64_t vv_parse_date(const char *s);
/* Whole years from date "since" to today (UTC); negative if future. */
int vv_years_since(int64_t since_days, int64_t today_days);
int64_t vv_today(void);
void vv_put_be32(uint8_t *p, uint32_t v);
void vv_put_be64(uint8_t *p, uint64_t v);
uint32_t vv_get_be32(const uint8_t *p);
uint64_t vv_get_be64(const uint8_t *p);
int vv_valid_name(const char *s);
/* 1 to VV_EXTID_MAX - 1 bytes, none a space or control character. */
int vv_valid_external_id(const char *s);
/* Removes a directory tree (best effort; used to undo a failed create). */
void vv_rmtree(const char *path);

/* ----------------------------------------------------------- store.c */

/* Applies the vault's connection settings to a keyed SQLCipher handle;
 * returns a SQLite result code.  The benchmark's raw baseline uses it too,
 * so both sides run with the same settings. */
int vv_store_tune(sqlite3 *db);
int vv_store_create(vv_vault *v, const char *path, const uint8_t *key);
int vv_store_open(vv_vault *v, const char *path, const uint8_t *key);
int vv_store_begin(vv_vault *v);
int vv_store_commit(vv_vault *v);
void vv_store_rollback(vv_vault *v);
/* Prepares sql on v->db; on failure records the error. */
int vv_prepare(vv_vault *v, const char *sql, sqlite3_stmt **st);
/* Runs a statement without results. */
int vv_exec(vv_vault *v, const char *sql);
int vv_meta_get(vv_vault *v, const char *key, char **value);
/* Brings the compliance mirror and database sink up to date (mirror.c,
 * sink_pg.c); VV_ERR_NOT_FOUND when one is not configured. */
int vv_mirror_sync(vv_vault *v);
int vv_pgsink_sync(vv_vault *v);
/* Writes the log's state row before a commit (clog.c). */
int vv_clog_flush(vv_vault *v);
/* Best-effort RFC 5424 copies of committed entries first..last to the
 * configured syslog socket, if any (syslog_fwd.c). */
void vv_syslog_forward(vv_vault *v, uint64_t first, uint64_t last);
int vv_meta_set(vv_vault *v, const char *key, const char *value);

/* ---------------------------------------------------------- schema.c */

int vv_schema_migrate(vv_vault *v, int from);

/* --------------------------------------------------------- keyring.c */

/* The HSM labels of the vault's keys. */
void vv_label_master(const vv_vault *v, char out[VV_P11_LABEL_MAX]);
int vv_label_role(const vv_vault *v, const char *role,
    char out[VV_P11_LABEL_MAX]);
/* Creates vault.key: a fresh root secret sealed by the master key; puts
 * the derived database key in dbkey and the index key in v. */
int vv_keyring_create(vv_vault *v, const char *path, uint8_t *dbkey);
int vv_keyring_open(vv_vault *v, const char *path, uint8_t *dbkey);

/* ---------------------------------------------------------- domain.c */

int vv_domain_create_all(vv_vault *v);
int vv_domain_load(vv_vault *v);
/* Unseals a domain's private key for a role (role_label non-NULL) or from
 * the master escrow (role_label NULL) into sk (sodium_malloc'd). */
int vv_domain_sk_for_role(vv_vault *v, int64_t role_id, const char *role,
    int domain, uint8_t *sk);
int vv_domain_sk_escrow(vv_vault *v, int domain, uint8_t *sk);
int vv_domain_grant(vv_vault *v, int64_t role_id, const char *role,
    int domain);
int vv_tier_domain(int tier);
int vv_contact_domain(int tier);

/* --------------------------------------------------------- datakey.c */

/* A reader's keys: the domain private keys it holds and a small cache of
 * unsealed data keys.  Used by sessions and by administrative re-tiering
 * (which holds the escrowed keys). */
struct vv_keys;
int vv_keys_new(struct vv_keys **out);
void vv_keys_free(struct vv_keys **k);
/* Takes ownership of sk (sodium_malloc'd) for domain. */
void vv_keys_set_sk(struct vv_keys *k, int domain, uint8_t *sk);
int vv_keys_has(const struct vv_keys *k, int domain);
/* An unsealed data key as a reader holds it. */
#define VV_NONCE_PREFIX 16u	/* random, per data key */
#define VV_NONCE_COUNTER 8u	/* stored with each ciphertext */
struct vv_dk {
	int64_t id;		/* 0: empty (row ids start at 1) */
	int domain;
	int sealed;		/* known, but under dual control */
	uint32_t version;
	uint8_t prefix[VV_NONCE_PREFIX];
	uint8_t subkey[VV_KEY_LEN];	/* HChaCha20(data key, prefix) */
};

/* The data key with this id, unsealed (and cached).  Its domain must be
 * in allowed (a mask of 1 << domain) or VV_ERR_INTEGRITY; VV_ERR_SEALED
 * (with (*dk)->domain set) when it is in a domain under dual control that
 * this reader holds no key for; VV_ERR_DENIED for another missing key. */
int vv_keys_data_key(vv_vault *v, struct vv_keys *k, int64_t dk_id,
    unsigned allowed, const struct vv_dk **dk);

/* A data key as stored: sealed to its domain's public key. */
struct vv_dk_row {
	int64_t id;
	int domain;
	uint32_t version;
	uint8_t sealed[crypto_box_SEALBYTES + VV_KEY_LEN];
	uint8_t prefix[VV_NONCE_PREFIX];
};
#define VV_DK_PENDING_MAX VV_DOM_COUNT	/* a batch's new keys, at most */

/* A writer's current batch: one fresh data key per domain. */
struct vv_batch;
/* The id the next data key gets if the database chooses it. */
int vv_data_key_next_id(vv_vault *v, int64_t *id);
/* See vv_writer_share_key_ids. */
void vv_batch_share_ids(struct vv_batch *b, _Atomic int64_t *next,
    int deferred);
size_t vv_batch_take_keys(struct vv_batch *b, struct vv_dk_row *rows,
    size_t max);
int vv_batch_store_key(vv_vault *v, struct vv_batch *b,
    const struct vv_dk_row *row);
int vv_batch_new(vv_vault *v, struct vv_batch **out);
void vv_batch_free(struct vv_batch **b);
/* Starts a new batch: later writes use fresh data keys. */
void vv_batch_rotate(struct vv_batch *b);
/* Returns (creating on first use) the batch key for domain as its
 * XChaCha20 subkey (see envelope.c), its row id, key version, and a
 * fresh nonce: the key's prefix || a counter. */
int vv_batch_key(vv_vault *v, struct vv_batch *b, int domain,
    int64_t *dk_id, uint32_t *version, const uint8_t **key,
    uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES]);

/* -------------------------------------------------------- envelope.c */

/* Stored: the nonce's counter || ciphertext || tag. */
#define VV_ENV_OVERHEAD (VV_NONCE_COUNTER + \
	crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define VV_CLASS_FIELDS 3u

/* The plaintext of one field class: up to three strings. */
struct vv_class_text {
	const char *f[VV_CLASS_FIELDS];
	size_t len[VV_CLASS_FIELDS];
};

struct vv_env_ctx {
	const uint8_t *vault_id;
	int64_t record_id;
	const char *external_id;	/* < VV_EXTID_MAX bytes */
	const char *owner;		/* < VV_NAME_MAX bytes */
	int domain;
	int cls;
	uint32_t version;
	int64_t dk_id;
};

/* A growable byte buffer; its contents are wiped when it grows or is
 * freed, since it carries client data. */
struct vv_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};
int vv_buf_reserve(struct vv_buf *b, size_t cap);
void vv_buf_free(struct vv_buf *b);

/* HChaCha20(key, prefix): the ChaCha20-Poly1305 key under which
 * XChaCha20-Poly1305 with nonce prefix || counter encrypts. */
void vv_xchacha_subkey(uint8_t subkey[VV_KEY_LEN],
    const uint8_t key[VV_KEY_LEN], const uint8_t prefix[VV_NONCE_PREFIX]);
/* Length of the plaintext of a class: the fields joined, each with its
 * NUL.  Fields must not contain NUL bytes. */
size_t vv_env_plain_len(const struct vv_class_text *t);
/* Seals a class into out (the nonce's last VV_NONCE_COUNTER bytes ||
 * ciphertext || tag), replacing its contents. */
int vv_env_seal(const struct vv_env_ctx *ctx, const uint8_t *subkey,
    const uint8_t *nonce, const struct vv_class_text *t, struct vv_buf *out);
/* Opens a blob made under data key dk into plain (capacity bloblen -
 * VV_ENV_OVERHEAD); t points at the NUL-terminated fields inside plain.
 * VV_ERR_INTEGRITY if it does not authenticate or is malformed; plain is
 * then wiped. */
int vv_env_open(const struct vv_env_ctx *ctx, const struct vv_dk *dk,
    const uint8_t *blob, size_t bloblen, uint8_t *plain,
    struct vv_class_text *t);

/* ---------------------------------------------------------- policy.c */

int vv_policy_tier(const vv_policy *p, int64_t spend, int64_t since_days,
    int64_t today);
int vv_policy_format(const vv_policy *p, char *out, size_t outlen);
int vv_policy_parse(const char *s, vv_policy *p);
int vv_policy_load(vv_vault *v);
int vv_policy_store(vv_vault *v, const vv_policy *p);

/* ----------------------------------------------------- record_write.c */

/* A record in clear, ready to be sealed and stored. */
struct vv_plain {
	int64_t id;		/* the row id, chosen for new records */
	int exists;		/* an update of an existing row */
	int reseal;		/* only tier and ciphertexts change */
	const char *external_id;
	const char *owner;
	const char *client_since;
	int64_t spend;
	int tier;
	int pinned;
	struct vv_class_text cls[VV_CLASS_COUNT];
	const int64_t *phone_idx;	/* NULL: no phone */
	const int64_t *email_idx;
	/* An update's blind indexes as stored (vv_writer_lookup), for the
	 * lookup index to forget. */
	int had_phone, had_email;
	int64_t old_phone_idx, old_email_idx;
	/* Contacts already under dual control stay there whatever the
	 * tier: an update seals them again in the VIP contact domain. */
	int contacts_sealed;
	/* Contacts to keep exactly as sealed (VIP contacts stay under dual
	 * control when a record leaves the VIP tier). */
	const uint8_t *keep_contact;
	size_t keep_contact_len;
	int64_t keep_dk_contact;
};

/* A record's ciphertexts, one per class, and the data keys they are
 * under. */
struct vv_sealed {
	int64_t dk_main, dk_contact;
	struct vv_buf ct[VV_CLASS_COUNT];
};
void vv_sealed_free(struct vv_sealed *s);

/* Writes records: the current batch of data keys, prepared statements
 * and scratch buffers for one transaction. */
struct vv_writer;
int vv_writer_new(vv_vault *v, struct vv_writer **out);
void vv_writer_free(struct vv_writer **w);
/* Seals p into s, choosing its row id first for a new record.  Touches
 * the database only to read the next row id (unless it was set) and to
 * store a new batch's data keys (unless they are deferred). */
int vv_writer_seal(vv_vault *v, struct vv_writer *w, struct vv_plain *p,
    struct vv_sealed *s);
/* Stores a sealed record and its blind-index changes; VV_ERR_EXISTS,
 * without a message, for a new record whose external id is taken. */
int vv_writer_insert(vv_vault *v, struct vv_writer *w,
    const struct vv_plain *p, const struct vv_sealed *s);
/* The row id the next new record gets, read from the database; and
 * setting it (the import's sealing thread cannot read it). */
int vv_writer_next_id(vv_vault *v, struct vv_writer *w, int64_t *id);
void vv_writer_set_next_id(struct vv_writer *w, int64_t id);
/* Data key ids drawn from a counter shared by several writers (so that
 * they can choose ids without the database), and, with deferred, the
 * new data keys kept for the caller to store (vv_writer_take_keys). */
void vv_writer_share_key_ids(struct vv_writer *w, _Atomic int64_t *next,
    int deferred);
size_t vv_writer_take_keys(struct vv_writer *w, struct vv_dk_row *rows,
    size_t max);
int vv_writer_store_key(vv_vault *v, struct vv_writer *w,
    const struct vv_dk_row *row);
/* A record validated, normalised and tiered, ready to seal: p points
 * into the input's strings and into this structure (which must not
 * move while p is used). */
#define VV_PREP_PHONE_MAX 17u	/* normalize.h's VV_PHONE_MAX */
#define VV_PREP_EMAIL_MAX 255u	/* and VV_EMAIL_MAX */
struct vv_prepared {
	struct vv_plain p;
	char phone[VV_PREP_PHONE_MAX];
	char email[VV_PREP_EMAIL_MAX];
	int64_t pidx, eidx;
};
/* Touches nothing but v's policy and index keys, and v->errmsg on
 * failure (VV_ERR_INPUT with the message naming the field), so that the
 * import's sealing thread can run it on a copy of v. */
int vv_record_prepare(vv_vault *v, const vv_record_input *in,
    struct vv_prepared *out);
void vv_prepared_clear(struct vv_prepared *pr);
/* Validates, normalises and tiers in, then stores it.  On bad input
 * returns VV_ERR_INPUT with the message naming the field. */
int vv_writer_put(vv_vault *v, struct vv_writer *w, const vv_record_input *in,
    int *tier_out, int *inserted, int64_t *id);
/* Stores p over the existing record with its external id (the record
 * keeps its row id, pinned tier and dual-control contacts); a canary
 * written over stops being one. */
int vv_writer_update(vv_vault *v, struct vv_writer *w, struct vv_plain *p);
/* Seals and stores p (see record_write.c for VV_ERR_EXISTS). */
int vv_writer_store(vv_vault *v, struct vv_writer *w, struct vv_plain *p);
/* Sets p->exists, p->id and (if pinned) p->tier from the database. */
int vv_writer_lookup(vv_vault *v, struct vv_writer *w, struct vv_plain *p);
/* Starts a new batch of data keys every VV_BATCH_RECORDS records. */
void vv_writer_rotate(struct vv_writer *w);
/* Applies the blind-index changes of the records stored so far; required
 * before the transaction commits (and before a lookup in it). */
int vv_writer_flush(vv_vault *v, struct vv_writer *w);
/* Blind index of a normalised value; kind is "phone" or "email". */
enum vv_index_kind { VV_INDEX_PHONE = 0, VV_INDEX_EMAIL = 1 };
int64_t vv_blind_index(const vv_vault *v, int kind, const char *value);

/* ------------------------------------------------------ record_read.c */

/* Decrypts row into a record using keys k; the row comes from a SELECT
 * of VV_RECORD_COLUMNS. */
#define VV_RECORD_COLUMNS "r.id, r.external_id, r.owner, r.annual_spend, " \
	"r.client_since, r.tier, r.pinned, r.dk_main, r.dk_contact, " \
	"r.identity_ct, r.contact_ct, r.profile_ct, r.masked_ct, r.canary"
int vv_record_from_row(vv_vault *v, struct vv_keys *k, sqlite3_stmt *st,
    int want_contacts, vv_record **out);
/* Opens class cls of the row into *at (advanced past it); the data key's
 * domain must be in allowed.  VV_ERR_SEALED for VIP contacts. */
int vv_open_class(vv_vault *v, struct vv_keys *k, sqlite3_stmt *st, int cls,
    unsigned allowed, uint8_t **at, struct vv_class_text *t);
/* Columns of VV_RECORD_COLUMNS by index. */
enum vv_record_col {
	VV_COL_ID, VV_COL_EXTID, VV_COL_OWNER, VV_COL_SPEND, VV_COL_SINCE,
	VV_COL_TIER, VV_COL_PINNED, VV_COL_DKMAIN, VV_COL_DKCONTACT,
	VV_COL_IDENTITY, VV_COL_CONTACT, VV_COL_PROFILE, VV_COL_MASKED,
	VV_COL_CANARY
};


/* ---------------------------------------------------------- budget.c */

/* VV_ERR_INVALID naming what is wrong with b. */
int vv_budget_check(vv_vault *v, const vv_budget *b);
/* "budget: 300 reads/min, ..." for log entries. */
void vv_budget_describe(const vv_budget *b, char *out, size_t outlen);

/* ----------------------------------------------------------- token.c */

struct vv_auth {
	char id[17];
	char user[VV_NAME_MAX];
	char role[VV_NAME_MAX];
	int64_t role_id;
	unsigned tiers;
	unsigned flags;
	vv_budget budget;
};

/* Splits "vv_<16 hex>_<43 base64url>" into its id (17 bytes with NUL)
 * and 32-byte secret; VV_ERR_DENIED if it is anything else. */
int vv_token_parse(const char *token, char id_hex[17], uint8_t *secret);
/* Authenticates a bearer token; VV_ERR_DENIED for any bad token, with
 * one message whatever the reason; VV_ERR_FROZEN for a good one that is
 * frozen (only its holder learns that). */
int vv_token_verify(vv_vault *v, const char *token, struct vv_auth *ti);
/* Re-reads a verified token's state (revoked, expired or frozen since)
 * and its role's budget into ti; *st caches the statement (NULL at
 * first, the caller finalizes it). */
int vv_token_recheck(vv_vault *v, struct vv_auth *ti, sqlite3_stmt **st);

#endif /* VV_INTERNAL_H */
