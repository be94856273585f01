/*
 * sink_pg.c - the compliance log's second mirror: a PostgreSQL database
 * compliance owns (docs/compliance-pg.sql), reached with libpq.
 *
 * The vault's role may only call vipvault_sink.append(), which checks
 * that each entry follows the last one it holds and answers with a
 * receipt signed by the sink's Ed25519 key.  That key is pinned in the
 * vault at init; a receipt that does not verify stops the sync (and so
 * a release) as surely as a sink that is down.  The entries sent are
 * encrypted as in the mirror directory; the sink learns numbers and
 * hashes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "vault/clog.h"

#define RECEIPT_PURPOSE "vipvault/sink-receipt/v1"
#define RECEIPT_LEN (sizeof(RECEIPT_PURPOSE) + VV_ID_LEN + 8 + 32)

static int
pg_fail(vv_vault *v, PGconn *c, const char *what)
{
	const char *m = c != NULL ? PQerrorMessage(c) : "";
	size_t n = strcspn(m, "\n");

	return vv_fail(v, VV_ERR_IO, "the compliance database: %s: %.*s",
	    what, (int)(n > 200 ? 200 : n), m);
}

/* A slow sink is a sink that is down: a release waits this long at
 * most for each statement. */
#define SINK_TIMEOUT "SET statement_timeout = 5000; SET lock_timeout = 5000"

static int
connect_sink(vv_vault *v, const char *conninfo, PGconn **out)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *res = NULL;
	int r;

	*out = NULL;
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		r = pg_fail(v, c, "cannot connect");
		goto fail;
	}
	res = PQexec(c, SINK_TIMEOUT);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = pg_fail(v, c, "setting timeouts");
		goto fail;
	}
	PQclear(res);
	*out = c;
	return VV_OK;
fail:
	PQclear(res);
	PQfinish(c);
	return r;
}

/* A one-row, one-column bytea result into out (exactly n bytes). */
static int
bytea_value(PGresult *res, int col, uint8_t *out, size_t n)
{
	unsigned char *raw;
	size_t len = 0;
	int ok;

	if (PQntuples(res) != 1 || PQgetisnull(res, 0, col))
		return -1;
	raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, col),
	    &len);
	ok = raw != NULL && len == n;
	if (ok)
		memcpy(out, raw, n);
	PQfreemem(raw);
	return ok ? 0 : -1;
}

int
vv_pgsink_setup(vv_vault *v, const char *conninfo)
{
	uint8_t pk[32];
	char hex[65];
	PGconn *c = NULL;
	PGresult *res = NULL;
	int r;

	if ((r = connect_sink(v, conninfo, &c)) != VV_OK)
		return r;
	res = PQexecParams(c, "SELECT vipvault_sink.public_key()", 0, NULL,
	    NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    bytea_value(res, 0, pk, sizeof(pk)) != 0) {
		r = pg_fail(v, c, "no sink key (was compliance-pg.sql run?)");
		goto out;
	}
	vv_hex(hex, pk, sizeof(pk));
	if ((r = vv_meta_set(v, "pg_sink", conninfo)) == VV_OK)
		r = vv_meta_set(v, "pg_sink_pk", hex);
out:
	PQclear(res);
	PQfinish(c);
	return r;
}

static int
verify_receipt(const vv_vault *v, uint64_t seq, const uint8_t hash[32],
    const uint8_t sig[64], const uint8_t pk[32])
{
	uint8_t msg[RECEIPT_LEN];
	size_t n = sizeof(RECEIPT_PURPOSE);

	memcpy(msg, RECEIPT_PURPOSE, n);
	memcpy(msg + n, v->id, VV_ID_LEN);
	vv_put_be64(msg + n + VV_ID_LEN, seq);
	memcpy(msg + n + VV_ID_LEN + 8, hash, 32);
	return crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) == 0 ?
	    0 : -1;
}

/* Where the sink stands for this vault: its last seq (0: none). */
static int
sink_last(vv_vault *v, PGconn *c, uint64_t *seq, uint8_t hash[32])
{
	const char *vals[1] = { (const char *)v->id };
	int lens[1] = { VV_ID_LEN }, fmts[1] = { 1 };
	PGresult *res;
	int r = VV_OK;

	*seq = 0;
	res = PQexecParams(c, "SELECT seq, hash FROM vipvault_sink.last($1)",
	    1, NULL, vals, lens, fmts, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		r = pg_fail(v, c, "reading where the sink stands");
	else if (!PQgetisnull(res, 0, 0)) {
		*seq = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		if (bytea_value(res, 1, hash, 32) != 0)
			r = pg_fail(v, c, "a malformed answer");
	}
	PQclear(res);
	return r;
}

/* One entry to the sink; its receipt checked. */
static int
send_entry(vv_vault *v, PGconn *c, const uint8_t *pk, uint64_t seq,
    const uint8_t prev[32], const uint8_t hash[32], const uint8_t *sealed,
    size_t sealedlen)
{
	char seqs[24];
	const char *vals[5];
	int lens[5], fmts[5] = { 1, 0, 1, 1, 1 };
	uint8_t sig[64];
	PGresult *res;
	int r = VV_OK;

	(void)snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long)seq);
	vals[0] = (const char *)v->id;
	lens[0] = VV_ID_LEN;
	vals[1] = seqs;
	lens[1] = 0;
	vals[2] = (const char *)prev;
	lens[2] = 32;
	vals[3] = (const char *)hash;
	lens[3] = 32;
	vals[4] = (const char *)sealed;
	lens[4] = (int)sealedlen;
	res = PQexecParams(c, "SELECT vipvault_sink.append($1, $2, $3, $4, "
	    "$5)", 5, NULL, vals, lens, fmts, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = pg_fail(v, c, "appending an entry");
	else if (bytea_value(res, 0, sig, sizeof(sig)) != 0 ||
	    verify_receipt(v, seq, hash, sig, pk) != 0)
		r = vv_fail(v, VV_ERR_INTEGRITY, "the compliance database's "
		    "receipt for entry %llu does not verify with its pinned "
		    "key", (unsigned long long)seq);
	PQclear(res);
	return r;
}

static int
send_from(vv_vault *v, PGconn *c, const uint8_t *pk, uint64_t after,
    const uint8_t *after_hash)
{
	sqlite3_stmt *st = NULL;
	uint8_t prev[32], *sealed = NULL;
	size_t len;
	int r, rc;

	if (after == 0)
		vv_clog_genesis(v->id, prev);
	else
		memcpy(prev, after_hash, 32);
	if ((sealed = malloc(VV_MIRROR_REC_MAX)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	if ((r = vv_prepare(v, "SELECT seq, hash, entry FROM clog WHERE seq > "
	    "? ORDER BY seq", &st)) != VV_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, (int64_t)after);
	while (r == VV_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != 32 ||
		    sqlite3_column_bytes(st, 2) > (int)VV_EVENT_ENC_MAX) {
			r = vv_fail(v, VV_ERR_INTEGRITY, "a log entry is corrupt");
			break;
		}
		len = vv_mirror_seal(v, (uint64_t)sqlite3_column_int64(st, 0),
		    sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2), sealed);
		r = send_entry(v, c, pk, (uint64_t)sqlite3_column_int64(st, 0),
		    prev, sqlite3_column_blob(st, 1), sealed, len);
		memcpy(prev, sqlite3_column_blob(st, 1), 32);
	}
	if (r == VV_OK && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading the log");
out:
	sqlite3_finalize(st);
	free(sealed);
	return r;
}

/* The sink's last entry must be the vault's entry of that number. */
static int
check_agreement(vv_vault *v, uint64_t seq, const uint8_t hash[32])
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (seq == 0)
		return VV_OK;
	if ((r = vv_prepare(v, "SELECT hash FROM clog WHERE seq = ?", &st)) !=
	    VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, (int64_t)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_INTEGRITY, "the compliance database holds "
		    "entry %llu, which this vault does not: the vault's log "
		    "was cut or rolled back", (unsigned long long)seq);
	else if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 0) != 32 ||
	    sodium_memcmp(sqlite3_column_blob(st, 0), hash, 32) != 0)
		r = vv_fail(v, VV_ERR_INTEGRITY, "entry %llu differs between "
		    "the vault and the compliance database",
		    (unsigned long long)seq);
	sqlite3_finalize(st);
	return r;
}

int
vv_pgsink_sync(vv_vault *v)
{
	char *conninfo = NULL, *hex = NULL;
	uint8_t pk[32], hash[32];
	uint64_t last = 0;
	PGconn *c = NULL;
	PGresult *res = NULL;
	int r;

	if (vv_meta_get(v, "pg_sink", &conninfo) != VV_OK)
		return vv_fail(v, VV_ERR_NOT_FOUND, "this vault has no "
		    "compliance database");
	if ((r = vv_meta_get(v, "pg_sink_pk", &hex)) != VV_OK ||
	    vv_unhex(pk, sizeof(pk), hex) != 0) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "the pinned compliance "
		    "database key is missing or corrupt");
		goto out;
	}
	if ((r = connect_sink(v, conninfo, &c)) != VV_OK)
		goto out;
	res = PQexec(c, "BEGIN");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = pg_fail(v, c, "BEGIN");
		goto out;
	}
	PQclear(res);
	res = NULL;
	if ((r = sink_last(v, c, &last, hash)) != VV_OK ||
	    (r = check_agreement(v, last, hash)) != VV_OK ||
	    (r = send_from(v, c, pk, last, hash)) != VV_OK)
		goto out;
	/* Durable in the sink before the vault goes on. */
	res = PQexec(c, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = pg_fail(v, c, "COMMIT");
out:
	PQclear(res);
	PQfinish(c);	/* an open transaction is rolled back */
	free(conninfo);
	free(hex);
	return r;
}
