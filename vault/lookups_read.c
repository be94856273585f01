/*
 * lookups_read.c - the blind index's buckets as readers see them: their
 * format and its check, the index's width, and finding the records with
 * a hash (see lookups.c for why buckets, and for writing them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/lookups.h"

#define IN_LIST_MAX 500u	/* ids in one IN (...) list */

uint32_t
vv_lookup_bucket_of(uint64_t hash, unsigned bits)
{
	return (uint32_t)(hash >> (64 - bits));
}

int
vv_lookup_bucket_check(const uint8_t *blob, size_t len, uint32_t bucket,
    unsigned bits)
{
	size_t i;

	if (len == 0 || len % VV_LOOKUP_ENTRY != 0)
		return VV_ERR_INTEGRITY;
	for (i = 0; i < len; i += VV_LOOKUP_ENTRY) {
		if (vv_lookup_bucket_of(vv_get_be64(blob + i), bits) != bucket)
			return VV_ERR_INTEGRITY;
		if (i > 0 && memcmp(blob + i - VV_LOOKUP_ENTRY, blob + i,
		    VV_LOOKUP_ENTRY) >= 0)
			return VV_ERR_INTEGRITY;
	}
	return VV_OK;
}

int64_t
vv_lookup_row(int kind, uint32_t bucket)
{
	return (int64_t)kind << 32 | bucket;
}

static int
meta_int(vv_vault *v, const char *key, int64_t *out)
{
	char *s = NULL, *end;
	long long x;
	int r;

	if ((r = vv_meta_get(v, key, &s)) != VV_OK)
		return r;
	x = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || x < 0)
		r = vv_fail(v, VV_ERR_INTEGRITY, "vault metadata '%s' is "
		    "malformed", key);
	else
		*out = x;
	free(s);
	return r;
}

int
vv_lookup_state_read(vv_vault *v, struct vv_lookup_state *s)
{
	int64_t bits = 0;
	int r;

	if ((r = meta_int(v, "lookup_bits", &bits)) != VV_OK ||
	    (r = meta_int(v, "lookup_entries", &s->entries)) != VV_OK)
		return r;
	if (bits < VV_LOOKUP_BITS_MIN || bits > VV_LOOKUP_BITS_MAX)
		return vv_fail(v, VV_ERR_INTEGRITY, "vault metadata "
		    "'lookup_bits' is out of range");
	s->bits = (unsigned)bits;
	return VV_OK;
}

int
vv_lookups_find(vv_vault *v, int kind, int64_t hash, int64_t **ids,
    size_t *n)
{
	sqlite3_stmt *st = NULL;
	const uint8_t *blob;
	uint8_t want[8];
	int64_t *out = NULL;
	size_t len, i, k = 0;
	struct vv_lookup_state s;
	uint32_t bucket;
	int r, rc, own_txn = sqlite3_get_autocommit(v->db);

	*ids = NULL;
	*n = 0;
	/* The width and the bucket from one snapshot: read apart, a writer
	 * that grows the buckets in between would make a sound bucket look
	 * damaged. */
	if (own_txn && (r = vv_exec(v, "BEGIN")) != VV_OK)
		return r;
	if ((r = vv_lookup_state_read(v, &s)) != VV_OK ||
	    (r = vv_prepare(v, "SELECT entries FROM lookups WHERE bucket = ?",
	    &st)) != VV_OK)
		goto out;
	bucket = vv_lookup_bucket_of((uint64_t)hash, s.bits);
	(void)sqlite3_bind_int64(st, 1, vv_lookup_row(kind, bucket));
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? VV_OK : vv_fail_db(v, rc,
		    "reading the lookup index");
		goto out;
	}
	blob = sqlite3_column_blob(st, 0);
	len = (size_t)sqlite3_column_bytes(st, 0);
	/* Checked whole, though only a few pairs are wanted: a bucket
	 * out of order could hide a record from this lookup. */
	if (vv_lookup_bucket_check(blob, len, bucket, s.bits) != VV_OK) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "the lookup index is damaged "
		    "(bucket %lld)", (long long)vv_lookup_row(kind, bucket));
		goto out;
	}
	vv_put_be64(want, (uint64_t)hash);
	for (i = 0; i < len; i += VV_LOOKUP_ENTRY) {
		if (memcmp(blob + i, want, 8) != 0)
			continue;
		if (out == NULL && (out = calloc(len / VV_LOOKUP_ENTRY,
		    sizeof(*out))) == NULL) {
			r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
			goto out;
		}
		out[k++] = (int64_t)vv_get_be64(blob + i + 8);
	}
	*ids = out;
	*n = k;
	out = NULL;
out:
	free(out);
	sqlite3_finalize(st);
	if (own_txn)
		(void)sqlite3_exec(v->db, "COMMIT", NULL, NULL, NULL);
	return r;
}

/* "select WHERE r.id IN (?2, ..., ?n+1) AND r.<col> = ?1 ORDER BY
 * r.external_id"; beyond IN_LIST_MAX matches (a switchboard number shared
 * by a whole company) the ids are dropped and the table scanned. */
static char *
lookup_sql(const char *select, int kind, size_t n)
{
	const char *col = kind == VV_INDEX_PHONE ? "r.phone_idx" :
	    "r.email_idx";
	size_t cap = strlen(select) + 96 + 8 * (n > IN_LIST_MAX ? 0 : n), at;
	char *sql;
	size_t i;

	if ((sql = malloc(cap)) == NULL)
		return NULL;
	at = (size_t)snprintf(sql, cap, "%s WHERE ", select);
	if (n <= IN_LIST_MAX) {
		at += (size_t)snprintf(sql + at, cap - at, "r.id IN (");
		for (i = 0; i < n; i++)
			at += (size_t)snprintf(sql + at, cap - at, "%s?%zu",
			    i > 0 ? "," : "", i + 2);
		at += (size_t)snprintf(sql + at, cap - at, ") AND ");
	}
	(void)snprintf(sql + at, cap - at, "%s = ?1 ORDER BY r.external_id",
	    col);
	return sql;
}

int
vv_lookups_prepare(vv_vault *v, int kind, int64_t hash, const char *select,
    sqlite3_stmt **st)
{
	int64_t *ids = NULL;
	char *sql = NULL;
	size_t n = 0, i;
	int r;

	*st = NULL;
	if ((r = vv_lookups_find(v, kind, hash, &ids, &n)) != VV_OK)
		goto out;
	if ((sql = lookup_sql(select, kind, n)) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = vv_prepare(v, sql, st)) != VV_OK)
		goto out;
	(void)sqlite3_bind_int64(*st, 1, hash);
	for (i = 0; n <= IN_LIST_MAX && i < n; i++)
		(void)sqlite3_bind_int64(*st, (int)i + 2, ids[i]);
out:
	free(sql);
	free(ids);
	return r;
}
