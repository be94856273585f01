/*
 * test_clog.c - the compliance log and its mirror: what an unseal leaves
 * behind, what the officer reads, and every way of tampering that verify
 * must catch, each with the first bad entry it must name.  Fail-closed
 * release when the mirror is gone, and catch-up after it comes back.
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
#include "vault/dual.h"
#include "vault/clog.h"

extern unsigned long vv_unseal_decryptions;

static const char *const vips[] = { "V1", "V2" };

struct fx {
	struct tl_dual d;
	char mirror[800];
	char key[600];
	char id[VV_REQ_ID_HEX];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || tl_dual_setup(&f->d) != 0)
		return -1;
	(void)snprintf(f->mirror, sizeof(f->mirror), "%s/mirror", f->d.t.dir);
	(void)snprintf(f->key, sizeof(f->key), "%s/compliance.key",
	    f->d.t.dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tl_dual_teardown(&f->d);
	free(f);
	return 0;
}

/* A whole unseal: request V1, V2; kate and leo approve; fetch. */
static void
unseal(struct fx *f, int fetch)
{
	int complete = 0;

	assert_int_equal(vv_unseal_request(f->d.t.v, f->d.t.vipdesk, vips, 2,
	    "renewal", 0, f->id), VV_OK);
	assert_int_equal(tl_dual_approve(&f->d, f->id, 0, &complete), VV_OK);
	assert_int_equal(tl_dual_approve(&f->d, f->id, 1, &complete), VV_OK);
	if (fetch)
		assert_int_equal(vv_unseal_fetch(f->d.t.v, f->d.t.vipdesk,
		    f->id, NULL, NULL), VV_OK);
}

static vv_officer *
officer(struct fx *f)
{
	vv_officer *o = NULL;
	char msg[256];

	if (vv_officer_open(&o, f->mirror, f->key, msg, sizeof(msg)) != VV_OK)
		fail_msg("officer: %s", msg);
	return o;
}

struct seen {
	char types[64][24];
	int n;
	int approvals_ok;
	int release_refs_ok;
	char v1ref[33];
};

static int
collect(void *arg, const vv_log_entry *e)
{
	struct seen *s = arg;
	size_t i;

	if (s->n < 64)
		(void)snprintf(s->types[s->n++], sizeof(s->types[0]), "%s",
		    e->type);
	if (strcmp(e->type, "approval") == 0 && e->assertion_ok == 1)
		s->approvals_ok++;
	if (strcmp(e->type, "release") == 0)
		for (i = 0; i < e->nrefs; i++)
			if (strcmp(e->refs[i], s->v1ref) == 0)
				s->release_refs_ok = 1;
	return 0;
}

static int
has(const struct seen *s, const char *type)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->types[i], type) == 0)
			return 1;
	return 0;
}

static void
test_unseal_is_logged_and_mirrored(void **state)
{
	struct fx *f = *state;
	struct seen s;
	vv_verify_report rep;
	vv_officer *o;

	unseal(f, 1);
	o = officer(f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(vv_officer_ref(o, "V1", s.v1ref), VV_OK);
	assert_int_equal(vv_officer_foreach(o, collect, &s), VV_OK);
	assert_string_equal(s.types[0], "vault-created");
	assert_true(has(&s, "manager-enrolled"));
	assert_true(has(&s, "dual-setup"));
	assert_true(has(&s, "import"));
	assert_true(has(&s, "token-issued"));
	assert_true(has(&s, "unseal-request"));
	assert_true(has(&s, "unseal-complete"));
	assert_string_equal(s.types[s.n - 1], "release");
	assert_int_equal(s.approvals_ok, 2);
	assert_int_equal(s.release_refs_ok, 1);
	assert_int_equal(vv_officer_verify(o, f->d.t.v, NULL, &rep), VV_OK);
	assert_int_equal(rep.entries, (uint64_t)s.n);
	assert_int_equal(rep.vault_entries, rep.entries);
	assert_true(rep.heads >= 1);
	vv_officer_free(&o);
	/* No client data in clear, in the mirror or in the vault's log. */
	/* Needles long enough not to turn up in ciphertext by chance. */
	assert_int_equal(tl_dir_contains(f->mirror, "Vera Vip", 8, NULL), 0);
	assert_int_equal(tl_dir_contains(f->mirror, "79031234567", 11, NULL),
	    0);
	assert_int_equal(tl_dir_contains(f->mirror, "vera.vip@", 9, NULL), 0);
	assert_int_equal(tl_sql_int(&f->d.t, "SELECT count(*) FROM clog WHERE "
	    "instr(entry, CAST('vera' AS BLOB)) > 0 OR instr(entry, "
	    "CAST('+7903' AS BLOB)) > 0"), 0);
}

/* Damage the mirror's entries file at byte off (or cut/append), then
 * verify must fail at entry want. */
static void
flip(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	c = fgetc(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_not_equal(fputc(c ^ 0x40, fp), EOF);
	assert_int_equal(fclose(fp), 0);
}

static uint64_t
verify_fails(struct fx *f, vv_vault *v, const char *since, const char *why)
{
	vv_verify_report rep;
	vv_officer *o = officer(f);
	int r = vv_officer_verify(o, v, since, &rep);

	vv_officer_free(&o);
	if (r != VV_ERR_INTEGRITY)
		fail_msg("verify: %d, not an integrity failure", r);
	if (strstr(rep.problem, why) == NULL)
		fail_msg("'%s' lacks '%s'", rep.problem, why);
	return rep.first_bad;
}

/* The byte offset of record n (1-based) in the entries file. */
static long
record_offset(const char *path, uint64_t n)
{
	size_t len = 0, off = 0, sl;
	uint8_t *p = (uint8_t *)tl_read_file(path, &len);
	const uint8_t *h, *sealed;
	uint64_t seq;

	assert_non_null(p);
	while (vv_mirror_next(p, len, &off, &seq, &h, &sealed, &sl) == VV_OK)
		if (seq == n - 1)
			break;
	free(p);
	return (long)off;
}

static void
test_mirror_tampering_named(void **state)
{
	struct fx *f = *state;
	char entries[900], heads[900];
	uint8_t *p;
	size_t len;
	long at;

	unseal(f, 1);
	(void)snprintf(entries, sizeof(entries), "%s/entries", f->mirror);
	(void)snprintf(heads, sizeof(heads), "%s/heads", f->mirror);
	/* An entry's sealed bytes altered: entry 5 named. */
	at = record_offset(entries, 5);
	flip(entries, at + 60);
	assert_int_equal(verify_fails(f, NULL, NULL, "does not open"), 5);
	flip(entries, at + 60);
	/* An entry's chain hash altered. */
	flip(entries, at + 20);
	assert_int_equal(verify_fails(f, NULL, NULL, "hash chain"), 5);
	flip(entries, at + 20);
	/* A record removed from the middle: entry 5 is missing. */
	p = (uint8_t *)tl_read_file(entries, &len);
	assert_non_null(p);
	{
		long next = record_offset(entries, 6);
		uint8_t *cut = malloc(2 * len);

		memcpy(cut, p, (size_t)at);
		memcpy(cut + at, p + next, len - (size_t)next);
		assert_int_equal(tl_write_file(entries, cut, len -
		    (size_t)(next - at)), 0);
		assert_int_equal(verify_fails(f, NULL, NULL, "missing or out "
		    "of order"), 5);
		/* The same record twice: entry 6 is not where 6 should be. */
		memcpy(cut, p, (size_t)next);
		memcpy(cut + next, p + at, (size_t)(next - at));
		memcpy(cut + next + (next - at), p + next, len - (size_t)next);
		assert_int_equal(tl_write_file(entries, cut, len +
		    (size_t)(next - at)), 0);
		assert_int_equal(verify_fails(f, NULL, NULL, "out of order"),
		    6);
		free(cut);
	}
	/* Truncated mid-record. */
	assert_int_equal(tl_write_file(entries, p, len - 10), 0);
	(void)verify_fails(f, NULL, NULL, "torn");
	/* Cut at a record boundary: a signed head covers more. */
	assert_int_equal(tl_write_file(entries, p, (size_t)at), 0);
	(void)verify_fails(f, NULL, NULL, "entries were removed");
	assert_int_equal(tl_write_file(entries, p, len), 0);
	free(p);
	/* A forged head signature. */
	flip(heads, 60);
	(void)verify_fails(f, NULL, NULL, "bad signature");
	flip(heads, 60);
	/* A head's root or size changed: its signature covers both. */
	flip(heads, 10);
	assert_int_equal(verify_fails(f, NULL, NULL, "bad signature"), 1);
	flip(heads, 10);
	flip(heads, 7);
	(void)verify_fails(f, NULL, NULL, "tree head");
	flip(heads, 7);
}

static void
test_vault_log_tampering(void **state)
{
	struct fx *f = *state;

	unseal(f, 1);
	/* An approval's stored entry rewritten in the vault. */
	assert_int_equal(tl_sql(&f->d.t, "UPDATE clog SET hash = "
	    "randomblob(32) WHERE seq = 7"), 0);
	assert_int_equal(verify_fails(f, f->d.t.v, NULL, "differs between "
	    "the vault and the mirror"), 7);
}

static void
test_rollback_caught_by_checkpoint(void **state)
{
	struct fx *f = *state;
	char cp[VV_CHECKPOINT_MAX], cpfile[700], old[700], oldm[720];
	char cmd[2200];

	/* A copy of the vault and its mirror as they are now... */
	(void)snprintf(old, sizeof(old), "%s.old", f->d.t.dir);
	(void)snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", f->d.t.dir, old);
	assert_int_equal(system(cmd), 0);
	/* ... then more happens, and the officer keeps a checkpoint. */
	unseal(f, 1);
	assert_int_equal(vv_compliance_checkpoint(f->d.t.v, cp, sizeof(cp)),
	    VV_OK);
	(void)snprintf(cpfile, sizeof(cpfile), "%s.checkpoint", f->d.t.dir);
	assert_int_equal(tl_write_file(cpfile, cp, strlen(cp)), 0);
	{
		vv_verify_report rep;
		vv_officer *o = officer(f);

		assert_int_equal(vv_officer_verify(o, NULL, cpfile, &rep),
		    VV_OK);
		vv_officer_free(&o);
	}
	/* The whole directory, mirror included, rolled back. */
	(void)snprintf(oldm, sizeof(oldm), "%s/mirror", old);
	(void)snprintf(f->mirror, sizeof(f->mirror), "%s", oldm);
	(void)verify_fails(f, NULL, cpfile, "cut or rolled back");
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", old, cpfile);
	assert_int_equal(system(cmd), 0);
}

/* An accepted approval in the log whose assertion does not verify (a
 * vault that logged what it should have refused) is named by verify. */
static void
test_unverifiable_approval_named(void **state)
{
	struct fx *f = *state;
	struct vv_fido_assertion a;
	struct vv_req q;
	uint8_t cdh[32];
	long long seq;

	unseal(f, 0);
	assert_int_equal(vv_req_load(f->d.t.v, f->id, &q), VV_OK);
	memset(&a, 0, sizeof(a));
	a.authdata_len = 37 + 2;
	a.authdata[0] = 0x58;	/* CBOR byte string of 37 */
	a.authdata[1] = 37;
	a.sig_len = 70;
	randombytes_buf(a.sig, a.sig_len);
	vv_request_challenge(f->d.t.v->id, "approve", q.digest, cdh);
	assert_int_equal(tl_sql(&f->d.t, "BEGIN"), 0);
	assert_int_equal(vv_clog_decision(f->d.t.v, &q, "mia", "approve", &a,
	    cdh, 1, VV_OUT_OK, NULL), VV_OK);
	assert_int_equal(vv_store_commit(f->d.t.v), VV_OK);
	seq = tl_sql_int(&f->d.t, "SELECT max(seq) FROM clog");
	vv_req_clear(&q);
	assert_int_equal(verify_fails(f, NULL, NULL, "does not verify "
	    "against the credential"), (uint64_t)seq);
}

static void
test_release_fails_closed(void **state)
{
	struct fx *f = *state;
	char moved[900];
	unsigned long before;
	vv_verify_report rep;
	vv_officer *o;

	unseal(f, 0);
	(void)snprintf(moved, sizeof(moved), "%s.away", f->mirror);
	assert_int_equal(rename(f->mirror, moved), 0);
	before = vv_unseal_decryptions;
	assert_int_not_equal(vv_unseal_fetch(f->d.t.v, f->d.t.vipdesk, f->id,
	    NULL, NULL), VV_OK);
	assert_non_null(strstr(vv_vault_errmsg(f->d.t.v), "release refused"));
	assert_int_equal(vv_unseal_decryptions, before);
	assert_int_equal(tl_sql_int(&f->d.t, "SELECT count(*) FROM "
	    "unseal_requests WHERE state = 'approved'"), 1);
	assert_int_equal(tl_sql_int(&f->d.t, "SELECT count(*) FROM clog WHERE "
	    "type = 46"), 1);
	/* The mirror is back: the release goes out, the mirror catches up
	 * with every entry it missed, and verify agrees with the vault. */
	assert_int_equal(rename(moved, f->mirror), 0);
	assert_int_equal(vv_unseal_fetch(f->d.t.v, f->d.t.vipdesk, f->id,
	    NULL, NULL), VV_OK);
	assert_int_equal(vv_unseal_decryptions, before + 1);
	o = officer(f);
	assert_int_equal(vv_officer_verify(o, f->d.t.v, NULL, &rep), VV_OK);
	assert_int_equal(rep.entries, rep.vault_entries);
	vv_officer_free(&o);
}

static void
test_crash_between_mirror_write_and_note(void **state)
{
	struct fx *f = *state;
	vv_verify_report rep;
	vv_officer *o;
	long long n;

	unseal(f, 1);
	/* As if the process died after writing the last two entries to
	 * the mirror, before noting it. */
	n = tl_sql_int(&f->d.t, "SELECT mirrored FROM clog_state");
	assert_int_equal(tl_sql(&f->d.t, "UPDATE clog_state SET mirrored = "
	    "mirrored - 2"), 0);
	{
		char entries[900], sql[200];

		(void)snprintf(entries, sizeof(entries), "%s/entries",
		    f->mirror);
		(void)snprintf(sql, sizeof(sql), "UPDATE clog_state SET "
		    "mirror_bytes = %ld", record_offset(entries,
		    (uint64_t)n - 1));
		assert_int_equal(tl_sql(&f->d.t, sql), 0);
	}
	/* The next write adopts them instead of writing them twice. */
	assert_int_equal(vv_compliance_heartbeat(f->d.t.v), VV_OK);
	assert_int_equal(tl_sql_int(&f->d.t, "SELECT mirrored FROM "
	    "clog_state"), n + 1);
	o = officer(f);
	assert_int_equal(vv_officer_verify(o, f->d.t.v, NULL, &rep), VV_OK);
	vv_officer_free(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_unseal_is_logged_and_mirrored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_tampering_named,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_log_tampering,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollback_caught_by_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unverifiable_approval_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_fails_closed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_between_mirror_write_and_note, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
