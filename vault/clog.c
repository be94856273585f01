/*
 * clog.c - the vault's copy of the compliance log.
 *
 * Each entry is appended inside the transaction of the act it records,
 * so the act and its entry commit or roll back together.  Entries are
 * chained (hash_n = SHA-256(hash_n-1 || entry_n), from a genesis hash
 * naming the vault) and are the leaves of an RFC 9162 Merkle tree whose
 * frontier is kept in clog_state, so the root of any size costs
 * O(log n).  Tree heads are signed with the vault's Ed25519 log key at
 * every release, and at least every VV_CLOG_HEAD_EVERY entries or
 * VV_CLOG_HEAD_SECONDS seconds.  The mirror is brought up to date after
 * each commit (mirror.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vault/clog.h"

#define GENESIS "vipvault/log/v1"
#define HEAD_PURPOSE "vipvault/tree-head/v1\0\0"	/* 24 bytes */
#define REF_PURPOSE "record"

/* Named in internal.h: the vault keeps the last one (clog_cache). */
struct clog_state {
	uint64_t size;
	struct vv_merkle tree;
	uint8_t last[32];
	uint64_t head_size;
	int64_t head_time;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
vv_clog_event(struct vv_event *e, int type)
{
	memset(e, 0, sizeof(*e));
	e->type = (uint16_t)type;
	e->time_ms = now_ms();
}

void
vv_clog_ref(const vv_vault *v, const char *external_id,
    uint8_t out[VV_EVENT_REF_LEN])
{
	crypto_generichash_state h;

	/* Keyed: whoever reads the log without the key cannot test a
	 * guessed client id against it. */
	(void)crypto_generichash_init(&h, v->log_keys, VV_KEY_LEN,
	    VV_EVENT_REF_LEN);
	(void)crypto_generichash_update(&h, (const uint8_t *)REF_PURPOSE,
	    sizeof(REF_PURPOSE));
	(void)crypto_generichash_update(&h, (const uint8_t *)external_id,
	    strlen(external_id));
	(void)crypto_generichash_final(&h, out, VV_EVENT_REF_LEN);
	sodium_memzero(&h, sizeof(h));
}

void
vv_clog_chain(const uint8_t prev[32], const uint8_t *entry, size_t len,
    uint8_t out[32])
{
	crypto_hash_sha256_state h;

	(void)crypto_hash_sha256_init(&h);
	(void)crypto_hash_sha256_update(&h, prev, 32);
	(void)crypto_hash_sha256_update(&h, entry, len);
	(void)crypto_hash_sha256_final(&h, out);
}

/* The hash before the first entry: names the vault, so two vaults'
 * logs never share a prefix. */
void
vv_clog_genesis(const uint8_t vault_id[VV_ID_LEN], uint8_t out[32])
{
	crypto_hash_sha256_state h;

	(void)crypto_hash_sha256_init(&h);
	(void)crypto_hash_sha256_update(&h, (const uint8_t *)GENESIS,
	    sizeof(GENESIS));
	(void)crypto_hash_sha256_update(&h, vault_id, VV_ID_LEN);
	(void)crypto_hash_sha256_final(&h, out);
}

const uint8_t *
vv_clog_sign_pk(const vv_vault *v)
{
	return v->log_sign_pk;
}

/* ------------------------------------------------------- tree heads */

void
vv_tree_head_message(const struct vv_tree_head *h,
    uint8_t msg[VV_HEAD_MSG_LEN])
{
	size_t n = 24;

	memcpy(msg, HEAD_PURPOSE, 24);
	memcpy(msg + n, h->vault_id, VV_ID_LEN);
	n += VV_ID_LEN;
	vv_put_be64(msg + n, h->size);
	n += 8;
	memcpy(msg + n, h->root, 32);
	n += 32;
	vv_put_be64(msg + n, (uint64_t)h->time_ms);
}

int
vv_tree_head_verify(const struct vv_tree_head *h, const uint8_t pk[32])
{
	uint8_t msg[VV_HEAD_MSG_LEN];

	vv_tree_head_message(h, msg);
	return crypto_sign_verify_detached(h->sig, msg, sizeof(msg), pk) == 0 ?
	    VV_OK : VV_ERR_INTEGRITY;
}

/* ------------------------------------------------------------ state */

static int
load_state(vv_vault *v, struct clog_state *s)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(s, 0, sizeof(*s));
	if ((r = vv_prepare(v, "SELECT size, frontier, (SELECT hash FROM "
	    "clog WHERE seq = size), (SELECT max(size) FROM clog_heads), "
	    "(SELECT max(time_ms) FROM clog_heads) FROM clog_state WHERE "
	    "id = 1", &st)) != VV_OK)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = vv_fail_db(v, rc, "reading the log state");
		goto out;
	}
	s->size = (uint64_t)sqlite3_column_int64(st, 0);
	if (vv_merkle_load(&s->tree, s->size, sqlite3_column_blob(st, 1),
	    (size_t)sqlite3_column_bytes(st, 1)) != 0) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "the log's Merkle state is "
		    "corrupt");
		goto out;
	}
	if (s->size == 0)
		vv_clog_genesis(v->id, s->last);
	else if (sqlite3_column_bytes(st, 2) != 32) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "log entry %llu is missing",
		    (unsigned long long)s->size);
		goto out;
	} else
		memcpy(s->last, sqlite3_column_blob(st, 2), 32);
	s->head_size = (uint64_t)sqlite3_column_int64(st, 3);
	s->head_time = sqlite3_column_int64(st, 4);
out:
	sqlite3_finalize(st);
	return r;
}

static int
store_state(vv_vault *v, const struct clog_state *s)
{
	uint8_t frontier[VV_MERKLE_SAVE_MAX];
	sqlite3_stmt *st = NULL;
	size_t len = 0;
	int r, rc;

	vv_merkle_save(&s->tree, frontier, &len);
	if ((r = vv_prepare(v, "UPDATE clog_state SET size = ?, frontier = ? "
	    "WHERE id = 1", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, (int64_t)s->size);
	(void)sqlite3_bind_blob(st, 2, frontier, (int)len, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "updating the log state");
	sqlite3_finalize(st);
	return r;
}

static int
insert_entry(vv_vault *v, const struct vv_event *e, const uint8_t *enc,
    size_t len, const uint8_t hash[32])
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT INTO clog(seq, type, time_ms, entry, "
	    "hash) VALUES (?, ?, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, (int64_t)e->seq);
	(void)sqlite3_bind_int(st, 2, e->type);
	(void)sqlite3_bind_int64(st, 3, e->time_ms);
	(void)sqlite3_bind_blob(st, 4, enc, (int)len, SQLITE_STATIC);
	(void)sqlite3_bind_blob(st, 5, hash, 32, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "writing the compliance log");
	sqlite3_finalize(st);
	return r;
}

static int
sign_head(vv_vault *v, const struct clog_state *s)
{
	struct vv_tree_head h;
	uint8_t msg[VV_HEAD_MSG_LEN];
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(&h, 0, sizeof(h));
	memcpy(h.vault_id, v->id, VV_ID_LEN);
	h.size = s->size;
	vv_merkle_root(&s->tree, h.root);
	h.time_ms = now_ms();
	vv_tree_head_message(&h, msg);
	(void)crypto_sign_detached(h.sig, NULL, msg, sizeof(msg),
	    v->log_keys + VV_KEY_LEN);
	if ((r = vv_prepare(v, "INSERT OR REPLACE INTO clog_heads(size, root, "
	    "time_ms, sig) VALUES (?, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, (int64_t)h.size);
	(void)sqlite3_bind_blob(st, 2, h.root, 32, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 3, h.time_ms);
	(void)sqlite3_bind_blob(st, 4, h.sig, sizeof(h.sig), SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing a tree head");
	sqlite3_finalize(st);
	return r;
}

int
vv_clog_flush(vv_vault *v)
{
	if (!v->clog_dirty || !v->clog_cache_valid)
		return VV_OK;
	return store_state(v, v->clog_cache);
}

int
vv_clog_sign_head(vv_vault *v)
{
	struct clog_state s;
	int r;

	if ((r = vv_clog_flush(v)) != VV_OK)
		return r;
	v->clog_cache_valid = 0;
	if ((r = load_state(v, &s)) != VV_OK)
		return r;
	return sign_head(v, &s);
}

static int
head_due(const struct clog_state *s, const struct vv_event *e)
{
	return e->type == VV_EV_RELEASE ||
	    s->size - s->head_size >= VV_CLOG_HEAD_EVERY ||
	    e->time_ms - s->head_time >= VV_CLOG_HEAD_SECONDS * 1000;
}

int
vv_clog_append(vv_vault *v, struct vv_event *e)
{
	struct clog_state s;
	uint8_t *enc, hash[32], leaf[32];
	size_t len = 0;
	int r;

	if ((enc = malloc(VV_EVENT_ENC_MAX)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	if (v->clog_cache == NULL && (v->clog_cache =
	    malloc(sizeof(*v->clog_cache))) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (v->clog_cache_valid)
		s = *v->clog_cache;
	else if ((r = load_state(v, &s)) != VV_OK)
		goto out;
	e->seq = s.size + 1;
	if (vv_event_encode(e, enc, &len) != VV_OK) {
		r = vv_fail(v, VV_ERR_INTERNAL, "a %s log entry does not "
		    "encode", vv_event_type_name(e->type) != NULL ?
		    vv_event_type_name(e->type) : "?");
		goto out;
	}
	vv_clog_chain(s.last, enc, len, hash);
	if ((r = insert_entry(v, e, enc, len, hash)) != VV_OK)
		goto out;
	vv_merkle_leaf_hash(enc, len, leaf);
	vv_merkle_append_leaf_hash(&s.tree, leaf);
	s.size++;
	memcpy(s.last, hash, 32);
	/* The state row is written once, at commit (vv_clog_flush). */
	if (head_due(&s, e) && (r = sign_head(v, &s)) == VV_OK) {
		s.head_size = s.size;
		s.head_time = e->time_ms;
	}
	if (r == VV_OK) {
		v->clog_dirty = 1;
		if (v->clog_first == 0)
			v->clog_first = e->seq;
		v->clog_last = e->seq;
		*v->clog_cache = s;
		v->clog_cache_valid = 1;
	} else
		v->clog_cache_valid = 0;
out:
	free(enc);
	return r;
}

int
vv_clog_log(vv_vault *v, struct vv_event *e)
{
	int r;

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_clog_append(v, e)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	return VV_OK;
}

int
vv_clog_note(vv_vault *v, int type, const char *actor, const char *role,
    const char *detail, const char *ref, int has_count, uint64_t count)
{
	struct vv_event *e;
	int r;

	if ((e = malloc(sizeof(*e))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	vv_clog_event(e, type);
	(void)snprintf(e->actor, sizeof(e->actor), "%s", actor != NULL ?
	    actor : VV_ACTOR_ADMIN);
	if (role != NULL)
		(void)snprintf(e->role, sizeof(e->role), "%s", role);
	if (detail != NULL)
		(void)snprintf(e->detail, sizeof(e->detail), "%s", detail);
	if (ref != NULL) {
		vv_clog_ref(v, ref, e->refs[0]);
		e->nrefs = 1;
	}
	e->has_count = has_count;
	e->count = count;
	r = vv_clog_append(v, e);
	free(e);
	return r;
}
