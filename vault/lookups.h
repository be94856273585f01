/*
 * lookups.h - the blind index's storage: which records have a phone or
 * e-mail with this keyed hash (see lookups.c for the layout).
 */
#ifndef VV_LOOKUPS_H
#define VV_LOOKUPS_H

#include <stddef.h>
#include <stdint.h>

#include "vault/internal.h"

#define VV_LOOKUP_ENTRY 16u	/* hash, record id: big-endian u64 each */
#define VV_LOOKUP_BITS_MIN 10u
#define VV_LOOKUP_BITS_MAX 24u

/* Changes a writer has made and not yet applied.  Every change counts in
 * v->lookups_pending until it is flushed or freed, and a commit with
 * changes pending is refused: an index missing a record would hide it
 * from lookups without a word. */
struct vv_lookups;
int vv_lookups_new(vv_vault *v, struct vv_lookups **out);
/* Drops unapplied changes (the caller rolls the transaction back). */
void vv_lookups_free(struct vv_lookups **lp);
int vv_lookups_add(struct vv_lookups *l, int kind, int64_t hash, int64_t id);
int vv_lookups_remove(struct vv_lookups *l, int kind, int64_t hash,
    int64_t id);
/* Applies the pending changes in the current transaction. */
int vv_lookups_flush(vv_vault *v, struct vv_lookups *l);

/* The ids of the records whose blind index of kind is hash, in a malloc'd
 * array (NULL when there are none); VV_ERR_INTEGRITY for a damaged
 * bucket. */
int vv_lookups_find(vv_vault *v, int kind, int64_t hash, int64_t **ids,
    size_t *n);
/* Prepares "SELECT ... FROM records r WHERE <those records> ORDER BY
 * r.external_id", selecting VV_RECORD_COLUMNS (VV_LOOKUP_RECORDS) or
 * external id, owner, tier and canary (VV_LOOKUP_BRIEF).  The rows are
 * also checked against the hash, so a bucket pointing at another record
 * finds nothing.  The statement may be one the handle keeps: give it
 * back with vv_lookups_release, never sqlite3_finalize. */
enum vv_lookup_variant { VV_LOOKUP_RECORDS = 0, VV_LOOKUP_BRIEF = 1 };
int vv_lookups_prepare(vv_vault *v, int kind, int64_t hash, int variant,
    sqlite3_stmt **st);
void vv_lookups_release(vv_vault *v, sqlite3_stmt *st);
/* Finalizes the statements the handle keeps (before it closes). */
void vv_lookups_close(vv_vault *v);
/* Fills the index from the records table (schema migration 5). */
int vv_lookups_rebuild(vv_vault *v);

/* The index's width (lookup_bits) and number of pairs (lookup_entries),
 * as meta holds them; VV_ERR_INTEGRITY when malformed. */
struct vv_lookup_state {
	unsigned bits;
	int64_t entries;
};
int vv_lookup_state_read(vv_vault *v, struct vv_lookup_state *s);
/* A bucket's row id in the lookups table. */
int64_t vv_lookup_row(int kind, uint32_t bucket);

/* Pure helpers, exposed for the unit tests and the fuzzer. */
/* VV_OK if blob is a well-formed bucket: whole entries, strictly
 * increasing, every hash in bucket number bucket of bits bits. */
int vv_lookup_bucket_check(const uint8_t *blob, size_t len, uint32_t bucket,
    unsigned bits);
uint32_t vv_lookup_bucket_of(uint64_t hash, unsigned bits);

#endif /* VV_LOOKUPS_H */
