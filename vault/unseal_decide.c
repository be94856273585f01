/*
 * unseal_decide.c - a key manager approves or denies an unseal request.
 *
 * His token signs the request's canonical encoding (via the challenge in
 * request.c) and, for an approval, returns the hmac-secret output that
 * opens his share.  The share then waits for the other approvals sealed
 * by the HSM master key, bound to this request, this manager and this
 * key epoch; it is deleted when the request completes, is denied or
 * expires.  Every step is checked again here, not trusted from the
 * caller: the same code path serves a terminal and a test that replays
 * a stolen assertion.
 */
#include <stdio.h>
#include <string.h>

#include "vault/dual.h"
#include "vault/clog.h"

#define PENDING_AAD "vipvault/pending-share/v1"

struct decide {
	struct vv_req q;
	struct vv_manager m;
	unsigned k;
	uint32_t epoch;
	int share_index;
	uint8_t sealed[VV_SHARE_SEALED_LEN];
	char rp[VV_RP_ID_MAX];
	uint8_t cdh[32];
};

size_t
vv_pending_aad(const vv_vault *v, const struct vv_req *q,
    const char *manager, uint32_t epoch, uint8_t *aad)
{
	size_t n = sizeof(PENDING_AAD), ml = strlen(manager) + 1;

	memcpy(aad, PENDING_AAD, n);
	memcpy(aad + n, v->id, VV_ID_LEN);
	n += VV_ID_LEN;
	memcpy(aad + n, q->req->id, VV_REQ_ID_LEN);
	n += VV_REQ_ID_LEN;
	memcpy(aad + n, q->digest, 32);
	n += 32;
	memcpy(aad + n, manager, ml);
	n += ml;
	vv_put_be32(aad + n, epoch);
	return n + 4;
}

static int
load_share_row(vv_vault *v, struct decide *d)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT share_index, sealed FROM shares "
	    "WHERE manager_id = ? AND epoch = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, d->m.id);
	(void)sqlite3_bind_int64(st, 2, d->epoch);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_DENIED, "key manager %s holds no share "
		    "of the current VIP key", d->m.name);
	else if (rc != SQLITE_ROW)
		r = vv_fail_db(v, rc, "reading a share");
	else if (sqlite3_column_bytes(st, 1) != (int)VV_SHARE_SEALED_LEN)
		r = vv_fail(v, VV_ERR_INTEGRITY, "the share of key manager %s "
		    "is corrupt", d->m.name);
	else {
		d->share_index = sqlite3_column_int(st, 0);
		memcpy(d->sealed, sqlite3_column_blob(st, 1),
		    VV_SHARE_SEALED_LEN);
	}
	sqlite3_finalize(st);
	return r;
}

static int
check_first_decision(vv_vault *v, struct decide *d)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT decision FROM approvals WHERE "
	    "request_id = ? AND manager_id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, d->q.id, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 2, d->m.id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = vv_fail(v, VV_ERR_DENIED, "key manager %s already decided "
		    "on request %s: a manager counts once", d->m.name, d->q.id);
	else if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading approvals");
	sqlite3_finalize(st);
	return r;
}

/* Everything that can be refused before a token is touched. */
static int
prepare(vv_vault *v, const char *id, const char *manager,
    const char *decision, struct decide *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = vv_req_sweep(v)) != VV_OK ||
	    (r = vv_dual_threshold(v, &d->k, &d->epoch)) != VV_OK ||
	    (r = vv_req_load(v, id, &d->q)) != VV_OK ||
	    (r = vv_req_check_open(v, &d->q, "pending")) != VV_OK ||
	    (r = vv_manager_load(v, manager, &d->m)) != VV_OK)
		return r;
	if (d->q.req->kind == VV_REQ_UNSEAL &&
	    strcmp(d->m.name, d->q.req->requester) == 0)
		return vv_fail(v, VV_ERR_DENIED, "%s made request %s and cannot "
		    "decide on it", d->m.name, d->q.id);
	if ((r = check_first_decision(v, d)) != VV_OK ||
	    (r = load_share_row(v, d)) != VV_OK)
		return r;
	vv_rp_id(v, d->rp);
	vv_request_challenge(v->id, decision, d->q.digest, d->cdh);
	return VV_OK;
}

/* The manager's share, out of his token's answer. */
static int
open_share(vv_vault *v, struct decide *d, const uint8_t *hmac,
    struct vv_share *s)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], *sk;
	int r;

	if (hmac == NULL)
		return vv_fail(v, VV_ERR_INTEGRITY, "key manager %s's token "
		    "gave no hmac-secret output", d->m.name);
	if ((sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	if ((r = vv_share_keypair(v, d->m.name, hmac, pk, sk)) != VV_OK)
		goto out;
	if (sodium_memcmp(pk, d->m.share_pk, sizeof(pk)) != 0) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "key manager %s's token "
		    "answered a wrong hmac-secret output: is it the enrolled "
		    "token, used with the same PIN setting?", d->m.name);
		goto out;
	}
	if (vv_share_open(v, d->m.name, sk, d->epoch,
	    (uint8_t)d->share_index, d->sealed, sizeof(d->sealed), s) !=
	    VV_OK)
		r = vv_fail(v, VV_ERR_INTEGRITY, "the sealed share of key "
		    "manager %s does not open: it was tampered with",
		    d->m.name);
out:
	sodium_free(sk);
	return r;
}

static int
insert_decision(vv_vault *v, struct decide *d, const char *decision,
    const struct vv_fido_assertion *a, const uint8_t *pending,
    size_t pendinglen)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT INTO approvals(request_id, "
	    "manager_id, decision, at, authdata, sig, sign_count, "
	    "pending_share) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, d->q.id, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 2, d->m.id);
	(void)sqlite3_bind_text(st, 3, decision, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 4, vv_now());
	(void)sqlite3_bind_blob(st, 5, a->authdata, (int)a->authdata_len,
	    SQLITE_STATIC);
	(void)sqlite3_bind_blob(st, 6, a->sig, (int)a->sig_len, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 7, a->sign_count);
	if (pending != NULL)
		(void)sqlite3_bind_blob(st, 8, pending, (int)pendinglen,
		    SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing a decision");
	sqlite3_finalize(st);
	return r;
}

/* Opens the manager's share and seals it to the HSM for this request. */
static int
pend_share(vv_vault *v, struct decide *d, const uint8_t *hmac,
    uint8_t *out, size_t *outlen)
{
	uint8_t aad[VV_PENDING_AAD_MAX], enc[VV_SHARE_LEN];
	char label[VV_P11_LABEL_MAX];
	struct vv_share *s;
	size_t aadlen;
	int r;

	if ((s = sodium_malloc(sizeof(*s))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	if ((r = open_share(v, d, hmac, s)) != VV_OK)
		goto out;
	(void)vv_share_encode(enc, s);
	aadlen = vv_pending_aad(v, &d->q, d->m.name, d->epoch, aad);
	vv_label_master(v, label);
	if ((r = vv_p11_seal(v->p11, label, aad, aadlen, enc, sizeof(enc),
	    out, outlen)) != VV_OK)
		r = vv_fail(v, vv_hsm_err(r), "sealing a pending share: %s",
		    vv_p11_errmsg(v->p11));
out:
	sodium_memzero(enc, sizeof(enc));
	sodium_free(s);
	return r;
}

static int
count_approvals(vv_vault *v, const char *id, unsigned *n)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT count(*) FROM approvals WHERE "
	    "request_id = ? AND decision = 'approve'", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		r = vv_fail_db(v, rc, "counting approvals");
	else
		*n = (unsigned)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return r;
}

/* Verifies the token's answer and records the decision; the k-th
 * approval completes the request, all in one transaction. */
static int
submit(vv_vault *v, struct decide *d, const char *decision,
    const struct vv_fido_assertion *a, int *complete)
{
	uint8_t pending[VV_SHARE_LEN + VV_P11_OVERHEAD];
	size_t pendinglen = 0;
	uint32_t count;
	unsigned n = 0;
	int r, approve = strcmp(decision, "approve") == 0;

	if (vv_fido_verify(d->rp, &d->m.cred, d->cdh, a->hmac != NULL,
	    a->authdata, a->authdata_len, a->sig, a->sig_len, &count) !=
	    VV_OK)
		return vv_fail(v, VV_ERR_INTEGRITY, "the assertion of key "
		    "manager %s does not verify for this %s of request %s",
		    d->m.name, decision, d->q.id);
	if (approve && (r = pend_share(v, d, a->hmac, pending,
	    &pendinglen)) != VV_OK)
		return r;
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_manager_bump_count(v, &d->m, count)) != VV_OK ||
	    (r = insert_decision(v, d, decision, a, approve ? pending : NULL,
	    pendinglen)) != VV_OK ||
	    (r = vv_clog_decision(v, &d->q, d->m.name, decision, a, d->cdh,
	    d->epoch, VV_OUT_OK, NULL)) != VV_OK)
		goto fail;
	if (!approve)
		r = vv_req_close(v, d->q.id, "denied");
	else if ((r = count_approvals(v, d->q.id, &n)) == VV_OK &&
	    n >= d->k)
		r = vv_unseal_complete(v, &d->q, d->k, d->epoch);
	if (r != VV_OK)
		goto fail;
	if ((r = vv_store_commit(v)) != VV_OK)
		return r;
	*complete = approve && n >= d->k;
	return VV_OK;
fail:
	vv_store_rollback(v);
	return r;
}

/*
 * A refused decision is recorded too, once its transaction is gone: who
 * tried, on which request, why, and the assertion when there was one.
 * The refusal's own message is what the caller sees.
 */
static void
log_refusal(vv_vault *v, const struct decide *d, const char *manager,
    const char *decision, const struct vv_fido_assertion *a, int r)
{
	char msg[VV_ERRMSG_MAX];

	if (d->q.req == NULL || !vv_valid_name(manager))
		return;
	(void)snprintf(msg, sizeof(msg), "%s", v->errmsg);
	vv_store_rollback(v);
	if (vv_store_begin(v) == VV_OK) {
		if (vv_clog_decision(v, &d->q, manager, decision, a, NULL,
		    d->epoch, r == VV_ERR_DENIED ? VV_OUT_DENIED :
		    VV_OUT_FAILED, msg) != VV_OK || vv_store_commit(v) != VV_OK)
			vv_store_rollback(v);
	}
	(void)snprintf(v->errmsg, sizeof(v->errmsg), "%s", msg);
}

int
vv_unseal_submit(vv_vault *v, const char *id, const char *manager,
    const char *decision, const struct vv_fido_assertion *a, int *complete)
{
	struct decide d;
	int r;

	*complete = 0;
	if ((r = prepare(v, id, manager, decision, &d)) == VV_OK)
		r = submit(v, &d, decision, a, complete);
	if (r != VV_OK)
		log_refusal(v, &d, manager, decision, a, r);
	vv_req_clear(&d.q);
	sodium_memzero(&d, sizeof(d));
	return r;
}

static int
decide(vv_vault *v, const char *id, const char *manager,
    const char *decision, const vv_fido_opts *o, int *complete)
{
	struct vv_fido_assertion a;
	struct vv_fido_dev dev;
	struct decide d;
	char who[VV_NAME_MAX + 16], msg[256];
	int r, approve = strcmp(decision, "approve") == 0;

	*complete = 0;
	memset(&a, 0, sizeof(a));
	if ((r = prepare(v, id, manager, decision, &d)) != VV_OK)
		goto out;
	(void)snprintf(who, sizeof(who), "manager %s", d.m.name);
	/* Whether the token verifies its user was settled at enrolment
	 * (cred.uv); require_uv only matters there. */
	vv_fido_dev_from(v, o, who, 0, &dev);
	r = vv_fido_assert(&dev, d.rp, &d.m.cred, d.cdh, approve ? d.m.salt :
	    NULL, &a, msg, sizeof(msg));
	if (r != VV_OK) {
		r = vv_fail(v, r, "manager %s: %s", d.m.name, msg);
		goto out;
	}
	r = submit(v, &d, decision, &a, complete);
out:
	if (r != VV_OK)
		log_refusal(v, &d, manager, decision, &a, r);
	vv_fido_assertion_clear(&a);
	vv_req_clear(&d.q);
	sodium_memzero(&d, sizeof(d));
	return r;
}

int
vv_unseal_approve(vv_vault *v, const char *id, const char *manager,
    const vv_fido_opts *o, int *complete)
{
	int dummy;

	return decide(v, id, manager, "approve", o,
	    complete != NULL ? complete : &dummy);
}

int
vv_unseal_deny(vv_vault *v, const char *id, const char *manager,
    const vv_fido_opts *o)
{
	int complete;

	return decide(v, id, manager, "deny", o, &complete);
}
