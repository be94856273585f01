/*
 * import.h - the import's two halves: a sealing thread that reads the
 * CSV, checks, normalises and seals each row (import_seal.c), and the
 * caller's thread that stores the sealed rows in file order (import.c).
 */
#ifndef VV_IMPORT_H
#define VV_IMPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vault/csv.h"
#include "vault/internal.h"

/* Columns an import knows (import.c maps the header onto them). */
enum vv_import_col {
	VV_COL_IN_EXTID, VV_COL_IN_NAME, VV_COL_IN_PHONE, VV_COL_IN_EMAIL,
	VV_COL_IN_ADDRESS, VV_COL_IN_SPEND, VV_COL_IN_SINCE, VV_COL_IN_OWNER,
	VV_COL_IN_NOTES, VV_COL_IN_PREFS, VV_COL_IN_COUNT
};

/* One row, sealed: pr.p points into its chunk's arena and into pr. */
struct vv_seal_slot {
	unsigned long long line;
	struct vv_prepared pr;
	struct vv_sealed s;
};

/* Rows in file order, and the data keys they were sealed under (to be
 * stored first).  err ends the file at this chunk: the rows before the
 * one that failed are still in it, so that errors are reported in file
 * order whichever thread meets them. */
struct vv_seal_chunk {
	struct vv_seal_slot *slot;
	size_t n;
	struct vv_dk_row *keys;
	size_t nkeys, keys_cap;
	char *arena;		/* copies of the rows' fields */
	size_t used;
	uint64_t offset;	/* bytes of the file read after this chunk */
	int last;		/* no chunk follows */
	int err;
	char errmsg[VV_ERRMSG_MAX];
};

struct vv_import_cols {
	int map[VV_CSV_MAX_FIELDS];	/* csv column -> enum vv_import_col */
	size_t ncols;
};

struct vv_sealer;

/*
 * Starts the sealing thread on csv (positioned after the header), which
 * it reads until it is stopped.  Records get row ids from next_id on;
 * data keys get ids from *dk_ids, which the caller's writer shares.  The
 * thread works on a copy of v without its database (see import_seal.c).
 */
int vv_sealer_start(vv_vault *v, vv_csv *csv, const struct vv_import_cols *c,
    int64_t next_id, _Atomic int64_t *dk_ids, struct vv_sealer **out);
/* The next chunk in file order, waiting for it; NULL only if the thread
 * could not go on (out of memory), with the error on v. */
struct vv_seal_chunk *vv_sealer_next(vv_vault *v, struct vv_sealer *s);
/* Hands a stored chunk back for the thread to refill; its rows are
 * wiped. */
void vv_sealer_done(struct vv_sealer *s, struct vv_seal_chunk *c);
/* Stops the thread and frees everything, wiping what held client data. */
void vv_sealer_stop(struct vv_sealer **sp);

#endif /* VV_IMPORT_H */
