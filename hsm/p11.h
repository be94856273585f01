/*
 * p11.h - the vault's keys inside a PKCS#11 token, reached through p11-kit.
 *
 * The token is named by an RFC 7512 URI.  If the URI carries module-path
 * (or module-name) that module is loaded with p11_kit_module_load;
 * otherwise every module registered with p11-kit is searched for a token
 * matching the URI.  The user PIN comes from the URI's pin-source
 * attribute ("file:/path"; the file is read, a trailing newline dropped,
 * and the buffer wiped).  pin-value is refused: a PIN must not sit in a
 * config file or a process listing.
 *
 * Keys are AES-256 secret keys created with CKA_SENSITIVE=TRUE,
 * CKA_EXTRACTABLE=FALSE, CKA_TOKEN=TRUE, CKA_ENCRYPT/DECRYPT=TRUE, found by
 * CKA_LABEL.  Sealing uses CKM_AES_GCM with a random 96-bit IV and a 128-bit
 * tag, and the caller's associated data, so a blob moved to another purpose
 * fails to open.  Blob layout: iv(12) || ciphertext || tag(16).  Random
 * 96-bit IVs keep the collision risk acceptable up to about 2^32 seals
 * per key (NIST SP 800-38D).
 *
 * Not thread safe: use a handle from one thread at a time.  SoftHSM2
 * reads SOFTHSM2_CONF, a process-wide setting, when it is initialised,
 * so a process can have development tokens of one hsmdir open at a time.
 */
#ifndef VV_P11_H
#define VV_P11_H

#include <stddef.h>
#include <stdint.h>

#define VV_P11_IV_LEN  12u
#define VV_P11_TAG_LEN 16u
#define VV_P11_OVERHEAD (VV_P11_IV_LEN + VV_P11_TAG_LEN)
#define VV_P11_LABEL_MAX 64u

typedef struct vv_p11 vv_p11;

/*
 * Loads the module, finds the token named by uri, opens a read-write
 * session and logs in as CKU_USER.  Returns VV_OK; VV_ERR_INVALID for a
 * URI that does not parse or carries pin-value; VV_ERR_HSM when the module
 * cannot be loaded, no token matches, or login fails (errmsg says which,
 * never the PIN); VV_ERR_IO when the pin-source file cannot be read.
 */
int vv_p11_open(vv_p11 **out, const char *uri, char *errmsg, size_t errlen);

/*
 * Closes the session (the token logs out when no other session of this
 * process remains on it) and finalises the module; *p becomes NULL.
 */
void vv_p11_free(vv_p11 **p);

/* Description of the last failure on p (CKR_ name included); never NULL. */
const char *vv_p11_errmsg(const vv_p11 *p);

/* Generates a token AES-256 key with this label.  VV_ERR_EXISTS if a key
 * with the label is already there. */
int vv_p11_key_generate(vv_p11 *p, const char *label);

/* VV_OK if a key with the label exists, VV_ERR_NOT_FOUND if not. */
int vv_p11_key_exists(vv_p11 *p, const char *label);

/* Destroys the key with this label (VV_ERR_NOT_FOUND if none). */
int vv_p11_key_destroy(vv_p11 *p, const char *label);

/*
 * Encrypts pt under the labelled key with AES-256-GCM and aad.  out must
 * hold ptlen + VV_P11_OVERHEAD bytes; *outlen receives the blob length.
 */
int vv_p11_seal(vv_p11 *p, const char *label, const uint8_t *aad,
    size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *out,
    size_t *outlen);

/*
 * Decrypts a blob made by vv_p11_seal.  pt must hold bloblen -
 * VV_P11_OVERHEAD bytes (callers pass sodium_malloc'd memory).  Returns
 * VV_ERR_INTEGRITY when the tag does not verify (wrong key, aad or a
 * modified blob); pt is then wiped.
 */
int vv_p11_unseal(vv_p11 *p, const char *label, const uint8_t *aad,
    size_t aadlen, const uint8_t *blob, size_t bloblen, uint8_t *pt,
    size_t *ptlen);

/*
 * Development token: creates hsmdir (0700) holding softhsm2.conf, a tokens
 * directory and user.pin (0600, a random 32-character PIN), points
 * SOFTHSM2_CONF at the config, initialises a fresh SoftHSM2 token with
 * the given label via C_InitToken/C_InitPIN (a random SO PIN that is
 * wiped, never written), and writes the token's URI into uri.  The PINs
 * never appear in argv or the environment.
 */
int vv_softhsm_dev_create(const char *hsmdir, const char *label, char *uri,
    size_t urilen, char *errmsg, size_t errlen);

/* The URI of an existing development token in hsmdir (sets SOFTHSM2_CONF
 * to hsmdir/softhsm2.conf as a side effect). */
int vv_softhsm_dev_uri(const char *hsmdir, const char *label, char *uri,
    size_t urilen);

/* Path of the SoftHSM2 module on this system, or NULL. */
const char *vv_softhsm_module_path(void);

/*
 * For tests only: the module's CK_FUNCTION_LIST * and the logged-in
 * CK_SESSION_HANDLE, to inspect key attributes directly.  Untyped here so
 * that this header does not pull in pkcs11.h and its macros.
 */
void *vv_p11_module(vv_p11 *p);
unsigned long vv_p11_session(vv_p11 *p);

#endif /* VV_P11_H */
