/*
 * domain.c - the X25519 key pair of each key domain, and who may hold
 * its private key.
 *
 * A private key is stored only sealed by an HSM key: by the master key
 * (escrow, for the administrator's re-tiering and role grants) and by
 * each role key granted the tier.  The VIP contact domain's private key
 * is wiped at creation and stored nowhere (docs/design.md).  Every
 * unsealed private key is checked against the stored public key, so a
 * swapped grant is an integrity error, not a silent wrong key.
 */
#include <stdio.h>
#include <string.h>

#include "vault/internal.h"

#define ESCROW_AAD "vipvault/escrow/v1"
#define GRANT_AAD "vipvault/grant/v1"
#define AAD_MAX (32 + VV_ID_LEN + 1 + 4 + VV_NAME_MAX)
#define SEALED_SK_LEN (crypto_box_SECRETKEYBYTES + VV_P11_OVERHEAD)

int
vv_tier_domain(int tier)
{
	return tier;
}

int
vv_contact_domain(int tier)
{
	return tier == VV_TIER_VIP ? VV_DOM_VIP_CONTACT : tier;
}

/* aad = purpose || vault id || domain || version [|| role] */
static size_t
key_aad(const vv_vault *v, const char *purpose, int domain,
    uint32_t version, const char *role, uint8_t aad[AAD_MAX])
{
	size_t n = strlen(purpose), rl = role != NULL ? strlen(role) : 0;

	memcpy(aad, purpose, n);
	memcpy(aad + n, v->id, VV_ID_LEN);
	n += VV_ID_LEN;
	aad[n++] = (uint8_t)domain;
	vv_put_be32(aad + n, version);
	n += 4;
	if (rl > 0)
		memcpy(aad + n, role, rl);
	return n + rl;
}

static int
insert_domain(vv_vault *v, int domain, const uint8_t *pk,
    const uint8_t *sealed, size_t sealedlen)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT INTO domain_keys(domain, version, "
	    "pk, sk_escrow, created) VALUES (?, 1, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int(st, 1, domain);
	(void)sqlite3_bind_blob(st, 2, pk, crypto_box_PUBLICKEYBYTES,
	    SQLITE_STATIC);
	if (sealed != NULL)
		(void)sqlite3_bind_blob(st, 3, sealed, (int)sealedlen,
		    SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 4, vv_now());
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing a tier key");
	sqlite3_finalize(st);
	return r;
}

static int
create_domain(vv_vault *v, int domain, uint8_t *sk)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], aad[AAD_MAX];
	uint8_t sealed[SEALED_SK_LEN];
	char label[VV_P11_LABEL_MAX];
	size_t aadlen, sealedlen = 0;
	int r;

	if (crypto_box_keypair(pk, sk) != 0)
		return vv_fail(v, VV_ERR_INTERNAL, "key generation failed");
	if (domain == VV_DOM_VIP_CONTACT)
		/* Until dual control: nobody, not even escrow, holds it. */
		return insert_domain(v, domain, pk, NULL, 0);
	vv_label_master(v, label);
	aadlen = key_aad(v, ESCROW_AAD, domain, 1, NULL, aad);
	r = vv_p11_seal(v->p11, label, aad, aadlen, sk,
	    crypto_box_SECRETKEYBYTES, sealed, &sealedlen);
	if (r != VV_OK)
		return vv_fail(v, r, "escrowing a tier key: %s",
		    vv_p11_errmsg(v->p11));
	return insert_domain(v, domain, pk, sealed, sealedlen);
}

int
vv_domain_create_all(vv_vault *v)
{
	uint8_t *sk;
	int d, r = VV_OK;

	if ((sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	for (d = VV_DOM_BASIC; d < VV_DOM_COUNT && r == VV_OK; d++) {
		r = create_domain(v, d, sk);
		sodium_memzero(sk, crypto_box_SECRETKEYBYTES);
	}
	sodium_free(sk);
	return r;
}

int
vv_domain_load(vv_vault *v)
{
	sqlite3_stmt *st = NULL;
	int r, rc, d;

	memset(v->dom, 0, sizeof(v->dom));
	if ((r = vv_prepare(v, "SELECT domain, max(version), pk FROM "
	    "domain_keys GROUP BY domain", &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		d = sqlite3_column_int(st, 0);
		if (d < VV_DOM_BASIC || d >= VV_DOM_COUNT ||
		    sqlite3_column_bytes(st, 2) != crypto_box_PUBLICKEYBYTES)
			continue;
		v->dom[d].present = 1;
		v->dom[d].version = (uint32_t)sqlite3_column_int64(st, 1);
		memcpy(v->dom[d].pk, sqlite3_column_blob(st, 2),
		    crypto_box_PUBLICKEYBYTES);
	}
	if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "loading tier keys");
	sqlite3_finalize(st);
	for (d = VV_DOM_BASIC; r == VV_OK && d < VV_DOM_COUNT; d++)
		if (!v->dom[d].present)
			r = vv_fail(v, VV_ERR_INTEGRITY, "tier key %d is "
			    "missing from the database", d);
	return r;
}

/* The unsealed key must be the private half of the stored public key. */
static int
check_pair(vv_vault *v, int domain, const uint8_t *sk)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES];
	int ok;

	if (crypto_scalarmult_base(pk, sk) != 0)
		return vv_fail(v, VV_ERR_INTEGRITY, "bad tier key");
	ok = sodium_memcmp(pk, v->dom[domain].pk, sizeof(pk)) == 0;
	return ok ? VV_OK : vv_fail(v, VV_ERR_INTEGRITY, "a stored tier "
	    "key does not match its public key");
}

static int
unseal_sk(vv_vault *v, const char *label, const uint8_t *aad, size_t aadlen,
    const void *blob, int bloblen, int domain, uint8_t *sk)
{
	size_t sklen = 0;
	int r;

	if (blob == NULL || bloblen != (int)SEALED_SK_LEN)
		return vv_fail(v, VV_ERR_INTEGRITY, "a sealed tier key is "
		    "malformed");
	r = vv_p11_unseal(v->p11, label, aad, aadlen, blob, (size_t)bloblen,
	    sk, &sklen);
	if (r == VV_ERR_INTEGRITY)
		return vv_fail(v, r, "a sealed tier key does not "
		    "authenticate");
	if (r != VV_OK)
		return vv_fail(v, r == VV_ERR_NOT_FOUND ? VV_ERR_HSM : r,
		    "unsealing a tier key: %s", vv_p11_errmsg(v->p11));
	if (sklen != crypto_box_SECRETKEYBYTES)
		return vv_fail(v, VV_ERR_INTEGRITY, "bad tier key length");
	return check_pair(v, domain, sk);
}

static int
select_sealed(vv_vault *v, const char *sql, int64_t role_id, int domain,
    const char *label, const uint8_t *aad, size_t aadlen, uint8_t *sk)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, sql, &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_int(st, 1, domain);
	(void)sqlite3_bind_int64(st, 2, v->dom[domain].version);
	if (role_id > 0)
		(void)sqlite3_bind_int64(st, 3, role_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_NULL &&
	    domain == VV_DOM_VIP_CONTACT)
		r = vv_fail(v, VV_ERR_SEALED, "the VIP contact key is held by "
		    "no one: it needs dual control");
	else if (rc == SQLITE_ROW)
		r = unseal_sk(v, label, aad, aadlen, sqlite3_column_blob(st,
		    0), sqlite3_column_bytes(st, 0), domain, sk);
	else if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_DENIED, "no key for this tier");
	else
		r = vv_fail_db(v, rc, "reading a sealed tier key");
	sqlite3_finalize(st);
	if (r != VV_OK)
		sodium_memzero(sk, crypto_box_SECRETKEYBYTES);
	return r;
}

int
vv_domain_sk_for_role(vv_vault *v, int64_t role_id, const char *role,
    int domain, uint8_t *sk)
{
	char label[VV_P11_LABEL_MAX];
	uint8_t aad[AAD_MAX];
	size_t aadlen;
	int r;

	if ((r = vv_label_role(v, role, label)) != VV_OK)
		return vv_fail(v, r, "role name too long");
	aadlen = key_aad(v, GRANT_AAD, domain, v->dom[domain].version, role,
	    aad);
	return select_sealed(v, "SELECT sealed_sk FROM role_grants WHERE "
	    "domain = ? AND version = ? AND role_id = ?", role_id, domain,
	    label, aad, aadlen, sk);
}

int
vv_domain_sk_escrow(vv_vault *v, int domain, uint8_t *sk)
{
	char label[VV_P11_LABEL_MAX];
	uint8_t aad[AAD_MAX];
	size_t aadlen;

	vv_label_master(v, label);
	aadlen = key_aad(v, ESCROW_AAD, domain, v->dom[domain].version, NULL,
	    aad);
	return select_sealed(v, "SELECT sk_escrow FROM domain_keys WHERE "
	    "domain = ? AND version = ?", 0, domain, label, aad, aadlen, sk);
}

int
vv_domain_grant(vv_vault *v, int64_t role_id, const char *role, int domain)
{
	uint8_t aad[AAD_MAX], sealed[SEALED_SK_LEN];
	char label[VV_P11_LABEL_MAX];
	sqlite3_stmt *st = NULL;
	size_t aadlen, sealedlen = 0;
	uint8_t *sk;
	int r, rc;

	if ((sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	if ((r = vv_domain_sk_escrow(v, domain, sk)) != VV_OK)
		goto out;
	if ((r = vv_label_role(v, role, label)) != VV_OK)
		goto out;
	aadlen = key_aad(v, GRANT_AAD, domain, v->dom[domain].version, role,
	    aad);
	if ((r = vv_p11_seal(v->p11, label, aad, aadlen, sk,
	    crypto_box_SECRETKEYBYTES, sealed, &sealedlen)) != VV_OK) {
		r = vv_fail(v, r, "sealing a tier key to the role: %s",
		    vv_p11_errmsg(v->p11));
		goto out;
	}
	if ((r = vv_prepare(v, "INSERT INTO role_grants(role_id, domain, "
	    "version, sealed_sk) VALUES (?, ?, ?, ?)", &st)) != VV_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, role_id);
	(void)sqlite3_bind_int(st, 2, domain);
	(void)sqlite3_bind_int64(st, 3, v->dom[domain].version);
	(void)sqlite3_bind_blob(st, 4, sealed, (int)sealedlen, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing a role grant");
out:
	sqlite3_finalize(st);
	sodium_free(sk);
	return r;
}
