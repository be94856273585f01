/*
 * test_event.c - the compliance log entry codec: one encoding per event,
 * everything else refused, in both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/event.h"
#include "vault/internal.h"

#define HDR_LEN 24
#define BIG (HDR_LEN + 3 + 65535 + 3)

/* A heartbeat, seq 1, time 2, outcome ok: the header of hand-made
 * entries. */
static const uint8_t hdr[HDR_LEN] = {
	'V', 'V', 'E', 'V', 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0, 0, 0, 0, 2, 0
};

static struct vv_event *
new_event(void)
{
	struct vv_event *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	return e;
}

/* Every field set. */
static struct vv_event *
rich(void)
{
	struct vv_event *e = new_event();
	size_t i;

	e->type = VV_EV_APPROVAL;
	e->seq = 0x0102030405060708ull;
	e->time_ms = 1700000000123;
	e->outcome = VV_OUT_DENIED;
	(void)snprintf(e->actor, sizeof(e->actor), "administrator");
	(void)snprintf(e->role, sizeof(e->role), "vipdesk");
	(void)snprintf(e->token_id, sizeof(e->token_id), "0123456789abcdef");
	(void)snprintf(e->request_id, sizeof(e->request_id), "%s",
	    "00112233445566778899aabbccddeeff");
	(void)snprintf(e->manager, sizeof(e->manager), "kate.m_1-x@corp");
	e->has_classes = 1;
	e->classes = 1u << VV_CLASS_CONTACT | 1u << VV_CLASS_MASKED;
	e->nrefs = 3;
	for (i = 0; i < e->nrefs; i++)
		memset(e->refs[i], 0x10 + (int)i, VV_EVENT_REF_LEN);
	e->has_count = 1;
	e->count = UINT64_MAX;
	(void)snprintf(e->detail, sizeof(e->detail), "Продление договора");
	e->cred_id_len = 70;
	memset(e->cred_id, 0xc1, e->cred_id_len);
	e->has_aaguid = 1;
	memset(e->aaguid, 0xa0, sizeof(e->aaguid));
	e->has_sign_count = 1;
	e->sign_count = 0xfffffffe;
	e->authdata_len = 37;
	memset(e->authdata, 0xad, e->authdata_len);
	e->sig_len = 71;
	memset(e->sig, 0x51, e->sig_len);
	e->has_challenge = 1;
	memset(e->challenge, 0xcc, sizeof(e->challenge));
	e->pubkey_len = 77;
	memset(e->pubkey, 0x9b, e->pubkey_len);
	e->has_alg = 1;
	e->alg = -7;
	e->has_digest = 1;
	memset(e->digest, 0xd1, sizeof(e->digest));
	e->has_epoch = 1;
	e->epoch = 3;
	e->has_threshold = 1;
	e->threshold = 255;
	e->has_expires = 1;
	e->expires = -1;
	e->has_tree_size = 1;
	e->tree_size = 42;
	e->has_root = 1;
	memset(e->root, 0x77, sizeof(e->root));
	return e;
}

static uint8_t *
encode(const struct vv_event *e, size_t *len)
{
	uint8_t *enc = malloc(VV_EVENT_ENC_MAX + 1);

	assert_non_null(enc);
	assert_int_equal(vv_event_encode(e, enc, len), VV_OK);
	assert_true(*len <= VV_EVENT_ENC_MAX);
	return enc;
}

/* Decodes b, which must be accepted and encode back to itself. */
static void
accept_bytes(const uint8_t *b, size_t n)
{
	struct vv_event *e = new_event();
	uint8_t *again;
	size_t len;
	char err[160];

	if (vv_event_decode(b, n, e, err, sizeof(err)) != VV_OK)
		fail_msg("refused: %s", err);
	again = encode(e, &len);
	assert_int_equal(len, n);
	assert_memory_equal(again, b, n);
	free(again);
	free(e);
}

/* Decodes b, which must be refused with a message holding why, leaving
 * the event zeroed. */
static void
refuse_bytes(const uint8_t *b, size_t n, const char *why)
{
	struct vv_event *e = new_event(), *zero = new_event();
	char err[160] = "";

	memset(e, 0x5a, sizeof(*e));
	assert_int_equal(vv_event_decode(b, n, e, err, sizeof(err)),
	    VV_ERR_INPUT);
	if (strstr(err, why) == NULL)
		fail_msg("'%s' lacks '%s'", err, why);
	assert_memory_equal(e, zero, sizeof(*e));
	free(e);
	free(zero);
}

/* The heartbeat header, then one field. */
static size_t
one_field(uint8_t *b, unsigned tag, const void *v, size_t n)
{
	memcpy(b, hdr, HDR_LEN);
	b[HDR_LEN] = (uint8_t)tag;
	b[HDR_LEN + 1] = (uint8_t)(n >> 8);
	b[HDR_LEN + 2] = (uint8_t)n;
	if (n > 0)
		memcpy(b + HDR_LEN + 3, v, n);
	return HDR_LEN + 3 + n;
}

static void
field_ok(unsigned tag, const void *v, size_t n)
{
	uint8_t *b = malloc(BIG);

	assert_non_null(b);
	accept_bytes(b, one_field(b, tag, v, n));
	free(b);
}

static void
field_bad(unsigned tag, const void *v, size_t n, const char *why)
{
	uint8_t *b = malloc(BIG);

	assert_non_null(b);
	refuse_bytes(b, one_field(b, tag, v, n), why);
	free(b);
}

static void
test_round_trip(void **state)
{
	struct vv_event *e = rich(), *back = new_event();
	uint8_t *enc, *again;
	size_t len, len2;
	char err[160];

	(void)state;
	enc = encode(e, &len);
	assert_memory_equal(enc, "VVEV\x01\x00\x29", 7);
	assert_int_equal(vv_event_decode(enc, len, back, err, sizeof(err)),
	    VV_OK);
	assert_int_equal(back->type, e->type);
	assert_true(back->seq == e->seq && back->time_ms == e->time_ms);
	assert_int_equal(back->outcome, e->outcome);
	assert_string_equal(back->actor, e->actor);
	assert_string_equal(back->role, e->role);
	assert_string_equal(back->token_id, e->token_id);
	assert_string_equal(back->request_id, e->request_id);
	assert_string_equal(back->manager, e->manager);
	assert_string_equal(back->detail, e->detail);
	assert_true(back->has_classes && back->classes == e->classes);
	assert_int_equal(back->nrefs, e->nrefs);
	assert_memory_equal(back->refs, e->refs, sizeof(e->refs));
	assert_true(back->has_count && back->count == UINT64_MAX);
	assert_int_equal(back->cred_id_len, e->cred_id_len);
	assert_memory_equal(back->cred_id, e->cred_id, e->cred_id_len);
	assert_int_equal(back->authdata_len, e->authdata_len);
	assert_int_equal(back->sig_len, e->sig_len);
	assert_int_equal(back->pubkey_len, e->pubkey_len);
	assert_memory_equal(back->pubkey, e->pubkey, e->pubkey_len);
	assert_true(back->has_aaguid && back->has_challenge &&
	    back->has_digest && back->has_root);
	assert_memory_equal(back->root, e->root, 32);
	assert_true(back->has_sign_count && back->sign_count == 0xfffffffe);
	assert_true(back->has_alg && back->alg == -7);
	assert_true(back->has_epoch && back->epoch == 3);
	assert_true(back->has_threshold && back->threshold == 255);
	assert_true(back->has_expires && back->expires == -1);
	assert_true(back->has_tree_size && back->tree_size == 42);
	again = encode(back, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, enc, len);
	free(e);
	free(back);
	free(enc);
	free(again);
}

/* Every field at its largest fits VV_EVENT_ENC_MAX and round-trips. */
static void
test_largest(void **state)
{
	struct vv_event *e = rich();
	uint8_t *enc;
	size_t len;

	(void)state;
	memset(e->actor, 'a', VV_EVENT_NAME_MAX - 1);
	memset(e->role, 'r', VV_EVENT_NAME_MAX - 1);
	memset(e->manager, 'm', VV_EVENT_NAME_MAX - 1);
	memset(e->detail, 'd', VV_EVENT_TEXT_MAX);
	e->nrefs = VV_EVENT_REFS_MAX;
	e->cred_id_len = e->authdata_len = e->sig_len = e->pubkey_len =
	    VV_EVENT_BLOB_MAX;
	enc = encode(e, &len);
	assert_int_equal(len, 9156);
	accept_bytes(enc, len);
	free(enc);
	free(e);
}

static void
test_known_answer(void **state)
{
	static const uint8_t read_kat[] = {
		0x56, 0x56, 0x45, 0x56, 0x01, 0x00, 0x32,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b,
		0x01,
		0x01, 0x00, 0x04, 0x64, 0x61, 0x6e, 0x61,
		0x06, 0x00, 0x01, 0x04,
		0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x03,
	};
	static const uint8_t enrol_kat[] = {
		0x56, 0x56, 0x45, 0x56, 0x01, 0x00, 0x1e,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00,
		0x05, 0x00, 0x04, 0x6b, 0x61, 0x74, 0x65,
		0x0c, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04,
		0x11, 0x00, 0x04, 0xff, 0xff, 0xff, 0xf8,
		0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
	};
	struct vv_event *e = new_event();
	uint8_t *enc;
	size_t len;

	(void)state;
	e->type = VV_EV_RECORD_READ;
	e->seq = 7;
	e->time_ms = 1700000000123;
	e->outcome = VV_OUT_DENIED;
	(void)snprintf(e->actor, sizeof(e->actor), "dana");
	e->has_classes = 1;
	e->classes = 1u << VV_CLASS_CONTACT;
	e->has_count = 1;
	e->count = 3;
	enc = encode(e, &len);
	assert_int_equal(len, sizeof(read_kat));
	assert_memory_equal(enc, read_kat, len);
	free(enc);

	memset(e, 0, sizeof(*e));
	e->type = VV_EV_MANAGER_ENROLLED;
	e->seq = 0x0102030405060708ull;
	(void)snprintf(e->manager, sizeof(e->manager), "kate");
	e->has_sign_count = 1;
	e->sign_count = 0x01020304;
	e->has_alg = 1;
	e->alg = -8;
	e->has_epoch = 1;
	e->epoch = 1;
	enc = encode(e, &len);
	assert_int_equal(len, sizeof(enrol_kat));
	assert_memory_equal(enc, enrol_kat, len);
	accept_bytes(read_kat, sizeof(read_kat));
	accept_bytes(enrol_kat, sizeof(enrol_kat));
	free(enc);
	free(e);
}

/*
 * Every strict prefix is refused, except one that ends exactly after the
 * header or a whole field: that is the canonical encoding of the event
 * with fewer fields (the format carries no field count; the hash chain
 * covers an entry's length).
 */
static void
test_prefixes(void **state)
{
	struct vv_event *e = rich(), *back = new_event();
	uint8_t *enc;
	size_t len, i, next = HDR_LEN;
	char err[160];
	int boundaries = 0;

	(void)state;
	enc = encode(e, &len);
	for (i = 0; i < len; i++) {
		if (i == next) {
			accept_bytes(enc, i);
			next += 3 + ((size_t)enc[i + 1] << 8 | enc[i + 2]);
			boundaries++;
			continue;
		}
		assert_int_equal(vv_event_decode(enc, i, back, err,
		    sizeof(err)), VV_ERR_INPUT);
	}
	assert_int_equal(next, len);
	assert_int_equal(boundaries, VV_TAG_MAX);
	free(e);
	free(back);
	free(enc);
}

static void
test_trailing_bytes(void **state)
{
	struct vv_event *e = rich();
	uint8_t *enc, *b;
	size_t len;

	(void)state;
	enc = encode(e, &len);
	enc[len] = 0;
	refuse_bytes(enc, len + 1, "truncated field header");
	enc[len] = VV_TAG_ROOT;
	refuse_bytes(enc, len + 1, "truncated field header");
	/* A whole extra field after the last tag cannot be in order. */
	b = malloc(len + 4);
	assert_non_null(b);
	memcpy(b, enc, len);
	memcpy(b + len, "\x17\x00\x00", 3);
	refuse_bytes(b, len + 3, "root: out of order or repeated");
	free(b);
	free(enc);
	free(e);
}

static void
test_header_rules(void **state)
{
	uint8_t b[HDR_LEN];

	(void)state;
	accept_bytes(hdr, HDR_LEN);
	refuse_bytes(hdr, 0, "truncated header");
	refuse_bytes(NULL, 0, "truncated header");
	memcpy(b, hdr, HDR_LEN);
	b[0] = 'X';
	refuse_bytes(b, HDR_LEN, "not a version 1 log entry");
	memcpy(b, hdr, HDR_LEN);
	b[4] = 2;
	refuse_bytes(b, HDR_LEN, "not a version 1 log entry");
	b[4] = 0;
	refuse_bytes(b, HDR_LEN, "not a version 1 log entry");
	memcpy(b, hdr, HDR_LEN);
	b[6] = 0;
	refuse_bytes(b, HDR_LEN, "unknown type");
	b[6] = 5;	/* a gap between numbers */
	refuse_bytes(b, HDR_LEN, "unknown type");
	b[5] = 1;
	b[6] = VV_EV_HEARTBEAT;	/* 258 */
	refuse_bytes(b, HDR_LEN, "unknown type");
	memcpy(b, hdr, HDR_LEN);
	b[15] = 0x80;
	refuse_bytes(b, HDR_LEN, "negative time");
	memcpy(b, hdr, HDR_LEN);
	b[23] = 3;
	refuse_bytes(b, HDR_LEN, "unknown outcome");
	b[23] = 0xff;
	refuse_bytes(b, HDR_LEN, "unknown outcome");
	/* seq and time_ms take any value but a negative time. */
	memcpy(b, hdr, HDR_LEN);
	memset(b + 7, 0xff, 8);
	memset(b + 15, 0x7f, 1);
	memset(b + 16, 0xff, 7);
	accept_bytes(b, HDR_LEN);
}

static void
test_tag_order(void **state)
{
	uint8_t b[HDR_LEN + 32];
	size_t n;

	(void)state;
	/* count (8) before actor (1) */
	n = one_field(b, VV_TAG_COUNT, "\0\0\0\0\0\0\0\1", 8);
	memcpy(b + n, "\x01\x00\x01z", 4);
	refuse_bytes(b, n + 4, "actor: out of order or repeated");
	/* actor twice */
	n = one_field(b, VV_TAG_ACTOR, "y", 1);
	memcpy(b + n, "\x01\x00\x01z", 4);
	refuse_bytes(b, n + 4, "actor: out of order or repeated");
	/* in order: accepted */
	memcpy(b + n, "\x02\x00\x01z", 4);
	accept_bytes(b, n + 4);
	/* unknown tags, alone and after a field */
	field_bad(0, "x", 1, "unknown field tag");
	field_bad(VV_TAG_MAX + 1, "x", 1, "unknown field tag");
	field_bad(0xff, "", 0, "unknown field tag");
	memcpy(b + n, "\x18\x00\x01z", 4);
	refuse_bytes(b, n + 4, "unknown field tag");
	/* a value longer than what is left */
	n = one_field(b, VV_TAG_ACTOR, "dana", 4);
	refuse_bytes(b, n - 1, "actor: truncated");
}

static void
test_name_fields(void **state)
{
	char s[80];

	(void)state;
	memset(s, 'a', sizeof(s));
	field_ok(VV_TAG_ACTOR, "administrator", 13);
	field_ok(VV_TAG_ACTOR, s, VV_EVENT_NAME_MAX - 1);
	field_ok(VV_TAG_ACTOR, "A.b_c-d@e9", 10);
	field_bad(VV_TAG_ACTOR, s, VV_EVENT_NAME_MAX, "actor: bad length");
	field_bad(VV_TAG_ACTOR, "", 0, "actor: bad length");
	field_bad(VV_TAG_ACTOR, "da na", 5, "actor: bad character");
	field_bad(VV_TAG_ACTOR, "da\0na", 5, "actor: embedded NUL");
	field_bad(VV_TAG_ROLE, "vip/desk", 8, "role: bad character");
	field_bad(VV_TAG_ROLE, "", 0, "role: bad length");
	field_bad(VV_TAG_MANAGER, "kate!", 5, "manager: bad character");
	field_bad(VV_TAG_MANAGER, "kate\0", 5, "manager: embedded NUL");
	field_bad(VV_TAG_MANAGER, "k\xc3\xa4te", 5, "manager: bad character");
	field_ok(VV_TAG_TOKEN_ID, "0123456789abcdef", 16);
	field_bad(VV_TAG_TOKEN_ID, "0123456789abcde", 15,
	    "token id: bad length");
	field_bad(VV_TAG_TOKEN_ID, "0123456789ABCDEF", 16,
	    "token id: not lowercase hex");
	field_bad(VV_TAG_TOKEN_ID, "0123456789abcde\0", 16,
	    "token id: embedded NUL");
	field_ok(VV_TAG_REQUEST_ID, "00112233445566778899aabbccddeeff", 32);
	field_bad(VV_TAG_REQUEST_ID, "00112233445566778899aabbccddeefg", 32,
	    "request id: not lowercase hex");
	field_bad(VV_TAG_REQUEST_ID, "00112233445566778899aabbccddeeff0",
	    33, "request id: bad length");
}

static void
test_detail_field(void **state)
{
	char s[VV_EVENT_TEXT_MAX + 1];

	(void)state;
	memset(s, 'x', sizeof(s));
	field_ok(VV_TAG_DETAIL, "Продление договора", 35);
	field_ok(VV_TAG_DETAIL, "no\xc2\xa0" "break", 9);	/* U+00A0 */
	field_ok(VV_TAG_DETAIL, "\xf0\x9f\x94\x91", 4);
	field_ok(VV_TAG_DETAIL, s, VV_EVENT_TEXT_MAX);
	field_bad(VV_TAG_DETAIL, s, VV_EVENT_TEXT_MAX + 1,
	    "detail: bad length");
	field_bad(VV_TAG_DETAIL, "", 0, "detail: bad length");
	field_bad(VV_TAG_DETAIL, "a\nb", 3, "detail: control character");
	field_bad(VV_TAG_DETAIL, "\x1b[2J", 4, "detail: control character");
	field_bad(VV_TAG_DETAIL, "a\x7f", 2, "detail: control character");
	field_bad(VV_TAG_DETAIL, "a\xc2\x85", 3, "detail: control character");
	field_bad(VV_TAG_DETAIL, "a\xc2\x9b", 3, "detail: control character");
	field_bad(VV_TAG_DETAIL, "a\0b", 3, "detail: embedded NUL");
	field_bad(VV_TAG_DETAIL, "a\xc3", 2, "detail: not UTF-8");
	field_bad(VV_TAG_DETAIL, "\xc0\xaf", 2, "detail: not UTF-8");
	field_bad(VV_TAG_DETAIL, "\xed\xa0\x80", 3, "detail: not UTF-8");
	field_bad(VV_TAG_DETAIL, "\xff", 1, "detail: not UTF-8");
}

static void
test_small_fields(void **state)
{
	(void)state;
	field_ok(VV_TAG_CLASSES, "\x1e", 1);
	field_ok(VV_TAG_CLASSES, "\x02", 1);
	field_bad(VV_TAG_CLASSES, "\x00", 1, "classes: unknown class");
	field_bad(VV_TAG_CLASSES, "\x01", 1, "classes: unknown class");
	field_bad(VV_TAG_CLASSES, "\x20", 1, "classes: unknown class");
	field_bad(VV_TAG_CLASSES, "\x02\x02", 2, "classes: bad length");
	field_ok(VV_TAG_COUNT, "\0\0\0\0\0\0\0\0", 8);
	field_bad(VV_TAG_COUNT, "\0\0\0\0\0\0\0", 7, "count: bad length");
	field_ok(VV_TAG_SIGN_COUNT, "\0\0\0\0", 4);
	field_bad(VV_TAG_SIGN_COUNT, "\0\0\0", 3, "sign count: bad length");
	field_ok(VV_TAG_ALG, "\xff\xff\xff\xf9", 4);
	field_ok(VV_TAG_ALG, "\xff\xff\xff\xf8", 4);
	field_bad(VV_TAG_ALG, "\xff\xff\xfe\xff", 4,
	    "alg: unsupported algorithm");	/* -257, RS256 */
	field_bad(VV_TAG_ALG, "\x00\x00\x00\x07", 4,
	    "alg: unsupported algorithm");
	field_bad(VV_TAG_ALG, "\x7f\xff\xff\xf9", 4,
	    "alg: unsupported algorithm");
	field_bad(VV_TAG_ALG, "\xff\xf9", 2, "alg: bad length");
	field_ok(VV_TAG_EPOCH, "\xff\xff\xff\xff", 4);
	field_bad(VV_TAG_EPOCH, "\0\0\0\0\0\0\0\1", 8, "epoch: bad length");
	field_ok(VV_TAG_THRESHOLD, "\x02", 1);
	field_ok(VV_TAG_THRESHOLD, "\xff", 1);
	field_bad(VV_TAG_THRESHOLD, "\x01", 1, "threshold: below 2");
	field_bad(VV_TAG_THRESHOLD, "\x00", 1, "threshold: below 2");
	field_bad(VV_TAG_THRESHOLD, "", 0, "threshold: bad length");
	field_ok(VV_TAG_EXPIRES, "\x80\0\0\0\0\0\0\0", 8);
	field_bad(VV_TAG_EXPIRES, "\0\0\0\1", 4, "expires: bad length");
	field_ok(VV_TAG_TREE_SIZE, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	field_bad(VV_TAG_TREE_SIZE, "", 0, "tree size: bad length");
}

static void
test_byte_fields(void **state)
{
	static const struct {
		unsigned tag;
		const char *name;
		size_t len;
	} fixed[] = {
		{ VV_TAG_AAGUID, "aaguid", 16 },
		{ VV_TAG_CHALLENGE, "challenge", 32 },
		{ VV_TAG_DIGEST, "digest", 32 },
		{ VV_TAG_ROOT, "root", 32 },
	}, blob[] = {
		{ VV_TAG_CRED_ID, "credential id", VV_EVENT_BLOB_MAX },
		{ VV_TAG_AUTHDATA, "authdata", VV_EVENT_BLOB_MAX },
		{ VV_TAG_SIG, "signature", VV_EVENT_BLOB_MAX },
		{ VV_TAG_PUBKEY, "public key", VV_EVENT_BLOB_MAX },
	};
	uint8_t *v = calloc(1, 65536);
	char why[64];
	size_t i;

	(void)state;
	assert_non_null(v);
	for (i = 0; i < 4; i++) {
		(void)snprintf(why, sizeof(why), "%s: bad length",
		    fixed[i].name);
		field_ok(fixed[i].tag, v, fixed[i].len);
		field_bad(fixed[i].tag, v, fixed[i].len - 1, why);
		field_bad(fixed[i].tag, v, fixed[i].len + 1, why);
		field_bad(fixed[i].tag, v, 0, why);
		(void)snprintf(why, sizeof(why), "%s: bad length",
		    blob[i].name);
		field_ok(blob[i].tag, v, 1);
		field_ok(blob[i].tag, v, blob[i].len);
		field_bad(blob[i].tag, v, 0, why);
		field_bad(blob[i].tag, v, blob[i].len + 1, why);
		field_bad(blob[i].tag, v, 65535, why);
	}
	field_ok(VV_TAG_REFS, v, VV_EVENT_REF_LEN);
	field_ok(VV_TAG_REFS, v, VV_EVENT_REFS_MAX * VV_EVENT_REF_LEN);
	field_bad(VV_TAG_REFS, v, 0, "refs: bad length");
	field_bad(VV_TAG_REFS, v, VV_EVENT_REF_LEN + 1, "refs: bad length");
	field_bad(VV_TAG_REFS, v, VV_EVENT_REF_LEN - 1, "refs: bad length");
	field_bad(VV_TAG_REFS, v, (VV_EVENT_REFS_MAX + 1) * VV_EVENT_REF_LEN,
	    "refs: bad length");
	free(v);
}

/* Absent: has_* off, zero lengths and empty strings encode nothing,
 * whatever the values beside them hold. */
static void
test_absent_fields(void **state)
{
	struct vv_event *e = rich();
	uint8_t *enc;
	size_t len;

	(void)state;
	e->type = VV_EV_HEARTBEAT;
	e->seq = 1;
	e->time_ms = 2;
	e->outcome = VV_OUT_OK;
	e->actor[0] = e->role[0] = e->token_id[0] = e->request_id[0] = '\0';
	e->manager[0] = e->detail[0] = '\0';
	e->nrefs = e->cred_id_len = e->authdata_len = e->sig_len = 0;
	e->pubkey_len = 0;
	e->has_classes = e->has_count = e->has_aaguid = 0;
	e->has_sign_count = e->has_challenge = e->has_alg = 0;
	e->has_digest = e->has_epoch = e->has_threshold = 0;
	e->has_expires = e->has_tree_size = e->has_root = 0;
	e->classes = 0;		/* would be refused if present */
	e->threshold = 0;
	e->alg = 1;
	enc = encode(e, &len);
	assert_int_equal(len, HDR_LEN);
	assert_memory_equal(enc, hdr, HDR_LEN);
	free(enc);
	free(e);
}

static void
encode_bad(const struct vv_event *e)
{
	uint8_t *out = malloc(VV_EVENT_ENC_MAX);
	size_t len = 99;

	assert_non_null(out);
	assert_int_equal(vv_event_encode(e, out, &len), VV_ERR_INPUT);
	assert_int_equal(len, 0);
	free(out);
}

/* The encoder refuses what the decoder would. */
static void
test_encode_refuses(void **state)
{
	struct vv_event *e = new_event();

	(void)state;
#define SET(m, s) (void)snprintf(e->m, sizeof(e->m), "%s", s)
#define BAD(set) do {							\
	free(e);							\
	e = rich();							\
	set;								\
	encode_bad(e);							\
} while (0)
	BAD(e->type = 0);
	BAD(e->type = 5);
	BAD(e->type = 71);
	BAD(e->outcome = 3);
	BAD(e->time_ms = -1);
	BAD(memset(e->actor, 'a', sizeof(e->actor)));	/* no NUL */
	BAD(SET(actor, "bad name"));
	BAD(SET(role, "a/b"));
	BAD(SET(token_id, "0123456789ABCDEF"));
	BAD(SET(token_id, "0123"));
	BAD(SET(request_id, "0123"));
	BAD(SET(manager, "x\x01"));
	BAD(e->classes = 0);
	BAD(e->classes = 1);
	BAD(e->nrefs = VV_EVENT_REFS_MAX + 1);
	BAD(e->nrefs = SIZE_MAX / VV_EVENT_REF_LEN + 1);	/* wraps to 0 */
	BAD(SET(detail, "two\nlines"));
	BAD(SET(detail, "cut \xd0"));
	BAD(memset(e->detail, 'd', sizeof(e->detail)));	/* no NUL */
	BAD(e->cred_id_len = VV_EVENT_BLOB_MAX + 1);
	BAD(e->authdata_len = SIZE_MAX);
	BAD(e->sig_len = VV_EVENT_BLOB_MAX + 1);
	BAD(e->pubkey_len = 65536);
	BAD(e->alg = -257);
	BAD(e->threshold = 1);
#undef BAD
#undef SET
	free(e);
}

static void
test_names(void **state)
{
	static const char *const all[] = {
		"vault-created", "heartbeat", "tree-head", "mirror-caught-up",
		"import", "record-put", "record-pin", "policy-set",
		"role-added", "token-issued", "token-revoked",
		"manager-enrolled", "dual-setup", "reshare-done",
		"unseal-request", "approval", "denial", "expiry",
		"unseal-complete", "release", "release-refused",
		"record-read", "record-list", "record-find", "freeze",
		"canary", "unfreeze", "role-changed", "key-operation",
	};
	const char *name;
	size_t i, named = 0;
	int t;

	(void)state;
	for (t = -1; t <= 0x10000; t++) {
		if ((name = vv_event_type_name(t)) == NULL)
			continue;
		named++;
		assert_int_equal(vv_event_type_from_name(name), t);
	}
	assert_int_equal(named, sizeof(all) / sizeof(all[0]));
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		assert_non_null(vv_event_type_name(
		    vv_event_type_from_name(all[i])));
	assert_string_equal(vv_event_type_name(VV_EV_VAULT_CREATED),
	    "vault-created");
	assert_string_equal(vv_event_type_name(VV_EV_UNSEAL_REQUEST),
	    "unseal-request");
	assert_string_equal(vv_event_type_name(VV_EV_KEY_OPERATION),
	    "key-operation");
	assert_int_equal(vv_event_type_from_name("mirror-caught-up"),
	    VV_EV_MIRROR_CAUGHT_UP);
	assert_int_equal(vv_event_type_from_name("release-refused"),
	    VV_EV_RELEASE_REFUSED);
	assert_int_equal(vv_event_type_from_name("Approval"), 0);
	assert_int_equal(vv_event_type_from_name("approval "), 0);
	assert_int_equal(vv_event_type_from_name(""), 0);
	assert_int_equal(vv_event_type_from_name(NULL), 0);
	assert_string_equal(vv_event_outcome_name(VV_OUT_OK), "ok");
	assert_string_equal(vv_event_outcome_name(VV_OUT_DENIED), "denied");
	assert_string_equal(vv_event_outcome_name(VV_OUT_FAILED), "failed");
	assert_null(vv_event_outcome_name(3));
	assert_null(vv_event_outcome_name(-1));
}

/* Messages name the field, never its value. */
static void
test_messages_hide_values(void **state)
{
	struct vv_event *e = new_event();
	uint8_t b[HDR_LEN + 64];
	char err[160];

	(void)state;
	(void)one_field(b, VV_TAG_DETAIL, "secret\n", 7);
	assert_int_equal(vv_event_decode(b, HDR_LEN + 3 + 7, e, err,
	    sizeof(err)), VV_ERR_INPUT);
	assert_string_equal(err, "malformed log entry: detail: control "
	    "character");
	(void)one_field(b, VV_TAG_ACTOR, "se cret", 7);
	assert_int_equal(vv_event_decode(b, HDR_LEN + 3 + 7, e, err,
	    sizeof(err)), VV_ERR_INPUT);
	assert_null(strstr(err, "cret"));
	assert_int_equal(vv_event_decode(b, HDR_LEN + 3 + 7, e, NULL, 0),
	    VV_ERR_INPUT);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_tag_order),
		cmocka_unit_test(test_name_fields),
		cmocka_unit_test(test_detail_field),
		cmocka_unit_test(test_small_fields),
		cmocka_unit_test(test_byte_fields),
		cmocka_unit_test(test_absent_fields),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_messages_hide_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
