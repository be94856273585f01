/*
 * import_seal.c - the import's sealing thread.
 *
 * Why a thread: reading the CSV, checking and normalising each row,
 * hashing its blind indexes and sealing its four classes is about half
 * of an import's work, and none of it needs the database.  It runs here
 * while the caller's thread stores the previous rows, so an import
 * takes about as long as its SQLite work alone.
 *
 * The thread works on a copy of the vault handle whose database handle
 * is NULL: it reads the policy, the domains' public keys and the index
 * keys (which nobody changes while the import's transaction is open),
 * and writes only the copy's error message.  Row ids are counted from
 * the id the caller read; data key ids come from a counter it shares
 * with the caller's writer, and the new data keys travel with the rows
 * sealed under them, for the caller to store first.
 *
 * Rows travel in chunks through a small ring: the thread fills free
 * chunks, the caller takes full ones in file order and hands them back.
 * A chunk's arena and prepared rows hold client data in clear and are
 * wiped every time the chunk is handed back, and when it is freed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/import.h"

#define CHUNKS 3u
#define CHUNK_ROWS 256u
/* Every field of one CSV record, each with its NUL: any row fits. */
#define ARENA_CAP (VV_CSV_MAX_RECORD + VV_CSV_MAX_FIELDS)

struct vv_sealer {
	vv_vault shadow;	/* the copy of v this thread uses */
	vv_csv *csv;
	struct vv_import_cols cols;
	struct vv_writer *w;
	int row_held;		/* the reader's current row did not fit */
	struct vv_seal_chunk chunk[CHUNKS];
	pthread_t thread;
	int running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock: chunks to fill (a stack) and filled ones (FIFO). */
	struct vv_seal_chunk *free_[CHUNKS], *full[CHUNKS];
	size_t nfree, nfull, full_head;
	_Atomic int stop;	/* also read by the thread between rows */
};

/* ----------------------------------------------------------- chunks */

static void
chunk_wipe(struct vv_seal_chunk *c)
{
	size_t i;

	if (c->arena != NULL)
		sodium_memzero(c->arena, c->used);
	for (i = 0; i < c->n; i++)
		vv_prepared_clear(&c->slot[i].pr);
	c->n = c->nkeys = c->used = 0;
	c->offset = 0;
	c->last = 0;
	c->err = VV_OK;
	c->errmsg[0] = '\0';
}

static void
chunk_free(struct vv_seal_chunk *c)
{
	size_t i;

	chunk_wipe(c);
	if (c->slot != NULL)
		for (i = 0; i < CHUNK_ROWS; i++)
			vv_sealed_free(&c->slot[i].s);
	free(c->slot);
	free(c->keys);
	free(c->arena);
	memset(c, 0, sizeof(*c));
}

static int
chunk_init(struct vv_seal_chunk *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->slot = calloc(CHUNK_ROWS, sizeof(*c->slot))) == NULL ||
	    (c->arena = malloc(ARENA_CAP)) == NULL)
		return VV_ERR_NOMEM;
	return VV_OK;
}

static int
keep_keys(struct vv_sealer *s, struct vv_seal_chunk *c)
{
	struct vv_dk_row *k;
	size_t cap;

	if (c->keys_cap - c->nkeys < VV_DK_PENDING_MAX) {
		cap = c->keys_cap ? 2 * c->keys_cap : 16;
		if ((k = realloc(c->keys, cap * sizeof(*k))) == NULL)
			return VV_ERR_NOMEM;
		c->keys = k;
		c->keys_cap = cap;
	}
	c->nkeys += vv_writer_take_keys(s->w, c->keys + c->nkeys,
	    VV_DK_PENDING_MAX);
	return VV_OK;
}

/* ------------------------------------------------------------- rows */

/* "1234", "1234.5", "1234.56": major units to minor units (cents). */
static int
parse_amount(const char *s, int64_t *out)
{
	int64_t major = 0;
	int frac = 0, digits = 0, fd = 0;

	if (*s == '\0')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (major > (INT64_MAX / 100 - 9) / 10)
			return -1;
		major = major * 10 + (*s - '0');
	}
	if (digits == 0)
		return -1;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9' && fd < 2; s++, fd++)
			frac = frac * 10 + (*s - '0');
		if (fd == 0)
			return -1;
		if (fd == 1)
			frac *= 10;
	}
	if (*s != '\0')
		return -1;
	*out = major * 100 + frac;
	return 0;
}

/* Ends the file at chunk c with an error. */
static int
row_fail(struct vv_seal_chunk *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
row_fail(struct vv_seal_chunk *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	c->err = err;
	c->last = 1;
	return err;
}

/* Copies the current row's fields into c's arena, or returns 1 (and
 * copies nothing) when they do not fit beside the rows already there. */
static int
copy_fields(struct vv_sealer *s, struct vv_seal_chunk *c,
    const char *val[VV_COL_IN_COUNT])
{
	size_t i, len, need = 0;
	const char *f;

	for (i = 0; i < s->cols.ncols; i++) {
		(void)vv_csv_field(s->csv, i, &len);
		need += len + 1;
	}
	if (need > ARENA_CAP - c->used)
		return 1;
	for (i = 0; i < s->cols.ncols; i++) {
		f = vv_csv_field(s->csv, i, &len);
		memcpy(c->arena + c->used, f, len + 1);
		val[s->cols.map[i]] = c->arena + c->used;
		c->used += len + 1;
	}
	return 0;
}

/* Checks and seals the reader's current row into the next slot of c;
 * returns 1 when the row must wait for the next chunk. */
static int
seal_row(struct vv_sealer *s, struct vv_seal_chunk *c)
{
	const char *val[VV_COL_IN_COUNT] = { NULL };
	struct vv_seal_slot *slot = &c->slot[c->n];
	unsigned long long line = vv_csv_line(s->csv);
	vv_record_input in;
	int r;

	memset(&in, 0, sizeof(in));
	if (copy_fields(s, c, val) != 0)
		return 1;
	in.external_id = val[VV_COL_IN_EXTID];
	in.name = val[VV_COL_IN_NAME];
	in.phone = val[VV_COL_IN_PHONE];
	in.email = val[VV_COL_IN_EMAIL];
	in.address = val[VV_COL_IN_ADDRESS];
	in.owner = val[VV_COL_IN_OWNER];
	in.notes = val[VV_COL_IN_NOTES];
	in.preferences = val[VV_COL_IN_PREFS];
	in.client_since = val[VV_COL_IN_SINCE];
	if (parse_amount(val[VV_COL_IN_SPEND], &in.annual_spend) != 0)
		return -row_fail(c, VV_ERR_INPUT, "line %llu, column "
		    "annual_spend: not an amount (digits, optionally '.' and "
		    "up to two decimals)", line);
	if ((r = vv_record_prepare(&s->shadow, &in, &slot->pr)) != VV_OK)
		return -(r == VV_ERR_INPUT ? row_fail(c, r, "line %llu, column "
		    "%s", line, s->shadow.errmsg) : row_fail(c, r, "%s",
		    s->shadow.errmsg));
	if ((r = vv_writer_seal(&s->shadow, s->w, &slot->pr.p, &slot->s)) !=
	    VV_OK) {
		vv_prepared_clear(&slot->pr);
		return -(r == VV_ERR_INPUT ? row_fail(c, r, "line %llu, column "
		    "%s", line, s->shadow.errmsg) : row_fail(c, r, "%s",
		    s->shadow.errmsg));
	}
	slot->line = line;
	c->n++;
	if (keep_keys(s, c) != VV_OK)
		return -row_fail(c, VV_ERR_NOMEM, "out of memory");
	return 0;
}

static void
fill(struct vv_sealer *s, struct vv_seal_chunk *c)
{
	size_t n = 0;
	int r;

	while (c->n < CHUNK_ROWS && !atomic_load(&s->stop)) {
		if (!s->row_held) {
			if ((r = vv_csv_next(s->csv, &n)) != VV_OK) {
				(void)(r == VV_ERR_INPUT ? row_fail(c, r,
				    "line %llu, column %zu: %s",
				    (unsigned long long)vv_csv_error_line(s->csv),
				    vv_csv_error_column(s->csv),
				    vv_csv_errmsg(s->csv)) : row_fail(c, r,
				    "reading the file: %s", vv_strerror(r)));
				break;
			}
			if (n == 0) {
				c->last = 1;
				break;
			}
			if (n == 1 && vv_csv_field(s->csv, 0, NULL)[0] == '\0')
				continue;	/* a blank line */
			if (n != s->cols.ncols) {
				(void)row_fail(c, VV_ERR_INPUT, "line %llu: %zu "
				    "fields, the header has %zu",
				    (unsigned long long)vv_csv_line(s->csv), n,
				    s->cols.ncols);
				break;
			}
		}
		if ((r = seal_row(s, c)) < 0)
			break;
		s->row_held = r == 1;
		if (s->row_held)
			break;
	}
	c->offset = vv_csv_offset(s->csv);
}

/* ----------------------------------------------------------- thread */

static void *
run(void *arg)
{
	struct vv_sealer *s = arg;
	struct vv_seal_chunk *c;
	int last = 0;

	while (!last) {
		(void)pthread_mutex_lock(&s->lock);
		while (s->nfree == 0 && !s->stop)
			(void)pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop) {
			(void)pthread_mutex_unlock(&s->lock);
			break;
		}
		c = s->free_[--s->nfree];
		(void)pthread_mutex_unlock(&s->lock);

		fill(s, c);
		last = c->last;

		(void)pthread_mutex_lock(&s->lock);
		s->full[(s->full_head + s->nfull++) % CHUNKS] = c;
		(void)pthread_cond_broadcast(&s->cond);
		(void)pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int
vv_sealer_start(vv_vault *v, vv_csv *csv, const struct vv_import_cols *cols,
    int64_t next_id, _Atomic int64_t *dk_ids, struct vv_sealer **out)
{
	struct vv_sealer *s;
	size_t i;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	s->csv = csv;
	s->cols = *cols;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return vv_fail(v, VV_ERR_NOMEM, "cannot start the import");
	}
	if (pthread_cond_init(&s->cond, NULL) != 0) {
		(void)pthread_mutex_destroy(&s->lock);
		free(s);
		return vv_fail(v, VV_ERR_NOMEM, "cannot start the import");
	}
	*out = s;
	for (i = 0; i < CHUNKS; i++) {
		if (chunk_init(&s->chunk[i]) != VV_OK)
			return vv_fail(v, VV_ERR_NOMEM, "out of memory");
		s->free_[s->nfree++] = &s->chunk[i];
	}
	/* The writer's statements are prepared here, on v, and never run
	 * by the thread: it is given the next row id and defers its data
	 * keys. */
	if ((r = vv_writer_new(v, &s->w)) != VV_OK)
		return r;
	vv_writer_set_next_id(s->w, next_id);
	vv_writer_share_key_ids(s->w, dk_ids, 1);
	s->shadow = *v;
	s->shadow.db = NULL;
	s->shadow.errmsg[0] = '\0';
	if (pthread_create(&s->thread, NULL, run, s) != 0)
		return vv_fail(v, VV_ERR_NOMEM, "cannot start the import's "
		    "sealing thread");
	s->running = 1;
	return VV_OK;
}

struct vv_seal_chunk *
vv_sealer_next(vv_vault *v, struct vv_sealer *s)
{
	struct vv_seal_chunk *c = NULL;

	(void)pthread_mutex_lock(&s->lock);
	while (s->nfull == 0 && s->running && !s->stop)
		(void)pthread_cond_wait(&s->cond, &s->lock);
	if (s->nfull > 0) {
		c = s->full[s->full_head];
		s->full_head = (s->full_head + 1) % CHUNKS;
		s->nfull--;
	}
	(void)pthread_mutex_unlock(&s->lock);
	if (c == NULL)
		(void)vv_fail(v, VV_ERR_INTERNAL, "the import's sealing thread "
		    "stopped");
	return c;
}

void
vv_sealer_done(struct vv_sealer *s, struct vv_seal_chunk *c)
{
	chunk_wipe(c);
	(void)pthread_mutex_lock(&s->lock);
	s->free_[s->nfree++] = c;
	(void)pthread_cond_broadcast(&s->cond);
	(void)pthread_mutex_unlock(&s->lock);
}

void
vv_sealer_stop(struct vv_sealer **sp)
{
	struct vv_sealer *s;
	size_t i;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	if (s->running) {
		(void)pthread_mutex_lock(&s->lock);
		atomic_store(&s->stop, 1);
		(void)pthread_cond_broadcast(&s->cond);
		(void)pthread_mutex_unlock(&s->lock);
		(void)pthread_join(s->thread, NULL);
	}
	for (i = 0; i < CHUNKS; i++)
		chunk_free(&s->chunk[i]);
	vv_writer_free(&s->w);
	sodium_memzero(&s->shadow, sizeof(s->shadow));
	(void)pthread_cond_destroy(&s->cond);
	(void)pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}
