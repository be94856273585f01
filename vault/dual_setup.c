/*
 * dual_setup.c - making the VIP contact key and splitting it among the
 * key managers (at init), and splitting it again among every manager
 * (a completed re-split request).  The key exists whole only inside
 * these functions, in guarded memory, and is wiped before they return.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"
#include "vault/clog.h"

/* ------------------------------------------------------------ setup */

static int
check_config(vv_vault *v, const char *const *names, size_t n,
    const vv_dual_config *in, vv_dual_config *c)
{
	size_t i, j;

	memset(c, 0, sizeof(*c));
	if (in != NULL)
		*c = *in;
	if (c->threshold == 0)
		c->threshold = 2;
	if (c->max_records == 0)
		c->max_records = VV_REQ_DEFAULT_MAX_RECORDS;
	if (n < 2 || n > VV_SHAMIR_MAX_SHARES)
		return vv_fail(v, VV_ERR_INVALID, "dual control needs 2 to %u "
		    "key managers", VV_SHAMIR_MAX_SHARES);
	if (c->threshold < 2 || c->threshold > n)
		return vv_fail(v, VV_ERR_INVALID, "the threshold must be at "
		    "least 2 and at most the number of managers (%zu)", n);
	for (i = 0; names != NULL && i < n; i++)
		for (j = 0; j < i; j++)
			if (names[i] != NULL && names[j] != NULL &&
			    strcmp(names[i], names[j]) == 0)
				return vv_fail(v, VV_ERR_EXISTS, "key manager "
				    "%s is named twice", names[i]);
	if (c->max_records > VV_REQ_RECORDS_MAX)
		return vv_fail(v, VV_ERR_INVALID, "at most %u records per "
		    "request", VV_REQ_RECORDS_MAX);
	return VV_OK;
}

/* Dual control is set up once, on a vault whose VIP contact key has
 * sealed nothing yet: the key made here replaces it. */
static int
check_fresh(vv_vault *v)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT (SELECT count(*) FROM managers) + "
	    "(SELECT count(*) FROM data_keys WHERE domain = ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int(st, 1, VV_DOM_VIP_CONTACT);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		r = vv_fail_db(v, rc, "checking the vault");
	else if (sqlite3_column_int64(st, 0) != 0)
		r = vv_fail(v, VV_ERR_EXISTS, "dual control is set up once, "
		    "before any VIP contact is stored");
	sqlite3_finalize(st);
	return r;
}

static int
store_share(vv_vault *v, const struct vv_manager *m,
    const struct vv_share *s)
{
	uint8_t blob[VV_SHARE_SEALED_LEN];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_share_seal(v, m->name, m->share_pk, s, blob)) != VV_OK)
		return vv_fail(v, r, "sealing a share");
	if ((r = vv_prepare(v, "INSERT INTO shares(manager_id, epoch, "
	    "share_index, sealed) VALUES (?, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, m->id);
	(void)sqlite3_bind_int64(st, 2, s->epoch);
	(void)sqlite3_bind_int(st, 3, s->index);
	(void)sqlite3_bind_blob(st, 4, blob, sizeof(blob), SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing a share");
	sqlite3_finalize(st);
	return r;
}

static int
store_settings(vv_vault *v, const vv_dual_config *c, const uint8_t *pk)
{
	sqlite3_stmt *st = NULL;
	char buf[16];
	int r, rc;

	(void)snprintf(buf, sizeof(buf), "%u", c->threshold);
	if ((r = vv_meta_set(v, "dual_threshold", buf)) != VV_OK ||
	    (r = vv_meta_set(v, "dual_epoch", "1")) != VV_OK)
		return r;
	(void)snprintf(buf, sizeof(buf), "%u", c->max_records);
	if ((r = vv_meta_set(v, "dual_max_records", buf)) != VV_OK ||
	    (r = vv_meta_set(v, "dual_require_uv", c->require_uv ? "1" :
	    "0")) != VV_OK)
		return r;
	if ((r = vv_prepare(v, "UPDATE domain_keys SET pk = ? WHERE "
	    "domain = ? AND version = 1", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_blob(st, 1, pk, crypto_box_PUBLICKEYBYTES,
	    SQLITE_STATIC);
	(void)sqlite3_bind_int(st, 2, VV_DOM_VIP_CONTACT);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE ||
	    sqlite3_changes(v->db) != 1)
		r = vv_fail_db(v, rc, "storing the VIP contact key");
	sqlite3_finalize(st);
	return r;
}

/* Makes the VIP contact key, splits it, seals each share to its manager
 * and wipes the key and shares: all inside the caller's transaction. */
static int
split_and_store(vv_vault *v, struct vv_manager *m, size_t n,
    const vv_dual_config *c, uint8_t pk[32])
{
	struct vv_share *shares = sodium_malloc(n * sizeof(*shares));
	uint8_t *sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	size_t i;
	int r;

	if (shares == NULL || sk == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
		goto out;
	}
	if (crypto_box_keypair(pk, sk) != 0) {
		r = vv_fail(v, VV_ERR_INTERNAL, "making the VIP key");
		goto out;
	}
	/* Clamped as X25519 uses it, so that recombination can demand
	 * every bit (vv_shamir_check_x25519); no result changes. */
	sk[0] &= 248;
	sk[31] &= 127;
	sk[31] |= 64;
	if (vv_shamir_split(sk, c->threshold, (unsigned)n, 1, shares) !=
	    VV_OK) {
		r = vv_fail(v, VV_ERR_INTERNAL, "splitting the VIP key");
		goto out;
	}
	for (i = 0, r = VV_OK; i < n && r == VV_OK; i++)
		if ((r = vv_manager_insert(v, &m[i])) == VV_OK &&
		    (r = store_share(v, &m[i], &shares[i])) == VV_OK)
			r = vv_clog_manager(v, &m[i]);
	if (r == VV_OK && (r = store_settings(v, c, pk)) == VV_OK)
		r = vv_clog_dual(v, VV_EV_DUAL_SETUP, c->threshold, n, 1);
out:
	if (shares != NULL) {
		sodium_memzero(shares, n * sizeof(*shares));
		sodium_free(shares);
	}
	if (sk != NULL)
		sodium_free(sk);	/* sodium_free wipes */
	return r;
}

int
vv_dual_setup(vv_vault *v, const char *const *names,
    const vv_fido_opts *opts, size_t n, const vv_dual_config *cfg)
{
	struct vv_manager *m = NULL;
	vv_dual_config c;
	uint8_t pk[crypto_box_PUBLICKEYBYTES];
	size_t i;
	int r;

	if ((r = check_config(v, names, n, cfg, &c)) != VV_OK ||
	    (r = check_fresh(v)) != VV_OK)
		return r;
	if ((m = calloc(n, sizeof(*m))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if ((r = vv_manager_enroll_token(v, names[i], opts != NULL ? &opts[i] :
		    NULL, c.require_uv, &m[i])) != VV_OK)
			goto out;
	if ((r = vv_store_begin(v)) != VV_OK)
		goto out;
	if ((r = check_fresh(v)) != VV_OK ||
	    (r = split_and_store(v, m, n, &c, pk)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		goto out;
	}
	memcpy(v->dom[VV_DOM_VIP_CONTACT].pk, pk, sizeof(pk));
out:
	free(m);
	return r;
}

/* ---------------------------------------------------------- re-split */

/* Pending decisions hold shares of the old epoch, which cannot be
 * combined with new ones: those requests are closed.  Approved ones
 * keep their release, which no longer needs the key. */
static int
close_pending_requests(vv_vault *v)
{
	static const char *const sql[2] = {
		"UPDATE approvals SET pending_share = NULL WHERE request_id IN "
		"(SELECT id FROM unseal_requests WHERE state = 'pending' AND "
		"kind = 1)",
		"UPDATE unseal_requests SET state = 'expired', closed = "
		"strftime('%s', 'now') WHERE state = 'pending' AND kind = 1"
	};
	int r = VV_OK, i;

	for (i = 0; i < 2 && r == VV_OK; i++)
		r = vv_exec(v, sql[i]);
	return r;
}

static int
load_all_managers(vv_vault *v, struct vv_manager **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct vv_manager *m = NULL;
	void *p;
	int r, rc;

	*out = NULL;
	*n = 0;
	if ((r = vv_prepare(v, "SELECT " VV_MANAGER_COLUMNS " FROM managers "
	    "ORDER BY id", &st)) != VV_OK)
		return r;
	while (r == VV_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == VV_SHAMIR_MAX_SHARES ||
		    (p = realloc(m, (*n + 1) * sizeof(*m))) == NULL) {
			r = vv_fail(v, VV_ERR_NOMEM, "too many managers");
			break;
		}
		m = p;
		r = vv_manager_from_row(v, st, &m[(*n)++]);
	}
	if (r == VV_OK && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading key managers");
	sqlite3_finalize(st);
	*out = m;
	return r;
}

int
vv_dual_reshare(vv_vault *v, const uint8_t *sk, unsigned k, uint32_t epoch)
{
	struct vv_share *shares = NULL;
	struct vv_manager *m = NULL;
	char buf[16];
	size_t n = 0, i;
	int r;

	if ((r = load_all_managers(v, &m, &n)) != VV_OK)
		goto out;
	if (n < k || n < 2) {
		r = vv_fail(v, VV_ERR_INVALID, "a re-split needs at least %u "
		    "managers", k);
		goto out;
	}
	if ((shares = sodium_allocarray(n, sizeof(*shares))) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
		goto out;
	}
	if (vv_shamir_split(sk, k, (unsigned)n, epoch + 1, shares) != VV_OK) {
		r = vv_fail(v, VV_ERR_INTERNAL, "splitting the VIP key");
		goto out;
	}
	for (i = 0; i < n && r == VV_OK; i++)
		r = store_share(v, &m[i], &shares[i]);
	(void)snprintf(buf, sizeof(buf), "%u", epoch + 1);
	if (r == VV_OK && (r = vv_exec(v, "DELETE FROM shares WHERE epoch < "
	    "(SELECT max(epoch) FROM shares)")) == VV_OK &&
	    (r = vv_meta_set(v, "dual_epoch", buf)) == VV_OK &&
	    (r = close_pending_requests(v)) == VV_OK)
		r = vv_clog_dual(v, VV_EV_RESHARE_DONE, k, n, epoch + 1);
out:
	if (shares != NULL) {
		sodium_memzero(shares, n * sizeof(*shares));
		sodium_free(shares);
	}
	free(m);
	return r;
}
