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


int
vv_dual_dev(vv_vault *v)
{
	return v->hsm_uri != NULL && strcmp(v->hsm_uri, "dev") == 0;
}

int
vv_meta_uint(vv_vault *v, const char *key, unsigned max, unsigned *out)
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
	r = vv_meta_uint(v, "dual_threshold", VV_SHAMIR_MAX_SHARES, k);
	if (r == VV_OK)
		r = vv_meta_uint(v, "dual_epoch", 0xffffffffu, &e);
	*epoch = e;
	return r;
}

int
vv_dual_max_records(vv_vault *v, unsigned *max)
{
	return vv_meta_uint(v, "dual_max_records", VV_REQ_RECORDS_MAX, max);
}

static int
dual_uv(vv_vault *v, int *uv)
{
	unsigned x = 0;
	int r;

	r = vv_meta_uint(v, "dual_require_uv", 1, &x);
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

int
vv_manager_from_row(vv_vault *v, sqlite3_stmt *st, struct vv_manager *m)
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

	if ((r = vv_prepare(v, "SELECT " VV_MANAGER_COLUMNS " FROM managers "
	    "WHERE name = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = vv_manager_from_row(v, st, m);
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

int
vv_manager_insert(vv_vault *v, struct vv_manager *m)
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

int
vv_manager_enroll_token(vv_vault *v, const char *name,
    const vv_fido_opts *o, int require_uv, struct vv_manager *m)
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
	if ((r = vv_manager_enroll_token(v, name, o, cfg.require_uv, &m)) != VV_OK)
		return r;
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_manager_insert(v, &m)) != VV_OK ||
	    (r = vv_clog_manager(v, &m)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	return VV_OK;
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

	if ((r = vv_prepare(v, "SELECT " VV_MANAGER_COLUMNS ", created, "
	    "(SELECT max(epoch) FROM shares s WHERE s.manager_id = "
	    "managers.id) FROM managers ORDER BY name", &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = vv_manager_from_row(v, st, &m)) != VV_OK)
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
