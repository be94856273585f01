/*
 * test_mask.c - masked phones, e-mail addresses and postal addresses:
 * the documented layouts, country code lengths, refusals of values not
 * in normal form, and the rule that a mask reveals nothing more than
 * country code, first national digit and last two digits.
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
#include "vault/mask.h"
#include "vault/normalize.h"

struct tm_case {
	const char *in;
	const char *want;
};

static const struct tm_case tm_phones[] = {
	/* the examples in mask.h */
	{ "+79931810134", "+7 9** ***-**-34" },
	{ "+12125552405", "+1 2** ***-**05" },
	{ "+8615077875488", "+86 1** ****-**88" },
	/* one, two and three digit codes; short and long numbers */
	{ "+77012345678", "+7 7** ***-**-78" },		/* Kazakhstan */
	{ "+442079460958", "+44 2** ***-**58" },
	{ "+4915123456789", "+49 1** ****-**89" },
	{ "+37125123456", "+371 2** *-**56" },
	{ "+35012345", "+350 1** 45" },			/* 8 digits */
	{ "+3501234567", "+350 1** **67" },
	{ "+35012345678", "+350 1** *-**78" },
	{ "+123456789012345", "+1 2** *******-**45" },	/* 15 digits */
	{ "+70123456", "+7 0** **56" },
	{ "+2801234567", "+280 1** **67" },		/* unassigned */
	{ "", "" },
};

static void
test_phone_examples(void **state)
{
	char out[VV_MASK_MAX], again[VV_MASK_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tm_phones) / sizeof(tm_phones[0]); i++) {
		assert_int_equal(vv_mask_phone(tm_phones[i].in, out,
		    sizeof(out)), VV_OK);
		assert_string_equal(out, tm_phones[i].want);
		assert_int_equal(vv_mask_phone(tm_phones[i].in, again,
		    sizeof(again)), VV_OK);
		assert_string_equal(again, out);
	}
}

static void
test_phone_refused(void **state)
{
	static const char *const bad[] = {
		"79931810134", "+0931810134", "+1234567", "+1234567890123456",
		"+7993181013a", " +79931810134", "+7 993 181 01 34",
		"+79931810134 ", "+", "8 928 359 56 13",
	};
	char out[VV_MASK_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(out, "junk", 5);
		assert_int_equal(vv_mask_phone(bad[i], out, sizeof(out)),
		    VV_ERR_INPUT);
		assert_string_equal(out, "");
	}
	assert_int_equal(vv_mask_phone("+79931810134", out, VV_MASK_MAX - 1),
	    VV_ERR_INVALID);
	assert_int_equal(vv_mask_phone(NULL, out, sizeof(out)),
	    VV_ERR_INVALID);
}

static void
test_country_codes(void **state)
{
	static const struct {
		const char *digits;
		size_t len;
	} cc[] = {
		{ "1212", 1 }, { "7993", 1 }, { "2010", 2 }, { "2782", 2 },
		{ "3061", 2 }, { "3912", 2 }, { "4420", 2 }, { "4930", 2 },
		{ "5511", 2 }, { "6591", 2 }, { "8613", 2 }, { "9111", 2 },
		{ "9891", 2 }, { "2111", 3 }, { "2121", 3 }, { "2345", 3 },
		{ "3511", 3 }, { "3712", 3 }, { "3801", 3 }, { "3831", 3 },
		{ "4201", 3 }, { "4231", 3 }, { "5021", 3 }, { "5981", 3 },
		{ "6701", 3 }, { "6921", 3 }, { "8001", 3 }, { "8081", 3 },
		{ "8521", 3 }, { "8801", 3 }, { "8861", 3 }, { "9601", 3 },
		{ "9711", 3 }, { "9791", 3 }, { "9921", 3 }, { "9981", 3 },
		/* spare, reserved or malformed */
		{ "2101", 0 }, { "2591", 0 }, { "2801", 0 }, { "2891", 0 },
		{ "3841", 0 }, { "4221", 0 }, { "6711", 0 }, { "8311", 0 },
		{ "8511", 0 }, { "8901", 0 }, { "9691", 0 }, { "9991", 0 },
		{ "0123", 0 }, { "", 0 }, { "8", 0 }, { "85", 0 },
		{ "2x1", 0 }, { "+79", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cc) / sizeof(cc[0]); i++)
		assert_int_equal(vv_phone_country_code_len(cc[i].digits),
		    cc[i].len);
	assert_int_equal(vv_phone_country_code_len(NULL), 0);
}

static uint32_t
tm_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * For random numbers: the mask's digits are exactly country code, first
 * national digit and last two digits, in order; every other digit is a
 * '*'; and the country code is followed by a space.
 */
static void
test_phone_reveals_little(void **state)
{
	char num[17], out[VV_MASK_MAX], shown[20], want[20];
	uint32_t seed = 12345;
	size_t i, k, n, cc, ns, stars;

	(void)state;
	for (i = 0; i < 50000; i++) {
		n = 8 + tm_rand(&seed) % 8;
		num[0] = '+';
		num[1] = (char)('1' + tm_rand(&seed) % 9);
		for (k = 2; k <= n; k++)
			num[k] = (char)('0' + tm_rand(&seed) % 10);
		num[n + 1] = '\0';
		assert_int_equal(vv_mask_phone(num, out, sizeof(out)), VV_OK);
		cc = vv_phone_country_code_len(num + 1);
		if (cc == 0)
			cc = 3;	/* unassigned codes are three digits */
		ns = stars = 0;
		for (k = 0; out[k] != '\0'; k++) {
			if (out[k] >= '0' && out[k] <= '9')
				shown[ns++] = out[k];
			stars += out[k] == '*';
			assert_non_null(strchr("+0123456789* -", out[k]));
		}
		memcpy(want, num + 1, cc + 1);
		memcpy(want + cc + 1, num + n - 1, 2);
		assert_int_equal(ns, cc + 3);
		assert_memory_equal(shown, want, ns);
		assert_int_equal(stars, n - cc - 3);
		assert_int_equal(out[1 + cc], ' ');
		assert_true(strlen(out) < VV_MASK_MAX);
	}
}

static void
test_email(void **state)
{
	static const struct tm_case ok[] = {
		{ "anna.1@example.ru", "a***@example.ru" },
		{ "x@b.c", "x***@b.c" },
		{ "ёлка@example.ru", "ё***@example.ru" },
		{ "\xf0\x9f\x98\x80z@example.ru", "\xf0\x9f\x98\x80***@example.ru" },
		{ "", "" },
	};
	static const char *const bad[] = {
		"Anna@example.ru", "anna@Example.ru", " anna@example.ru",
		"anna@example", "anna", "a b@example.ru", "\xc3\x28@x.ru",
	};
	char out[VV_MASK_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(vv_mask_email(ok[i].in, out, sizeof(out)),
		    VV_OK);
		assert_string_equal(out, ok[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(out, "junk", 5);
		assert_int_equal(vv_mask_email(bad[i], out, sizeof(out)),
		    VV_ERR_INPUT);
		assert_string_equal(out, "");
	}
	assert_int_equal(vv_mask_email("a@b.c", out, VV_MASK_MAX - 1),
	    VV_ERR_INVALID);
}

/* A domain too long for the mask keeps only its last labels, after
 * "*.", and the mask still fits. */
static void
test_email_long_domain(void **state)
{
	char in[VV_EMAIL_MAX], out[VV_MASK_MAX], want[VV_MASK_MAX];
	char *p = in;
	size_t i;

	(void)state;
	memcpy(p, "secret@", 7);
	p += 7;
	for (i = 0; i < 4; i++) {
		memset(p, (int)('a' + i), 40);
		p[40] = '.';
		p += 41;
	}
	memcpy(p, "example.ru", 11);	/* domain: 4 x 41 + 10 = 174 */
	assert_int_equal(vv_mask_email(in, out, sizeof(out)), VV_OK);
	/* Two 40-byte labels and "example.ru" would be 92 bytes: too many. */
	p = want;
	memcpy(p, "s***@*.", 7);
	p += 7;
	memset(p, 'd', 40);
	memcpy(p + 40, ".example.ru", 12);
	assert_string_equal(out, want);
	assert_true(strlen(out) < VV_MASK_MAX);

	/* With a one-byte first character, 90 bytes of domain fit whole. */
	memset(in + 7, 'q', 60);
	in[7 + 60] = '.';
	memset(in + 7 + 61, 'r', 26);
	memcpy(in + 7 + 87, ".ru", 4);
	assert_int_equal(vv_mask_email(in, out, sizeof(out)), VV_OK);
	assert_int_equal(strlen(out), VV_MASK_MAX - 1);
	assert_string_equal(out + 5, in + 7);
	/* 91 do not. */
	memset(in + 7 + 61, 'r', 27);
	memcpy(in + 7 + 88, ".ru", 4);
	assert_int_equal(vv_mask_email(in, out, sizeof(out)), VV_OK);
	assert_string_equal(out, "s***@*.rrrrrrrrrrrrrrrrrrrrrrrrrrr.ru");
}

static void
test_address(void **state)
{
	static const struct tm_case ok[] = {
		{ "ул. Тверская, д. 7, кв. 12", "у***" },
		{ "1 Market St, San Francisco, CA", "1***" },
		{ "\xe2\x82\xac", "\xe2\x82\xac***" },
		{ "\xf0\x9f\x8f\xa0 home", "\xf0\x9f\x8f\xa0***" },
		{ "x", "x***" },
		{ "", "" },
	};
	static const char *const bad[] = {
		"\xff street", "\xd1", "\xc0\x80x", "\xed\xa0\x80x",
		"\xf4\x90\x80\x80",
	};
	char out[VV_MASK_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(vv_mask_address(ok[i].in, out, sizeof(out)),
		    VV_OK);
		assert_string_equal(out, ok[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vv_mask_address(bad[i], out, sizeof(out)),
		    VV_ERR_INPUT);
	assert_int_equal(vv_mask_address("x", out, 4), VV_ERR_INVALID);
}

/* Masking composes with normalising: any accepted spelling masks. */
static void
test_normalized_masks(void **state)
{
	static const char *const phones[] = {
		"+7 (993) 181-01-11", "8 928 359 56 13", "+1-415-555-6890",
		"+86 150 7787 5488", "0044 20 7946 0958",
	};
	char norm[VV_PHONE_MAX], out[VV_MASK_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(phones) / sizeof(phones[0]); i++) {
		assert_int_equal(vv_phone_normalize(phones[i], norm,
		    sizeof(norm), NULL), VV_OK);
		assert_int_equal(vv_mask_phone(norm, out, sizeof(out)), VV_OK);
		assert_memory_equal(out, norm, 2);
	}
	assert_int_equal(vv_phone_normalize("8 928 359 56 13", norm,
	    sizeof(norm), NULL), VV_OK);
	assert_int_equal(vv_mask_phone(norm, out, sizeof(out)), VV_OK);
	assert_string_equal(out, "+7 9** ***-**-13");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_examples),
		cmocka_unit_test(test_phone_refused),
		cmocka_unit_test(test_country_codes),
		cmocka_unit_test(test_phone_reveals_little),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_email_long_domain),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_normalized_masks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
