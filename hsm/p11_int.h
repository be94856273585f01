/*
 * p11_int.h - what the hsm/ files share; not part of any public API.
 */
#ifndef VV_P11_INT_H
#define VV_P11_INT_H

#include <stddef.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#define VV_P11_ERRMSG_MAX 256u
#define VV_P11_PIN_MAX    256u	/* bytes read from a pin-source file */
#define VV_P11_TOKLABEL   32u	/* CK_TOKEN_INFO.label, blank padded */

/*
 * An open, logged-in session on one token.  mods is set when the token
 * was found among the modules registered with p11-kit; it then owns mod.
 * Not thread safe: one thread at a time per handle (and, because the
 * SoftHSM2 configuration is process-wide, one SoftHSM2 tokendir at a time
 * per process).
 */
struct vv_p11 {
	CK_FUNCTION_LIST	 *mod;
	CK_FUNCTION_LIST	**mods;
	int			  initialized;	/* mod (or mods) initialised */
	CK_SESSION_HANDLE	  sess;
	int			  has_sess;
	char			  errmsg[VV_P11_ERRMSG_MAX];
};

/* Records a printf-style message on p and returns err. */
int vv_p11_fail(struct vv_p11 *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "CKR_PIN_INCORRECT" and so on; "CKR_0x..." (thread-local storage) for
 * values this table does not know. */
const char *vv_p11_rv_name(CK_RV rv);

/* Copies a blank-padded token label into out (NUL-terminated, trailing
 * blanks dropped, non-printable bytes shown as '?'). */
void vv_p11_label_str(const unsigned char *label, size_t len, char *out,
    size_t outlen);

/* Fills a CK_TOKEN_INFO-style label with s and blanks; -1 if too long. */
int vv_p11_label_pad(unsigned char out[VV_P11_TOKLABEL], const char *s);

/*
 * Appends s to out (size outlen, NUL-terminated, starting at *pos),
 * percent-encoding every byte outside RFC 3986 "unreserved" and keep.
 * Returns -1 if it does not fit.
 */
int vv_p11_pct_append(char *out, size_t outlen, size_t *pos, const char *s,
    const char *keep);

/*
 * Reads the PIN named by a pin-source ("file:/path", "file:///path" or an
 * absolute path) into a sodium_malloc'd buffer of VV_P11_PIN_MAX + 1
 * bytes, NUL-terminated, trailing newline dropped.  The caller wipes
 * and frees it with vv_p11_pin_free.  VV_ERR_INVALID for another scheme,
 * VV_ERR_IO if the file cannot be read or holds no PIN.
 */
int vv_p11_pin_read(struct vv_p11 *p, const char *source, char **pin,
    size_t *pinlen);
void vv_p11_pin_free(char **pin);

#endif /* VV_P11_INT_H */
