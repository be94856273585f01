/*
 * utf8.h - the one UTF-8 decoder the vault uses to validate text.
 */
#ifndef VV_UTF8_H
#define VV_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length (1 to 4) of the well-formed UTF-8 sequence at the start of s,
 * which holds n >= 1 bytes; 0 if it is malformed: a stray continuation
 * byte, an overlong form, a surrogate, a code point above U+10FFFF, or a
 * sequence cut short by n.  A NUL byte counts as a one-byte sequence.
 */
size_t vv_utf8_len(const uint8_t *s, size_t n);

#endif /* VV_UTF8_H */
