/*
 * test_vault.c - creating and opening vaults, and every way opening one
 * must fail without changing anything on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/internal.h"

/* Hashes of the files a failed open must leave alone. */
struct snap {
	uint8_t conf[32], key[32], db[32];
};

static void
snapshot(const struct tl_vault *t, struct snap *s)
{
	char *p;

	memset(s, 0, sizeof(*s));
	p = tl_join(t->dir, "vault.conf");
	(void)tl_hash_file(p, s->conf);
	free(p);
	p = tl_join(t->dir, "vault.key");
	(void)tl_hash_file(p, s->key);
	free(p);
	p = tl_join(t->dir, "vault.db");
	(void)tl_hash_file(p, s->db);
	free(p);
}

static void
assert_unchanged(const struct tl_vault *t, const struct snap *before)
{
	struct snap after;

	snapshot(t, &after);
	assert_memory_equal(before->conf, after.conf, 32);
	assert_memory_equal(before->key, after.key, 32);
	assert_memory_equal(before->db, after.db, 32);
}

/* Closes the vault (checkpointing the WAL) and snapshots its files. */
static void
close_and_snapshot(struct tl_vault *t, struct snap *s)
{
	vv_vault_free(&t->v);
	assert_null(t->v);
	snapshot(t, s);
}

static int
try_open(struct tl_vault *t, char *msg, size_t len)
{
	return vv_vault_open(&t->v, t->dir, msg, len);
}

static void
test_reopen(void **state)
{
	struct tl_vault *t = *state;
	char id[2 * VV_ID_LEN + 1];
	vv_vault *v2 = NULL;
	char msg[256];

	(void)snprintf(id, sizeof(id), "%s", vv_vault_id(t->v));
	assert_int_equal(tl_vault_reopen(t), 0);
	assert_string_equal(vv_vault_id(t->v), id);
	/* A second create into the same directory is refused. */
	assert_int_equal(vv_vault_create(&v2, t->dir, NULL, msg, sizeof(msg)),
	    VV_ERR_EXISTS);
	assert_non_null(strstr(msg, "is not empty"));
	assert_null(v2);
}

static void
test_files_private(void **state)
{
	struct tl_vault *t = *state;
	const char *files[] = { "vault.conf", "vault.key", "vault.db",
	    "hsm/user.pin" };
	struct stat sb;
	size_t i;
	char *p;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = tl_join(t->dir, files[i]);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		free(p);
	}
}

static void
test_key_blob_corrupt(void **state)
{
	struct tl_vault *t = *state;
	struct snap before;
	char msg[256], *p;
	size_t len;
	char *blob;

	close_and_snapshot(t, &before);
	p = tl_join(t->dir, "vault.key");
	blob = tl_read_file(p, &len);
	assert_non_null(blob);
	assert_int_equal(len, 68);
	blob[40] ^= 0x20;
	assert_int_equal(tl_write_file(p, blob, len), 0);
	snapshot(t, &before);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_INTEGRITY);
	assert_string_equal(msg, "vault.key does not authenticate: it is "
	    "corrupt, or belongs to another vault or HSM key");
	assert_null(t->v);
	assert_unchanged(t, &before);
	/* Truncated. */
	assert_int_equal(tl_write_file(p, blob, 20), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_INTEGRITY);
	assert_string_equal(msg, "vault.key is corrupt (bad length or "
	    "header)");
	/* Restored: opens again. */
	blob[40] ^= 0x20;
	assert_int_equal(tl_write_file(p, blob, len), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_OK);
	free(blob);
	free(p);
}

static void
test_hsm_missing(void **state)
{
	struct tl_vault *t = *state;
	struct snap before;
	char msg[256], *hsm, *moved;

	close_and_snapshot(t, &before);
	hsm = tl_join(t->dir, "hsm");
	assert_true(asprintf(&moved, "%s.hsm", t->dir) > 0);
	assert_int_equal(rename(hsm, moved), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_HSM);
	assert_non_null(strstr(msg, "HSM"));
	assert_null(t->v);
	assert_unchanged(t, &before);
	assert_int_equal(rename(moved, hsm), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_OK);
	free(hsm);
	free(moved);
}

static void
test_hsm_wrong_pin(void **state)
{
	struct tl_vault *t = *state;
	struct snap before;
	char msg[256], *pin;
	char *good;
	size_t len;

	close_and_snapshot(t, &before);
	pin = tl_join(t->dir, "hsm/user.pin");
	good = tl_read_file(pin, &len);
	assert_non_null(good);
	assert_int_equal(tl_write_file(pin, "0000000000", 10), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_HSM);
	assert_non_null(strstr(msg, "CKR_PIN_INCORRECT"));
	assert_null(strstr(msg, good));		/* no PIN in messages */
	assert_unchanged(t, &before);
	assert_int_equal(tl_write_file(pin, good, len), 0);
	/* A PIN file others can read is refused, not used. */
	assert_int_equal(chmod(pin, 0640), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_IO);
	assert_non_null(strstr(msg, "it must be ours alone"));
	assert_int_equal(chmod(pin, 0604), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_IO);
	assert_int_equal(chmod(pin, 0600), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_OK);
	free(good);
	free(pin);
}

static void
test_database_corrupt(void **state)
{
	struct tl_vault *t = *state;
	struct snap before;
	char msg[256], *p, *db;
	size_t len;

	close_and_snapshot(t, &before);
	p = tl_join(t->dir, "vault.db");
	db = tl_read_file(p, &len);
	assert_non_null(db);
	db[100] ^= 0x01;		/* inside page 1 */
	assert_int_equal(tl_write_file(p, db, len), 0);
	snapshot(t, &before);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_INTEGRITY);
	assert_non_null(strstr(msg, "database is corrupt or was altered"));
	assert_unchanged(t, &before);
	/* A missing database. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_INTEGRITY);
	assert_string_equal(msg, "vault.db is missing");
	free(db);
	free(p);
}

static void
test_schema_newer(void **state)
{
	struct tl_vault *t = *state;
	struct snap before;
	char msg[256];

	assert_int_equal(tl_sql(t, "PRAGMA user_version = 99"), 0);
	close_and_snapshot(t, &before);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_SCHEMA);
	assert_string_equal(msg, "the vault's schema is version 99; this "
	    "vipvault knows up to 5: upgrade vipvault");
	assert_unchanged(t, &before);
}

/* A vault made before dual control (schema 1) opens, is migrated to
 * the current schema in one transaction, and keeps its records. */
static void
test_schema_1_migrates(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	/* SQLite 3.15 cannot drop a column: schema 4's columns go by
	 * copying the tables without them. */
	assert_int_equal(tl_sql(t, "PRAGMA foreign_keys = OFF; "
	    "CREATE TABLE r1 AS SELECT id, name, tiers, flags, created FROM "
	    "roles; DROP TABLE roles; ALTER TABLE r1 RENAME TO roles; "
	    "CREATE TABLE t1 AS SELECT id, role_id, user, hash, created, "
	    "expires, revoked FROM tokens; DROP TABLE tokens; "
	    "ALTER TABLE t1 RENAME TO tokens; "
	    "CREATE TABLE c1 AS SELECT id, external_id, owner, annual_spend, "
	    "client_since, tier, pinned, phone_idx, email_idx, dk_main, "
	    "dk_contact, identity_ct, contact_ct, profile_ct, masked_ct, "
	    "updated FROM records; DROP TABLE records; "
	    "ALTER TABLE c1 RENAME TO records; "
	    "DROP TABLE releases; DROP TABLE "
	    "approvals; DROP TABLE unseal_requests; DROP TABLE shares; "
	    "DROP TABLE managers; DROP TABLE clog; DROP TABLE clog_heads; "
	    "DROP TABLE clog_state; DROP TABLE lookups; "
	    "PRAGMA user_version = 1"), 0);
	assert_int_equal(tl_vault_reopen(t), 0);
	assert_int_equal(tl_sql_int(t, "PRAGMA user_version"), 5);
	assert_int_equal(tl_phone_count(t, t->vipdesk, "+1-415-555-0101"), 1);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "canary = 0"), tl_sql_int(t, "SELECT count(*) FROM records"));
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM sqlite_master "
	    "WHERE name IN ('managers', 'shares', 'unseal_requests', "
	    "'approvals', 'releases')"), 5);
	assert_int_equal(tl_read_as(t, t->crm, "S1", &r), VV_OK);
	vv_record_free(&r);
}

/* A schema 4 vault (blind indexes as SQLite indexes) gets its lookup
 * buckets filled from the records, and lookups find what they found. */
static void
test_schema_4_migrates(void **state)
{
	struct tl_vault *t = *state;

	assert_int_equal(tl_sql(t, "DROP TABLE lookups; DELETE FROM meta "
	    "WHERE key LIKE 'lookup%'; CREATE INDEX records_phone ON "
	    "records(phone_idx); CREATE INDEX records_email ON "
	    "records(email_idx); PRAGMA user_version = 4"), 0);
	assert_int_equal(tl_vault_reopen(t), 0);
	assert_int_equal(tl_sql_int(t, "PRAGMA user_version"), 5);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM sqlite_master "
	    "WHERE name IN ('records_phone', 'records_email')"), 0);
	/* Five records, each with a phone and an e-mail. */
	assert_int_equal(tl_sql_int(t, "SELECT value FROM meta WHERE key = "
	    "'lookup_entries'"), 10);
	assert_int_equal(tl_phone_count(t, t->vipdesk, "+1-415-555-0101"), 1);
	assert_int_equal(tl_phone_count(t, t->vipdesk, "+1 415 555 0199"), 0);
}

static void
test_conf_errors(void **state)
{
	struct tl_vault *t = *state;
	char msg[256], *p;

	vv_vault_free(&t->v);
	p = tl_join(t->dir, "vault.conf");
	assert_int_equal(tl_write_file(p, "format = 1\nvault_id = 12\n"
	    "hsm = dev\n", 34), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_INPUT);
	assert_string_equal(msg, "vault.conf line 2: vault_id is not 32 hex "
	    "digits");
	/* A vault.conf others may change is not trusted. */
	assert_int_equal(chmod(p, 0620), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_DENIED);
	assert_string_equal(msg, "vault.conf must be owned by this user and "
	    "writable by no one else (chmod 600)");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(try_open(t, msg, sizeof(msg)), VV_ERR_NOT_FOUND);
	assert_string_equal(msg, "no vault here (vault.conf is missing)");
	free(p);
}

static void
test_conf_another_vault(void **state)
{
	struct tl_vault *t = *state;
	char msg[256], *p, *text;
	size_t len;

	vv_vault_free(&t->v);
	p = tl_join(t->dir, "vault.conf");
	text = tl_read_file(p, &len);
	assert_non_null(text);
	/* Another vault id: the key file's associated data no longer
	 * matches, and the master key label is not found either. */
	text[strstr(text, "vault_id = ") - text + 11] ^= 1;
	assert_int_equal(tl_write_file(p, text, len), 0);
	assert_int_not_equal(try_open(t, msg, sizeof(msg)), VV_OK);
	assert_null(t->v);
	free(text);
	free(p);
}

static void
test_create_failure_leaves_nothing(void **state)
{
	char msg[512], *dir, *uri;
	vv_vault *v = NULL;

	(void)state;
	dir = tl_tmpdir("nohsm");
	assert_non_null(dir);
	assert_true(asprintf(&uri, "pkcs11:token=absent?module-path=%s&"
	    "pin-source=file:%s/pin", vv_softhsm_module_path(), dir) > 0);
	assert_int_equal(vv_vault_create(&v, dir, uri, msg, sizeof(msg)),
	    VV_ERR_HSM);
	assert_null(v);
	assert_non_null(strstr(msg, "HSM"));
	/* The directory existed empty; it is left empty. */
	assert_int_equal(rmdir(dir), 0);
	free(uri);
	free(dir);
}

static void
test_confidential_at_rest(void **state)
{
	struct tl_vault *t = *state;
	const char *needles[] = { "Vera Vip", "Sofia", "+79031234567",
	    "79022223344", "vera.vip@example.ru", "sofia.s@example.ru",
	    "Tverskaya", "Market St", "call me Vera", "Boris Basic" };
	size_t i;

	vv_vault_free(&t->v);	/* WAL checkpointed into vault.db */
	for (i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		assert_false(tl_dir_contains(t->dir, needles[i],
		    strlen(needles[i]), "user.pin"));
	/* And a positive control, so the scan cannot silently pass. */
	assert_true(tl_dir_contains(t->dir, "format = 1", 10, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reopen,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_files_private,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_key_blob_corrupt,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_hsm_missing,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_hsm_wrong_pin,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_database_corrupt,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_schema_newer,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_conf_errors,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_conf_another_vault,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test(test_create_failure_leaves_nothing),
		cmocka_unit_test_setup_teardown(test_schema_1_migrates,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_schema_4_migrates,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_confidential_at_rest,
		    tl_setup_vault, tl_teardown_vault),
	};

	if (vv_global_init() != VV_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
