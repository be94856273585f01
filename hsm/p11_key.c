/*
 * p11_key.c - the vault's AES-256 keys inside the token, and sealing with
 * CKM_AES_GCM.  See p11.h for the blob layout.
 *
 * CK_GCM_PARAMS: p11-kit 0.24's pkcs11.h (and SoftHSM2 2.6's copy of it)
 * has the PKCS#11 v2.40 layout with ulIvBits between ulIvLen and pAAD;
 * SoftHSM2 insists on ulParameterLen == sizeof(CK_GCM_PARAMS) and reads
 * only pIv, ulIvLen, pAAD, ulAADLen and ulTagBits.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "vipvault.h"
#include "hsm/p11.h"
#include "hsm/p11_int.h"

#define KEY_BYTES 32u

static int
label_check(struct vv_p11 *p, const char *label, char buf[VV_P11_LABEL_MAX],
    CK_ULONG *len)
{
	size_t n;

	if (label == NULL || (n = strlen(label)) == 0 ||
	    n >= VV_P11_LABEL_MAX)
		return vv_p11_fail(p, VV_ERR_INVALID, "key label must have "
		    "1 to %u bytes", VV_P11_LABEL_MAX - 1);
	memcpy(buf, label, n + 1);
	*len = n;
	return VV_OK;
}

/* The one AES secret key labelled label: VV_ERR_NOT_FOUND if none. */
static int
key_find(struct vv_p11 *p, const char *label, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	char buf[VV_P11_LABEL_MAX];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_LABEL, buf, 0 },
	};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	CK_RV rv, rv2;
	int r;

	if ((r = label_check(p, label, buf, &t[2].ulValueLen)) != VV_OK)
		return r;
	if ((rv = p->mod->C_FindObjectsInit(p->sess, t, 3)) != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "C_FindObjectsInit: %s",
		    vv_p11_rv_name(rv));
	rv = p->mod->C_FindObjects(p->sess, found, 2, &n);
	rv2 = p->mod->C_FindObjectsFinal(p->sess);
	if (rv != CKR_OK || rv2 != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "C_FindObjects: %s",
		    vv_p11_rv_name(rv != CKR_OK ? rv : rv2));
	if (n == 0)
		return vv_p11_fail(p, VV_ERR_NOT_FOUND, "no key labelled '%s'",
		    label);
	if (n > 1)
		return vv_p11_fail(p, VV_ERR_HSM, "several keys labelled '%s'",
		    label);
	*h = found[0];
	return VV_OK;
}

int
vv_p11_key_generate(vv_p11 *p, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	CK_ULONG len = KEY_BYTES;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	char buf[VV_P11_LABEL_MAX];
	/* Usable only to encrypt and decrypt, never readable or wrappable. */
	CK_ATTRIBUTE t[] = {
		{ CKA_LABEL, buf, 0 },
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_SIGN, &no, sizeof(no) },
		{ CKA_VERIFY, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
	};
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_HANDLE h;
	CK_RV rv;
	int r;

	if ((r = label_check(p, label, buf, &t[0].ulValueLen)) != VV_OK)
		return r;
	if ((r = key_find(p, label, &h)) == VV_OK)
		return vv_p11_fail(p, VV_ERR_EXISTS, "a key labelled '%s' "
		    "already exists", label);
	if (r != VV_ERR_NOT_FOUND)
		return r;
	if ((rv = p->mod->C_GenerateKey(p->sess, &mech, t,
	    sizeof(t) / sizeof(t[0]), &h)) != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "C_GenerateKey '%s': %s",
		    label, vv_p11_rv_name(rv));
	return VV_OK;
}

int
vv_p11_key_exists(vv_p11 *p, const char *label)
{
	CK_OBJECT_HANDLE h;

	return key_find(p, label, &h);
}

int
vv_p11_key_destroy(vv_p11 *p, const char *label)
{
	CK_OBJECT_HANDLE h;
	CK_RV rv;
	int r;

	if ((r = key_find(p, label, &h)) != VV_OK)
		return r;
	if ((rv = p->mod->C_DestroyObject(p->sess, h)) != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "C_DestroyObject '%s': %s",
		    label, vv_p11_rv_name(rv));
	return VV_OK;
}

static void
gcm_params(CK_GCM_PARAMS *gp, CK_MECHANISM *mech, const uint8_t *iv,
    const uint8_t *aad, size_t aadlen)
{
	static uint8_t none;

	memset(gp, 0, sizeof(*gp));
	/* PKCS#11 takes non-const pointers; the token only reads these. */
	gp->pIv = (CK_BYTE *)(uintptr_t)iv;
	gp->ulIvLen = VV_P11_IV_LEN;
	gp->ulIvBits = VV_P11_IV_LEN * 8;
	gp->pAAD = (CK_BYTE *)(uintptr_t)(aadlen > 0 ? aad : &none);
	gp->ulAADLen = aadlen;
	gp->ulTagBits = VV_P11_TAG_LEN * 8;
	mech->mechanism = CKM_AES_GCM;
	mech->pParameter = gp;
	mech->ulParameterLen = sizeof(*gp);
}

int
vv_p11_seal(vv_p11 *p, const char *label, const uint8_t *aad,
    size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *out,
    size_t *outlen)
{
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech;
	CK_OBJECT_HANDLE h;
	CK_ULONG n;
	CK_RV rv;
	int r;

	*outlen = 0;
	if ((aad == NULL && aadlen > 0) || (pt == NULL && ptlen > 0) ||
	    out == NULL || ptlen > ULONG_MAX - VV_P11_OVERHEAD)
		return vv_p11_fail(p, VV_ERR_INVALID, "seal: bad arguments");
	if ((r = key_find(p, label, &h)) != VV_OK)
		return r;
	randombytes_buf(out, VV_P11_IV_LEN);
	gcm_params(&gp, &mech, out, aad, aadlen);
	if ((rv = p->mod->C_EncryptInit(p->sess, &mech, h)) != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "C_EncryptInit '%s': %s",
		    label, vv_p11_rv_name(rv));
	n = ptlen + VV_P11_TAG_LEN;
	rv = p->mod->C_Encrypt(p->sess, (CK_BYTE *)(uintptr_t)pt, ptlen,
	    out + VV_P11_IV_LEN, &n);
	if (rv != CKR_OK || n != ptlen + VV_P11_TAG_LEN) {
		sodium_memzero(out, ptlen + VV_P11_OVERHEAD);
		return vv_p11_fail(p, VV_ERR_HSM, "C_Encrypt '%s': %s", label,
		    rv != CKR_OK ? vv_p11_rv_name(rv) : "unexpected length");
	}
	*outlen = ptlen + VV_P11_OVERHEAD;
	return VV_OK;
}

/*
 * How C_Decrypt reports a tag that does not verify: the standard says
 * CKR_ENCRYPTED_DATA_INVALID; SoftHSM2 2.6 says CKR_GENERAL_ERROR.
 */
static int
tag_failure(CK_RV rv)
{
	return rv == CKR_ENCRYPTED_DATA_INVALID ||
	    rv == CKR_ENCRYPTED_DATA_LEN_RANGE || rv == CKR_GENERAL_ERROR;
}

/*
 * SoftHSM2 wants room for ciphertext and tag in the output of C_Decrypt,
 * so the plaintext goes through guarded memory before reaching pt.
 */
static int
decrypt(struct vv_p11 *p, const char *label, const uint8_t *blob,
    size_t bloblen, uint8_t *pt)
{
	size_t ctlen = bloblen - VV_P11_OVERHEAD;
	size_t buflen = bloblen - VV_P11_IV_LEN;
	uint8_t *buf;
	CK_ULONG n = buflen;
	CK_RV rv;
	int r = VV_OK;

	if ((buf = sodium_malloc(buflen)) == NULL)
		return vv_p11_fail(p, VV_ERR_NOMEM, "unseal: out of memory");
	rv = p->mod->C_Decrypt(p->sess, (CK_BYTE *)(uintptr_t)(blob +
	    VV_P11_IV_LEN), buflen, buf, &n);
	if (rv != CKR_OK && tag_failure(rv))
		r = vv_p11_fail(p, VV_ERR_INTEGRITY, "unseal '%s': the blob "
		    "does not authenticate", label);
	else if (rv != CKR_OK)
		r = vv_p11_fail(p, VV_ERR_HSM, "C_Decrypt '%s': %s", label,
		    vv_p11_rv_name(rv));
	else if (n != ctlen)
		r = vv_p11_fail(p, VV_ERR_HSM, "C_Decrypt '%s': unexpected "
		    "length", label);
	else if (ctlen > 0)
		memcpy(pt, buf, ctlen);
	sodium_memzero(buf, buflen);
	sodium_free(buf);
	return r;
}

int
vv_p11_unseal(vv_p11 *p, const char *label, const uint8_t *aad,
    size_t aadlen, const uint8_t *blob, size_t bloblen, uint8_t *pt,
    size_t *ptlen)
{
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech;
	CK_OBJECT_HANDLE h;
	CK_RV rv;
	int r;

	*ptlen = 0;
	if ((aad == NULL && aadlen > 0) || blob == NULL ||
	    bloblen > ULONG_MAX ||
	    (pt == NULL && bloblen > VV_P11_OVERHEAD))
		return vv_p11_fail(p, VV_ERR_INVALID, "unseal: bad arguments");
	if (bloblen < VV_P11_OVERHEAD)
		return vv_p11_fail(p, VV_ERR_INTEGRITY, "unseal '%s': blob "
		    "too short", label != NULL ? label : "");
	if ((r = key_find(p, label, &h)) != VV_OK)
		goto fail;
	gcm_params(&gp, &mech, blob, aad, aadlen);
	if ((rv = p->mod->C_DecryptInit(p->sess, &mech, h)) != CKR_OK) {
		r = vv_p11_fail(p, VV_ERR_HSM, "C_DecryptInit '%s': %s", label,
		    vv_p11_rv_name(rv));
		goto fail;
	}
	if ((r = decrypt(p, label, blob, bloblen, pt)) != VV_OK)
		goto fail;
	*ptlen = bloblen - VV_P11_OVERHEAD;
	return VV_OK;
fail:
	if (pt != NULL)
		sodium_memzero(pt, bloblen - VV_P11_OVERHEAD);
	return r;
}
