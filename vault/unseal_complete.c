/*
 * unseal_complete.c - the moment the VIP contact key exists whole.
 *
 * When the k-th manager approves, inside his transaction: every pending
 * share is taken from the HSM and its approval verified again against
 * the request as stored now; the shares are combined and the key checked
 * against the VIP contact public key; only the requested records'
 * contacts are decrypted, sealed to the requester's key for this request
 * and put under the HSM; the key, the shares and the plaintext are wiped
 * and the pending shares deleted.  The key lives for the length of this
 * function, in guarded memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"
#include "vault/clog.h"

#define RELEASE_AAD "vipvault/release/v1"

struct gathered {
	struct vv_share *shares;	/* sodium_malloc'd, VV_SHAMIR_MAX */
	char (*names)[VV_NAME_MAX];
	size_t n;
};

size_t
vv_release_aad(const vv_vault *v, const struct vv_req *q, uint8_t *aad)
{
	size_t n = sizeof(RELEASE_AAD);

	memcpy(aad, RELEASE_AAD, n);
	memcpy(aad + n, v->id, VV_ID_LEN);
	n += VV_ID_LEN;
	memcpy(aad + n, q->digest, 32);
	return n + 32;
}

/* One approval: verified again, its share out of the HSM. */
static int
take_share(vv_vault *v, const struct vv_req *q, uint32_t epoch,
    sqlite3_stmt *st, struct gathered *g)
{
	struct vv_manager m;
	uint8_t cdh[32], aad[VV_PENDING_AAD_MAX], enc[VV_SHARE_LEN];
	char rp[VV_RP_ID_MAX], label[VV_P11_LABEL_MAX];
	const char *name = (const char *)sqlite3_column_text(st, 0);
	size_t aadlen, enclen = 0;
	uint32_t count;
	int r;

	if (name == NULL || (r = vv_manager_load(v, name, &m)) != VV_OK)
		return name == NULL ? VV_ERR_INTEGRITY : r;
	vv_rp_id(v, rp);
	vv_request_challenge(v->id, "approve", q->digest, cdh);
	if (vv_fido_verify(rp, &m.cred, cdh, 1, sqlite3_column_blob(st, 1),
	    (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_blob(st, 2),
	    (size_t)sqlite3_column_bytes(st, 2), &count) != VV_OK)
		return vv_fail(v, VV_ERR_INTEGRITY, "the approval by %s does "
		    "not verify for request %s as stored", m.name, q->id);
	aadlen = vv_pending_aad(v, q, m.name, epoch, aad);
	vv_label_master(v, label);
	r = vv_p11_unseal(v->p11, label, aad, aadlen,
	    sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
	    enc, &enclen);
	if (r == VV_OK && (enclen != sizeof(enc) ||
	    vv_share_decode(&g->shares[g->n], enc, enclen) != VV_OK))
		r = VV_ERR_INTEGRITY;
	sodium_memzero(enc, sizeof(enc));
	if (r == VV_ERR_INTEGRITY)
		return vv_fail(v, r, "the pending share of %s was tampered "
		    "with", m.name);
	if (r != VV_OK)
		return vv_fail(v, vv_hsm_err(r), "unsealing a pending "
		    "share: %s", vv_p11_errmsg(v->p11));
	(void)snprintf(g->names[g->n], VV_NAME_MAX, "%s", m.name);
	g->n++;
	return VV_OK;
}

static int
gather(vv_vault *v, const struct vv_req *q, uint32_t epoch,
    struct gathered *g)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT m.name, a.authdata, a.sig, "
	    "a.pending_share FROM approvals a JOIN managers m ON m.id = "
	    "a.manager_id WHERE a.request_id = ? AND a.decision = 'approve' "
	    "AND a.pending_share IS NOT NULL ORDER BY m.name", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, q->id, -1, SQLITE_STATIC);
	while (r == VV_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (g->n >= VV_SHAMIR_MAX_SHARES)
			r = vv_fail(v, VV_ERR_INTEGRITY, "too many approvals");
		else
			r = take_share(v, q, epoch, st, g);
	}
	if (r == VV_OK && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading approvals");
	sqlite3_finalize(st);
	return r;
}

static int
combine(vv_vault *v, struct gathered *g, unsigned k, uint8_t *sk)
{
	size_t i;
	int r, bad = 0;

	if (g->n < k)
		return vv_fail(v, VV_ERR_INTEGRITY, "only %zu of %u pending "
		    "shares are left", g->n, k);
	/* Every bit must match, not only the public key: see shamir.h. */
	r = vv_shamir_combine(g->shares, g->n, vv_shamir_check_x25519,
	    v->dom[VV_DOM_VIP_CONTACT].pk, sk, &bad);
	for (i = 0; bad != 0 && i < g->n; i++)
		if (g->shares[i].index == bad)
			return vv_fail(v, VV_ERR_INTEGRITY, "the share of %s "
			    "is wrong", g->names[i]);
	if (r != VV_OK)
		return vv_fail(v, VV_ERR_INTEGRITY, "the approved shares do "
		    "not rebuild the VIP contact key: one of them is wrong");
	return VV_OK;
}

/* One requested record's contacts into the release. */
static int
add_record(vv_vault *v, struct vv_keys *k, const struct vv_req *q,
    sqlite3_stmt *st, struct vv_buf *rel)
{
	struct vv_class_text t;
	uint8_t *plain, *at;
	size_t cap = (size_t)sqlite3_column_bytes(st, VV_COL_CONTACT);
	int r;

	if (cap < VV_ENV_OVERHEAD || (plain = malloc(cap)) == NULL)
		return cap < VV_ENV_OVERHEAD ? vv_fail(v, VV_ERR_INTEGRITY,
		    "a contact ciphertext is truncated") : VV_ERR_NOMEM;
	at = plain;
	r = vv_open_class(v, k, st, VV_CLASS_CONTACT,
	    1u << VV_DOM_VIP_CONTACT, &at, &t);
	if (r == VV_OK && vv_release_add(rel, q->req->id, (const char *)
	    sqlite3_column_text(st, VV_COL_EXTID), &t) != VV_OK)
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
	sodium_memzero(plain, cap);
	free(plain);
	return r;
}

/* The requested records' contacts, decrypted with sk (which k now owns). */
static int
decrypt_contacts(vv_vault *v, const struct vv_req *q, uint8_t *sk,
    struct vv_buf *rel)
{
	struct vv_keys *k = NULL;
	sqlite3_stmt *st = NULL;
	size_t i;
	int r, rc;

	if (vv_keys_new(&k) != VV_OK) {
		sodium_free(sk);
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	}
	vv_keys_set_sk(k, VV_DOM_VIP_CONTACT, sk);
	if ((r = vv_prepare(v, "SELECT " VV_RECORD_COLUMNS " FROM records r "
	    "WHERE r.external_id = ?", &st)) != VV_OK)
		goto out;
	for (i = 0; i < q->req->nrecords && r == VV_OK; i++) {
		(void)sqlite3_reset(st);
		(void)sqlite3_bind_text(st, 1, q->req->records[i], -1,
		    SQLITE_STATIC);
		/* A record removed since the request is simply absent. */
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			r = add_record(v, k, q, st, rel);
		else if (rc != SQLITE_DONE)
			r = vv_fail_db(v, rc, "reading a record");
	}
	if (r == VV_OK && rel->len == 0)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "none of the requested records "
		    "exists any more");
out:
	sqlite3_finalize(st);
	vv_keys_free(&k);
	return r;
}

/* Sealed to the requester, then under the HSM; stored with the state. */
static int
store_release(vv_vault *v, const struct vv_req *q, const struct vv_buf *rel)
{
	uint8_t aad[sizeof(RELEASE_AAD) + VV_ID_LEN + 32], *boxed = NULL;
	uint8_t *blob = NULL;
	char label[VV_P11_LABEL_MAX];
	size_t boxlen = rel->len + crypto_box_SEALBYTES, bloblen = 0, aadlen;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((boxed = malloc(boxlen)) == NULL ||
	    (blob = malloc(boxlen + VV_P11_OVERHEAD)) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (crypto_box_seal(boxed, rel->p, rel->len, q->req->recipient_pk) !=
	    0) {
		r = vv_fail(v, VV_ERR_INTERNAL, "sealing the release");
		goto out;
	}
	vv_label_master(v, label);
	aadlen = vv_release_aad(v, q, aad);
	if ((r = vv_p11_seal(v->p11, label, aad, aadlen, boxed, boxlen, blob,
	    &bloblen)) != VV_OK) {
		r = vv_fail(v, vv_hsm_err(r), "sealing the release: %s",
		    vv_p11_errmsg(v->p11));
		goto out;
	}
	if ((r = vv_prepare(v, "UPDATE unseal_requests SET state = "
	    "'approved', release = ? WHERE id = ? AND state = 'pending'",
	    &st)) != VV_OK)
		goto out;
	(void)sqlite3_bind_blob(st, 1, blob, (int)bloblen, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 2, q->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE ||
	    sqlite3_changes(v->db) != 1)
		r = vv_fail_db(v, rc, "storing the release");
out:
	sqlite3_finalize(st);
	free(boxed);
	free(blob);
	return r;
}

int
vv_unseal_complete(vv_vault *v, const struct vv_req *q, unsigned k,
    uint32_t epoch)
{
	struct gathered g;
	struct vv_buf rel = { NULL, 0, 0 };
	uint8_t *sk = NULL;
	int r;

	memset(&g, 0, sizeof(g));
	g.shares = sodium_allocarray(VV_SHAMIR_MAX_SHARES, sizeof(*g.shares));
	g.names = calloc(VV_SHAMIR_MAX_SHARES, sizeof(*g.names));
	sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	if (g.shares == NULL || g.names == NULL || sk == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
		goto out;
	}
	if ((r = gather(v, q, epoch, &g)) != VV_OK ||
	    (r = combine(v, &g, k, sk)) != VV_OK)
		goto out;
	if (q->req->kind == VV_REQ_RESHARE) {
		if ((r = vv_dual_reshare(v, sk, k, epoch)) == VV_OK)
			r = vv_req_close(v, q->id, "done");
		goto out;
	}
	r = decrypt_contacts(v, q, sk, &rel);	/* takes sk */
	sk = NULL;
	if (r == VV_OK && (r = store_release(v, q, &rel)) == VV_OK &&
	    (r = vv_req_destroy_pending(v, q->id)) == VV_OK)
		r = vv_clog_request_event(v, VV_EV_UNSEAL_COMPLETE, q,
		    VV_OUT_OK, q->req->nrecords, NULL);
out:
	vv_buf_free(&rel);
	if (sk != NULL)
		sodium_free(sk);
	if (g.shares != NULL) {
		sodium_memzero(g.shares, VV_SHAMIR_MAX_SHARES *
		    sizeof(*g.shares));
		sodium_free(g.shares);
	}
	free(g.names);
	return r;
}
