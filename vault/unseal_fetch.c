/*
 * unseal_fetch.c - the requester takes an approved request's contacts,
 * once.
 *
 * The release opens only with the HSM (the vault's) and the requesting
 * token's secret (the requester's).  Its log entry is durable in the
 * vault and in the compliance mirror before anything is decrypted, and
 * the request is closed before the caller sees a byte: if either cannot
 * be written, nothing is released (fail closed).
 */
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"
#include "vault/clog.h"

static int
read_release(vv_vault *v, const struct vv_req *q, uint8_t **blob,
    size_t *len)
{
	sqlite3_stmt *st = NULL;
	int r, rc, n;

	*blob = NULL;
	if ((r = vv_prepare(v, "SELECT release FROM unseal_requests WHERE "
	    "id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, q->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = vv_fail_db(v, rc, "reading the release");
		goto out;
	}
	n = sqlite3_column_bytes(st, 0);
	if (n <= (int)(VV_P11_OVERHEAD + crypto_box_SEALBYTES)) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "the release of request %s "
		    "is missing or truncated", q->id);
		goto out;
	}
	if ((*blob = malloc((size_t)n)) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*blob, sqlite3_column_blob(st, 0), (size_t)n);
	*len = (size_t)n;
out:
	sqlite3_finalize(st);
	return r;
}

/* HSM layer, then the requester's box: the plaintext into *plain. */
static int
open_release(vv_vault *v, const struct vv_req *q, const uint8_t *secret,
    uint8_t **plain, size_t *plainlen)
{
	uint8_t aad[64 + VV_ID_LEN + 32], pk[32], *blob = NULL, *boxed = NULL;
	uint8_t *sk = NULL;
	char label[VV_P11_LABEL_MAX];
	size_t bloblen = 0, boxlen = 0, aadlen;
	int r;

	*plain = NULL;
	if ((r = read_release(v, q, &blob, &bloblen)) != VV_OK)
		return r;
	boxed = malloc(bloblen);
	*plain = malloc(bloblen);
	sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	if (boxed == NULL || *plain == NULL || sk == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	vv_label_master(v, label);
	aadlen = vv_release_aad(v, q, aad);
	if ((r = vv_p11_unseal(v->p11, label, aad, aadlen, blob, bloblen,
	    boxed, &boxlen)) != VV_OK) {
		r = r == VV_ERR_INTEGRITY ? vv_fail(v, r, "the release of "
		    "request %s was tampered with", q->id) : vv_fail(v,
		    vv_hsm_err(r), "opening the release: %s",
		    vv_p11_errmsg(v->p11));
		goto out;
	}
	if ((r = vv_recipient_keypair(v, secret, q->req->id, pk, sk)) !=
	    VV_OK)
		goto out;
	if (boxlen <= crypto_box_SEALBYTES ||
	    crypto_box_seal_open(*plain, boxed, boxlen, pk, sk) != 0 ||
	    vv_release_walk(*plain, boxlen - crypto_box_SEALBYTES,
	    q->req->id, NULL, NULL) != VV_OK) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "the release of request %s "
		    "does not open with this token", q->id);
		goto out;
	}
	*plainlen = boxlen - crypto_box_SEALBYTES;
out:
	if (r != VV_OK && *plain != NULL) {
		sodium_memzero(*plain, bloblen);
		free(*plain);
		*plain = NULL;
	}
	if (boxed != NULL)
		sodium_memzero(boxed, bloblen);
	free(boxed);
	free(blob);
	if (sk != NULL)
		sodium_free(sk);
	return r;
}

static int
record_release(vv_vault *v, const struct vv_req *q)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT INTO releases(request_id, at, "
	    "requester, records) VALUES (?, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, q->id, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 2, vv_now());
	(void)sqlite3_bind_text(st, 3, q->req->requester, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 4, (int64_t)q->req->nrecords);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = rc == SQLITE_CONSTRAINT ? vv_fail(v, VV_ERR_DENIED,
		    "request %s was already fetched", q->id) :
		    vv_fail_db(v, rc, "recording the release");
	sqlite3_finalize(st);
	return r;
}

struct hand {
	vv_contact_fn *fn;
	void *arg;
};

static const char *
field_or_null(const struct vv_release_item *it, size_t i)
{
	return it->len[i] > 0 ? it->f[i] : NULL;
}

static int
hand_item(void *arg, const struct vv_release_item *it)
{
	const struct hand *h = arg;
	vv_contact c;

	c.external_id = it->external_id;
	c.phone = field_or_null(it, 0);
	c.email = field_or_null(it, 1);
	c.address = field_or_null(it, 2);
	return h->fn(h->arg, &c) != 0 ? 1 : 0;
}

static int
check_requester(vv_vault *v, const struct vv_req *q,
    const struct vv_auth *ti)
{
	if (q->req->kind != VV_REQ_UNSEAL)
		return vv_fail(v, VV_ERR_DENIED, "request %s is a re-split of "
		    "the key: there is nothing to fetch", q->id);
	if (strcmp(ti->id, q->req->token_id) != 0)
		return vv_fail(v, VV_ERR_DENIED, "only the token that made "
		    "request %s can fetch it", q->id);
	return VV_OK;
}

/* Decryptions attempted; tests check none happens when the mirror is
 * down. */
unsigned long vv_unseal_decryptions;

/*
 * The release entry is committed to the vault log and written to the
 * compliance mirror before anything is decrypted.  If the mirror cannot
 * be written the release is refused, and the refusal logged; the request
 * stays approved and is fetched once the mirror is back (fail closed).
 */
/* Every configured sink must hold the entries, and at least one is. */
static int
sinks_sync(vv_vault *v)
{
	int rm = vv_mirror_sync(v), rp;

	if (rm != VV_OK && rm != VV_ERR_NOT_FOUND)
		return rm;
	rp = vv_pgsink_sync(v);
	if (rp != VV_OK && rp != VV_ERR_NOT_FOUND)
		return rp;
	if (rm == VV_ERR_NOT_FOUND && rp == VV_ERR_NOT_FOUND)
		return vv_fail(v, VV_ERR_NOT_FOUND, "this vault has no "
		    "compliance mirror");
	return VV_OK;
}

static int
log_release(vv_vault *v, const struct vv_req *q)
{
	char msg[VV_ERRMSG_MAX];
	int r;

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_clog_request_event(v, VV_EV_RELEASE, q, VV_OUT_OK,
	    q->req->nrecords, NULL)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	if ((r = sinks_sync(v)) == VV_OK)
		return VV_OK;
	(void)snprintf(msg, sizeof(msg), "%s", v->errmsg);
	if (vv_store_begin(v) == VV_OK) {
		if (vv_clog_request_event(v, VV_EV_RELEASE_REFUSED, q,
		    VV_OUT_FAILED, 0, "the compliance mirror could not be "
		    "written") != VV_OK || vv_store_commit(v) != VV_OK)
			vv_store_rollback(v);
	}
	return vv_fail(v, r == VV_ERR_NOT_FOUND ? VV_ERR_DENIED : r, "release "
	    "refused: the compliance mirror could not be written (%s); the "
	    "request stays approved: fetch it again once the mirror is back",
	    msg);
}

/* A fetch refused by a rule (another token, a closed request) is
 * recorded too; the refusal's message is what the caller sees. */
static void
log_refused_fetch(vv_vault *v, const struct vv_req *q)
{
	char msg[VV_ERRMSG_MAX];

	(void)snprintf(msg, sizeof(msg), "%s", v->errmsg);
	if (vv_store_begin(v) == VV_OK) {
		if (vv_clog_request_event(v, VV_EV_RELEASE, q, VV_OUT_DENIED,
		    0, msg) != VV_OK || vv_store_commit(v) != VV_OK)
			vv_store_rollback(v);
	}
	(void)snprintf(v->errmsg, sizeof(v->errmsg), "%s", msg);
}

int
vv_unseal_fetch(vv_vault *v, const char *token, const char *id,
    vv_contact_fn *fn, void *arg)
{
	struct vv_auth ti;
	struct vv_req q;
	struct hand h = { fn, arg };
	uint8_t *secret = NULL, *plain = NULL;
	size_t plainlen = 0;
	char tid[17];
	int r;

	memset(&q, 0, sizeof(q));
	if ((r = vv_req_sweep(v)) != VV_OK ||
	    (r = vv_token_verify(v, token, &ti)) != VV_OK ||
	    (r = vv_req_load(v, id, &q)) != VV_OK)
		goto out;
	if ((r = check_requester(v, &q, &ti)) != VV_OK ||
	    (r = vv_req_check_open(v, &q, "approved")) != VV_OK) {
		log_refused_fetch(v, &q);
		goto out;
	}
	if ((secret = sodium_malloc(VV_KEY_LEN)) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
		goto out;
	}
	if ((r = vv_token_parse(token, tid, secret)) != VV_OK ||
	    (r = log_release(v, &q)) != VV_OK)
		goto out;
	__atomic_fetch_add(&vv_unseal_decryptions, 1, __ATOMIC_RELAXED);
	if ((r = open_release(v, &q, secret, &plain, &plainlen)) != VV_OK)
		goto out;
	/* Closed before the plaintext leaves: fetched once. */
	if ((r = vv_store_begin(v)) != VV_OK)
		goto out;
	if ((r = record_release(v, &q)) != VV_OK ||
	    (r = vv_req_close(v, q.id, "fetched")) != VV_OK) {
		vv_store_rollback(v);
		goto out;
	}
	if ((r = vv_store_commit(v)) != VV_OK)
		goto out;
	if (fn != NULL)
		(void)vv_release_walk(plain, plainlen, q.req->id, hand_item, &h);
out:
	if (plain != NULL) {
		sodium_memzero(plain, plainlen);
		free(plain);
	}
	if (secret != NULL)
		sodium_free(secret);
	vv_req_clear(&q);
	return r;
}
