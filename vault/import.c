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

enum col {
	COL_EXTID, COL_NAME, COL_PHONE, COL_EMAIL, COL_ADDRESS, COL_SPEND,
	COL_SINCE, COL_OWNER, COL_NOTES, COL_PREFS, COL_COUNT
};

static const char *const col_names[COL_COUNT] = { "external_id", "name",
    "phone", "email", "address", "annual_spend", "client_since", "owner",
    "notes", "preferences" };

/* Columns that must be present; the others may be left out. */
#define REQUIRED ((1u << COL_EXTID) | (1u << COL_NAME) | \
	(1u << COL_SPEND) | (1u << COL_SINCE) | (1u << COL_OWNER))

struct import {
	vv_vault *v;
	vv_csv *csv;
	struct vv_writer *w;
	int map[VV_CSV_MAX_FIELDS];	/* csv column -> enum col */
	size_t ncols;
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

		for (c = 0; c < COL_COUNT; c++)
			if (strcmp(name, col_names[c]) == 0)
				break;
		if (c == COL_COUNT)
			return vv_fail(im->v, VV_ERR_INPUT, "line 1, column "
			    "%zu: unknown column (expected one of external_id, "
			    "name, phone, email, address, annual_spend, "
			    "client_since, owner, notes, preferences)", i + 1);
		if (have & (1u << c))
			return vv_fail(im->v, VV_ERR_INPUT, "line 1, column "
			    "%zu: column %s appears twice", i + 1, col_names[c]);
		have |= 1u << c;
		im->map[i] = c;
	}
	for (c = 0; c < COL_COUNT; c++)
		if ((REQUIRED & (1u << c)) && !(have & (1u << c)))
			return vv_fail(im->v, VV_ERR_INPUT, "line 1: required "
			    "column %s is missing", col_names[c]);
	im->ncols = n;
	return VV_OK;
}

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

static int
import_row(struct import *im, size_t n, vv_import_summary *sum)
{
	const char *val[COL_COUNT] = { NULL };
	unsigned long long line = vv_csv_line(im->csv);
	vv_record_input in;
	int r, tier = 0, inserted = 0, dup = 0;
	int64_t id = 0;
	size_t i;

	if (n != im->ncols)
		return vv_fail(im->v, VV_ERR_INPUT, "line %llu: %zu fields, "
		    "the header has %zu", line, n, im->ncols);
	for (i = 0; i < n; i++)
		val[im->map[i]] = vv_csv_field(im->csv, i, NULL);
	memset(&in, 0, sizeof(in));
	in.external_id = val[COL_EXTID];
	in.name = val[COL_NAME];
	in.phone = val[COL_PHONE];
	in.email = val[COL_EMAIL];
	in.address = val[COL_ADDRESS];
	in.owner = val[COL_OWNER];
	in.notes = val[COL_NOTES];
	in.preferences = val[COL_PREFS];
	in.client_since = val[COL_SINCE];
	if (parse_amount(val[COL_SPEND], &in.annual_spend) != 0)
		return vv_fail(im->v, VV_ERR_INPUT, "line %llu, column "
		    "annual_spend: not an amount (digits, optionally '.' and "
		    "up to two decimals)", line);
	if ((r = vv_writer_put(im->v, im->w, &in, &tier, &inserted,
	    &id)) != VV_OK) {
		if (r == VV_ERR_INPUT) {
			char detail[VV_ERRMSG_MAX];

			(void)snprintf(detail, sizeof(detail), "%s",
			    im->v->errmsg);
			return vv_fail(im->v, r, "line %llu, column %s", line,
			    detail);
		}
		return r;
	}
	if ((r = check_duplicate(im, id, inserted, &dup)) != VV_OK)
		return vv_fail(im->v, r, "out of memory");
	if (dup)
		return vv_fail(im->v, VV_ERR_INPUT, "line %llu, column "
		    "external_id: appears earlier in this file", line);
	sum->records++;
	sum->per_tier[tier]++;
	if (inserted)
		sum->inserted++;
	else
		sum->updated++;
	return VV_OK;
}

static int
import_rows(struct import *im, vv_progress_fn *progress, void *arg,
    uint64_t total, vv_import_summary *sum)
{
	size_t n = 0;
	int r;

	for (;;) {
		if ((r = vv_csv_next(im->csv, &n)) != VV_OK)
			return r == VV_ERR_INPUT ? csv_error(im) :
			    vv_fail(im->v, r, "reading the file: %s",
			    vv_strerror(r));
		if (n == 0)
			return VV_OK;
		if (n == 1 && vv_csv_field(im->csv, 0, NULL)[0] == '\0')
			continue;	/* a blank line */
		if ((r = import_row(im, n, sum)) != VV_OK)
			return r;
		if (progress != NULL && (sum->records & 255) == 0)
			progress(arg, vv_csv_offset(im->csv), total);
	}
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
