/*
 * test_csv.c - the streaming CSV reader: RFC 4180 forms, every error with
 * its line and column, size limits, buffer refills and the sample file.
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

#define SAMPLE "tests/data/clients-10k.csv"
#define READBUF 65536u	/* the reader's block size, for refill tests */

struct tcsv {
	FILE *fp;
	vv_csv *c;
};

static void
tcsv_open(struct tcsv *t, const void *data, size_t len)
{
	t->fp = fmemopen((void *)(uintptr_t)data, len, "r");
	assert_non_null(t->fp);
	assert_int_equal(vv_csv_new(&t->c, t->fp), VV_OK);
}

static void
tcsv_close(struct tcsv *t)
{
	vv_csv_free(&t->c);
	assert_null(t->c);
	fclose(t->fp);
}

/* Reads one record and checks it against want (nf strings). */
static void
tcsv_expect(struct tcsv *t, size_t nf, const char *const *want)
{
	size_t n, i, len;
	const char *f;

	assert_int_equal(vv_csv_next(t->c, &n), VV_OK);
	assert_int_equal(n, nf);
	for (i = 0; i < nf; i++) {
		f = vv_csv_field(t->c, i, &len);
		assert_non_null(f);
		assert_string_equal(f, want[i]);
		assert_int_equal(len, strlen(want[i]));
	}
	assert_null(vv_csv_field(t->c, nf, NULL));
}

static void
tcsv_expect_eof(struct tcsv *t)
{
	size_t n = 99;

	assert_int_equal(vv_csv_next(t->c, &n), VV_OK);
	assert_int_equal(n, 0);
}

/* Reads records until an error; checks message, line and column, and
 * that the error is sticky. */
static void
expect_error(const void *data, size_t len, const char *msg, uint64_t line,
    size_t col)
{
	struct tcsv t;
	size_t n;
	int r;

	tcsv_open(&t, data, len);
	while ((r = vv_csv_next(t.c, &n)) == VV_OK)
		assert_int_not_equal(n, 0);
	assert_int_equal(r, VV_ERR_INPUT);
	assert_string_equal(vv_csv_errmsg(t.c), msg);
	assert_int_equal(vv_csv_error_line(t.c), line);
	assert_int_equal(vv_csv_error_column(t.c), col);
	assert_int_equal(vv_csv_next(t.c, &n), VV_ERR_INPUT);
	assert_int_equal(n, 0);
	tcsv_close(&t);
}

#define S(lit) lit, sizeof(lit) - 1

/* Empty input, a lone BOM, a BOM before data and one inside it, and
 * multi-byte characters up to four bytes. */
static void
test_bom(void **state)
{
	static const char in[] = "\xef\xbb\xbf" "id,name\n\xef\xbb\xbfx,y\n"
	    "Дмитрий,\xf0\x9f\x98\x80\xef\xbf\xbf\n";
	const char *r1[] = { "id", "name" };
	const char *r2[] = { "\xef\xbb\xbfx", "y" };
	const char *r3[] = { "Дмитрий", "\xf0\x9f\x98\x80\xef\xbf\xbf" };
	struct tcsv t;

	(void)state;
	tcsv_open(&t, "", 0);
	tcsv_expect_eof(&t);
	tcsv_expect_eof(&t);
	assert_int_equal(vv_csv_offset(t.c), 0);
	tcsv_close(&t);

	tcsv_open(&t, in, 3);
	tcsv_expect_eof(&t);
	assert_int_equal(vv_csv_offset(t.c), 3);
	tcsv_close(&t);

	tcsv_open(&t, S(in));
	tcsv_expect(&t, 2, r1);
	/* Only the very first bytes are a BOM; later it is data. */
	tcsv_expect(&t, 2, r2);
	tcsv_expect(&t, 2, r3);
	tcsv_expect_eof(&t);
	tcsv_close(&t);
}

static void
test_line_ends(void **state)
{
	static const char in[] = "a,b\r\nc,d\ne,f";
	const char *r1[] = { "a", "b" }, *r2[] = { "c", "d" };
	const char *r3[] = { "e", "f" };
	struct tcsv t;

	(void)state;
	tcsv_open(&t, S(in));
	tcsv_expect(&t, 2, r1);
	assert_int_equal(vv_csv_line(t.c), 1);
	assert_int_equal(vv_csv_offset(t.c), 5);
	tcsv_expect(&t, 2, r2);
	assert_int_equal(vv_csv_line(t.c), 2);
	assert_int_equal(vv_csv_offset(t.c), 9);
	tcsv_expect(&t, 2, r3);	/* no final newline */
	assert_int_equal(vv_csv_line(t.c), 3);
	tcsv_expect_eof(&t);
	assert_int_equal(vv_csv_offset(t.c), sizeof(in) - 1);
	tcsv_close(&t);
}

static void
test_empty_fields(void **state)
{
	static const char in[] = "a\n\r\n\n,\na,\n\"\"\nb,";
	const char *a[] = { "a" }, *e1[] = { "" }, *e2[] = { "", "" };
	const char *a2[] = { "a", "" };
	struct tcsv t;

	(void)state;
	tcsv_open(&t, S(in));
	tcsv_expect(&t, 1, a);
	tcsv_expect(&t, 1, e1);		/* blank CRLF line */
	tcsv_expect(&t, 1, e1);		/* blank LF line */
	tcsv_expect(&t, 2, e2);
	tcsv_expect(&t, 2, a2);
	tcsv_expect(&t, 1, e1);		/* "" */
	a2[0] = "b";
	tcsv_expect(&t, 2, a2);		/* trailing comma at EOF */
	tcsv_expect_eof(&t);
	tcsv_close(&t);
}

static void
test_quotes(void **state)
{
	static const char in[] =
	    "\"a,b\",\"say \"\"hi\"\"\",\"\",\"\"\"\"\r\n"
	    "\"l1\nl2\",\"c\r\nd\",x\n"
	    "\"end\"";
	const char *r1[] = { "a,b", "say \"hi\"", "", "\"" };
	const char *r2[] = { "l1\nl2", "c\r\nd", "x" };
	const char *r3[] = { "end" };
	struct tcsv t;

	(void)state;
	tcsv_open(&t, S(in));
	tcsv_expect(&t, 4, r1);
	tcsv_expect(&t, 3, r2);
	assert_int_equal(vv_csv_line(t.c), 2);
	tcsv_expect(&t, 1, r3);
	assert_int_equal(vv_csv_line(t.c), 5);
	tcsv_expect_eof(&t);
	tcsv_close(&t);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error(S("a,\"b\n"), "unterminated quoted field", 1, 2);
	expect_error(S("x\ny,\"b\nc\nd"), "unterminated quoted field", 2, 2);
	expect_error(S("a,b\"c\n"), "quote in unquoted field", 1, 2);
	expect_error(S("a\n \"b\"\n"), "quote in unquoted field", 2, 1);
	expect_error(S("a\n\"b\"c\n"), "text after closing quote", 2, 1);
	expect_error(S("\"b\" ,c\n"), "text after closing quote", 1, 1);
	expect_error(S("a,\xff\n"), "invalid UTF-8", 1, 2);
	expect_error(S("a\n\"x\ny\xc3\x28\"\n"), "invalid UTF-8", 3, 1);
	expect_error(S("\xc0\xaf\n"), "invalid UTF-8", 1, 1);	/* overlong */
	expect_error(S("\xe0\x80\xaf"), "invalid UTF-8", 1, 1);	/* overlong */
	expect_error(S("\xed\xa0\x80"), "invalid UTF-8", 1, 1);	/* surrogate */
	expect_error(S("\xf4\x90\x80\x80"), "invalid UTF-8", 1, 1);
	expect_error(S("a,b,\xe2\x82"), "invalid UTF-8", 1, 3);	/* cut */
	expect_error(S("\x80\n"), "invalid UTF-8", 1, 1);
	expect_error(S("a,b\0c\n"), "NUL byte", 1, 2);
	expect_error(S("ok\n\"q\nq\0\"\n"), "NUL byte", 3, 1);
	expect_error(S("a\rb\n"), "bare carriage return", 1, 1);
	expect_error(S("a\nb,c\r"), "bare carriage return", 2, 2);
	expect_error(S("\"a\"\rb\n"), "bare carriage return", 1, 1);
	expect_error(S("a,\r\r\n"), "bare carriage return", 1, 2);
}

/* A record of n fields "f" joined by commas. */
static char *
many_fields(size_t n, size_t *len)
{
	char *s = malloc(2 * n + 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++) {
		s[2 * i] = 'f';
		s[2 * i + 1] = i + 1 == n ? '\n' : ',';
	}
	s[2 * n] = '\0';
	*len = 2 * n;
	return s;
}

static void
test_field_count(void **state)
{
	struct tcsv t;
	size_t len, n;
	char *s;

	(void)state;
	s = many_fields(VV_CSV_MAX_FIELDS, &len);
	tcsv_open(&t, s, len);
	assert_int_equal(vv_csv_next(t.c, &n), VV_OK);
	assert_int_equal(n, VV_CSV_MAX_FIELDS);
	assert_string_equal(vv_csv_field(t.c, VV_CSV_MAX_FIELDS - 1, NULL),
	    "f");
	tcsv_close(&t);
	free(s);

	s = many_fields(VV_CSV_MAX_FIELDS + 1, &len);
	expect_error(s, len, "too many fields", 1, VV_CSV_MAX_FIELDS + 1);
	/* A comma after the last allowed field opens one too many. */
	s[2 * VV_CSV_MAX_FIELDS] = '\n';
	expect_error(s, 2 * VV_CSV_MAX_FIELDS + 1, "too many fields", 1,
	    VV_CSV_MAX_FIELDS + 1);
	free(s);
}

/* "x\n" then one field of n 'a' bytes, quoted if quote, then "\n". */
static char *
long_field(size_t n, int quote, size_t *len)
{
	char *s = malloc(n + 6), *p = s;

	assert_non_null(s);
	memcpy(p, "x\n", 2);
	p += 2;
	if (quote)
		*p++ = '"';
	memset(p, 'a', n);
	p += n;
	if (quote)
		*p++ = '"';
	*p++ = '\n';
	*len = (size_t)(p - s);
	return s;
}

static void
test_field_size(void **state)
{
	const char *f;
	struct tcsv t;
	size_t len, n, flen;
	int quote;
	char *s;

	(void)state;
	for (quote = 0; quote < 2; quote++) {
		s = long_field(VV_CSV_MAX_FIELD, quote, &len);
		tcsv_open(&t, s, len);
		assert_int_equal(vv_csv_next(t.c, &n), VV_OK);
		assert_int_equal(vv_csv_next(t.c, &n), VV_OK);
		assert_int_equal(n, 1);
		f = vv_csv_field(t.c, 0, &flen);
		assert_int_equal(flen, VV_CSV_MAX_FIELD);
		assert_int_equal(strspn(f, "a"), VV_CSV_MAX_FIELD);
		tcsv_expect_eof(&t);
		tcsv_close(&t);
		free(s);

		s = long_field(VV_CSV_MAX_FIELD + 1, quote, &len);
		expect_error(s, len, "field too long", 2, 1);
		free(s);
	}
}

/* k fields: all but the last of VV_CSV_MAX_FIELD bytes, the last of
 * tail bytes. */
static char *
big_record(size_t k, size_t tail, size_t *len)
{
	size_t i, cap = k * (VV_CSV_MAX_FIELD + 1) + 1;
	char *s = malloc(cap), *p = s;

	assert_non_null(s);
	for (i = 0; i < k; i++) {
		if (i > 0)
			*p++ = ',';
		memset(p, 'b', i + 1 == k ? tail : VV_CSV_MAX_FIELD);
		p += i + 1 == k ? tail : VV_CSV_MAX_FIELD;
	}
	*len = (size_t)(p - s);
	return s;
}

static void
test_record_size(void **state)
{
	size_t per = VV_CSV_MAX_RECORD / VV_CSV_MAX_FIELD;
	size_t len, n, i, flen, total = 0;
	struct tcsv t;
	char *s;

	(void)state;
	/* Exactly VV_CSV_MAX_RECORD field bytes, plus an empty field. */
	s = big_record(per + 1, 0, &len);
	tcsv_open(&t, s, len);
	assert_int_equal(vv_csv_next(t.c, &n), VV_OK);
	assert_int_equal(n, per + 1);
	for (i = 0; i < n; i++) {
		assert_non_null(vv_csv_field(t.c, i, &flen));
		total += flen;
	}
	assert_int_equal(total, VV_CSV_MAX_RECORD);
	tcsv_expect_eof(&t);
	tcsv_close(&t);
	free(s);

	s = big_record(per + 1, 1, &len);
	expect_error(s, len, "record too long", 1, per + 1);
	free(s);
}

/* A CRLF and a doubled quote split across the reader's blocks. */
static void
test_refill_edges(void **state)
{
	size_t len = READBUF + 16, n, flen;
	char *s = malloc(len);
	struct tcsv t;
	const char *f;

	(void)state;
	assert_non_null(s);
	/* Record 1 ends with "\r" as the block's last byte. */
	memset(s, 'a', READBUF - 1);
	s[READBUF - 1] = '\r';
	memcpy(s + READBUF, "\n\"\"\"\"\n", 6);
	tcsv_open(&t, s, READBUF + 6);
	assert_int_equal(vv_csv_next(t.c, &n), VV_OK);
	assert_int_equal(n, 1);
	assert_non_null(vv_csv_field(t.c, 0, &flen));
	assert_int_equal(flen, READBUF - 1);
	f = vv_csv_field(t.c, 0, NULL);
	assert_int_equal(strspn(f, "a"), READBUF - 1);
	assert_int_equal(vv_csv_next(t.c, &n), VV_OK);
	assert_string_equal(vv_csv_field(t.c, 0, NULL), "\"");
	tcsv_expect_eof(&t);
	tcsv_close(&t);

	/* "x,\"...": the doubled quote straddles the boundary. */
	memcpy(s, "x,\"", 3);
	memset(s + 3, 'q', READBUF - 4);
	memcpy(s + READBUF - 1, "\"\"z\xd0\xb4\"\n", 7);
	tcsv_open(&t, s, READBUF + 6);
	assert_int_equal(vv_csv_next(t.c, &n), VV_OK);
	assert_int_equal(n, 2);
	f = vv_csv_field(t.c, 1, &flen);
	assert_int_equal(flen, READBUF - 4 + 4);
	assert_string_equal(f + READBUF - 4, "\"z\xd0\xb4");
	tcsv_expect_eof(&t);
	tcsv_close(&t);

	/* A two-byte character split by the boundary is still valid. */
	memcpy(s, "x,", 2);
	memset(s + 2, 'a', READBUF - 3);
	memcpy(s + READBUF - 1, "\xd0\xb4\n", 3);
	tcsv_open(&t, s, READBUF + 2);
	assert_int_equal(vv_csv_next(t.c, &n), VV_OK);
	assert_int_equal(n, 2);
	f = vv_csv_field(t.c, 1, &flen);
	assert_int_equal(flen, READBUF - 1);
	assert_string_equal(f + READBUF - 3, "\xd0\xb4");
	tcsv_expect_eof(&t);
	tcsv_close(&t);
	free(s);
}

/* Records of growing length cross the block boundary at every phase. */
static void
test_refill_sweep(void **state)
{
	size_t cap = 4 * READBUF, len = 0, i, n, flen, count = 0;
	char *s = malloc(cap), want[160];
	struct tcsv t;
	int w;

	(void)state;
	assert_non_null(s);
	for (i = 0; len + 700 < cap; i++) {
		memset(want, 'a' + (int)(i % 26), i % 150);
		want[i % 150] = '\0';
		w = snprintf(s + len, cap - len, "%zu,\"%s\"\"\n%s\",%s\r\n",
		    i, want, want, want);
		assert_true(w > 0);
		len += (size_t)w;
	}
	tcsv_open(&t, s, len);
	while (vv_csv_next(t.c, &n) == VV_OK && n != 0) {
		assert_int_equal(n, 3);
		assert_int_equal(strtoul(vv_csv_field(t.c, 0, NULL), NULL, 10),
		    count);
		assert_int_equal(vv_csv_line(t.c), 2 * count + 1);
		memset(want, 'a' + (int)(count % 26), count % 150);
		want[count % 150] = '\0';
		assert_string_equal(vv_csv_field(t.c, 2, &flen), want);
		assert_int_equal(flen, count % 150);
		assert_int_equal(vv_csv_field(t.c, 1, NULL)[count % 150], '"');
		count++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(count, i);
	assert_int_equal(vv_csv_offset(t.c), len);
	tcsv_close(&t);
	free(s);
}

static void
test_io_error(void **state)
{
	FILE *fp = fopen("/dev/null", "w");
	vv_csv *c;
	size_t n;

	(void)state;
	assert_non_null(fp);
	assert_int_equal(vv_csv_new(&c, fp), VV_OK);
	assert_int_equal(vv_csv_next(c, &n), VV_ERR_IO);
	assert_int_equal(n, 0);
	assert_string_equal(vv_csv_errmsg(c), "read error");
	vv_csv_free(&c);
	vv_csv_free(&c);	/* freeing NULL is harmless */
	fclose(fp);
}

static void
test_sample(void **state)
{
	FILE *fp = fopen(SAMPLE, "rb");
	size_t n, records = 0, multiline = 0;
	uint64_t line = 0;
	vv_csv *c;

	(void)state;
	assert_non_null(fp);
	assert_int_equal(vv_csv_new(&c, fp), VV_OK);
	assert_int_equal(vv_csv_next(c, &n), VV_OK);
	assert_int_equal(n, 9);
	assert_string_equal(vv_csv_field(c, 0, NULL), "external_id");
	assert_string_equal(vv_csv_field(c, 8, NULL), "notes");
	while (vv_csv_next(c, &n) == VV_OK && n != 0) {
		assert_int_equal(n, 9);
		assert_true(vv_csv_line(c) > line);
		multiline += vv_csv_line(c) > line + 1;
		line = vv_csv_line(c);
		assert_int_equal(vv_csv_field(c, 0, NULL)[0], 'C');
		records++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(records, 10000);
	assert_true(multiline > 0);
	assert_int_equal(vv_csv_offset(c), (uint64_t)ftell(fp));
	vv_csv_free(&c);
	fclose(fp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_empty_fields),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_field_count),
		cmocka_unit_test(test_field_size),
		cmocka_unit_test(test_record_size),
		cmocka_unit_test(test_refill_edges),
		cmocka_unit_test(test_refill_sweep),
		cmocka_unit_test(test_io_error),
		cmocka_unit_test(test_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
