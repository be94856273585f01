/*
 * test_softfido_state.c - the soft authenticator's state file (creation,
 * ownership and mode checks, a strict parser, knobs) and its CBOR entry
 * point fed by hand: what the fuzzer drives, with known answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "testlib.h"
#include "hsm/softfido.h"

struct fx {
	char	*dir;
	char	*path;
	char	*good;		/* the state as created */
	size_t	 goodlen;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL || (f->dir = tl_tmpdir("softfido-state")) == NULL ||
	    (f->path = tl_join(f->dir, "token")) == NULL ||
	    vv_softfido_create(f->path, "2580", err, sizeof(err)) != 0 ||
	    (f->good = tl_read_file(f->path, &f->goodlen)) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tl_rmrf(f->dir);
	free(f->dir);
	free(f->path);
	free(f->good);
	free(f);
	return 0;
}

/* The secret's hex, to check that no message ever shows it. */
static void
secret_hex(const struct fx *f, char *out, size_t outlen)
{
	const char *p = strstr(f->good, "\nsecret ");

	assert_non_null(p);
	assert_true(outlen > 64);
	memcpy(out, p + 8, 64);
	out[64] = '\0';
}

static void
test_create(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char err[256] = "";
	char *other;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(strncmp(f->good, "vipvault-softfido 1\nsecret ", 27),
	    0);
	assert_non_null(strstr(f->good, "\ncounter 0\n"));
	assert_non_null(strstr(f->good, "\npin-retries 8\n"));
	assert_null(strstr(f->good, "\npin -\n"));
	assert_int_equal(vv_softfido_check(f->path, err, sizeof(err)), 0);
	/* Never over an existing state. */
	assert_int_equal(vv_softfido_create(f->path, NULL, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "exists"));
	assert_non_null(other = tl_join(f->dir, "other"));
	assert_int_equal(vv_softfido_create(other, "123", err, sizeof(err)),
	    -1);
	assert_int_equal(vv_softfido_create(other, "\xc3\x28\x41\x42", err,
	    sizeof(err)), -1);
	assert_int_equal(vv_softfido_create(other, "0123456789012345678901"
	    "2345678901234567890123456789012345678901234", err, sizeof(err)),
	    -1);
	assert_int_equal(access(other, F_OK), -1);
	/* Two tokens, two secrets. */
	assert_int_equal(vv_softfido_create(other, NULL, err, sizeof(err)), 0);
	free(other);
}

static void
expect_refused(struct fx *f, const char *what)
{
	char err[256] = "", secret[65];

	secret_hex(f, secret, sizeof(secret));
	assert_int_equal(vv_softfido_check(f->path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, what));
	assert_null(strstr(err, secret));
}

static void
test_mode_and_type(void **state)
{
	struct fx *f = *state;
	char *link;

	assert_int_equal(chmod(f->path, 0644), 0);
	expect_refused(f, "mode 0644");
	assert_int_equal(chmod(f->path, 0620), 0);
	expect_refused(f, "group or others");
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(vv_softfido_check(f->path, NULL, 0), 0);
	assert_non_null(link = tl_join(f->dir, "link"));
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(vv_softfido_check(link, NULL, 0), -1);
	free(link);
	assert_int_equal(vv_softfido_check(f->dir, NULL, 0), -1);
	assert_int_equal(vv_softfido_check("soft:/nonexistent/x", NULL, 0),
	    -1);
	/* The prefix is taken off. */
	assert_non_null(link = calloc(1, strlen(f->path) + 6));
	(void)sprintf(link, "soft:%s", f->path);
	assert_int_equal(vv_softfido_check(link, NULL, 0), 0);
	free(link);
}

/* Writes the good state with from replaced by to (the first time). */
static void
write_edit(struct fx *f, const char *from, const char *to)
{
	const char *p = strstr(f->good, from);
	char *s;
	size_t head;

	assert_non_null(p);
	head = (size_t)(p - f->good);
	assert_non_null(s = malloc(f->goodlen + strlen(to) + 1));
	memcpy(s, f->good, head);
	memcpy(s + head, to, strlen(to));
	memcpy(s + head + strlen(to), p + strlen(from),
	    f->goodlen - head - strlen(from));
	assert_int_equal(tl_write_file(f->path, s, f->goodlen - strlen(from) +
	    strlen(to)), 0);
	free(s);
}

static void
test_corrupt(void **state)
{
	static const struct {
		const char *from, *to, *msg;
	} edits[] = {
		{ "vipvault-softfido 1\n", "vipvault-softfido 2\n", "line 1" },
		{ "\ncounter 0\n", "\ncounter -1\n", "'counter'" },
		{ "\ncounter 0\n", "\ncounter 00\n", "'counter'" },
		{ "\ncounter 0\n", "\ncounter 4294967296\n", "'counter'" },
		{ "\ncounter 0\n", "\ncounter 1 \n", "'counter'" },
		{ "\ncounter 0\n", "\ncounter\n", "line 3" },
		{ "\ncounter 0\n", "\ncounter 0\ncounter 0\n", "duplicate" },
		{ "\ncounter 0\n", "\ncolour 0\n", "unknown key" },
		{ "\ncounter 0\n", "\n", "missing key 'counter'" },
		{ "\ncounter 0\n", "\n\n", "line 3" },
		{ "\ncounter 0\n", "\ncounter 0\r\n", "truncated or binary" },
		{ "\npin-retries 8\n", "\npin-retries 9\n", "'pin-retries'" },
		{ "\npresence allow\n", "\npresence maybe\n", "'presence'" },
		{ "\nfault none\n", "\nfault loud\n", "'fault'" },
		{ "\nprotocols 2,1\n", "\nprotocols 3\n", "'protocols'" },
		{ "\nprotocols 2,1\n", "\nprotocols 2,2,1\n", "'protocols'" },
		{ "\nctap 2.1\n", "\nctap 2.2\n", "'ctap'" },
		{ "\nsecret ", "\nsecret g", "'secret'" },
		{ "\nsecret ", "\nsecret 0", "'secret'" },
		{ "\npin ", "\npin 0", "'pin'" },
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		write_edit(f, edits[i].from, edits[i].to);
		expect_refused(f, edits[i].msg);
	}
	/* Truncated in a line, at a line's end, before the last newline. */
	assert_int_equal(tl_write_file(f->path, f->good, 40), 0);
	expect_refused(f, "truncated");
	assert_int_equal(tl_write_file(f->path, f->good,
	    (size_t)(strstr(f->good, "\nfault") - f->good) + 1), 0);
	expect_refused(f, "missing key 'fault'");
	assert_int_equal(tl_write_file(f->path, f->good, f->goodlen - 1), 0);
	expect_refused(f, "truncated");
	assert_int_equal(tl_write_file(f->path, "", 0), 0);
	expect_refused(f, "empty");
	assert_int_equal(tl_write_file(f->path, "vipvault-softfido 1\0\n", 21),
	    0);
	expect_refused(f, "binary");
	assert_int_equal(tl_write_file(f->path, f->good, f->goodlen), 0);
	assert_int_equal(vv_softfido_check(f->path, NULL, 0), 0);
}

static size_t
count_files(const char *dir)
{
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	(void)closedir(d);
	return n;
}

static void
test_knobs(void **state)
{
	struct fx *f = *state;
	char err[256];
	char *text;
	size_t len;

	assert_int_equal(vv_softfido_set(f->path, "presence", "deny", err,
	    sizeof(err)), 0);
	assert_int_equal(vv_softfido_set(f->path, "counter", "77", err,
	    sizeof(err)), 0);
	assert_non_null(text = tl_read_file(f->path, &len));
	assert_non_null(strstr(text, "\npresence deny\n"));
	assert_non_null(strstr(text, "\ncounter 77\n"));
	/* The rest, secret and PIN included, is as it was. */
	assert_int_equal(len, f->goodlen);
	assert_int_equal(memcmp(text, f->good, (size_t)(strstr(f->good,
	    "\ncounter") - f->good)), 0);
	free(text);
	assert_int_equal(vv_softfido_set(f->path, "secret", "00", err,
	    sizeof(err)), -1);
	assert_int_equal(vv_softfido_set(f->path, "pin", "-", err,
	    sizeof(err)), -1);
	assert_int_equal(vv_softfido_set(f->path, "counter", "x", err,
	    sizeof(err)), -1);
	assert_int_equal(vv_softfido_set(f->path, "fault", "wrong-hmac",
	    err, sizeof(err)), 0);
	assert_int_equal(vv_softfido_check(f->path, err, sizeof(err)), 0);
	/* Rewritten by rename: no temporary file left behind. */
	assert_int_equal(count_files(f->dir), 1);
}

/* One command through vv_softfido_cbor; returns the status byte. */
static int
cbor(struct vv_softfido *sf, const uint8_t *req, size_t len, size_t *n)
{
	static uint8_t reply[VV_SOFTFIDO_MSG_MAX];

	*n = vv_softfido_cbor(sf, req, len, reply, sizeof(reply));
	assert_true(*n >= 1 && *n <= sizeof(reply));
	return reply[0];
}

static void
test_cbor_direct(void **state)
{
	static const struct {
		uint8_t req[8];
		size_t len;
		int status;
	} cases[] = {
		{ { 0x04 }, 1, 0x00 },				/* getInfo */
		{ { 0x04, 0xa0 }, 2, 0x03 },
		{ { 0x00 }, 0, 0x03 },
		{ { 0x99 }, 1, 0x01 },
		{ { 0x07 }, 1, 0x01 },				/* reset */
		{ { 0x01 }, 1, 0x14 },
		{ { 0x01, 0xff }, 2, 0x12 },
		{ { 0x06, 0x01 }, 2, 0x11 },			/* not a map */
		{ { 0x06, 0xa1, 0x02, 0x02 }, 4, 0x14 },	/* no proto */
		{ { 0x06, 0xa2, 0x01, 0x03, 0x02, 0x02 }, 6, 0x02 },
		{ { 0x06, 0xa2, 0x01, 0x02, 0x02, 0x02 }, 6, 0x00 },
		{ { 0x06, 0xa2, 0x01, 0x02, 0x02, 0x02, 0x00 }, 7, 0x12 },
		{ { 0x06, 0xa2, 0x02, 0x02, 0x02, 0x02 }, 6, 0x12 },
		{ { 0x06, 0xa2, 0x01, 0x02, 0x02, 0x0f }, 6, 0x3e },
		{ { 0x06, 0xa1, 0x02, 0x01 }, 4, 0x00 },	/* retries */
		{ { 0x01, 0xbf, 0xff }, 3, 0x12 },		/* indefinite */
		/* An array claiming 2^32 - 1 items in 5 bytes. */
		{ { 0x01, 0x9a, 0xff, 0xff, 0xff, 0xff }, 6, 0x12 },
		{ { 0x02, 0xa1, 0x01, 0x61, 0x78 }, 5, 0x14 },	/* no cdh */
	};
	struct fx *f = *state;
	struct vv_softfido *sf = NULL;
	uint8_t *big;
	size_t i, n;

	assert_int_equal(vv_softfido_load(f->path, &sf), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cbor(sf, cases[i].req, cases[i].len, &n) != cases[i].status)
			fail_msg("case %zu: status 0x%02x", i,
			    cbor(sf, cases[i].req, cases[i].len, &n));
		if (cases[i].status != 0)
			assert_int_equal(n, 1);
	}
	assert_non_null(big = calloc(1, VV_SOFTFIDO_MSG_MAX + 1));
	big[0] = 0x04;
	assert_int_equal(cbor(sf, big, VV_SOFTFIDO_MSG_MAX + 1, &n), 0x03);
	free(big);
	vv_softfido_free(&sf);
	assert_null(sf);
	vv_softfido_free(&sf);
	assert_int_equal(chmod(f->path, 0604), 0);
	assert_int_equal(vv_softfido_load(f->path, &sf), -1);
	assert_null(sf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_and_type, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_knobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cbor_direct, setup,
		    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
