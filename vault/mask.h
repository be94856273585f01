/*
 * mask.h - masked renditions of contacts.
 *
 * A masked contact tells a CRM user that a contact exists and lets him
 * recognise it when the client reads it out, without disclosing it:
 *   phone   +79931810134      -> "+7 9** ***-**-34"
 *           +12125552405      -> "+1 2** ***-**05"   (country code kept,
 *           +8615077875488    -> "+86 1** ****-**88"  first national digit
 *                                                     and last two digits)
 *   e-mail  anna.1@example.ru -> "a***@example.ru"
 *   address any               -> first UTF-8 character + "***"
 * Masking is a pure function of the normalised value.
 *
 * Phone layout: "+", the country code, a space, the first three national
 * digits as "D**", a space, then the remaining R digits as '*' except the
 * last two.  When R > 4 a '-' precedes the last four; for +7 a second '-'
 * splits those four into pairs, as Russian numbers are written.  So
 * +35012345 -> "+350 1** 45", +3501234567 -> "+350 1** **67".  An
 * unassigned country code is shown with the length its prefix implies
 * (three digits).  The mask shows nothing beyond the country code, first
 * national digit and last two digits.
 *
 * E-mail: when the domain does not fit in VV_MASK_MAX, its leading labels
 * are dropped and replaced by "*." until it does.
 */
#ifndef VV_MASK_H
#define VV_MASK_H

#include <stddef.h>

#define VV_MASK_MAX 96

/* Each writes a NUL-terminated mask into out (outlen >= VV_MASK_MAX) and
 * returns VV_OK, or VV_ERR_INPUT for input that is not in normal form
 * (VV_ERR_INVALID for a NULL argument or a short buffer); out is "" on
 * failure.  An empty input gives an empty mask.  An e-mail is in normal
 * form when vv_email_normalize() returns it unchanged; an address needs
 * only a well-formed first character. */
int vv_mask_phone(const char *e164, char *out, size_t outlen);
int vv_mask_email(const char *email, char *out, size_t outlen);
int vv_mask_address(const char *address, char *out, size_t outlen);

/* Length in digits of the E.164 country calling code that starts digits
 * (the text after '+'): 1, 2 or 3; 0 if none is assigned. */
size_t vv_phone_country_code_len(const char *digits);

#endif /* VV_MASK_H */
