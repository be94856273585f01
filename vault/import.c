/*
 * import.c - a CRM export in, all or nothing.
 *
 * The whole file is one transaction: any bad row rolls back everything
 * and the message names its line and column (never its value).  Columns
 * may come in any order; unknown or repeated columns are refused, since
 * a silently ignored column is data the operator believes is protected.
 * An external id that appears twice in one file is refused too: which
 * row should win is the operator's call, not ours.  Duplicates are found
 * from what the database says, not by keeping every id in memory: a
 * record inserted by this import has a row id at or above the first one
 * the import allocated, and the few records it updates are remembered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vault/csv.h"
#include "vault/internal.h"
#include "vault/clog.h"
#include "vault/import.h"

static const char *const col_names[VV_COL_IN_COUNT] = { "external_id",
    "name", "phone", "email", "address", "annual_spend", "client_since",
    "owner", "notes", "preferences" };

/* Columns that must be present; the others may be left out. */
#define REQUIRED ((1u << VV_COL_IN_EXTID) | (1u << VV_COL_IN_NAME) | \
	(1u << VV_COL_IN_SPEND) | (1u << VV_COL_IN_SINCE) | \
	(1u << VV_COL_IN_OWNER))

struct import {
	vv_vault *v;
	vv_csv *csv;
	struct vv_writer *w;
	struct vv_import_cols cols;
	int64_t first_new;	/* row id of the first record inserted */
	/* row ids of existing records this import updated (open addressing,
	 * 0 is empty: row ids start at 1) */
	int64_t *updated;
	size_t upd_cap, upd_n;
};

static int
csv_error(struct import *im)
{
	return vv_fail(im->v, VV_ERR_INPUT, "line %llu, column %zu: %s",
	    (unsigned long long)vv_csv_error_line(im->csv),
	    vv_csv_error_column(im->csv), vv_csv_errmsg(im->csv));
}

static int
read_header(struct import *im)
{
	unsigned have = 0;
	size_t n = 0, i;
	int r, c;

	if ((r = vv_csv_next(im->csv, &n)) != VV_OK)
		return r == VV_ERR_INPUT ? csv_error(im) : vv_fail(im->v, r,
		    "reading the file: %s", vv_strerror(r));
	if (n == 0)
		return vv_fail(im->v, VV_ERR_INPUT, "line 1: the file is empty "
		    "(a header row is required)");
	for (i = 0; i < n; i++) {
		const char *name = vv_csv_field(im->csv, i, NULL);

		for (c = 0; c < VV_COL_IN_COUNT; c++)
			if (strcmp(name, col_names[c]) == 0)
				break;
		if (c == VV_COL_IN_COUNT)
			return vv_fail(im->v, VV_ERR_INPUT, "line 1, column "
			    "%zu: unknown column (expected one of external_id, "
			    "name, phone, email, address, annual_spend, "
			    "client_since, owner, notes, preferences)", i + 1);
		if (have & (1u << c))
			return vv_fail(im->v, VV_ERR_INPUT, "line 1, column "
			    "%zu: column %s appears twice", i + 1, col_names[c]);
		have |= 1u << c;
		im->cols.map[i] = c;
	}
	for (c = 0; c < VV_COL_IN_COUNT; c++)
		if ((REQUIRED & (1u << c)) && !(have & (1u << c)))
			return vv_fail(im->v, VV_ERR_INPUT, "line 1: required "
			    "column %s is missing", col_names[c]);
	im->cols.ncols = n;
	return VV_OK;
}

static int
updated_grow(struct import *im)
{
	size_t cap = im->upd_cap ? 2 * im->upd_cap : 1024, i, j;
	int64_t *tab = calloc(cap, sizeof(*tab));

	if (tab == NULL)
		return VV_ERR_NOMEM;
	for (i = 0; i < im->upd_cap; i++) {
		if (im->updated[i] == 0)
			continue;
		for (j = (size_t)im->updated[i] % cap; tab[j] != 0;
		    j = (j + 1) % cap)
			;
		tab[j] = im->updated[i];
	}
	free(im->updated);
	im->updated = tab;
	im->upd_cap = cap;
	return VV_OK;
}

/* Sets *dup if the record with row id was already written by this
 * import; remembers it otherwise. */
static int
check_duplicate(struct import *im, int64_t id, int inserted, int *dup)
{
	size_t j;

	*dup = 0;
	if (inserted) {
		if (im->first_new == 0)
			im->first_new = id;
		return VV_OK;
	}
	if (im->first_new != 0 && id >= im->first_new) {
		*dup = 1;
		return VV_OK;
	}
	if (2 * (im->upd_n + 1) > im->upd_cap && updated_grow(im) != VV_OK)
		return VV_ERR_NOMEM;
	for (j = (size_t)id % im->upd_cap; im->updated[j] != 0;
	    j = (j + 1) % im->upd_cap)
		if (im->updated[j] == id) {
			*dup = 1;
			return VV_OK;
		}
	im->updated[j] = id;
	im->upd_n++;
	return VV_OK;
}

/* Stores one sealed row; an external id the vault has already is
 * sealed again as an update of that record. */
static int
store_row(struct import *im, struct vv_seal_slot *slot,
    vv_import_summary *sum)
{
	struct vv_plain *p = &slot->pr.p;
	int r, dup = 0;

	r = vv_writer_insert(im->v, im->w, p, &slot->s);
	if (r == VV_ERR_EXISTS)
		r = vv_writer_update(im->v, im->w, p);
	if (r == VV_ERR_INPUT) {
		char detail[VV_ERRMSG_MAX];

		(void)snprintf(detail, sizeof(detail), "%s", im->v->errmsg);
		return vv_fail(im->v, r, "line %llu, column %s", slot->line,
		    detail);
	}
	if (r != VV_OK)
		return r;
	if ((r = check_duplicate(im, p->id, !p->exists, &dup)) != VV_OK)
		return vv_fail(im->v, r, "out of memory");
	if (dup)
		return vv_fail(im->v, VV_ERR_INPUT, "line %llu, column "
		    "external_id: appears earlier in this file", slot->line);
	sum->records++;
	sum->per_tier[p->tier]++;
	if (p->exists)
		sum->updated++;
	else
		sum->inserted++;
	return VV_OK;
}

static int
store_chunk(struct import *im, struct vv_seal_chunk *c,
    vv_import_summary *sum)
{
	size_t i;
	int r;

	/* The data keys first: the rows name them. */
	for (i = 0; i < c->nkeys; i++)
		if ((r = vv_writer_store_key(im->v, im->w, &c->keys[i])) !=
		    VV_OK)
			return r;
	for (i = 0; i < c->n; i++)
		if ((r = store_row(im, &c->slot[i], sum)) != VV_OK)
			return r;
	/* Only after the rows before it: errors come in file order. */
	if (c->err != VV_OK)
		return vv_fail(im->v, c->err, "%s", c->errmsg);
	return VV_OK;
}

/*
 * The rows, sealed by the sealing thread and stored here.  The row ids
 * start at the next free one; data key ids are shared between the
 * thread's writer and ours (which seals the rows that turn out to be
 * updates).
 */
static int
import_rows(struct import *im, vv_progress_fn *progress, void *arg,
    uint64_t total, vv_import_summary *sum)
{
	struct vv_sealer *sealer = NULL;
	struct vv_seal_chunk *c;
	_Atomic int64_t dk_ids;
	int64_t next_id = 0, next_dk = 0;
	uint64_t offset;
	int r, last = 0;

	if ((r = vv_writer_next_id(im->v, im->w, &next_id)) != VV_OK ||
	    (r = vv_data_key_next_id(im->v, &next_dk)) != VV_OK)
		return r;
	atomic_init(&dk_ids, next_dk);
	vv_writer_share_key_ids(im->w, &dk_ids, 0);
	if ((r = vv_sealer_start(im->v, im->csv, &im->cols, next_id, &dk_ids,
	    &sealer)) != VV_OK)
		goto out;
	while (!last) {
		if ((c = vv_sealer_next(im->v, sealer)) == NULL) {
			r = VV_ERR_INTERNAL;
			goto out;
		}
		last = c->last;
		offset = c->offset;
		r = store_chunk(im, c, sum);
		vv_sealer_done(sealer, c);
		if (r != VV_OK)
			goto out;
		if (progress != NULL)
			progress(arg, offset, total);
	}
out:
	vv_sealer_stop(&sealer);
	/* Our writer must not keep a pointer to the counter on this
	 * stack. */
	vv_writer_share_key_ids(im->w, NULL, 0);
	return r;
}

int
vv_import_csv(vv_vault *v, const char *path, vv_progress_fn *progress,
    void *arg, vv_import_summary *summary)
{
	struct import im;
	vv_import_summary sum;
	struct stat sb;
	FILE *fp;
	int r;

	memset(&im, 0, sizeof(im));
	memset(&sum, 0, sizeof(sum));
	im.v = v;
	if ((fp = fopen(path, "rb")) == NULL)
		return vv_fail(v, errno == ENOENT ? VV_ERR_NOT_FOUND : VV_ERR_IO,
		    "cannot open the import file: %s", strerror(errno));
	/* Unbuffered: the reader has its own buffer, which it wipes; stdio's
	 * would be freed holding client data. */
	(void)setvbuf(fp, NULL, _IONBF, 0);
	if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode))
		sb.st_size = 0;
	if ((r = vv_csv_new(&im.csv, fp)) != VV_OK) {
		r = vv_fail(v, r, "out of memory");
		goto out;
	}
	if ((r = read_header(&im)) != VV_OK ||
	    (r = vv_store_begin(v)) != VV_OK)
		goto out;
	/* Another handle may have changed the policy since we opened. */
	if ((r = vv_policy_load(v)) != VV_OK ||
	    (r = vv_writer_new(v, &im.w)) != VV_OK ||
	    (r = import_rows(&im, progress, arg, (uint64_t)sb.st_size,
	    &sum)) != VV_OK || (r = vv_writer_flush(v, im.w)) != VV_OK) {
		vv_writer_free(&im.w);
		vv_store_rollback(v);
		goto out;
	}
	vv_writer_free(&im.w);
	if ((r = vv_clog_note(v, VV_EV_IMPORT, NULL, NULL, "CSV import", NULL,
	    1, sum.records)) != VV_OK || (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		goto out;
	}
	if (progress != NULL)
		progress(arg, (uint64_t)sb.st_size, (uint64_t)sb.st_size);
	if (summary != NULL)
		*summary = sum;
out:
	free(im.updated);
	vv_csv_free(&im.csv);
	(void)fclose(fp);
	return r;
}
