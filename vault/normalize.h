/*
 * normalize.h - canonical forms of phone numbers and e-mail addresses.
 *
 * The blind index is a keyed hash of these forms, so two spellings of one
 * number must normalise to the same bytes, and anything we cannot
 * normalise with confidence is refused rather than guessed.
 */
#ifndef VV_NORMALIZE_H
#define VV_NORMALIZE_H

#include <stddef.h>

#define VV_PHONE_MAX 17   /* "+" + 15 digits + NUL */
#define VV_EMAIL_MAX 255  /* 254 bytes + NUL (RFC 5321 path limit) */

/*
 * Normalises a phone number to E.164: "+" followed by 8 to 15 digits, the
 * first not 0.  Accepts spaces, tabs, '-', '.', '/', and parentheses
 * between digits (one pair level, not empty, with digits before and
 * after); an international prefix written "+" (first non-blank) or "00";
 * and the Russian national form "8 9XX ..." (11 digits starting with 8)
 * as +7.  A number with no country code is refused.  Whether the country
 * code is assigned is not checked.  An empty or blank input is refused
 * with the reason "empty"; whether a phone is optional is the caller's
 * business.  Returns VV_OK, or VV_ERR_INPUT with *reason (a static
 * string naming the problem, never echoing the input) when reason is not
 * NULL (out is then ""); VV_ERR_INVALID for a NULL argument or an outlen
 * below VV_PHONE_MAX.
 */
int vv_phone_normalize(const char *in, char *out, size_t outlen,
    const char **reason);

/*
 * Normalises an e-mail address: surrounding white space trimmed, the
 * domain lower-cased (ASCII letters only; IDNA U-labels are refused), the
 * local part lower-cased for ASCII letters.  Requires exactly one '@', a
 * non-empty local part of at most 64 bytes without spaces, control bytes
 * or unquoted specials "(),:;<>[\\]", and a domain of dot-separated LDH
 * labels (1..63 bytes, no leading/trailing '-') with at least one dot,
 * at most 253 bytes; the whole address at most 254 bytes.  Returns VV_OK
 * or VV_ERR_INPUT with *reason (out is then ""); VV_ERR_INVALID for a
 * NULL argument or an outlen below VV_EMAIL_MAX.
 */
int vv_email_normalize(const char *in, char *out, size_t outlen,
    const char **reason);

#endif /* VV_NORMALIZE_H */
