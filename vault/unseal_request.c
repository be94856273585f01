/*
 * unseal_request.c - making, loading, listing and expiring unseal
 * requests.
 *
 * A request row keeps the canonical encoding the managers sign and an
 * HSM seal over it, so a request altered in the database is refused
 * before anyone approves or fetches it.  The state column is only a
 * summary: what makes a closed request unusable is that its pending
 * shares and release are deleted when it closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"
#include "vault/clog.h"

#define REQUEST_AAD "vipvault/request/v1"
#define RECIPIENT_PURPOSE "vipvault/unseal-recipient/v1"
#define DEFAULT_TTL (15 * 60)

void
vv_req_clear(struct vv_req *q)
{
	if (q->req != NULL) {
		sodium_memzero(q->req, sizeof(*q->req));
		free(q->req);
	}
	free(q->enc);
	memset(q, 0, sizeof(*q));
}

int
vv_recipient_keypair(const vv_vault *v, const uint8_t *token_secret,
    const uint8_t id[VV_REQ_ID_LEN], uint8_t pk[32], uint8_t *sk)
{
	/* Only the holder of the requesting token can derive the key the
	 * release is sealed to: not the managers, not the administrator. */
	return vv_derive_keypair(token_secret, VV_KEY_LEN, RECIPIENT_PURPOSE,
	    v->id, id, VV_REQ_ID_LEN, pk, sk);
}

/* The HSM seal of a request: AES-GCM by the master key over its digest,
 * the encoding as associated data. */
static int
request_seal(vv_vault *v, const uint8_t *enc, size_t enclen, int check,
    const uint8_t *blob, size_t bloblen, uint8_t *out, size_t *outlen)
{
	uint8_t digest[32], got[32 + VV_P11_OVERHEAD], *aad;
	char label[VV_P11_LABEL_MAX];
	size_t aadlen = sizeof(REQUEST_AAD) + enclen, gotlen = 0;
	int r;

	if ((aad = malloc(aadlen)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	memcpy(aad, REQUEST_AAD, sizeof(REQUEST_AAD));
	memcpy(aad + sizeof(REQUEST_AAD), enc, enclen);
	crypto_hash_sha256(digest, enc, enclen);
	vv_label_master(v, label);
	if (!check)
		r = vv_p11_seal(v->p11, label, aad, aadlen, digest,
		    sizeof(digest), out, outlen);
	else if (bloblen != sizeof(got))
		r = VV_ERR_INTEGRITY;
	else if ((r = vv_p11_unseal(v->p11, label, aad, aadlen, blob,
	    bloblen, got, &gotlen)) == VV_OK && (gotlen != 32 ||
	    sodium_memcmp(got, digest, 32) != 0))
		r = VV_ERR_INTEGRITY;
	free(aad);
	if (r == VV_ERR_INTEGRITY)
		return vv_fail(v, r, "the unseal request was altered after it "
		    "was made");
	if (r != VV_OK)
		return vv_fail(v, vv_hsm_err(r), "the HSM failed on an "
		    "unseal request: %s", vv_p11_errmsg(v->p11));
	return VV_OK;
}

/* ------------------------------------------------------------ make */

/* A record may be asked for when the requester could read it and its
 * contacts are under dual control. */
static int
check_record(vv_vault *v, const struct vv_auth *ti, const char *xid)
{
	sqlite3_stmt *st = NULL;
	int r, rc, tier, mine;

	if ((r = vv_prepare(v, "SELECT r.tier, r.owner, d.domain, r.canary "
	    "FROM "
	    "records r LEFT JOIN data_keys d ON d.id = r.dk_contact WHERE "
	    "r.external_id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, xid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = vv_fail_db(v, rc, "reading a record");
		goto out;
	}
	tier = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	mine = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st,
	    1), ti->user) == 0;
	/* Another owner's canary does not exist for this requester. */
	if (rc == SQLITE_DONE || (ti->tiers & VV_TIER_MASK(tier)) == 0 ||
	    ((ti->flags & VV_ROLE_OWN_CLIENTS_ONLY) != 0 && !mine) ||
	    (sqlite3_column_int(st, 3) != 0 && !mine))
		r = vv_fail(v, VV_ERR_NOT_FOUND, "record %s: not found", xid);
	else if (sqlite3_column_int(st, 2) != VV_DOM_VIP_CONTACT)
		r = vv_fail(v, VV_ERR_INVALID, "record %s is not a VIP record: "
		    "its contacts need no unseal, read them with get", xid);
out:
	sqlite3_finalize(st);
	return r;
}

static int
fill_request(vv_vault *v, const struct vv_auth *ti,
    const uint8_t *secret, const char *const *xids, size_t n,
    const char *reason, int64_t ttl, struct vv_request *q)
{
	uint8_t *sk;
	unsigned max;
	size_t i;
	int r;

	if ((r = vv_dual_max_records(v, &max)) != VV_OK)
		return r;
	if (n == 0 || n > max)
		return vv_fail(v, VV_ERR_INVALID, "a request names 1 to %u "
		    "records", max);
	if (ttl < 0 || ttl > VV_REQ_TTL_MAX)
		return vv_fail(v, VV_ERR_INVALID, "the time to live is at most "
		    "24 hours");
	if (reason == NULL || strlen(reason) > VV_REQ_REASON_MAX)
		return vv_fail(v, VV_ERR_INVALID, "the reason must be 1 to %u "
		    "bytes", VV_REQ_REASON_MAX);
	memset(q, 0, sizeof(*q));
	q->kind = VV_REQ_UNSEAL;
	memcpy(q->vault_id, v->id, VV_ID_LEN);
	randombytes_buf(q->id, sizeof(q->id));
	q->created = vv_now();
	q->expires = q->created + (ttl == 0 ? DEFAULT_TTL : ttl);
	(void)snprintf(q->requester, sizeof(q->requester), "%s", ti->user);
	(void)snprintf(q->token_id, sizeof(q->token_id), "%s", ti->id);
	(void)snprintf(q->role, sizeof(q->role), "%s", ti->role);
	(void)snprintf(q->reason, sizeof(q->reason), "%s", reason);
	for (i = 0; i < n; i++) {
		if (xids[i] == NULL || !vv_valid_external_id(xids[i]))
			return vv_fail(v, VV_ERR_INVALID, "bad external id "
			    "in the request");
		(void)snprintf(q->records[i], sizeof(q->records[i]), "%s",
		    xids[i]);
	}
	q->nrecords = n;
	vv_request_sort(q);
	for (i = 0; i < q->nrecords; i++)
		if ((r = check_record(v, ti, q->records[i])) != VV_OK)
			return r;
	if ((sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	r = vv_recipient_keypair(v, secret, q->id, q->recipient_pk, sk);
	sodium_free(sk);
	return r;
}

static int
insert_request(vv_vault *v, const struct vv_request *q, const uint8_t *enc,
    size_t enclen, const uint8_t *seal, size_t seallen, const char *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT INTO unseal_requests(id, encoding, "
	    "seal, requester, created, expires, kind, state) VALUES (?, ?, ?, "
	    "?, ?, ?, ?, 'pending')", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int(st, 7, q->kind);
	(void)sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	(void)sqlite3_bind_blob(st, 2, enc, (int)enclen, SQLITE_STATIC);
	(void)sqlite3_bind_blob(st, 3, seal, (int)seallen, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 4, q->requester, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 5, q->created);
	(void)sqlite3_bind_int64(st, 6, q->expires);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing the unseal request");
	sqlite3_finalize(st);
	return r;
}

/* Encodes, seals with the HSM and stores a new request. */
static int
store_request(vv_vault *v, const struct vv_request *q,
    char id_out[VV_REQ_ID_HEX])
{
	uint8_t *enc, seal[32 + VV_P11_OVERHEAD], digest[32];
	char id[VV_REQ_ID_HEX];
	size_t enclen = 0, seallen = 0;
	int r;

	if ((enc = malloc(VV_REQ_ENC_MAX)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	if (vv_request_encode(q, enc, &enclen) != VV_OK) {
		r = vv_fail(v, VV_ERR_INVALID, "the reason must be printable "
		    "text on one line");
		goto out;
	}
	vv_hex(id, q->id, VV_REQ_ID_LEN);
	if ((r = request_seal(v, enc, enclen, 0, NULL, 0, seal, &seallen)) !=
	    VV_OK || (r = vv_store_begin(v)) != VV_OK)
		goto out;
	crypto_hash_sha256(digest, enc, enclen);
	if ((r = insert_request(v, q, enc, enclen, seal, seallen, id)) !=
	    VV_OK || (r = vv_clog_request(v, q, digest)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		goto out;
	}
	memcpy(id_out, id, VV_REQ_ID_HEX);
out:
	free(enc);
	return r;
}

int
vv_unseal_request(vv_vault *v, const char *token,
    const char *const *xids, size_t n, const char *reason, int64_t ttl,
    char id_out[VV_REQ_ID_HEX])
{
	struct vv_auth ti;
	struct vv_request *q = NULL;
	uint8_t *secret = NULL;
	char tid[17];
	unsigned k;
	uint32_t epoch;
	int r;

	id_out[0] = '\0';
	if ((r = vv_dual_threshold(v, &k, &epoch)) != VV_OK ||
	    (r = vv_token_verify(v, token, &ti)) != VV_OK)
		return r;
	q = malloc(sizeof(*q));
	secret = sodium_malloc(VV_KEY_LEN);
	if (q == NULL || secret == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = vv_token_parse(token, tid, secret)) == VV_OK &&
	    (r = fill_request(v, &ti, secret, xids, n, reason, ttl, q)) ==
	    VV_OK)
		r = store_request(v, q, id_out);
out:
	if (secret != NULL)
		sodium_free(secret);
	free(q);
	return r;
}

int
vv_manager_reshare(vv_vault *v, const char *reason, int64_t ttl,
    char id_out[VV_REQ_ID_HEX])
{
	struct vv_request *q;
	unsigned k;
	uint32_t epoch;
	int r;

	id_out[0] = '\0';
	if ((r = vv_dual_threshold(v, &k, &epoch)) != VV_OK)
		return r;
	if (ttl < 0 || ttl > VV_REQ_TTL_MAX || reason == NULL ||
	    strlen(reason) > VV_REQ_REASON_MAX - strlen(VV_RESHARE_PREFIX))
		return vv_fail(v, VV_ERR_INVALID, "a reason of at most %zu "
		    "bytes and a time to live of at most 24 hours",
		    VV_REQ_REASON_MAX - strlen(VV_RESHARE_PREFIX));
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	q->kind = VV_REQ_RESHARE;
	memcpy(q->vault_id, v->id, VV_ID_LEN);
	randombytes_buf(q->id, sizeof(q->id));
	q->created = vv_now();
	q->expires = q->created + (ttl == 0 ? DEFAULT_TTL : ttl);
	(void)snprintf(q->requester, sizeof(q->requester), "%s",
	    VV_RESHARE_REQUESTER);
	(void)snprintf(q->token_id, sizeof(q->token_id), "%s",
	    VV_RESHARE_TOKEN_ID);
	(void)snprintf(q->role, sizeof(q->role), "%s", VV_RESHARE_ROLE);
	(void)snprintf(q->reason, sizeof(q->reason), "%s", reason);
	r = store_request(v, q, id_out);
	free(q);
	return r;
}

/* ------------------------------------------------------------ load */

static int
parse_id(vv_vault *v, const char *hex, uint8_t id[VV_REQ_ID_LEN])
{
	if (hex == NULL || strlen(hex) != 2 * VV_REQ_ID_LEN ||
	    vv_unhex(id, VV_REQ_ID_LEN, hex) != 0)
		return vv_fail(v, VV_ERR_NOT_FOUND, "no unseal request %s "
		    "(ids are 32 hex digits)", hex != NULL ? hex : "");
	return VV_OK;
}

static int
load_row(vv_vault *v, sqlite3_stmt *st, struct vv_req *q)
{
	const char *state = (const char *)sqlite3_column_text(st, 3);
	char msg[128];
	int len = sqlite3_column_bytes(st, 1);
	int r;

	if (len <= 0 || len > (int)VV_REQ_ENC_MAX || state == NULL)
		return vv_fail(v, VV_ERR_INTEGRITY, "an unseal request is "
		    "corrupt");
	if ((q->enc = malloc((size_t)len)) == NULL ||
	    (q->req = malloc(sizeof(*q->req))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	memcpy(q->enc, sqlite3_column_blob(st, 1), (size_t)len);
	q->enclen = (size_t)len;
	if ((r = request_seal(v, q->enc, q->enclen, 1,
	    sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
	    NULL, NULL)) != VV_OK)
		return r;
	if (vv_request_decode(q->enc, q->enclen, q->req, msg,
	    sizeof(msg)) != VV_OK)
		return vv_fail(v, VV_ERR_INTEGRITY, "%s", msg);
	if (memcmp(q->req->vault_id, v->id, VV_ID_LEN) != 0)
		return vv_fail(v, VV_ERR_INTEGRITY, "the unseal request belongs "
		    "to another vault");
	vv_hex(q->id, q->req->id, VV_REQ_ID_LEN);
	(void)snprintf(q->state, sizeof(q->state), "%s", state);
	crypto_hash_sha256(q->digest, q->enc, q->enclen);
	return VV_OK;
}

int
vv_req_load(vv_vault *v, const char *hex, struct vv_req *q)
{
	sqlite3_stmt *st = NULL;
	uint8_t id[VV_REQ_ID_LEN];
	int r, rc;

	memset(q, 0, sizeof(*q));
	if ((r = parse_id(v, hex, id)) != VV_OK ||
	    (r = vv_prepare(v, "SELECT id, encoding, seal, state FROM "
	    "unseal_requests WHERE id = lower(?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no unseal request %s", hex);
	else if (rc != SQLITE_ROW)
		r = vv_fail_db(v, rc, "reading an unseal request");
	else if ((r = load_row(v, st, q)) == VV_OK &&
	    memcmp(q->req->id, id, VV_REQ_ID_LEN) != 0)
		r = vv_fail(v, VV_ERR_INTEGRITY, "unseal request %s holds "
		    "another request", hex);
	sqlite3_finalize(st);
	if (r != VV_OK)
		vv_req_clear(q);
	return r;
}

/* ----------------------------------------------------- state, expiry */

/* Closes a request: its state changes and every secret attached to it
 * (pending shares, an unfetched release) is deleted in the same
 * transaction. */
int
vv_req_destroy_pending(vv_vault *v, const char *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "UPDATE approvals SET pending_share = NULL "
	    "WHERE request_id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "destroying pending shares");
	sqlite3_finalize(st);
	return r;
}

int
vv_req_close(vv_vault *v, const char *id, const char *state)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_req_destroy_pending(v, id)) != VV_OK)
		return r;
	if ((r = vv_prepare(v, "UPDATE unseal_requests SET state = ?, "
	    "release = NULL, closed = ? WHERE id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 2, vv_now());
	(void)sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "closing an unseal request");
	sqlite3_finalize(st);
	return r;
}

/* One entry per request that expires now; by id alone, so that a
 * damaged request does not stop the others from expiring. */
static int
log_expiries(vv_vault *v)
{
	struct vv_event *e = NULL;
	sqlite3_stmt *st = NULL;
	const char *id;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT id FROM unseal_requests WHERE state IN "
	    "('pending', 'approved') AND expires <= ? ORDER BY id", &st)) !=
	    VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, vv_now());
	while (r == VV_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = (const char *)sqlite3_column_text(st, 0);
		if (id == NULL || strlen(id) != 2 * VV_REQ_ID_LEN)
			continue;
		if (e == NULL && (e = malloc(sizeof(*e))) == NULL) {
			r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
			break;
		}
		vv_clog_event(e, VV_EV_EXPIRY);
		(void)snprintf(e->actor, sizeof(e->actor), "%s",
		    VV_ACTOR_ADMIN);
		(void)snprintf(e->request_id, sizeof(e->request_id), "%s", id);
		r = vv_clog_append(v, e);
	}
	if (r == VV_OK && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "listing expired requests");
	sqlite3_finalize(st);
	free(e);
	return r;
}

int
vv_req_sweep(vv_vault *v)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = log_expiries(v)) != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	r = vv_prepare(v, "UPDATE approvals SET pending_share = NULL WHERE "
	    "pending_share IS NOT NULL AND request_id IN (SELECT id FROM "
	    "unseal_requests WHERE state IN ('pending', 'approved') AND "
	    "expires <= ?1)", &st);
	if (r == VV_OK) {
		(void)sqlite3_bind_int64(st, 1, vv_now());
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			r = vv_fail_db(v, rc, "expiring unseal requests");
	}
	if (r == VV_OK && (r = vv_prepare(v, "UPDATE unseal_requests SET "
	    "state = 'expired', release = NULL, closed = ?1 WHERE state IN "
	    "('pending', 'approved') AND expires <= ?1", &st)) == VV_OK) {
		(void)sqlite3_bind_int64(st, 1, vv_now());
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			r = vv_fail_db(v, rc, "expiring unseal requests");
	}
	if (r != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	return vv_store_commit(v);
}

/* A request that can still be decided or fetched: open and unexpired. */
int
vv_req_check_open(vv_vault *v, const struct vv_req *q, const char *want)
{
	if (strcmp(q->state, want) == 0 && q->req->expires > vv_now())
		return VV_OK;
	if (strcmp(q->state, "pending") == 0 ||
	    strcmp(q->state, "approved") == 0)
		return vv_fail(v, VV_ERR_DENIED, "unseal request %s is %s",
		    q->id, q->req->expires <= vv_now() ? "expired" :
		    strcmp(q->state, "pending") == 0 ? "still pending: it "
		    "needs more approvals" : "already approved");
	return vv_fail(v, VV_ERR_DENIED, "unseal request %s %s", q->id,
	    strcmp(q->state, "fetched") == 0 ? "was already fetched" :
	    strcmp(q->state, "denied") == 0 ? "was denied by a key manager" :
	    strcmp(q->state, "expired") == 0 ? "has expired" : "is closed");
}
