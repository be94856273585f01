/*
 * test_failures.c - what happens when the disk fills up in the middle of
 * a write (an import, the API server's group commit of read entries):
 * the write fails with a clear error and the vault is exactly as it was.
 * A full disk is simulated with RLIMIT_FSIZE in a child process (SIGXFSZ
 * ignored, so write(2) fails with EFBIG as on a full disk).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/internal.h"

/* In a child: files may not grow past size bytes (the soft limit only,
 * so that it can be raised again); SIGXFSZ is ignored, so a write fails
 * with EFBIG as on a full disk.  0, or -1 if the limit cannot be set. */
static int
cap_file_size(rlim_t size)
{
	struct rlimit rl;

	(void)signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
		return -1;
	rl.rlim_cur = size;
	return setrlimit(RLIMIT_FSIZE, &rl);
}

/* In the parent: the child ended with a file error (or the database's
 * report of it), never success. */
static void
expect_file_error(pid_t pid)
{
	int status = 0;

	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_true(WEXITSTATUS(status) == VV_ERR_IO ||
	    WEXITSTATUS(status) == VV_ERR_DB);
}

/* Runs in a child: imports the 10k sample with file writes capped just
 * above the current database size.  Exit status: the vv_err. */
static int
import_with_full_disk(const char *dir)
{
	struct stat st;
	vv_vault *v = NULL;
	char msg[256], *db;
	int r;

	if (vv_global_init() != VV_OK ||
	    vv_vault_open(&v, dir, msg, sizeof(msg)) != VV_OK)
		return 100;
	if ((db = tl_join(dir, "vault.db")) == NULL || stat(db, &st) != 0)
		return 101;
	free(db);
	if (cap_file_size((rlim_t)st.st_size + 65536) != 0)
		return 102;
	r = vv_import_csv(v, "tests/data/clients-10k.csv", NULL, NULL, NULL);
	if (r != VV_OK)
		fprintf(stderr, "child: %s\n", vv_vault_errmsg(v));
	vv_vault_free(&v);
	return r;
}

static void
test_disk_full_during_import(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;
	pid_t pid;

	vv_vault_free(&t->v);	/* the child opens its own handle */
	if ((pid = fork()) == 0)
		_exit(import_with_full_disk(t->dir));
	expect_file_error(pid);
	/* Nothing of the import landed and the vault still works. */
	assert_int_equal(tl_vault_reopen(t), 0);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"), 5);
	assert_int_equal(tl_read_as(t, t->crm, "S1", &r), VV_OK);
	vv_record_free(&r);
	assert_int_equal(vv_import_csv(t->v, "tests/data/clients-10k.csv",
	    NULL, NULL, NULL), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"), 10005);
}

/* Runs in a child: a session's reads committed for the API server's
 * group commit while no file may grow, then again once they may.
 * Exit status: the first commit's vv_err, or 100 + it if the second
 * failed. */
static int
audit_with_full_disk(const char *dir, const char *token)
{
	vv_session *s = NULL;
	vv_record *rec = NULL;
	vv_audit *a = NULL;
	vv_vault *v = NULL;
	char msg[256];
	int r, again;

	if (vv_global_init() != VV_OK ||
	    vv_vault_open(&v, dir, msg, sizeof(msg)) != VV_OK ||
	    vv_session_open(v, token, &s) != VV_OK ||
	    vv_get(s, "B1", &rec) != VV_OK ||
	    vv_session_take_audit(s, &a) != VV_OK || a == NULL)
		return 99;
	vv_record_free(&rec);
	if (cap_file_size(0) != 0)
		return 98;
	r = vv_audit_commit(v, &a, 1);
	if (r != VV_OK)
		fprintf(stderr, "child: %s\n", vv_vault_errmsg(v));
	/* Room again: the same entries commit now. */
	if (cap_file_size(RLIM_INFINITY) != 0)
		return 98;
	again = vv_audit_commit(v, &a, 1);
	vv_audit_free(&a);
	vv_session_free(&s);
	vv_vault_free(&v);
	return again == VV_OK ? r : 100 + r;
}

/* The API server's group commit on a full disk fails with a file error,
 * writes nothing, and the same entries commit once there is room. */
static void
test_disk_full_during_group_commit(void **state)
{
	struct tl_vault *t = *state;
	long long reads = tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 50"), entries = tl_sql_int(t, "SELECT count(*) FROM clog");
	pid_t pid;

	vv_vault_free(&t->v);
	if ((pid = fork()) == 0)
		_exit(audit_with_full_disk(t->dir, t->crm));
	expect_file_error(pid);
	assert_int_equal(tl_vault_reopen(t), 0);
	/* One read entry: the second commit's, none of the first. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog WHERE "
	    "type = 50"), reads + 1);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM clog"),
	    entries + 1);
	assert_int_equal(vv_compliance_sync(t->v), VV_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disk_full_during_import,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(
		    test_disk_full_during_group_commit,
		    tl_setup_vault, tl_teardown_vault),
	};

	if (vv_global_init() != VV_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
