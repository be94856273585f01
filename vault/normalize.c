/*
 * normalize.c - canonical phone numbers and e-mail addresses; see
 * normalize.h.
 *
 * Reasons are static strings that name the rule broken.  They never
 * quote the input: it is client data and ends up in logs.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "vipvault.h"
#include "vault/normalize.h"
#include "vault/utf8.h"

#define E164_MIN 8
#define E164_MAX 15
/* Digits gathered before giving up: "00" + 15 digits, with room. */
#define SCAN_MAX 24

#define LOCAL_MAX 64
#define DOMAIN_MAX 253
#define LABEL_MAX 63

static int
refuse(const char **reason, const char *why, char *out, size_t outlen)
{
	if (reason != NULL)
		*reason = why;
	if (out != NULL && outlen > 0)
		out[0] = '\0';

	return VV_ERR_INPUT;
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static char
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Phone scanning state. */
struct scan {
	char	 dig[SCAN_MAX];
	size_t	 nd;
	int	 plus;
	int	 open;		/* inside parentheses */
	size_t	 open_nd;	/* digits seen when '(' was opened */
	int	 want_digit;	/* ')' seen, a digit must follow */
};

/* Feeds one byte of a phone number to the scanner; NULL if accepted. */
static const char *
scan_byte(struct scan *s, char ch)
{
	if (is_digit(ch)) {
		if (s->nd == SCAN_MAX)
			return "too many digits";
		s->dig[s->nd++] = ch;
		s->want_digit = 0;
		return NULL;
	}
	switch (ch) {
	case ' ': case '\t': case '-': case '.': case '/':
		return NULL;
	case '(':
		/* A parenthesised area code follows a country or trunk
		 * code; it never opens the number. */
		if (s->open)
			return "unbalanced parentheses";
		if (s->nd == 0)
			return "misplaced parenthesis";
		s->open = 1;
		s->open_nd = s->nd;
		return NULL;
	case ')':
		if (!s->open)
			return "unbalanced parentheses";
		if (s->nd == s->open_nd)
			return "empty parentheses";
		s->open = 0;
		s->want_digit = 1;
		return NULL;
	case '+':
		return "'+' not at start";
	default:
		return is_alpha(ch) ? "letters not allowed" :
		    "invalid character";
	}
}

static const char *
scan_phone(struct scan *s, const char *p)
{
	const char *why;

	while (is_blank(*p))
		p++;
	if (*p == '\0')
		return "empty";
	if (*p == '+') {
		s->plus = 1;
		p++;
	}
	for (; *p != '\0'; p++)
		if ((why = scan_byte(s, *p)) != NULL)
			return why;
	if (s->open)
		return "unbalanced parentheses";
	if (s->want_digit)
		return "misplaced parenthesis";
	if (s->nd == 0)
		return s->plus ? "lone '+'" : "no digits";

	return NULL;
}

static int
phone_normalize(struct scan *sp, const char *in, char *out, size_t outlen,
    const char **reason)
{
	const char *why, *d;
	size_t n;

	if (in == NULL || out == NULL || outlen < VV_PHONE_MAX) {
		if (reason != NULL)
			*reason = "invalid argument";
		return VV_ERR_INVALID;
	}
	if ((why = scan_phone(sp, in)) != NULL)
		return refuse(reason, why, out, outlen);

	d = sp->dig;
	n = sp->nd;
	if (!sp->plus) {
		if (n >= 2 && d[0] == '0' && d[1] == '0') {
			d += 2;
			n -= 2;
		} else if (n == 11 && d[0] == '8') {
			/* Russian trunk prefix 8 stands for +7. */
			sp->dig[0] = '7';
		} else
			return refuse(reason, "no country code", out, outlen);
	}
	if (n > 0 && d[0] == '0')
		return refuse(reason, "country code starts with 0", out,
		    outlen);
	if (n < E164_MIN)
		return refuse(reason, "too few digits", out, outlen);
	if (n > E164_MAX)
		return refuse(reason, "too many digits", out, outlen);

	out[0] = '+';
	memcpy(out + 1, d, n);
	out[n + 1] = '\0';

	return VV_OK;
}

/* The scan holds the number's digits: wiped on every path. */
int
vv_phone_normalize(const char *in, char *out, size_t outlen,
    const char **reason)
{
	struct scan s;
	int r;

	memset(&s, 0, sizeof(s));
	r = phone_normalize(&s, in, out, outlen, reason);
	sodium_memzero(&s, sizeof(s));
	return r;
}

static const char *
check_local(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, len;

	if (n == 0)
		return "empty local part";
	if (n > LOCAL_MAX)
		return "local part too long";
	for (i = 0; i < n; i += len) {
		len = 1;
		if (u[i] < 0x20 || u[i] == 0x7f)
			return "control character in local part";
		if (u[i] == ' ')
			return "space in local part";
		if (strchr("(),:;<>[\\]", s[i]) != NULL)
			return "special character in local part";
		if (u[i] >= 0x80 && (len = vv_utf8_len(u + i, n - i)) == 0)
			return "invalid UTF-8";
	}

	return NULL;
}

static const char *
check_label(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return "empty domain label";
	if (n > LABEL_MAX)
		return "domain label too long";
	if (s[0] == '-' || s[n - 1] == '-')
		return "hyphen at label edge";
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return "non-ASCII domain";
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return "invalid character in domain";
	}

	return NULL;
}

static const char *
check_domain(const char *s, size_t n)
{
	const char *why, *dot, *end = s + n;
	int dots = 0;

	if (n == 0)
		return "empty domain";
	if (n > DOMAIN_MAX)
		return "domain too long";
	for (;;) {
		dot = memchr(s, '.', (size_t)(end - s));
		if ((why = check_label(s, (size_t)((dot ? dot : end) - s))))
			return why;
		if (dot == NULL)
			break;
		dots++;
		s = dot + 1;
	}

	return dots == 0 ? "domain without a dot" : NULL;
}

static int
is_space(char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

int
vv_email_normalize(const char *in, char *out, size_t outlen,
    const char **reason)
{
	const char *s, *e, *at, *why;
	size_t n, i;

	if (in == NULL || out == NULL || outlen < VV_EMAIL_MAX) {
		if (reason != NULL)
			*reason = "invalid argument";
		return VV_ERR_INVALID;
	}
	for (s = in; is_space(*s); s++)
		;
	for (e = s + strlen(s); e > s && is_space(e[-1]); e--)
		;
	if ((n = (size_t)(e - s)) == 0)
		return refuse(reason, "empty", out, outlen);
	if ((at = memchr(s, '@', n)) == NULL)
		return refuse(reason, "missing '@'", out, outlen);
	if (memchr(at + 1, '@', (size_t)(e - at - 1)) != NULL)
		return refuse(reason, "more than one '@'", out, outlen);
	if ((why = check_local(s, (size_t)(at - s))) != NULL ||
	    (why = check_domain(at + 1, (size_t)(e - at - 1))) != NULL)
		return refuse(reason, why, out, outlen);
	if (n > VV_EMAIL_MAX - 1)
		return refuse(reason, "address too long", out, outlen);

	for (i = 0; i < n; i++)
		out[i] = lower(s[i]);
	out[n] = '\0';

	return VV_OK;
}
