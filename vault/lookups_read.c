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
#define SMALL_IN 4u		/* ids in a kept statement's list */

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

static int
read_bits(vv_vault *v, unsigned *out)
{
	int64_t bits = 0;
	int r;

	if ((r = meta_int(v, "lookup_bits", &bits)) != VV_OK)
		return r;
	if (bits < VV_LOOKUP_BITS_MIN || bits > VV_LOOKUP_BITS_MAX)
		return vv_fail(v, VV_ERR_INTEGRITY, "vault metadata "
		    "'lookup_bits' is out of range");
	*out = (unsigned)bits;
	return VV_OK;
}

int
vv_lookup_state_read(vv_vault *v, struct vv_lookup_state *s)
{
	int r;

	if ((r = read_bits(v, &s->bits)) != VV_OK)
		return r;
	return meta_int(v, "lookup_entries", &s->entries);
}

/*
 * The bucket a hash is in, with the width it was computed for, read by
 * one statement: one snapshot, so that a writer growing the buckets
 * cannot come between the two (a sound bucket would look damaged).  The
 * shift and mask compute vv_lookup_bucket_of in SQL: SQLite shifts
 * signed integers arithmetically, and the mask drops the sign's copies.
 */
static const char bucket_sql[] =
    "SELECT m.value, l.entries FROM meta m LEFT JOIN lookups l ON "
    "l.bucket = (?1 << 32) | ((?2 >> (64 - m.value)) & "
    "((1 << m.value) - 1)) WHERE m.key = 'lookup_bits'";

/* A statement kept prepared on the vault handle (slot of lookup_st), or,
 * when that one is in use, a fresh one. */
static int
prepare_kept(vv_vault *v, unsigned slot, const char *sql, sqlite3_stmt **st)
{
	int r;

	if (v->lookup_busy & (1u << slot))
		return vv_prepare(v, sql, st);
	if (v->lookup_st[slot] == NULL &&
	    (r = vv_prepare(v, sql, &v->lookup_st[slot])) != VV_OK)
		return r;
	v->lookup_busy |= 1u << slot;
	*st = v->lookup_st[slot];
	return VV_OK;
}

void
vv_lookups_release(vv_vault *v, sqlite3_stmt *st)
{
	unsigned i;

	if (st == NULL)
		return;
	for (i = 0; i < VV_LOOKUP_STMTS; i++)
		if (v->lookup_st[i] == st) {
			(void)sqlite3_reset(st);
			(void)sqlite3_clear_bindings(st);
			v->lookup_busy &= ~(1u << i);
			return;
		}
	sqlite3_finalize(st);
}

void
vv_lookups_close(vv_vault *v)
{
	unsigned i;

	for (i = 0; i < VV_LOOKUP_STMTS; i++) {
		sqlite3_finalize(v->lookup_st[i]);
		v->lookup_st[i] = NULL;
	}
	v->lookup_busy = 0;
}

static int
check_bits(vv_vault *v, sqlite3_stmt *st, unsigned *bits)
{
	const unsigned char *t = sqlite3_column_text(st, 0);
	char *end;
	long x;

	if (t == NULL || (x = strtol((const char *)t, &end, 10), *end != '\0') ||
	    x < (long)VV_LOOKUP_BITS_MIN || x > (long)VV_LOOKUP_BITS_MAX)
		return vv_fail(v, VV_ERR_INTEGRITY, "vault metadata "
		    "'lookup_bits' is malformed");
	*bits = (unsigned)x;
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
	unsigned bits = 0;
	uint32_t bucket;
	int r, rc;

	*ids = NULL;
	*n = 0;
	if ((r = prepare_kept(v, 0, bucket_sql, &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int(st, 1, kind);
	(void)sqlite3_bind_int64(st, 2, hash);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? vv_fail(v, VV_ERR_INTEGRITY, "vault "
		    "metadata 'lookup_bits' is missing") : vv_fail_db(v, rc,
		    "reading the lookup index");
		goto out;
	}
	if ((r = check_bits(v, st, &bits)) != VV_OK ||
	    sqlite3_column_type(st, 1) == SQLITE_NULL)
		goto out;	/* no bucket: no record has this hash */
	bucket = vv_lookup_bucket_of((uint64_t)hash, bits);
	blob = sqlite3_column_blob(st, 1);
	len = (size_t)sqlite3_column_bytes(st, 1);
	/* Checked whole, though only a few pairs are wanted: a bucket
	 * out of order could hide a record from this lookup. */
	if (vv_lookup_bucket_check(blob, len, bucket, bits) != VV_OK) {
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
	vv_lookups_release(v, st);
	return r;
}

static const char *const selects[2] = {
	"SELECT " VV_RECORD_COLUMNS " FROM records r",
	"SELECT r.external_id, r.owner, r.tier, r.canary FROM records r"
};

/* "select WHERE r.id IN (?2, ..., ?m+1) AND r.<col> = ?1 ORDER BY
 * r.external_id" with m = n, or SMALL_IN for a kept statement (the ids
 * it does not need are bound to NULL, which matches nothing).  Beyond
 * IN_LIST_MAX matches (a switchboard number shared by a whole company)
 * the ids are dropped and the table scanned. */
static char *
lookup_sql(int variant, int kind, size_t m)
{
	const char *col = kind == VV_INDEX_PHONE ? "r.phone_idx" :
	    "r.email_idx";
	size_t cap = strlen(selects[variant]) + 96 +
	    8 * (m > IN_LIST_MAX ? 0 : m), at;
	char *sql;
	size_t i;

	if ((sql = malloc(cap)) == NULL)
		return NULL;
	at = (size_t)snprintf(sql, cap, "%s WHERE ", selects[variant]);
	if (m <= IN_LIST_MAX) {
		at += (size_t)snprintf(sql + at, cap - at, "r.id IN (");
		for (i = 0; i < m; i++)
			at += (size_t)snprintf(sql + at, cap - at, "%s?%zu",
			    i > 0 ? "," : "", i + 2);
		at += (size_t)snprintf(sql + at, cap - at, ") AND ");
	}
	(void)snprintf(sql + at, cap - at, "%s = ?1 ORDER BY r.external_id",
	    col);
	return sql;
}

/* Most hashes name one record, a shared phone a few: those lookups run
 * a statement kept prepared for SMALL_IN ids (slot 1 + variant * 2 +
 * kind; the ids it does not need stay NULL).  The rest, and a lookup
 * while that statement is in use, prepare their own. */
static int
prepare_records(vv_vault *v, int variant, int kind, size_t n,
    sqlite3_stmt **st)
{
	unsigned slot = 1u + (unsigned)variant * 2u + (unsigned)kind;
	char *sql;
	int r;

	if (n <= SMALL_IN && !(v->lookup_busy & (1u << slot))) {
		if (v->lookup_st[slot] == NULL) {
			if ((sql = lookup_sql(variant, kind, SMALL_IN)) == NULL)
				return vv_fail(v, VV_ERR_NOMEM, "out of memory");
			r = vv_prepare(v, sql, &v->lookup_st[slot]);
			free(sql);
			if (r != VV_OK)
				return r;
		}
		v->lookup_busy |= 1u << slot;
		*st = v->lookup_st[slot];
		return VV_OK;
	}
	if ((sql = lookup_sql(variant, kind, n)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	r = vv_prepare(v, sql, st);
	free(sql);
	return r;
}

int
vv_lookups_prepare(vv_vault *v, int kind, int64_t hash, int variant,
    sqlite3_stmt **st)
{
	int64_t *ids = NULL;
	size_t n = 0, i;
	int r;

	*st = NULL;
	if (variant != VV_LOOKUP_RECORDS && variant != VV_LOOKUP_BRIEF)
		return vv_fail(v, VV_ERR_INTERNAL, "bad lookup variant");
	if ((r = vv_lookups_find(v, kind, hash, &ids, &n)) != VV_OK ||
	    (r = prepare_records(v, variant, kind, n, st)) != VV_OK)
		goto out;
	(void)sqlite3_bind_int64(*st, 1, hash);
	for (i = 0; n <= IN_LIST_MAX && i < n; i++)
		(void)sqlite3_bind_int64(*st, (int)i + 2, ids[i]);
out:
	free(ids);
	return r;
}
