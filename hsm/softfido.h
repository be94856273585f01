/*
 * softfido.h - a CTAP2 authenticator in software, behind libfido2.
 *
 * Tests and dev vaults need FIDO2 tokens that a machine can touch.  Rather
 * than mock libfido2, this authenticator answers libfido2's own transport
 * hooks, so every call the product makes (make_cred, get_assert with
 * hmac-secret, clientPIN) runs libfido2's real client code, CBOR encoding,
 * ECDH and hmac-secret crypto against it.
 *
 * Its state (device secret, PIN, counters, test faults) lives in one text
 * file of mode 0600; every command that changes state rewrites the file
 * atomically before answering.  It has its own AAGUID, which a vault
 * created without --dev refuses.
 *
 * What it is: CTAP 2.0/2.1 with non-resident ES256 and EdDSA credentials
 * (nothing stored per credential), packed self attestation, hmac-secret,
 * clientPIN with PIN/UV auth protocols 1 and 2.  What it is not: no
 * resident keys, no reset, no built-in UV, no real wait for a touch.
 * A handle is for one thread at a time, and a state file for one open
 * handle at a time, as a USB token is for one process.
 */
#ifndef VV_SOFTFIDO_H
#define VV_SOFTFIDO_H

#include <stddef.h>
#include <stdint.h>

#include <fido.h>

/* Device paths of the form "soft:/path/to/state" name a soft token. */
#define VV_SOFTFIDO_PREFIX "soft:"

/* The soft authenticator's AAGUID (16 bytes). */
extern const uint8_t vv_softfido_aaguid[16];

/*
 * Creates a new state file at path (mode 0600; refuses to replace one;
 * a "soft:" prefix is allowed).
 * pin may be NULL for a token without a PIN; otherwise 4..63 bytes UTF-8.
 * Returns 0, or -1 with a message in err.
 */
int vv_softfido_create(const char *path, const char *pin, char *err,
    size_t errlen);

/*
 * Loads the state file at path (a "soft:" prefix is allowed) as
 * fido_dev_open would, and says why it would fail: not a regular file,
 * not owned by the effective uid, readable or writable by group or
 * others, malformed.  Returns 0, or -1 with a message in err (never a
 * secret).  fido_dev_open itself only says FIDO_ERR_INTERNAL.
 */
int vv_softfido_check(const char *path, char *err, size_t errlen);

/*
 * Test knobs: sets key to value in the state file at path, atomically.
 * Keys and values are those of the file (hsm/softfido_state.c):
 * counter <u32>, pin-retries <0..8>, presence allow|deny,
 * fault none|wrong-hmac, protocols 2,1|1,2|1|2, ctap 2.0|2.1.  Returns 0,
 * or -1 with a message in err.
 */
int vv_softfido_set(const char *path, const char *key, const char *value,
    char *err, size_t errlen);

/*
 * Points a closed fido_dev_t at the soft token whose state is at path:
 * sets io and transport functions; the caller then calls
 * fido_dev_open(dev, path) with the same path (with or without the
 * "soft:" prefix).  fido_dev_open loads the state (a power-up: a fresh key
 * agreement key, no PIN token); fido_dev_close frees it.  Returns a
 * FIDO_ERR_* / FIDO_OK code.
 */
int vv_softfido_attach(fido_dev_t *dev);

/*
 * One CTAP2 CBOR command in, one reply out (status byte + CBOR map), on a
 * state file: what the transport does for CTAPHID_CBOR.  Exposed for the
 * fuzz target.  reply must hold at least VV_SOFTFIDO_MSG_MAX bytes.
 */
#define VV_SOFTFIDO_MSG_MAX 2048u
struct vv_softfido;
/* Returns 0, or -1 (vv_softfido_check says why). */
int vv_softfido_load(const char *path, struct vv_softfido **out);
size_t vv_softfido_cbor(struct vv_softfido *sf, const uint8_t *req,
    size_t len, uint8_t *reply, size_t replymax);
void vv_softfido_free(struct vv_softfido **sfp);

#endif
