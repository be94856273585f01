/*
 * test_normalize.c - phone numbers to E.164 and e-mail addresses to
 * their canonical form: accepted spellings, every refusal reason, size
 * boundaries, idempotence and the 10,000-client sample.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipvault.h"
#include "vault/csv.h"
#include "vault/normalize.h"

#define SAMPLE "tests/data/clients-10k.csv"

struct tn_case {
	const char *in;
	const char *want;	/* normal form, or the refusal reason */
};

static const struct tn_case tn_phone_ok[] = {
	{ "+79931810134", "+79931810134" },
	{ "+7 (993) 181-01-11", "+79931810111" },
	{ "8 928 359 56 13", "+79283595613" },
	{ "8 (928) 359-56-13", "+79283595613" },
	{ "+1-415-555-6890", "+14155556890" },
	{ "+86 150 7787 5488", "+8615077875488" },
	{ "+8615077875488", "+8615077875488" },
	{ "+1 (212) 555-2405", "+12125552405" },
	{ "0044 20 7946 0958", "+442079460958" },
	{ "00 7 993 181 01 34", "+79931810134" },
	{ "  +49 30/1234.5678\t", "+493012345678" },
	{ "+12345678", "+12345678" },			/* 8 digits */
	{ "+123456789012345", "+123456789012345" },	/* 15 digits */
	{ "+7(993)1810134", "+79931810134" },
};

static const struct tn_case tn_phone_bad[] = {
	{ "", "empty" },
	{ "   ", "empty" },
	{ "+", "lone '+'" },
	{ " + ", "lone '+'" },
	{ "--", "no digits" },
	{ "+7 993 CALL NOW", "letters not allowed" },
	{ "+7 993 181 01 34 ext 5", "letters not allowed" },
	{ "+7 993 181#01 34", "invalid character" },
	{ "+7 993 181 01 3\xd0\xb4", "invalid character" },
	{ "7+9931810134", "'+' not at start" },
	{ "++79931810134", "'+' not at start" },
	{ "+7 (993 181-01-34", "unbalanced parentheses" },
	{ "+7 993) 181-01-34", "unbalanced parentheses" },
	{ "+7 ((993)) 1810134", "unbalanced parentheses" },
	{ "(993) 181-01-34", "misplaced parenthesis" },
	{ "+7 () 9931810134", "empty parentheses" },
	{ "+7 9931810134 (34)", "misplaced parenthesis" },
	{ "+1234567", "too few digits" },
	{ "+1234567890123456", "too many digits" },
	{ "+1234567890123456789012345", "too many digits" },
	{ "+0791234567", "country code starts with 0" },
	{ "000791234567", "country code starts with 0" },
	{ "9931810134", "no country code" },
	{ "79931810134", "no country code" },
	{ "8 928 359 56 1", "no country code" },
	{ "0 928 359 56 13", "no country code" },
};

static void
test_phone_ok(void **state)
{
	char out[VV_PHONE_MAX], again[VV_PHONE_MAX];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tn_phone_ok) / sizeof(tn_phone_ok[0]); i++) {
		why = NULL;
		assert_int_equal(vv_phone_normalize(tn_phone_ok[i].in, out,
		    sizeof(out), &why), VV_OK);
		assert_string_equal(out, tn_phone_ok[i].want);
		assert_null(why);
		assert_int_equal(vv_phone_normalize(out, again, sizeof(again),
		    NULL), VV_OK);
		assert_string_equal(again, out);
	}
}

static void
test_phone_bad(void **state)
{
	char out[VV_PHONE_MAX];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tn_phone_bad) / sizeof(tn_phone_bad[0]); i++) {
		why = NULL;
		memcpy(out, "garbage", 8);
		assert_int_equal(vv_phone_normalize(tn_phone_bad[i].in, out,
		    sizeof(out), &why), VV_ERR_INPUT);
		assert_non_null(why);
		assert_string_equal(why, tn_phone_bad[i].want);
		assert_string_equal(out, "");
		/* reason is optional */
		assert_int_equal(vv_phone_normalize(tn_phone_bad[i].in, out,
		    sizeof(out), NULL), VV_ERR_INPUT);
	}
}

static void
test_phone_args(void **state)
{
	char out[VV_PHONE_MAX];
	const char *why = NULL;

	(void)state;
	assert_int_equal(vv_phone_normalize("+79931810134", out,
	    VV_PHONE_MAX - 1, &why), VV_ERR_INVALID);
	assert_non_null(why);
	assert_int_equal(vv_phone_normalize(NULL, out, sizeof(out), NULL),
	    VV_ERR_INVALID);
	/* The longest result fits exactly. */
	assert_int_equal(vv_phone_normalize("+999999999999999", out,
	    VV_PHONE_MAX, NULL), VV_OK);
	assert_int_equal(strlen(out), VV_PHONE_MAX - 1);
}

static uint32_t
tn_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Any digits spelled with random separators normalise to the digits. */
static void
test_phone_property(void **state)
{
	static const char *const sep[] = { "", " ", "-", ".", "/", "  " };
	char digits[16], in[128], out[VV_PHONE_MAX], again[VV_PHONE_MAX];
	uint32_t seed = 0x9e3779b9;
	size_t i, k, n, o;

	(void)state;
	for (i = 0; i < 20000; i++) {
		n = 8 + tn_rand(&seed) % 8;
		for (k = 0; k < n; k++)
			digits[k] = (char)('0' + tn_rand(&seed) % 10);
		digits[0] = (char)('1' + tn_rand(&seed) % 9);
		digits[n] = '\0';
		o = (size_t)snprintf(in, sizeof(in), "%s", i % 2 ? "+" : "00");
		for (k = 0; k < n; k++)
			o += (size_t)snprintf(in + o, sizeof(in) - o, "%c%s",
			    digits[k], sep[tn_rand(&seed) % 6]);
		assert_int_equal(vv_phone_normalize(in, out, sizeof(out), NULL),
		    VV_OK);
		assert_int_equal(out[0], '+');
		assert_string_equal(out + 1, digits);
		assert_int_equal(vv_phone_normalize(out, again, sizeof(again),
		    NULL), VV_OK);
		assert_string_equal(again, out);
	}
}

static const struct tn_case tn_email_ok[] = {
	{ "anna.1@example.ru", "anna.1@example.ru" },
	{ "  Anna.Smirnova+crm@Example.COM \r\n", "anna.smirnova+crm@example.com" },
	{ "ДМИТРИЙ@example.ru", "ДМИТРИЙ@example.ru" },	/* ASCII only */
	{ "o'brien@xn--e1afmkfd.xn--p1ai", "o'brien@xn--e1afmkfd.xn--p1ai" },
	{ "a@b.c", "a@b.c" },
	{ "x@mail-1.example.org", "x@mail-1.example.org" },
};

static const struct tn_case tn_email_bad[] = {
	{ "", "empty" },
	{ " \t ", "empty" },
	{ "anna.example.ru", "missing '@'" },
	{ "a@b@example.ru", "more than one '@'" },
	{ "@example.ru", "empty local part" },
	{ "anna@", "empty domain" },
	{ "an na@example.ru", "space in local part" },
	{ "an\tna@example.ru", "control character in local part" },
	{ "an\x7fna@example.ru", "control character in local part" },
	{ "a,b@example.ru", "special character in local part" },
	{ "<a>@example.ru", "special character in local part" },
	{ "a\\b@example.ru", "special character in local part" },
	{ "a[1]@example.ru", "special character in local part" },
	{ "\xc3\x28@example.ru", "invalid UTF-8" },
	{ "\xed\xa0\x80@example.ru", "invalid UTF-8" },
	{ "a\xd0@example.ru", "invalid UTF-8" },
	{ "anna@localhost", "domain without a dot" },
	{ "anna@example..ru", "empty domain label" },
	{ "anna@.example.ru", "empty domain label" },
	{ "anna@example.ru.", "empty domain label" },
	{ "anna@-example.ru", "hyphen at label edge" },
	{ "anna@example-.ru", "hyphen at label edge" },
	{ "anna@пример.рф", "non-ASCII domain" },
	{ "anna@exa_mple.ru", "invalid character in domain" },
	{ "anna@exa mple.ru", "invalid character in domain" },
	{ "anna@[127.0.0.1]", "invalid character in domain" },
};

static void
test_email_ok(void **state)
{
	char out[VV_EMAIL_MAX], again[VV_EMAIL_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tn_email_ok) / sizeof(tn_email_ok[0]); i++) {
		assert_int_equal(vv_email_normalize(tn_email_ok[i].in, out,
		    sizeof(out), NULL), VV_OK);
		assert_string_equal(out, tn_email_ok[i].want);
		assert_int_equal(vv_email_normalize(out, again, sizeof(again),
		    NULL), VV_OK);
		assert_string_equal(again, out);
	}
}

static void
test_email_bad(void **state)
{
	char out[VV_EMAIL_MAX];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tn_email_bad) / sizeof(tn_email_bad[0]); i++) {
		why = NULL;
		memcpy(out, "garbage", 8);
		assert_int_equal(vv_email_normalize(tn_email_bad[i].in, out,
		    sizeof(out), &why), VV_ERR_INPUT);
		assert_non_null(why);
		assert_string_equal(why, tn_email_bad[i].want);
		assert_string_equal(out, "");
	}
	assert_int_equal(vv_email_normalize("a@b.c", out, VV_EMAIL_MAX - 1,
	    NULL), VV_ERR_INVALID);
}

/* local@label.label... with the given sizes; returns the reason or NULL
 * and leaves the normal form in out. */
static const char *
tn_email_sized(size_t local, size_t label, size_t labels, char *out)
{
	char in[1024], *p = in;
	const char *why = NULL;
	size_t i;

	memset(p, 'L', local);
	p += local;
	*p++ = '@';
	for (i = 0; i < labels; i++) {
		if (i > 0)
			*p++ = '.';
		memset(p, 'd', label);
		p += label;
	}
	*p = '\0';
	if (vv_email_normalize(in, out, VV_EMAIL_MAX, &why) == VV_OK)
		return NULL;
	return why;
}

static void
test_email_limits(void **state)
{
	char out[VV_EMAIL_MAX];

	(void)state;
	assert_null(tn_email_sized(64, 3, 2, out));
	assert_int_equal(strlen(out), 64 + 1 + 7);
	assert_int_equal(out[0], 'l');
	assert_string_equal(tn_email_sized(65, 3, 2, out),
	    "local part too long");
	assert_null(tn_email_sized(1, 63, 2, out));
	assert_string_equal(tn_email_sized(1, 64, 2, out),
	    "domain label too long");
	/* 4 x 63 + 3 dots = 255 domain bytes. */
	assert_string_equal(tn_email_sized(1, 63, 4, out), "domain too long");
	/* 62 + '@' + 12 x 15 + 11 dots = 254, the longest address. */
	assert_null(tn_email_sized(62, 15, 12, out));
	assert_int_equal(strlen(out), VV_EMAIL_MAX - 1);
	assert_string_equal(tn_email_sized(63, 15, 12, out),
	    "address too long");
}

/* A domain of exactly 253 bytes is valid as a domain, but leaves no room
 * for a local part within 254; one byte more is a too-long domain. */
static void
test_domain_253(void **state)
{
	char in[300], out[VV_EMAIL_MAX], *p = in + 2;
	const char *why = NULL;

	(void)state;
	memcpy(in, "a@", 2);
	memset(p, 'x', 253);
	p[63] = p[127] = p[191] = '.';
	p[253] = '\0';
	assert_int_equal(vv_email_normalize(in, out, sizeof(out), &why),
	    VV_ERR_INPUT);
	assert_string_equal(why, "address too long");
	p[253] = 'x';
	p[254] = '\0';
	assert_int_equal(vv_email_normalize(in, out, sizeof(out), &why),
	    VV_ERR_INPUT);
	assert_string_equal(why, "domain too long");
}

/* Every phone and e-mail of the sample normalises, idempotently. */
static void
test_sample(void **state)
{
	char ph[VV_PHONE_MAX], em[VV_EMAIL_MAX], again[VV_EMAIL_MAX];
	FILE *fp = fopen(SAMPLE, "rb");
	size_t n, records = 0, ru = 0;
	vv_csv *c;

	(void)state;
	assert_non_null(fp);
	assert_int_equal(vv_csv_new(&c, fp), VV_OK);
	assert_int_equal(vv_csv_next(c, &n), VV_OK);
	assert_string_equal(vv_csv_field(c, 2, NULL), "phone");
	assert_string_equal(vv_csv_field(c, 3, NULL), "email");
	while (vv_csv_next(c, &n) == VV_OK && n != 0) {
		assert_int_equal(vv_phone_normalize(vv_csv_field(c, 2, NULL),
		    ph, sizeof(ph), NULL), VV_OK);
		assert_int_equal(vv_phone_normalize(ph, again, sizeof(again),
		    NULL), VV_OK);
		assert_string_equal(again, ph);
		assert_int_equal(vv_email_normalize(vv_csv_field(c, 3, NULL),
		    em, sizeof(em), NULL), VV_OK);
		assert_int_equal(vv_email_normalize(em, again, sizeof(again),
		    NULL), VV_OK);
		assert_string_equal(again, em);
		ru += vv_csv_field(c, 2, NULL)[0] == '8';
		if (vv_csv_field(c, 2, NULL)[0] == '8')
			assert_memory_equal(ph, "+79", 3);
		records++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(records, 10000);
	assert_true(ru > 0);
	vv_csv_free(&c);
	fclose(fp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_ok),
		cmocka_unit_test(test_phone_bad),
		cmocka_unit_test(test_phone_args),
		cmocka_unit_test(test_phone_property),
		cmocka_unit_test(test_email_ok),
		cmocka_unit_test(test_email_bad),
		cmocka_unit_test(test_email_limits),
		cmocka_unit_test(test_domain_253),
		cmocka_unit_test(test_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
