/*
 * mask.c - masked renditions of contacts; see mask.h.
 *
 * A mask never shows more than the phone's country code, first national
 * digit and last two digits, or the first character of an e-mail local
 * part or an address.  Everything else becomes '*'.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "vipvault.h"
#include "vault/mask.h"
#include "vault/utf8.h"
#include "vault/normalize.h"

/*
 * E.164 country calling codes (ITU-T E.164 Annex, as assigned).  Codes
 * are prefix-free: 1 and 7 stand alone, the two-digit codes below stand
 * alone, and every other code has three digits.  For three-digit codes we
 * list, per two-digit prefix, the third digits in use; spare codes (28x,
 * 83x, 89x, 259, 384, ...) are absent.
 */
static const char cc2[] =
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 "
    "51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 "
    "90 91 92 93 94 95 98";

static const struct {
	char prefix[3];
	char third[11];
} cc3[] = {
	{ "21", "12368" },	/* North Africa, South Sudan */
	{ "22", "0123456789" },	/* West Africa */
	{ "23", "0123456789" },	/* West and Central Africa */
	{ "24", "0123456789" },	/* Central Africa */
	{ "25", "012345678" },	/* East Africa */
	{ "26", "0123456789" },	/* Southern Africa */
	{ "29", "01789" },	/* St Helena, Eritrea, Aruba, Faroe, ... */
	{ "35", "0123456789" },	/* Gibraltar to Bulgaria */
	{ "37", "0123456789" },	/* Lithuania to Vatican */
	{ "38", "012356789" },	/* Ukraine to North Macedonia */
	{ "42", "013" },	/* Czechia, Slovakia, Liechtenstein */
	{ "50", "0123456789" },	/* Central America */
	{ "59", "0123456789" },	/* South America, Caribbean */
	{ "67", "023456789" },	/* Timor-Leste, Pacific */
	{ "68", "012356789" },	/* Pacific */
	{ "69", "012" },	/* Tokelau, Micronesia, Marshall Islands */
	{ "80", "08" },		/* international freephone, shared cost */
	{ "85", "02356" },	/* North Korea, Hong Kong, Macau, ... */
	{ "87", "0" },		/* Inmarsat */
	{ "88", "01236" },	/* Bangladesh, satellite, networks, Taiwan */
	{ "96", "012345678" },	/* Middle East */
	{ "97", "012345679" },	/* Middle East, premium rate */
	{ "99", "234568" },	/* Central Asia, Caucasus */
};

static int
is_cc2(const char *d)
{
	size_t i;

	for (i = 0; i + 1 < sizeof(cc2); i += 3)
		if (cc2[i] == d[0] && cc2[i + 1] == d[1])
			return 1;

	return 0;
}

/* Length a code starting at d must have, assigned or not; 0 if d is
 * too short or starts with 0. */
static size_t
cc_shape(const char *d)
{
	if (d[0] == '1' || d[0] == '7')
		return 1;
	if (d[0] < '2' || d[0] > '9' || d[1] < '0' || d[1] > '9')
		return 0;
	if (is_cc2(d))
		return 2;
	if (d[2] < '0' || d[2] > '9')
		return 0;

	return 3;
}

size_t
vv_phone_country_code_len(const char *digits)
{
	size_t len, i;

	if (digits == NULL || (len = cc_shape(digits)) == 0)
		return 0;
	if (len < 3)
		return len;
	for (i = 0; i < sizeof(cc3) / sizeof(cc3[0]); i++)
		if (cc3[i].prefix[0] == digits[0] &&
		    cc3[i].prefix[1] == digits[1])
			return strchr(cc3[i].third, digits[2]) ? 3 : 0;

	return 0;
}

/* Whether s is "+" and 8..15 digits, the first not 0. */
static int
is_e164(const char *s)
{
	size_t n;

	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	for (n = 1; s[n] >= '0' && s[n] <= '9'; n++)
		;

	return s[n] == '\0' && n - 1 >= 8 && n - 1 <= 15;
}

/*
 * The national digits after the first: '*' but the last two; a '-'
 * before the last four when more than four remain, and for +7 another
 * between the last two pairs, as such numbers are written.
 */
static size_t
mask_rest(const char *d, size_t n, int pairs, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (n > 4 && (i == n - 4 || (pairs && i == n - 2)))
			out[o++] = '-';
		out[o++] = i + 2 >= n ? d[i] : '*';
	}

	return o;
}

int
vv_mask_phone(const char *e164, char *out, size_t outlen)
{
	const char *nat;
	size_t cc, n, o;

	if (e164 == NULL || out == NULL || outlen < VV_MASK_MAX)
		return VV_ERR_INVALID;
	out[0] = '\0';
	if (e164[0] == '\0')
		return VV_OK;
	if (!is_e164(e164))
		return VV_ERR_INPUT;
	/* An unassigned code is masked by the length it would have. */
	cc = cc_shape(e164 + 1);
	nat = e164 + 1 + cc;
	n = strlen(nat);

	/* "+CC D** " then the rest; at most 27 bytes. */
	out[0] = '+';
	memcpy(out + 1, e164 + 1, cc);
	o = 1 + cc;
	out[o++] = ' ';
	out[o++] = nat[0];
	out[o++] = '*';
	out[o++] = '*';
	out[o++] = ' ';
	o += mask_rest(nat + 3, n - 3, cc == 1 && e164[1] == '7', out + o);
	out[o] = '\0';

	return VV_OK;
}

/* Length of the well-formed UTF-8 character at the start of a
 * NUL-terminated string, or 0 for NUL or a malformed sequence. */
static size_t
utf8_first(const char *str)
{
	const uint8_t *s = (const uint8_t *)str;

	if (s[0] == 0)
		return 0;
	return vv_utf8_len(s, strnlen(str, 4));
}

/* Writes first UTF-8 character of s + "***"; returns bytes written. */
static size_t
mask_head(const char *s, size_t len, char *out)
{
	memcpy(out, s, len);
	memcpy(out + len, "***", 3);

	return len + 3;
}

int
vv_mask_email(const char *email, char *out, size_t outlen)
{
	char norm[VV_EMAIL_MAX];
	const char *dom, *dot;
	size_t o, room;
	int normal;

	if (email == NULL || out == NULL || outlen < VV_MASK_MAX)
		return VV_ERR_INVALID;
	out[0] = '\0';
	if (email[0] == '\0')
		return VV_OK;
	normal = vv_email_normalize(email, norm, sizeof(norm), NULL) ==
	    VV_OK && strcmp(norm, email) == 0;
	sodium_memzero(norm, sizeof(norm));
	if (!normal)
		return VV_ERR_INPUT;

	o = mask_head(email, utf8_first(email), out);
	out[o++] = '@';
	dom = strchr(email, '@') + 1;
	/* A domain too long to show whole keeps its last labels that fit,
	 * after "*."; a 63-byte label always fits. */
	room = VV_MASK_MAX - 1 - o;
	if (strlen(dom) > room) {
		memcpy(out + o, "*.", 2);
		o += 2;
		room -= 2;
		while (strlen(dom) > room && (dot = strchr(dom, '.')) != NULL)
			dom = dot + 1;
		if (strlen(dom) > room) {
			out[0] = '\0';
			return VV_ERR_INTERNAL;
		}
	}
	memcpy(out + o, dom, strlen(dom) + 1);

	return VV_OK;
}

int
vv_mask_address(const char *address, char *out, size_t outlen)
{
	size_t len;

	if (address == NULL || out == NULL || outlen < VV_MASK_MAX)
		return VV_ERR_INVALID;
	out[0] = '\0';
	if (address[0] == '\0')
		return VV_OK;
	if ((len = utf8_first(address)) == 0)
		return VV_ERR_INPUT;
	out[mask_head(address, len, out)] = '\0';

	return VV_OK;
}
