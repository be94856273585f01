/*
 * keyring.c - the vault's root secret and the keys derived from it.
 *
 * vault.key = "VVKEY\0\0\1" || AES-GCM blob made by the HSM master key,
 * with the vault id in the associated data, so a key file copied from
 * another vault, or sealed by another token, fails to open.  The root
 * secret itself never leaves guarded memory; only its derived keys (the
 * SQLCipher key and the blind-index key) are used, each for one thing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"

static const uint8_t magic[8] = { 'V', 'V', 'K', 'E', 'Y', 0, 0, 1 };
#define KEYFILE_LEN (sizeof(magic) + VV_KEY_LEN + VV_P11_OVERHEAD)
#define ROOT_AAD "vipvault/root/v1"

void
vv_label_master(const vv_vault *v, char out[VV_P11_LABEL_MAX])
{
	(void)snprintf(out, VV_P11_LABEL_MAX, "vv:%.16s:master", v->id_hex);
}

int
vv_label_role(const vv_vault *v, const char *role,
    char out[VV_P11_LABEL_MAX])
{
	int n = snprintf(out, VV_P11_LABEL_MAX, "vv:%.16s:role:%s",
	    v->id_hex, role);

	return n < 0 || (size_t)n >= VV_P11_LABEL_MAX ? VV_ERR_INVALID : VV_OK;
}

static void
root_aad(const vv_vault *v, uint8_t aad[sizeof(ROOT_AAD) - 1 + VV_ID_LEN])
{
	memcpy(aad, ROOT_AAD, sizeof(ROOT_AAD) - 1);
	memcpy(aad + sizeof(ROOT_AAD) - 1, v->id, VV_ID_LEN);
}

/* Keys the two blind-index states and absorbs their kind prefix. */
static int
index_states(vv_vault *v, const uint8_t *key)
{
	static const char *const kinds[2] = { "phone", "email" };
	crypto_generichash_state *st;
	int i;

	if (v->index_state == NULL && (v->index_state =
	    sodium_allocarray(2, sizeof(*v->index_state))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	for (i = 0; i < 2; i++) {
		st = &v->index_state[i];
		if (crypto_generichash_init(st, key, VV_KEY_LEN,
		    VV_IDX_LEN) != 0 || crypto_generichash_update(st,
		    (const uint8_t *)kinds[i], strlen(kinds[i]) + 1) != 0)
			return vv_fail(v, VV_ERR_INTERNAL, "blind index setup");
	}
	return VV_OK;
}

/* The compliance log's keys: the record pseudonym key, the Ed25519 key
 * that signs tree heads and the key mirrored entries are encrypted
 * under, all under the HSM through the root. */
static int
log_keys(vv_vault *v, const uint8_t *root)
{
	uint8_t *seed;
	int r = VV_OK;

	if (v->log_keys == NULL && (v->log_keys =
	    sodium_malloc(VV_LOG_KEYS_LEN)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	if ((seed = sodium_malloc(crypto_sign_SEEDBYTES)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	if (crypto_kdf_derive_from_key(v->log_keys, VV_KEY_LEN, 3,
	    "vvpseud_", root) != 0 || crypto_kdf_derive_from_key(seed,
	    crypto_sign_SEEDBYTES, 4, "vvlogsig", root) != 0 ||
	    crypto_sign_seed_keypair(v->log_sign_pk, v->log_keys + VV_KEY_LEN,
	    seed) != 0 || crypto_kdf_derive_from_key(v->log_keys +
	    VV_LOG_MIRROR_KEY, VV_KEY_LEN, 5, "vvmirror", root) != 0)
		r = vv_fail(v, VV_ERR_INTERNAL, "key derivation failed");
	sodium_free(seed);
	return r;
}

static int
derive(vv_vault *v, const uint8_t *root, uint8_t *dbkey)
{
	uint8_t *ikey;
	int r;

	if ((ikey = sodium_malloc(VV_KEY_LEN)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	if (crypto_kdf_derive_from_key(dbkey, VV_KEY_LEN, 1, "vvstore_",
	    root) != 0 || crypto_kdf_derive_from_key(ikey, VV_KEY_LEN, 2,
	    "vvblind_", root) != 0)
		r = vv_fail(v, VV_ERR_INTERNAL, "key derivation failed");
	else if ((r = index_states(v, ikey)) == VV_OK)
		r = log_keys(v, root);
	sodium_free(ikey);
	return r;
}

int
vv_keyring_create(vv_vault *v, const char *path, uint8_t *dbkey)
{
	uint8_t aad[sizeof(ROOT_AAD) - 1 + VV_ID_LEN];
	uint8_t file[KEYFILE_LEN];
	char label[VV_P11_LABEL_MAX];
	uint8_t *root;
	size_t bloblen = 0;
	int r;

	if ((root = sodium_malloc(VV_KEY_LEN)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	crypto_kdf_keygen(root);
	vv_label_master(v, label);
	root_aad(v, aad);
	memcpy(file, magic, sizeof(magic));
	r = vv_p11_seal(v->p11, label, aad, sizeof(aad), root, VV_KEY_LEN,
	    file + sizeof(magic), &bloblen);
	if (r != VV_OK) {
		r = vv_fail(v, r, "sealing the root secret: %s",
		    vv_p11_errmsg(v->p11));
		goto out;
	}
	if ((r = vv_write_file(path, file, sizeof(file), 1)) != VV_OK) {
		r = vv_fail(v, r, "writing vault.key: %s", vv_strerror(r));
		goto out;
	}
	r = derive(v, root, dbkey);
out:
	sodium_free(root);
	return r;
}

int
vv_keyring_open(vv_vault *v, const char *path, uint8_t *dbkey)
{
	uint8_t aad[sizeof(ROOT_AAD) - 1 + VV_ID_LEN];
	char label[VV_P11_LABEL_MAX];
	uint8_t *file = NULL, *root = NULL;
	size_t len = 0, rootlen = 0;
	int r;

	r = vv_read_file(path, 4096, &file, &len);
	if (r == VV_ERR_NOT_FOUND)
		return vv_fail(v, VV_ERR_INTEGRITY, "vault.key is missing");
	if (r != VV_OK)
		return vv_fail(v, r, "reading vault.key: %s", vv_strerror(r));
	if (len != KEYFILE_LEN || memcmp(file, magic, sizeof(magic)) != 0) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "vault.key is corrupt (bad "
		    "length or header)");
		goto out;
	}
	if ((root = sodium_malloc(VV_KEY_LEN)) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
		goto out;
	}
	vv_label_master(v, label);
	root_aad(v, aad);
	r = vv_p11_unseal(v->p11, label, aad, sizeof(aad),
	    file + sizeof(magic), len - sizeof(magic), root, &rootlen);
	if (r == VV_ERR_INTEGRITY)
		r = vv_fail(v, r, "vault.key does not authenticate: it is "
		    "corrupt, or belongs to another vault or HSM key");
	else if (r == VV_ERR_NOT_FOUND)
		r = vv_fail(v, VV_ERR_HSM, "the HSM token has no master key "
		    "for this vault");
	else if (r != VV_OK)
		r = vv_fail(v, r, "opening vault.key: %s",
		    vv_p11_errmsg(v->p11));
	else if (rootlen != VV_KEY_LEN)
		r = vv_fail(v, VV_ERR_INTEGRITY, "vault.key is corrupt");
	else
		r = derive(v, root, dbkey);
out:
	if (root != NULL)
		sodium_free(root);
	free(file);
	return r;
}
