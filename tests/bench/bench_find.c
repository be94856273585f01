/*
 * bench_find.c - lookups by phone: the vault's blind index (normalise,
 * keyed BLAKE2b, the hash's bucket, the records it names, decrypted)
 * against a raw SQLCipher select on an index of the plaintext phone
 * column, in alternating rounds.  The phones are those of the records
 * the get rows read, spelt as the CSV spells them.
 */
#define SQLITE_HAS_CODEC 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vipvault.h"
#include "vault/session_int.h"
#include "bench.h"

#define FIND_ROUNDS 5u
#define PHONE_MAX 64u

struct found {
	size_t n, bytes;
};

static int
found_fn(void *arg, const vv_record *r)
{
	struct found *f = arg;
	const char *name = vv_record_field(r, VV_FIELD_NAME);

	f->n++;
	f->bytes += name != NULL ? strlen(name) : 0;
	return 0;
}

/* The CSV's spelling of the phone of each id, from the raw table. */
static int
phones_of(sqlite3 *db, char (*seq)[ID_MAX], size_t n, char (*ph)[PHONE_MAX])
{
	sqlite3_stmt *st = NULL;
	const unsigned char *p;
	size_t i;
	int r = -1;

	if (sqlite3_prepare_v2(db, "SELECT phone FROM clients WHERE "
	    "external_id = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < n; i++) {
		(void)sqlite3_reset(st);
		(void)sqlite3_bind_text(st, 1, seq[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW ||
		    (p = sqlite3_column_text(st, 0)) == NULL)
			goto out;
		(void)snprintf(ph[i], PHONE_MAX, "%s", (const char *)p);
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

static int
vault_finds(vv_session *s, char (*ph)[PHONE_MAX], size_t n, struct found *f)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = vv_find_phone(s, ph[i], found_fn, f)) != VV_OK) {
			fprintf(stderr, "bench: find by phone: %s\n",
			    vv_strerror(r));
			return -1;
		}
	return 0;
}

static int
raw_finds(sqlite3_stmt *st, char (*ph)[PHONE_MAX], size_t n, struct found *f)
{
	size_t i;
	int rc, col;

	for (i = 0; i < n; i++) {
		(void)sqlite3_reset(st);
		(void)sqlite3_bind_text(st, 1, ph[i], -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			f->n++;
			for (col = 0; col < sqlite3_column_count(st); col++)
				f->bytes += (size_t)sqlite3_column_bytes(st,
				    col);
		}
		if (rc != SQLITE_DONE)
			return -1;
	}
	(void)sqlite3_reset(st);
	return 0;
}

int
bench_find(vv_session *s, sqlite3 *raw_idx, char (*seq)[ID_MAX], size_t n)
{
	char (*ph)[PHONE_MAX] = NULL;
	struct found fv = { 0, 0 }, fr = { 0, 0 };
	sqlite3_stmt *st = NULL;
	double t_vv = 0, t_raw = 0, t0;
	size_t round, at, k;
	int r = -1;

	if ((ph = calloc(n, sizeof(*ph))) == NULL ||
	    phones_of(raw_idx, seq, n, ph) != 0 ||
	    sqlite3_prepare_v2(raw_idx, "SELECT external_id, name, phone, "
	    "email, address, annual_spend, client_since, owner, notes FROM "
	    "clients WHERE phone = ?", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: find by phone: setting up failed\n");
		goto out;
	}
	/* The lookups themselves, not the compliance log: its cost is the
	 * "logged vs unlogged" row's. */
	vv_session_set_audit(s, 0);
	for (round = 0, at = 0; round < FIND_ROUNDS; round++, at += k) {
		k = (n - at) / (FIND_ROUNDS - round);
		t0 = bench_now();
		if (vault_finds(s, ph + at, k, &fv) != 0)
			goto out;
		t_vv += bench_now() - t0;
		t0 = bench_now();
		if (raw_finds(st, ph + at, k, &fr) != 0)
			goto out;
		t_raw += bench_now() - t0;
	}
	/* Both sides must have found every record (and the odd namesake
	 * sharing a phone). */
	if (fv.n < n || fr.n < n || fv.bytes == 0) {
		fprintf(stderr, "bench: find by phone: %zu and %zu matches for "
		    "%zu phones\n", fv.n, fr.n, n);
		goto out;
	}
	printf("%-34s %12.0f %14.0f %7.2f   -\n", "find by phone (/s)",
	    (double)n / t_vv, (double)n / t_raw, t_vv / t_raw);
	printf("(basic/standard phones as the CSV spells them; raw: an index "
	    "on the plaintext\nphone column; vault: normalise, blind index, "
	    "bucket, decrypt; log off)\n");
	r = 0;
out:
	vv_session_set_audit(s, 1);
	sqlite3_finalize(st);
	free(ph);
	return r;
}
