/*
 * store.c - the SQLCipher database of a vault.
 *
 * The database key is a random 256-bit raw key (derived from the vault's
 * HSM-sealed root secret), handed to SQLCipher in its x'...' form so no
 * passphrase KDF runs.  Opening checks, before anything can be written,
 * that the key opens the file and that the schema is not newer than this
 * binary: a failed open leaves the file as it was.
 */
#define SQLITE_HAS_CODEC 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vault/internal.h"

/* "x'" + 64 hex + "'" + NUL */
#define RAWKEY_LEN (2 + 2 * VV_KEY_LEN + 1)

static int
apply_key(vv_vault *v, const uint8_t *key)
{
	char *lit;
	int rc;

	if ((lit = sodium_malloc(RAWKEY_LEN + 1)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "database key: out of memory");
	lit[0] = 'x';
	lit[1] = '\'';
	vv_hex(lit + 2, key, VV_KEY_LEN);
	lit[RAWKEY_LEN - 1] = '\'';
	lit[RAWKEY_LEN] = '\0';
	rc = sqlite3_key(v->db, lit, RAWKEY_LEN);
	sodium_free(lit);
	if (rc != SQLITE_OK)
		return vv_fail_db(v, rc, "setting the database key");
	return VV_OK;
}

int
vv_exec(vv_vault *v, const char *sql)
{
	int rc = sqlite3_exec(v->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return vv_fail_db(v, rc, "database");
	return VV_OK;
}

int
vv_prepare(vv_vault *v, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(v->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return vv_fail_db(v, rc, "database");
	return VV_OK;
}

/*
 * Connection settings, applied right after the key on every open.  The
 * page size is part of the file format (SQLCipher 3 cannot detect it), so
 * it never changes for a format-1 vault.  4 KiB pages and a 64 MiB cache
 * keep a bulk import's five B-trees (three in random key order: the blind
 * indexes) from spilling and re-decrypting pages mid-transaction.
 */
static const char *const tuning[] = {
	"PRAGMA cipher_page_size = 4096",
	"PRAGMA cache_size = -65536",
	"PRAGMA temp_store = MEMORY",
	/* Overwrite what an update or delete frees: an old ciphertext under
	 * a lower tier's key must not linger in free pages. */
	"PRAGMA secure_delete = ON",
	"PRAGMA foreign_keys = ON",
	"PRAGMA synchronous = FULL",
	NULL
};

int
vv_store_tune(sqlite3 *db)
{
	size_t i;
	int rc;

	for (i = 0; tuning[i] != NULL; i++)
		if ((rc = sqlite3_exec(db, tuning[i], NULL, NULL, NULL)) !=
		    SQLITE_OK)
			return rc;
	return sqlite3_busy_timeout(db, 5000);
}

static int
pragmas(vv_vault *v)
{
	int rc;

	if ((rc = vv_store_tune(v->db)) != SQLITE_OK)
		return vv_fail_db(v, rc, "configuring the database");
	return VV_OK;
}

static int
db_open(vv_vault *v, const char *path, int flags, const uint8_t *key)
{
	int rc;

	rc = sqlite3_open_v2(path, &v->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return vv_fail_db(v, rc, "opening the database");
	(void)sqlite3_extended_result_codes(v->db, 1);
	return apply_key(v, key);
}

int
vv_store_create(vv_vault *v, const char *path, const uint8_t *key)
{
	int fd, r;

	/* SQLite gives its -wal and -shm files the database's mode. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0)
		return vv_fail(v, errno == EEXIST ? VV_ERR_EXISTS : VV_ERR_IO,
		    "creating vault.db: %s", strerror(errno));
	(void)close(fd);

	if ((r = db_open(v, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    key)) != VV_OK || (r = pragmas(v)) != VV_OK)
		return r;
	if ((r = vv_exec(v, "PRAGMA journal_mode = WAL")) != VV_OK)
		return r;
	return vv_schema_migrate(v, 0);
}

static int
user_version(vv_vault *v, int *version)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "PRAGMA user_version", &st)) != VV_OK)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = vv_fail_db(v, rc, "reading the schema version");
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
	r = VV_OK;
out:
	sqlite3_finalize(st);
	return r;
}

static int
check_vault_id(vv_vault *v)
{
	char *stored = NULL;
	int r;

	if ((r = vv_meta_get(v, "vault_id", &stored)) != VV_OK)
		return r;
	if (strcmp(stored, v->id_hex) != 0)
		r = vv_fail(v, VV_ERR_INTEGRITY, "the database belongs to "
		    "another vault");
	free(stored);
	return r;
}

int
vv_store_open(vv_vault *v, const char *path, const uint8_t *key)
{
	int r, version = 0;

	if ((r = db_open(v, path, SQLITE_OPEN_READWRITE, key)) != VV_OK) {
		if (r == VV_ERR_IO)
			r = vv_fail(v, VV_ERR_INTEGRITY, "vault.db is missing "
			    "or unreadable");
		return r;
	}
	/* These only configure the connection: nothing is written. */
	if ((r = pragmas(v)) != VV_OK)
		return r;
	/* The first read authenticates page 1 with the key. */
	if ((r = user_version(v, &version)) != VV_OK)
		return r;
	if (version > VV_SCHEMA_VERSION)
		return vv_fail(v, VV_ERR_SCHEMA, "the vault's schema is "
		    "version %d; this vipvault knows up to %d: upgrade "
		    "vipvault", version, VV_SCHEMA_VERSION);
	if (version < 1)
		return vv_fail(v, VV_ERR_INTEGRITY, "the database has no "
		    "vipvault schema");
	if (version < VV_SCHEMA_VERSION &&
	    (r = vv_schema_migrate(v, version)) != VV_OK)
		return r;
	return check_vault_id(v);
}

int
vv_store_begin(vv_vault *v)
{
	v->clog_cache_valid = 0;
	return vv_exec(v, "BEGIN IMMEDIATE");
}

int
vv_store_commit(vv_vault *v)
{
	int r, rc;

	/* A writer that did not apply its blind-index changes would leave
	 * records that no lookup finds. */
	if (v->lookups_pending != 0)
		return vv_fail(v, VV_ERR_INTERNAL, "blind index changes were "
		    "not applied before the commit");
	/* The log's state row goes in with the entries it describes. */
	if ((r = vv_clog_flush(v)) != VV_OK)
		return r;
	rc = sqlite3_exec(v->db, "COMMIT", NULL, NULL, NULL);

	/* A failed COMMIT (a full disk) leaves the transaction open: the
	 * caller rolls it back. */
	if (rc != SQLITE_OK)
		return vv_fail_db(v, rc, "committing the change");
	/* Log entries go to the compliance mirror as soon as they are
	 * committed.  Best effort: what fails waits in the vault log for
	 * the next sync, and a release checks for itself (fail closed). */
	if (v->clog_dirty) {
		uint64_t first = v->clog_first, last = v->clog_last;

		v->clog_dirty = 0;
		v->clog_first = v->clog_last = 0;
		if (!v->mirror_defer)
			(void)vv_mirror_sync(v);
		/* Not the database sink: a remote sink that is slow must not
		 * slow every write.  It is brought up to date by each release
		 * (which waits for it) and each heartbeat. */
		vv_syslog_forward(v, first, last);
	}
	return VV_OK;
}

void
vv_store_rollback(vv_vault *v)
{
	v->clog_dirty = 0;
	v->clog_first = v->clog_last = 0;
	v->clog_cache_valid = 0;
	if (v->db != NULL && !sqlite3_get_autocommit(v->db))
		(void)sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
}

int
vv_meta_get(vv_vault *v, const char *key, char **value)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*value = NULL;
	if ((r = vv_prepare(v, "SELECT value FROM meta WHERE key = ?",
	    &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_INTEGRITY, "vault metadata '%s' is "
		    "missing", key);
	else if (rc != SQLITE_ROW)
		r = vv_fail_db(v, rc, "reading vault metadata");
	else if ((*value = strdup((const char *)sqlite3_column_text(st,
	    0))) == NULL)
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
	else
		r = VV_OK;
	sqlite3_finalize(st);
	return r;
}

int
vv_meta_set(vv_vault *v, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT OR REPLACE INTO meta(key, value) "
	    "VALUES (?, ?)",
	    &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "writing vault metadata");
	sqlite3_finalize(st);
	return r;
}
