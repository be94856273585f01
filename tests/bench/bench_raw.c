/*
 * bench_raw.c - the raw SQLCipher baseline the benchmark measures the
 * vault against: a plaintext clients table in a database keyed and tuned
 * as vault/store.c does it, loaded from the same CSV in one transaction
 * and read back by external id.
 */
#define SQLITE_HAS_CODEC 1	/* for sqlite3_key */

#include <stdint.h>
#include <stdio.h>

#include <sodium.h>
#include <sqlite3.h>

#include "vipvault.h"
#include "vault/csv.h"
#include "vault/internal.h"
#include "bench.h"

/* Columns of the raw baseline, in the order of the generated CSV. */
enum rcol {
	RC_EXTID, RC_NAME, RC_PHONE, RC_EMAIL, RC_ADDRESS, RC_SPEND,
	RC_SINCE, RC_OWNER, RC_NOTES, RC_COUNT
};

static int
raw_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		fprintf(stderr, "bench: raw: %s: %s\n", sql,
		    sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* The settings of vault/store.c, the key form it uses, and a table with
 * the same plaintext columns; with indexed, also the lookups the vault
 * answers (phone, e-mail, owner), as a plaintext CRM table would have. */
int
bench_raw_open(const char *path, int indexed, sqlite3 **dbp, char *ver,
    size_t verlen)
{
	uint8_t key[32];
	char lit[2 + 64 + 2];
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	*dbp = db;	/* the caller closes it whatever happens */
	if (rc != SQLITE_OK) {
		fprintf(stderr, "bench: raw: opening %s: %s\n", path,
		    sqlite3_errstr(rc));
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	lit[0] = 'x';
	lit[1] = '\'';
	(void)sodium_bin2hex(lit + 2, 65, key, sizeof(key));
	lit[66] = '\'';
	lit[67] = '\0';
	rc = sqlite3_key(db, lit, 67);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(lit, sizeof(lit));
	if (rc != SQLITE_OK) {
		fprintf(stderr, "bench: raw: sqlite3_key failed\n");
		return -1;
	}
	if (vv_store_tune(db) != SQLITE_OK ||
	    raw_exec(db, "PRAGMA journal_mode = WAL") != 0 ||
	    raw_exec(db, "CREATE TABLE clients ("
	    "  id INTEGER PRIMARY KEY,"
	    "  external_id TEXT NOT NULL UNIQUE,"
	    "  name TEXT NOT NULL,"
	    "  phone TEXT,"
	    "  email TEXT,"
	    "  address TEXT,"
	    "  annual_spend INTEGER NOT NULL,"
	    "  client_since TEXT NOT NULL,"
	    "  owner TEXT NOT NULL,"
	    "  notes TEXT)") != 0)
		return -1;
	if (indexed && (raw_exec(db, "CREATE INDEX clients_phone ON "
	    "clients(phone)") != 0 || raw_exec(db, "CREATE INDEX "
	    "clients_email ON clients(email)") != 0 || raw_exec(db, "CREATE "
	    "INDEX clients_owner ON clients(owner, external_id)") != 0))
		return -1;
	(void)snprintf(ver, verlen, "?");
	if (sqlite3_prepare_v2(db, "PRAGMA cipher_version", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		(void)snprintf(ver, verlen, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return 0;
}

/* "1234.56" to cents, as vault/import.c reads it. */
static int
parse_cents(const char *s, int64_t *out)
{
	int64_t major = 0;
	int frac = 0, fd = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		major = major * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && fd < 2; s++, fd++)
			frac = frac * 10 + (*s - '0');
	if (*s != '\0')
		return -1;
	*out = major * 100 + (fd == 1 ? frac * 10 : frac);
	return 0;
}

static int
raw_insert_row(sqlite3_stmt *ins, const vv_csv *c)
{
	int64_t cents;
	size_t i, len;
	const char *f;
	int rc;

	if (parse_cents(vv_csv_field(c, RC_SPEND, NULL), &cents) != 0)
		return -1;
	(void)sqlite3_reset(ins);
	for (i = 0; i < RC_COUNT; i++) {
		if (i == RC_SPEND) {
			(void)sqlite3_bind_int64(ins, RC_SPEND + 1, cents);
			continue;
		}
		f = vv_csv_field(c, i, &len);
		(void)sqlite3_bind_text(ins, (int)i + 1, f, (int)len,
		    SQLITE_STATIC);
	}
	rc = sqlite3_step(ins);
	(void)sqlite3_reset(ins);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* CSV to database, one transaction, timed from open to commit. */
int
bench_raw_import(sqlite3 *db, const char *csv, size_t nrec, double *secs)
{
	sqlite3_stmt *ins = NULL;
	vv_csv *c = NULL;
	FILE *fp = NULL;
	size_t n = 0, rows = 0;
	double t0;
	int r = -1, began = 0;

	if (sqlite3_prepare_v2(db, "INSERT INTO clients(external_id, "
	    "name, phone, email, address, annual_spend, client_since, owner, "
	    "notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &ins,
	    NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: raw: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	t0 = bench_now();
	if ((fp = fopen(csv, "rb")) == NULL ||
	    vv_csv_new(&c, fp) != VV_OK ||
	    vv_csv_next(c, &n) != VV_OK || n != RC_COUNT)
		goto out;
	if (raw_exec(db, "BEGIN IMMEDIATE") != 0)
		goto out;
	began = 1;
	for (;;) {
		if (vv_csv_next(c, &n) != VV_OK)
			goto out;
		if (n == 0)
			break;
		if (n != RC_COUNT || raw_insert_row(ins, c) != 0)
			goto out;
		rows++;
	}
	if (raw_exec(db, "COMMIT") != 0)
		goto out;
	began = 0;
	*secs = bench_now() - t0;
	r = rows == nrec ? 0 : -1;
out:
	if (r != 0)
		fprintf(stderr, "bench: raw import failed after %zu rows: %s\n",
		    rows, sqlite3_errmsg(db));
	if (began)
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(ins);
	vv_csv_free(&c);
	if (fp != NULL)
		(void)fclose(fp);
	return r;
}

int
bench_raw_gets(sqlite3 *db, sqlite3_stmt *st, char (*seq)[ID_MAX], size_t n,
    size_t *sum)
{
	size_t i;
	int col, rc;

	for (i = 0; i < n; i++) {
		(void)sqlite3_reset(st);
		(void)sqlite3_bind_text(st, 1, seq[i], -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			fprintf(stderr, "bench: raw select of %s: %s\n", seq[i],
			    rc == SQLITE_DONE ? "no row" : sqlite3_errmsg(db));
			return -1;
		}
		for (col = 0; col < RC_COUNT; col++) {
			if (col == RC_SPEND) {
				*sum += (size_t)sqlite3_column_int64(st, col);
				continue;
			}
			if (sqlite3_column_text(st, col) != NULL)
				*sum += (size_t)sqlite3_column_bytes(st, col);
		}
	}
	(void)sqlite3_reset(st);
	return 0;
}
