/*
 * test_unseal_tamper.c - dual control against a hostile database, forged
 * assertions and misbehaving tokens.  Each case asserts the exact error,
 * and that the refused step left nothing behind.
 *
 * Forged assertions are real ones: made by libfido2 with a software token
 * over the wrong challenge, or by a credential nobody enrolled, then
 * handed to vv_unseal_submit, the check behind vv_unseal_approve.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/dual.h"
#include "hsm/softfido.h"

static const char *const vips[] = { "V1", "V2" };

static int
setup(void **state)
{
	return tl_dual_group_setup(state);
}

static int
teardown(void **state)
{
	return tl_dual_group_teardown(state);
}

static void
request(struct tl_dual *d, char id[VV_REQ_ID_HEX])
{
	assert_int_equal(vv_unseal_request(d->t.v, d->t.vipdesk, vips, 2,
	    "renewal", 0, id), VV_OK);
}

static long long count(struct tl_dual *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sql_ok(struct tl_dual *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static long long
count(struct tl_dual *d, const char *fmt, ...)
{
	char sql[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return tl_sql_int(&d->t, sql);
}

static void
sql_ok(struct tl_dual *d, const char *fmt, ...)
{
	char sql[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(tl_sql(&d->t, sql), 0);
}

static void
assert_msg(struct tl_dual *d, const char *part)
{
	if (strstr(vv_vault_errmsg(d->t.v), part) == NULL)
		fail_msg("message '%s' lacks '%s'", vv_vault_errmsg(d->t.v),
		    part);
}

/* An assertion by manager m's soft token (or by dev, with cred) over a
 * challenge for `decision` on request id, as stored, in vault vault_id. */
static void
forge(struct tl_dual *d, const char *dev, const struct vv_fido_cred *cred,
    const char *id, const uint8_t *vault_id, const char *decision,
    const uint8_t *salt, struct vv_fido_assertion *a)
{
	struct vv_fido_dev fd;
	struct vv_req q;
	char rp[VV_RP_ID_MAX], err[256];
	uint8_t cdh[32];

	assert_int_equal(vv_req_load(d->t.v, id, &q), VV_OK);
	vv_request_challenge(vault_id, decision, q.digest, cdh);
	vv_req_clear(&q);
	memset(&fd, 0, sizeof(fd));
	fd.path = dev;
	fd.allow_soft = 1;
	vv_rp_id(d->t.v, rp);
	if (vv_fido_assert(&fd, rp, cred, cdh, salt, a, err, sizeof(err)) !=
	    VV_OK)
		fail_msg("assert: %s", err);
}

static void
test_assertion_for_another_request(void **state)
{
	struct tl_dual *d = *state;
	struct vv_fido_assertion a;
	struct vv_manager m;
	char ida[VV_REQ_ID_HEX], idb[VV_REQ_ID_HEX];
	int complete = 0;

	request(d, ida);
	request(d, idb);
	assert_int_equal(vv_manager_load(d->t.v, "kate", &m), VV_OK);
	forge(d, d->dev[0], &m.cred, ida, d->t.v->id, "approve", m.salt, &a);
	assert_int_equal(vv_unseal_submit(d->t.v, idb, "kate", "approve", &a,
	    &complete), VV_ERR_INTEGRITY);
	assert_msg(d, "does not verify");
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", idb), 0);
	/* The same assertion is good for the request it was made for. */
	assert_int_equal(vv_unseal_submit(d->t.v, ida, "kate", "approve", &a,
	    &complete), VV_OK);
	/* And a second time it counts no more. */
	assert_int_equal(vv_unseal_submit(d->t.v, ida, "kate", "approve", &a,
	    &complete), VV_ERR_DENIED);
	vv_fido_assertion_clear(&a);
}

static void
test_assertion_for_another_vault_or_decision(void **state)
{
	struct tl_dual *d = *state;
	struct vv_fido_assertion a;
	struct vv_manager m;
	uint8_t other[VV_ID_LEN];
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request(d, id);
	assert_int_equal(vv_manager_load(d->t.v, "leo", &m), VV_OK);
	memcpy(other, d->t.v->id, sizeof(other));
	other[0] ^= 1;
	forge(d, d->dev[1], &m.cred, id, other, "approve", m.salt, &a);
	assert_int_equal(vv_unseal_submit(d->t.v, id, "leo", "approve", &a,
	    &complete), VV_ERR_INTEGRITY);
	vv_fido_assertion_clear(&a);
	/* A signed denial is not an approval. */
	forge(d, d->dev[1], &m.cred, id, d->t.v->id, "deny", m.salt, &a);
	assert_int_equal(vv_unseal_submit(d->t.v, id, "leo", "approve", &a,
	    &complete), VV_ERR_INTEGRITY);
	vv_fido_assertion_clear(&a);
	/* Kate's assertion is not Leo's. */
	assert_int_equal(vv_manager_load(d->t.v, "kate", &m), VV_OK);
	forge(d, d->dev[0], &m.cred, id, d->t.v->id, "approve", m.salt, &a);
	assert_int_equal(vv_unseal_submit(d->t.v, id, "leo", "approve", &a,
	    &complete), VV_ERR_INTEGRITY);
	vv_fido_assertion_clear(&a);
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", id), 0);
}

static void
test_unenrolled_credential(void **state)
{
	struct tl_dual *d = *state;
	struct vv_fido_assertion a;
	struct vv_fido_cred cred;
	struct vv_fido_dev fd;
	struct vv_manager m;
	char path[600], dev[620], rp[VV_RP_ID_MAX], err[256];
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	(void)snprintf(path, sizeof(path), "%s.intruder.soft", d->t.dir);
	(void)snprintf(dev, sizeof(dev), "soft:%s", path);
	assert_int_equal(vv_softfido_create(path, NULL, err, sizeof(err)), 0);
	memset(&fd, 0, sizeof(fd));
	fd.path = dev;
	fd.allow_soft = 1;
	vv_rp_id(d->t.v, rp);
	assert_int_equal(vv_fido_enroll(&fd, rp, "kate", VV_FIDO_ES256, &cred,
	    err, sizeof(err)), VV_OK);
	request(d, id);
	assert_int_equal(vv_manager_load(d->t.v, "kate", &m), VV_OK);
	forge(d, dev, &cred, id, d->t.v->id, "approve", m.salt, &a);
	assert_int_equal(vv_unseal_submit(d->t.v, id, "kate", "approve", &a,
	    &complete), VV_ERR_INTEGRITY);
	vv_fido_assertion_clear(&a);
	/* Kate's credential on another token: the token does not know it. */
	assert_int_equal(vv_unseal_approve(d->t.v, id, "kate",
	    &(vv_fido_opts){ .device = dev }, &complete), VV_ERR_DENIED);
	assert_msg(d, "refused");
	(void)unlink(path);
}

static void
test_tampered_share_blob(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request(d, id);
	sql_ok(d, "UPDATE shares SET sealed = randomblob(length(sealed)) "
	    "WHERE manager_id = (SELECT id FROM managers WHERE name = '%s')",
	    "leo");
	assert_int_equal(tl_dual_approve(d, id, 1, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "sealed share of key manager leo does not open");
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", id), 0);
	/* Moved from another manager: bound to its owner. */
	sql_ok(d, "UPDATE shares SET sealed = (SELECT sealed FROM shares s "
	    "JOIN managers m ON m.id = s.manager_id WHERE m.name = 'mia') "
	    "WHERE manager_id = (SELECT id FROM managers WHERE name = '%s')",
	    "leo");
	assert_int_equal(tl_dual_approve(d, id, 1, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "does not open");
}

static void
test_tampered_pending_share(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request(d, id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_OK);
	sql_ok(d, "UPDATE approvals SET pending_share = randomblob(length("
	    "pending_share)) WHERE request_id = '%s'", id);
	assert_int_equal(tl_dual_approve(d, id, 2, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "pending share of kate was tampered with");
	assert_int_equal(complete, 0);
	/* Mia's approval was rolled back with the failed completion. */
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", id), 1);
	assert_int_equal(count(d, "SELECT count(*) FROM unseal_requests WHERE "
	    "id = '%s' AND state = 'pending'", id), 1);
}

static void
test_tampered_stored_approval(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request(d, id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_OK);
	sql_ok(d, "UPDATE approvals SET sig = randomblob(length(sig)) WHERE "
	    "request_id = '%s'", id);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "approval by kate does not verify");
}

static void
test_altered_request(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX], id2[VV_REQ_ID_HEX];
	int complete = 0;

	request(d, id);
	/* One record more, as an insider with the database key would. */
	sql_ok(d, "UPDATE unseal_requests SET encoding = replace(encoding, "
	    "CAST('renewal' AS BLOB), CAST('renewat' AS BLOB)) WHERE id = "
	    "'%s'", id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "altered after it was made");
	assert_int_equal(vv_unseal_show(d->t.v, id, NULL, NULL),
	    VV_ERR_INTEGRITY);
	/* Altered once approved: the fetch refuses it. */
	request(d, id2);
	assert_int_equal(tl_dual_approve(d, id2, 0, &complete), VV_OK);
	assert_int_equal(tl_dual_approve(d, id2, 1, &complete), VV_OK);
	sql_ok(d, "UPDATE unseal_requests SET seal = randomblob(length(seal)) "
	    "WHERE id = '%s'", id2);
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id2, NULL,
	    NULL), VV_ERR_INTEGRITY);
	assert_int_equal(count(d, "SELECT count(*) FROM releases WHERE "
	    "request_id = '%s'", id2), 0);
}

static void
test_tampered_release(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request(d, id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_OK);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete), VV_OK);
	sql_ok(d, "UPDATE unseal_requests SET release = randomblob(length("
	    "release)) WHERE id = '%s'", id);
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, NULL,
	    NULL), VV_ERR_INTEGRITY);
	assert_msg(d, "tampered");
	assert_int_equal(count(d, "SELECT count(*) FROM unseal_requests WHERE "
	    "id = '%s' AND state = 'approved'", id), 1);
}

static void
test_corrupted_credential_record(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	request(d, id);
	sql_ok(d, "UPDATE managers SET pubkey = randomblob(64) WHERE name = "
	    "'%s'", "mia");
	assert_int_equal(tl_dual_approve(d, id, 2, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "does not verify");
	sql_ok(d, "UPDATE managers SET pubkey = x'0102' WHERE name = '%s'",
	    "mia");
	assert_int_equal(tl_dual_approve(d, id, 2, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "credential record is corrupt");
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", id), 0);
}

static void
test_counter_going_backwards(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX], err[256];
	int complete = 0;

	request(d, id);
	/* A clone made before the last use answers an older counter. */
	assert_int_equal(vv_softfido_set(d->soft[1], "counter", "0", err,
	    sizeof(err)), 0);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "may be a clone");
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", id), 0);
}

static void
test_wrong_hmac_output(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX], err[256];
	int complete = 0;

	request(d, id);
	assert_int_equal(vv_softfido_set(d->soft[2], "fault", "wrong-hmac",
	    err, sizeof(err)), 0);
	assert_int_equal(tl_dual_approve(d, id, 2, &complete),
	    VV_ERR_INTEGRITY);
	assert_msg(d, "wrong hmac-secret output");
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", id), 0);
}

static void
test_no_touch(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX], err[256];
	int complete = 0;

	request(d, id);
	assert_int_equal(vv_softfido_set(d->soft[0], "presence", "deny", err,
	    sizeof(err)), 0);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_ERR_DENIED);
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", id), 0);
}

/* The HSM loses the master key between two approvals: the second one
 * fails as an HSM failure (the request's seal cannot be checked), leaves
 * nothing half-written, and no contact is released. */
static void
test_hsm_key_gone(void **state)
{
	struct tl_dual *d = *state;
	char id[VV_REQ_ID_HEX], label[VV_P11_LABEL_MAX];
	int complete = 0;

	request(d, id);
	assert_int_equal(tl_dual_approve(d, id, 0, &complete), VV_OK);
	vv_label_master(d->t.v, label);
	assert_int_equal(vv_p11_key_destroy(d->t.v->p11, label), VV_OK);
	assert_int_equal(tl_dual_approve(d, id, 1, &complete), VV_ERR_HSM);
	assert_msg(d, "the HSM failed");
	assert_int_equal(complete, 0);
	assert_int_equal(count(d, "SELECT count(*) FROM approvals WHERE "
	    "request_id = '%s'", id), 1);
	assert_int_equal(count(d, "SELECT count(*) FROM unseal_requests WHERE "
	    "id = '%s' AND state = 'pending' AND release IS NULL", id), 1);
	assert_int_equal(vv_unseal_fetch(d->t.v, d->t.vipdesk, id, NULL,
	    NULL), VV_ERR_HSM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_assertion_for_another_request, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_assertion_for_another_vault_or_decision, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unenrolled_credential,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_share_blob,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_pending_share,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_stored_approval,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_altered_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered_release, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_corrupted_credential_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_going_backwards,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_hmac_output, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_touch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hsm_key_gone, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
