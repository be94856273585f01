/*
 * lookups.c - the blind index, stored in buckets.
 *
 * Why not an SQLite index on each blind-index column: its keys are keyed
 * hashes, so every record costs two B-tree insertions at random places,
 * and those were a third of an import's time.  Here the (hash, record id)
 * pairs of one kind live in buckets, one row per range of hash values:
 * the pairs sorted, 16 bytes each, big-endian so that byte order is
 * numeric order.  A writer collects its changes and applies them bucket
 * by bucket before it commits, so an import of 100,000 records rewrites
 * a couple of thousand rows instead of inserting 200,000 index entries.
 *
 * The bucket count grows fourfold whenever the buckets average more than
 * BUCKET_AVG pairs, so one write rewrites a few KiB whatever the vault's
 * size.  The current width (lookup_bits) and the number of pairs
 * (lookup_entries) are in the meta table.  Row ids are kind << 32 |
 * bucket.  A bucket that is not well formed is an integrity failure, not
 * something to repair silently: the index decides which records a lookup
 * finds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/lookups.h"

#define BUCKET_AVG 256u

struct op {
	uint64_t hash, id;
	uint32_t seq;		/* the order the changes were made in */
	uint8_t kind;
	uint8_t add;
};

struct vv_lookups {
	vv_vault *v;
	struct op *ops;
	size_t n, cap;
};

int
vv_lookups_new(vv_vault *v, struct vv_lookups **out)
{
	struct vv_lookups *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return VV_ERR_NOMEM;
	l->v = v;
	*out = l;
	return VV_OK;
}

static void
drop_ops(struct vv_lookups *l)
{
	if (l->ops != NULL) {
		/* The hashes are of client contacts. */
		sodium_memzero(l->ops, l->cap * sizeof(*l->ops));
		free(l->ops);
	}
	l->v->lookups_pending -= l->n;
	l->ops = NULL;
	l->n = l->cap = 0;
}

void
vv_lookups_free(struct vv_lookups **lp)
{
	if (lp == NULL || *lp == NULL)
		return;
	drop_ops(*lp);
	free(*lp);
	*lp = NULL;
}

static int
push(struct vv_lookups *l, int kind, int64_t hash, int64_t id, int add)
{
	struct op *o;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? 2 * l->cap : 256;
		/* No realloc: the old block must be wiped. */
		if ((o = calloc(cap, sizeof(*o))) == NULL)
			return VV_ERR_NOMEM;
		if (l->ops != NULL) {
			memcpy(o, l->ops, l->n * sizeof(*o));
			sodium_memzero(l->ops, l->cap * sizeof(*o));
			free(l->ops);
		}
		l->ops = o;
		l->cap = cap;
	}
	o = &l->ops[l->n++];
	o->hash = (uint64_t)hash;
	o->id = (uint64_t)id;
	o->kind = (uint8_t)kind;
	o->add = (uint8_t)add;
	o->seq = (uint32_t)(l->n - 1);
	l->v->lookups_pending++;
	return VV_OK;
}

int
vv_lookups_add(struct vv_lookups *l, int kind, int64_t hash, int64_t id)
{
	return push(l, kind, hash, id, 1);
}

int
vv_lookups_remove(struct vv_lookups *l, int kind, int64_t hash, int64_t id)
{
	return push(l, kind, hash, id, 0);
}

/* ------------------------------------------------------------ state */

static int
state_write(vv_vault *v, const struct vv_lookup_state *s)
{
	char num[24];
	int r;

	(void)snprintf(num, sizeof(num), "%u", s->bits);
	if ((r = vv_meta_set(v, "lookup_bits", num)) != VV_OK)
		return r;
	(void)snprintf(num, sizeof(num), "%lld", (long long)s->entries);
	return vv_meta_set(v, "lookup_entries", num);
}

/* ------------------------------------------------------------ flush */

/* Within a bucket: by pair, then in the order the changes were made. */
static int
op_cmp(const void *a, const void *b)
{
	const struct op *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint32_t
group_of(const struct op *o, unsigned bits)
{
	return (uint32_t)o->kind << bits | vv_lookup_bucket_of(o->hash, bits);
}

#define RADIX_BITS 13u
#define RADIX (1u << RADIX_BITS)

/* One stable counting-sort pass of ops into out on 13 bits of their
 * bucket group. */
static void
radix_pass(const struct op *ops, struct op *out, size_t n, unsigned bits,
    unsigned shift, size_t *count)
{
	size_t i, sum = 0, c;

	memset(count, 0, RADIX * sizeof(*count));
	for (i = 0; i < n; i++)
		count[(group_of(&ops[i], bits) >> shift) & (RADIX - 1)]++;
	for (i = 0; i < RADIX; i++) {
		c = count[i];
		count[i] = sum;
		sum += c;
	}
	for (i = 0; i < n; i++)
		out[count[(group_of(&ops[i], bits) >> shift) &
		    (RADIX - 1)]++] = ops[i];
}

/*
 * Sorts ops by bucket (kind, then hash range), then by pair and order of
 * change.  A flush of an import sorts some 200,000 changes: two radix
 * passes on the bucket (which has at most 25 bits) and a small sort per
 * bucket take a fraction of one sort of the whole.
 */
static int
sort_ops(struct op *ops, size_t n, unsigned bits)
{
	struct op *tmp;
	size_t *count, i, j;

	if ((tmp = calloc(n, sizeof(*tmp))) == NULL ||
	    (count = calloc(RADIX, sizeof(*count))) == NULL) {
		free(tmp);
		return VV_ERR_NOMEM;
	}
	radix_pass(ops, tmp, n, bits, 0, count);
	radix_pass(tmp, ops, n, bits, RADIX_BITS, count);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && group_of(&ops[j], bits) ==
		    group_of(&ops[i], bits); j++)
			;
		qsort(ops + i, j - i, sizeof(*ops), op_cmp);
	}
	sodium_memzero(tmp, n * sizeof(*tmp));
	free(tmp);
	free(count);
	return VV_OK;
}

struct bucket_io {
	sqlite3_stmt *get, *put, *del;
	uint8_t *out;		/* scratch for the merged bucket */
	size_t out_cap;
};

static int
out_reserve(struct bucket_io *io, size_t need)
{
	uint8_t *p;

	if (need <= io->out_cap)
		return VV_OK;
	if ((p = malloc(need)) == NULL)
		return VV_ERR_NOMEM;
	if (io->out != NULL) {
		sodium_memzero(io->out, io->out_cap);
		free(io->out);
	}
	io->out = p;
	io->out_cap = need;
	return VV_OK;
}

static int
bucket_write(vv_vault *v, struct bucket_io *io, int64_t key, size_t len)
{
	sqlite3_stmt *st = len > 0 ? io->put : io->del;
	int rc;

	(void)sqlite3_reset(st);
	(void)sqlite3_bind_int64(st, 1, key);
	if (len > 0)
		(void)sqlite3_bind_blob(st, 2, io->out, (int)len,
		    SQLITE_STATIC);
	rc = sqlite3_step(st);
	(void)sqlite3_reset(st);
	return rc == SQLITE_DONE ? VV_OK : vv_fail_db(v, rc,
	    "writing the lookup index");
}

/*
 * Merges ops[0..n) (one bucket's, sorted) into the bucket's stored pairs.
 * For each pair the last change made decides (an update that keeps its
 * phone removes the pair, then adds it back).  Removing a pair that is
 * not there, or adding one that is, changes nothing.
 */
static int
bucket_apply(vv_vault *v, struct bucket_io *io, const struct op *ops,
    size_t n, unsigned bits, int64_t *delta)
{
	uint32_t bucket = vv_lookup_bucket_of(ops[0].hash, bits);
	int64_t key = vv_lookup_row(ops[0].kind, bucket);
	uint8_t e[VV_LOOKUP_ENTRY];
	const uint8_t *old = NULL;
	size_t oldlen = 0, oi = 0, len = 0, i, j;
	int r, rc, has, want;

	(void)sqlite3_reset(io->get);
	(void)sqlite3_bind_int64(io->get, 1, key);
	rc = sqlite3_step(io->get);
	if (rc == SQLITE_ROW) {
		old = sqlite3_column_blob(io->get, 0);
		oldlen = (size_t)sqlite3_column_bytes(io->get, 0);
		if (vv_lookup_bucket_check(old, oldlen, bucket, bits) != VV_OK) {
			r = vv_fail(v, VV_ERR_INTEGRITY, "the lookup index is "
			    "damaged (bucket %lld)", (long long)key);
			goto out;
		}
	} else if (rc != SQLITE_DONE) {
		r = vv_fail_db(v, rc, "reading the lookup index");
		goto out;
	}
	if ((r = out_reserve(io, oldlen + n * VV_LOOKUP_ENTRY)) != VV_OK) {
		r = vv_fail(v, r, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && ops[j].hash == ops[i].hash &&
		    ops[j].id == ops[i].id; j++)
			;
		want = ops[j - 1].add;
		vv_put_be64(e, ops[i].hash);
		vv_put_be64(e + 8, ops[i].id);
		while (oi < oldlen && memcmp(old + oi, e, VV_LOOKUP_ENTRY) < 0) {
			memcpy(io->out + len, old + oi, VV_LOOKUP_ENTRY);
			len += VV_LOOKUP_ENTRY;
			oi += VV_LOOKUP_ENTRY;
		}
		has = oi < oldlen && memcmp(old + oi, e, VV_LOOKUP_ENTRY) == 0;
		if (has)
			oi += VV_LOOKUP_ENTRY;
		if (want) {
			memcpy(io->out + len, e, VV_LOOKUP_ENTRY);
			len += VV_LOOKUP_ENTRY;
		}
		*delta += want - has;
	}
	if (oi < oldlen) {	/* old is NULL for a new bucket */
		memcpy(io->out + len, old + oi, oldlen - oi);
		len += oldlen - oi;
	}
	/* The row is read through io->get: done with it before writing. */
	(void)sqlite3_reset(io->get);
	r = bucket_write(v, io, key, len);
out:
	(void)sqlite3_reset(io->get);
	return r;
}

static int
io_open(vv_vault *v, struct bucket_io *io)
{
	int r;

	memset(io, 0, sizeof(*io));
	if ((r = vv_prepare(v, "SELECT entries FROM lookups WHERE bucket = ?",
	    &io->get)) != VV_OK ||
	    (r = vv_prepare(v, "INSERT OR REPLACE INTO lookups(bucket, "
	    "entries) VALUES (?, ?)", &io->put)) != VV_OK ||
	    (r = vv_prepare(v, "DELETE FROM lookups WHERE bucket = ?",
	    &io->del)) != VV_OK)
		return r;
	return VV_OK;
}

static void
io_close(struct bucket_io *io)
{
	sqlite3_finalize(io->get);
	sqlite3_finalize(io->put);
	sqlite3_finalize(io->del);
	if (io->out != NULL) {
		sodium_memzero(io->out, io->out_cap);
		free(io->out);
	}
	memset(io, 0, sizeof(*io));
}

static int grow(vv_vault *v, struct vv_lookup_state *s);

int
vv_lookups_flush(vv_vault *v, struct vv_lookups *l)
{
	struct bucket_io io;
	struct vv_lookup_state s;
	int64_t delta = 0;
	size_t i, j;
	uint32_t b;
	int r;

	if (l->n == 0)
		return VV_OK;
	/* A bucket group must fit the two radix passes. */
	_Static_assert(VV_LOOKUP_BITS_MAX + 1 <= 2 * RADIX_BITS,
	    "lookup buckets fit two radix passes");
	memset(&io, 0, sizeof(io));
	if ((r = vv_lookup_state_read(v, &s)) != VV_OK || (r = io_open(v, &io)) != VV_OK)
		goto out;
	if ((r = sort_ops(l->ops, l->n, s.bits)) != VV_OK) {
		r = vv_fail(v, r, "out of memory");
		goto out;
	}
	for (i = 0; i < l->n; i = j) {
		b = group_of(&l->ops[i], s.bits);
		for (j = i + 1; j < l->n && group_of(&l->ops[j], s.bits) == b;
		    j++)
			;
		if ((r = bucket_apply(v, &io, l->ops + i, j - i, s.bits,
		    &delta)) != VV_OK)
			goto out;
	}
	if (s.entries + delta < 0) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "the lookup index's count "
		    "is wrong");
		goto out;
	}
	s.entries += delta;
	if (s.bits < VV_LOOKUP_BITS_MAX && (uint64_t)s.entries >
	    (uint64_t)BUCKET_AVG << (s.bits + 1))
		r = grow(v, &s);
	else
		r = state_write(v, &s);
out:
	io_close(&io);
	/* Applied or not, the changes are gone: on failure the caller
	 * rolls the whole transaction back. */
	drop_ops(l);
	return r;
}

/* ------------------------------------------------------------- grow */

/* Every pair, in row order (kind, then hash): buckets are hash ranges. */
static int
read_all(vv_vault *v, const struct vv_lookup_state *s, struct vv_lookups *all)
{
	sqlite3_stmt *st = NULL;
	const uint8_t *blob;
	size_t len, i;
	int64_t key;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT bucket, entries FROM lookups ORDER BY "
	    "bucket", &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		key = sqlite3_column_int64(st, 0);
		blob = sqlite3_column_blob(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		if ((key >> 32) != VV_INDEX_PHONE && (key >> 32) !=
		    VV_INDEX_EMAIL) {
			r = vv_fail(v, VV_ERR_INTEGRITY, "the lookup index is "
			    "damaged (bucket %lld)", (long long)key);
			goto out;
		}
		if (vv_lookup_bucket_check(blob, len, (uint32_t)key,
		    s->bits) != VV_OK) {
			r = vv_fail(v, VV_ERR_INTEGRITY, "the lookup index is "
			    "damaged (bucket %lld)", (long long)key);
			goto out;
		}
		for (i = 0; i < len; i += VV_LOOKUP_ENTRY)
			if ((r = push(all, (int)(key >> 32), (int64_t)
			    vv_get_be64(blob + i), (int64_t)vv_get_be64(blob +
			    i + 8), 1)) != VV_OK) {
				r = vv_fail(v, r, "out of memory");
				goto out;
			}
	}
	r = rc == SQLITE_DONE ? VV_OK : vv_fail_db(v, rc,
	    "reading the lookup index");
out:
	sqlite3_finalize(st);
	return r;
}

/* Rewrites every bucket four times narrower. */
static int
grow(vv_vault *v, struct vv_lookup_state *s)
{
	struct vv_lookups *all = NULL;
	int r;

	if ((r = vv_lookups_new(v, &all)) != VV_OK)
		return vv_fail(v, r, "out of memory");
	if ((r = read_all(v, s, all)) != VV_OK ||
	    (r = vv_exec(v, "DELETE FROM lookups")) != VV_OK)
		goto out;
	s->bits = s->bits + 2 > VV_LOOKUP_BITS_MAX ? VV_LOOKUP_BITS_MAX :
	    s->bits + 2;
	s->entries = 0;
	if ((r = state_write(v, s)) != VV_OK)
		goto out;
	r = vv_lookups_flush(v, all);
out:
	vv_lookups_free(&all);
	return r;
}

/* ---------------------------------------------------------- rebuild */

static int
add_col(struct vv_lookups *l, sqlite3_stmt *st, int col, int kind)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return VV_OK;
	return vv_lookups_add(l, kind, sqlite3_column_int64(st, col),
	    sqlite3_column_int64(st, 0));
}

int
vv_lookups_rebuild(vv_vault *v)
{
	struct vv_lookups *l = NULL;
	sqlite3_stmt *st = NULL;
	struct vv_lookup_state s;
	int r, rc;

	if ((r = vv_lookups_new(v, &l)) != VV_OK)
		return vv_fail(v, r, "out of memory");
	s.bits = VV_LOOKUP_BITS_MIN;
	s.entries = 0;
	if ((r = vv_exec(v, "DELETE FROM lookups")) != VV_OK ||
	    (r = state_write(v, &s)) != VV_OK ||
	    (r = vv_prepare(v, "SELECT id, phone_idx, email_idx FROM records",
	    &st)) != VV_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = add_col(l, st, 1, VV_INDEX_PHONE)) != VV_OK ||
		    (r = add_col(l, st, 2, VV_INDEX_EMAIL)) != VV_OK) {
			r = vv_fail(v, r, "out of memory");
			goto out;
		}
	if (rc != SQLITE_DONE) {
		r = vv_fail_db(v, rc, "reading records");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = vv_lookups_flush(v, l);
out:
	sqlite3_finalize(st);
	vv_lookups_free(&l);
	return r;
}
