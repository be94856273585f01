/*
 * manager.c - key managers: their FIDO2 credentials, enrolment, and the
 * dual-control settings.
 *
 * Enrolment is two touches: one makes the credential, the second (an
 * assertion with hmac-secret over a challenge naming the vault, the
 * manager and the credential) proves the credential works and yields the
 * seed of the manager's share key pair (share_seal.c).  Only the public
 * half is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"
#include "vault/clog.h"
#include "hsm/softfido.h"

#define ENROLL_PURPOSE "vipvault/enroll/v1"
#define MANAGER_COLUMNS "id, name, cred_id, alg, pubkey, aaguid, " \
	"sign_count, uv, hmac_salt, share_pk"

int
vv_dual_dev(vv_vault *v)
{
	return v->hsm_uri != NULL && strcmp(v->hsm_uri, "dev") == 0;
}

static int
meta_uint(vv_vault *v, const char *key, unsigned max, unsigned *out)
{
	unsigned long x;
	char *s = NULL, *end;
	int r;

	if ((r = vv_meta_get(v, key, &s)) != VV_OK)
		return r;
	x = strtoul(s, &end, 10);
	r = (*s == '\0' || *end != '\0' || x > max) ? vv_fail(v,
	    VV_ERR_INTEGRITY, "bad %s in the vault settings", key) : VV_OK;
	*out = (unsigned)x;
	free(s);
	return r;
}

static int
dual_is_set_up(vv_vault *v, int *yes)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT count(*) FROM meta WHERE key = "
	    "'dual_threshold'", &st)) != VV_OK)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		r = vv_fail_db(v, rc, "reading vault metadata");
	else
		*yes = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return r;
}

int
vv_dual_threshold(vv_vault *v, unsigned *k, uint32_t *epoch)
{
	unsigned e = 0;
	int r, yes = 0;

	if ((r = dual_is_set_up(v, &yes)) != VV_OK)
		return r;
	if (!yes)
		return vv_fail(v, VV_ERR_NOT_FOUND, "this vault has no key "
		    "managers: VIP contacts cannot be unsealed");
	r = meta_uint(v, "dual_threshold", VV_SHAMIR_MAX_SHARES, k);
	if (r == VV_OK)
		r = meta_uint(v, "dual_epoch", 0xffffffffu, &e);
	*epoch = e;
	return r;
}

int
vv_dual_max_records(vv_vault *v, unsigned *max)
{
	return meta_uint(v, "dual_max_records", VV_REQ_RECORDS_MAX, max);
}

static int
dual_uv(vv_vault *v, int *uv)
{
	unsigned x = 0;
	int r;

	r = meta_uint(v, "dual_require_uv", 1, &x);
	*uv = (int)x;
	return r;
}

int
vv_dual_get(vv_vault *v, vv_dual_config *cfg, uint32_t *epoch)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if ((r = vv_dual_threshold(v, &cfg->threshold, epoch)) == VV_OK &&
	    (r = vv_dual_max_records(v, &cfg->max_records)) == VV_OK)
		r = dual_uv(v, &cfg->require_uv);
	return r;
}

/* ------------------------------------------------------------- rows */

static int
blob_into(sqlite3_stmt *st, int col, uint8_t *dst, size_t max,
    size_t *len)
{
	int n = sqlite3_column_bytes(st, col);

	if (n <= 0 || (size_t)n > max)
		return -1;
	memcpy(dst, sqlite3_column_blob(st, col), (size_t)n);
	if (len != NULL)
		*len = (size_t)n;
	else if ((size_t)n != max)
		return -1;
	return 0;
}

static int
from_row(vv_vault *v, sqlite3_stmt *st, struct vv_manager *m)
{
	const char *name = (const char *)sqlite3_column_text(st, 1);

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	m->cred.alg = sqlite3_column_int(st, 3);
	m->cred.sign_count = (uint32_t)sqlite3_column_int64(st, 6);
	m->cred.uv = sqlite3_column_int(st, 7) != 0;
	if (name == NULL || strlen(name) >= sizeof(m->name) ||
	    blob_into(st, 2, m->cred.id, sizeof(m->cred.id),
	    &m->cred.id_len) != 0 ||
	    blob_into(st, 4, m->cred.pk, sizeof(m->cred.pk),
	    &m->cred.pk_len) != 0 ||
	    blob_into(st, 5, m->cred.aaguid, 16, NULL) != 0 ||
	    blob_into(st, 8, m->salt, sizeof(m->salt), NULL) != 0 ||
	    blob_into(st, 9, m->share_pk, sizeof(m->share_pk), NULL) != 0 ||
	    vv_fido_alg_name(m->cred.alg) == NULL ||
	    m->cred.pk_len != (m->cred.alg == VV_FIDO_ES256 ? 64u : 32u))
		return vv_fail(v, VV_ERR_INTEGRITY, "a key manager's "
		    "credential record is corrupt");
	(void)snprintf(m->name, sizeof(m->name), "%s", name);
	m->active = 1;
	return VV_OK;
}

int
vv_manager_load(vv_vault *v, const char *name, struct vv_manager *m)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT " MANAGER_COLUMNS " FROM managers "
	    "WHERE name = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = from_row(v, st, m);
	else if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no key manager named %s",
		    name);
	else
		r = vv_fail_db(v, rc, "reading a key manager");
	sqlite3_finalize(st);
	return r;
}

int
vv_manager_bump_count(vv_vault *v, const struct vv_manager *m,
    uint32_t count)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* A token without a counter always says 0; one with a counter
	 * must go up, or two tokens answer for one credential. */
	if (!(count == 0 && m->cred.sign_count == 0) &&
	    count <= m->cred.sign_count)
		return vv_fail(v, VV_ERR_INTEGRITY, "the token of key manager "
		    "%s reports signature counter %u, not above %u: it may "
		    "be a clone", m->name, count, m->cred.sign_count);
	if ((r = vv_prepare(v, "UPDATE managers SET sign_count = ? WHERE "
	    "id = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int64(st, 1, count);
	(void)sqlite3_bind_int64(st, 2, m->id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "updating a signature counter");
	sqlite3_finalize(st);
	return r;
}

static int
insert_manager(vv_vault *v, struct vv_manager *m)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT INTO managers(name, cred_id, alg, "
	    "pubkey, aaguid, sign_count, uv, hmac_salt, share_pk, created) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
	(void)sqlite3_bind_blob(st, 2, m->cred.id, (int)m->cred.id_len,
	    SQLITE_STATIC);
	(void)sqlite3_bind_int(st, 3, m->cred.alg);
	(void)sqlite3_bind_blob(st, 4, m->cred.pk, (int)m->cred.pk_len,
	    SQLITE_STATIC);
	(void)sqlite3_bind_blob(st, 5, m->cred.aaguid, 16, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 6, m->cred.sign_count);
	(void)sqlite3_bind_int(st, 7, m->cred.uv);
	(void)sqlite3_bind_blob(st, 8, m->salt, sizeof(m->salt),
	    SQLITE_STATIC);
	(void)sqlite3_bind_blob(st, 9, m->share_pk, sizeof(m->share_pk),
	    SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 10, vv_now());
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT)
		r = vv_fail(v, VV_ERR_EXISTS, "key manager %s, or his "
		    "credential, is already enrolled", m->name);
	else if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing a key manager");
	else
		m->id = sqlite3_last_insert_rowid(v->db);
	sqlite3_finalize(st);
	return r;
}

/* ------------------------------------------------------- enrolment */

void
vv_fido_dev_from(vv_vault *v, const vv_fido_opts *o, const char *who,
    int require_uv, struct vv_fido_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->path = o != NULL ? o->device : NULL;
	d->pin_fn = o != NULL ? o->pin_fn : NULL;
	d->pin_arg = o != NULL ? o->pin_arg : NULL;
	d->ready_fn = o != NULL ? o->ready_fn : NULL;
	d->ready_arg = o != NULL ? o->ready_arg : NULL;
	d->who = who;
	d->require_uv = require_uv;
	d->allow_soft = vv_dual_dev(v);
}

static void
enroll_challenge(const vv_vault *v, const struct vv_manager *m,
    uint8_t cdh[32])
{
	crypto_hash_sha256_state h;

	(void)crypto_hash_sha256_init(&h);
	(void)crypto_hash_sha256_update(&h, (const uint8_t *)ENROLL_PURPOSE,
	    sizeof(ENROLL_PURPOSE));
	(void)crypto_hash_sha256_update(&h, v->id, VV_ID_LEN);
	(void)crypto_hash_sha256_update(&h, (const uint8_t *)m->name,
	    strlen(m->name) + 1);
	(void)crypto_hash_sha256_update(&h, m->cred.id, m->cred.id_len);
	(void)crypto_hash_sha256_final(&h, cdh);
}

/* Second touch: the credential signs, and its hmac-secret output seeds
 * the manager's share key pair. */
static int
derive_share_key(vv_vault *v, const struct vv_fido_dev *d, const char *rp,
    struct vv_manager *m)
{
	struct vv_fido_assertion a;
	uint8_t cdh[32], *sk = NULL;
	char msg[256];
	uint32_t count = 0;
	int r;

	randombytes_buf(m->salt, sizeof(m->salt));
	enroll_challenge(v, m, cdh);
	r = vv_fido_assert(d, rp, &m->cred, cdh, m->salt, &a, msg,
	    sizeof(msg));
	if (r != VV_OK)
		return vv_fail(v, r, "manager %s: %s", m->name, msg);
	if (vv_fido_verify(rp, &m->cred, cdh, 1, a.authdata, a.authdata_len,
	    a.sig, a.sig_len, &count) != VV_OK) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "manager %s: the token's "
		    "assertion does not verify with its new credential",
		    m->name);
		goto out;
	}
	m->cred.sign_count = count;
	if ((sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
		goto out;
	}
	r = vv_share_keypair(v, m->name, a.hmac, m->share_pk, sk);
out:
	if (sk != NULL)
		sodium_free(sk);
	vv_fido_assertion_clear(&a);
	return r;
}

static int
enroll_token(vv_vault *v, const char *name, const vv_fido_opts *o,
    int require_uv, struct vv_manager *m)
{
	struct vv_fido_dev d;
	char rp[VV_RP_ID_MAX], who[VV_NAME_MAX + 16], msg[256];
	int r, alg = o != NULL && o->alg != 0 ? o->alg : VV_FIDO_ES256;

	memset(m, 0, sizeof(*m));
	if (!vv_valid_name(name))
		return vv_fail(v, VV_ERR_INVALID, "bad key manager name: use "
		    "letters, digits, . _ - @ (at most %u)", VV_NAME_MAX - 1);
	(void)snprintf(m->name, sizeof(m->name), "%s", name);
	(void)snprintf(who, sizeof(who), "manager %s", name);
	vv_fido_dev_from(v, o, who, require_uv, &d);
	vv_rp_id(v, rp);
	r = vv_fido_enroll(&d, rp, name, alg, &m->cred, msg, sizeof(msg));
	if (r != VV_OK)
		return vv_fail(v, r, "manager %s: %s", name, msg);
	if (!vv_dual_dev(v) && memcmp(m->cred.aaguid, vv_softfido_aaguid,
	    16) == 0)
		return vv_fail(v, VV_ERR_DENIED, "manager %s: the software "
		    "FIDO2 authenticator is refused outside development "
		    "vaults", name);
	return derive_share_key(v, &d, rp, m);
}

int
vv_manager_enroll(vv_vault *v, const char *name, const vv_fido_opts *o)
{
	struct vv_manager m;
	vv_dual_config cfg;
	uint32_t epoch;
	int r;

	if ((r = vv_dual_get(v, &cfg, &epoch)) != VV_OK)
		return r;
	if ((r = enroll_token(v, name, o, cfg.require_uv, &m)) != VV_OK)
		return r;
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = insert_manager(v, &m)) != VV_OK ||
	    (r = vv_clog_manager(v, &m)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	return VV_OK;
}

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
		if ((r = insert_manager(v, &m[i])) == VV_OK &&
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
		if ((r = enroll_token(v, names[i], opts != NULL ? &opts[i] :
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

/* ------------------------------------------------------------- list */

int
vv_manager_foreach(vv_vault *v, vv_manager_fn *fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	struct vv_manager m;
	vv_manager_info mi;
	char aaguid[33];
	int r, rc;

	if ((r = vv_prepare(v, "SELECT " MANAGER_COLUMNS ", created, "
	    "(SELECT max(epoch) FROM shares s WHERE s.manager_id = "
	    "managers.id) FROM managers ORDER BY name", &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = from_row(v, st, &m)) != VV_OK)
			break;
		vv_hex(aaguid, m.cred.aaguid, 16);
		memset(&mi, 0, sizeof(mi));
		mi.name = m.name;
		mi.alg = vv_fido_alg_name(m.cred.alg);
		mi.aaguid = aaguid;
		mi.sign_count = m.cred.sign_count;
		mi.share_epoch = (uint32_t)sqlite3_column_int64(st, 11);
		mi.uv = m.cred.uv;
		mi.soft = memcmp(m.cred.aaguid, vv_softfido_aaguid, 16) == 0;
		mi.created = sqlite3_column_int64(st, 10);
		if (fn(arg, &mi) != 0)
			break;
	}
	if (r == VV_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "listing key managers");
	sqlite3_finalize(st);
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
	if ((r = vv_prepare(v, "SELECT " MANAGER_COLUMNS " FROM managers "
	    "ORDER BY id", &st)) != VV_OK)
		return r;
	while (r == VV_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == VV_SHAMIR_MAX_SHARES ||
		    (p = realloc(m, (*n + 1) * sizeof(*m))) == NULL) {
			r = vv_fail(v, VV_ERR_NOMEM, "too many managers");
			break;
		}
		m = p;
		r = from_row(v, st, &m[(*n)++]);
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
