/*
 * test_request.c - the canonical request encoding and the release
 * format: one encoding per request, everything else refused.
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
#include "vault/dual.h"

static struct vv_request *
sample(void)
{
	struct vv_request *q = calloc(1, sizeof(*q));

	assert_non_null(q);
	q->kind = VV_REQ_UNSEAL;
	memset(q->vault_id, 0x11, sizeof(q->vault_id));
	memset(q->id, 0x22, sizeof(q->id));
	q->created = 1700000000;
	q->expires = 1700000900;
	(void)snprintf(q->requester, sizeof(q->requester), "dana");
	(void)snprintf(q->token_id, sizeof(q->token_id), "0123456789abcdef");
	(void)snprintf(q->role, sizeof(q->role), "vipdesk");
	memset(q->recipient_pk, 0x33, sizeof(q->recipient_pk));
	(void)snprintf(q->reason, sizeof(q->reason), "Продление договора");
	(void)snprintf(q->records[0], sizeof(q->records[0]), "V2");
	(void)snprintf(q->records[1], sizeof(q->records[1]), "V1");
	(void)snprintf(q->records[2], sizeof(q->records[2]), "V2");
	q->nrecords = 3;
	vv_request_sort(q);
	return q;
}

static uint8_t *
encode(const struct vv_request *q, size_t *len)
{
	uint8_t *enc = malloc(VV_REQ_ENC_MAX);

	assert_non_null(enc);
	assert_int_equal(vv_request_encode(q, enc, len), VV_OK);
	return enc;
}

static void
test_sort_and_round_trip(void **state)
{
	struct vv_request *q = sample(), *back = calloc(1, sizeof(*back));
	uint8_t *enc, *again;
	size_t len, len2;
	char err[128];

	(void)state;
	assert_int_equal(q->nrecords, 2);	/* sorted, duplicate gone */
	assert_string_equal(q->records[0], "V1");
	assert_string_equal(q->records[1], "V2");
	enc = encode(q, &len);
	assert_memory_equal(enc, "VVRQ\x01\x01", 6);
	assert_int_equal(vv_request_decode(enc, len, back, err, sizeof(err)),
	    VV_OK);
	assert_string_equal(back->reason, q->reason);
	assert_int_equal(back->expires, q->expires);
	assert_memory_equal(back->recipient_pk, q->recipient_pk, 32);
	again = encode(back, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, enc, len);
	free(q);
	free(back);
	free(enc);
	free(again);
}

/* Every strict prefix and every single extra byte is refused. */
static void
test_truncation_and_trailing_bytes(void **state)
{
	struct vv_request *q = sample(), *back = calloc(1, sizeof(*back));
	uint8_t *enc;
	size_t len, i;
	char err[128];

	(void)state;
	enc = encode(q, &len);
	for (i = 0; i < len; i++)
		assert_int_equal(vv_request_decode(enc, i, back, err,
		    sizeof(err)), VV_ERR_INPUT);
	enc[len] = 0;
	assert_int_equal(vv_request_decode(enc, len + 1, back, err,
	    sizeof(err)), VV_ERR_INPUT);
	assert_non_null(strstr(err, "trailing bytes"));
	free(q);
	free(back);
	free(enc);
}

/* Rewrites the encoding's byte at off and expects the named refusal. */
static void
refuse_patch(size_t off, uint8_t value, const char *why)
{
	struct vv_request *q = sample(), *back = calloc(1, sizeof(*back));
	uint8_t *enc;
	size_t len;
	char err[128];

	enc = encode(q, &len);
	enc[off] = value;
	assert_int_equal(vv_request_decode(enc, len, back, err, sizeof(err)),
	    VV_ERR_INPUT);
	if (strstr(err, why) == NULL)
		fail_msg("'%s' lacks '%s'", err, why);
	free(q);
	free(back);
	free(enc);
}

static void
test_header_rules(void **state)
{
	(void)state;
	refuse_patch(0, 'X', "not a version 1 request");
	refuse_patch(4, 2, "not a version 1 request");
	refuse_patch(5, 9, "unknown request kind");
	/* expires (offset 46..53) before created */
	refuse_patch(46 + 4, 0, "bad validity period");
}

static void
test_field_rules(void **state)
{
	struct vv_request *q = sample(), *back = calloc(1, sizeof(*back));
	uint8_t *enc;
	size_t len;
	char err[128];

	(void)state;
	/* Unsorted records: swap the two one-byte differences. */
	enc = encode(q, &len);
	assert_int_equal(enc[len - 1], '2');
	enc[len - 1] = '0';
	assert_int_equal(vv_request_decode(enc, len, back, err, sizeof(err)),
	    VV_ERR_INPUT);
	assert_non_null(strstr(err, "sorted"));
	free(enc);
	/* A reason a terminal would interpret cannot even be encoded. */
	(void)snprintf(q->reason, sizeof(q->reason), "ok\x1b[2J");
	enc = malloc(VV_REQ_ENC_MAX);
	assert_int_equal(vv_request_encode(q, enc, &len), VV_ERR_INPUT);
	(void)snprintf(q->reason, sizeof(q->reason), "C1 \xc2\x9b control");
	assert_int_equal(vv_request_encode(q, enc, &len), VV_ERR_INPUT);
	(void)snprintf(q->reason, sizeof(q->reason), "bad \xff utf-8");
	assert_int_equal(vv_request_encode(q, enc, &len), VV_ERR_INPUT);
	(void)snprintf(q->reason, sizeof(q->reason), "fine");
	(void)snprintf(q->token_id, sizeof(q->token_id), "0123456789ABCDEF");
	assert_int_equal(vv_request_encode(q, enc, &len), VV_ERR_INPUT);
	(void)snprintf(q->token_id, sizeof(q->token_id), "0123456789abcdef");
	q->nrecords = 0;
	assert_int_equal(vv_request_encode(q, enc, &len), VV_ERR_INPUT);
	free(enc);
	free(q);
	free(back);
}

static void
test_challenge_binds_everything(void **state)
{
	struct vv_request *q = sample();
	uint8_t *enc, a[32], b[32], vid[VV_ID_LEN], dg[32];
	size_t len;

	(void)state;
	enc = encode(q, &len);
	crypto_hash_sha256(dg, enc, len);
	memset(vid, 1, sizeof(vid));
	vv_request_challenge(vid, "approve", dg, a);
	vv_request_challenge(vid, "deny", dg, b);
	assert_memory_not_equal(a, b, 32);
	vid[15] ^= 1;
	vv_request_challenge(vid, "approve", dg, b);
	assert_memory_not_equal(a, b, 32);
	vid[15] ^= 1;
	enc[len - 1] ^= 1;
	crypto_hash_sha256(dg, enc, len);
	vv_request_challenge(vid, "approve", dg, b);
	assert_memory_not_equal(a, b, 32);
	enc[len - 1] ^= 1;
	crypto_hash_sha256(dg, enc, len);
	vv_request_challenge(vid, "approve", dg, b);
	assert_memory_equal(a, b, 32);
	free(q);
	free(enc);
}

static int
count_items(void *arg, const struct vv_release_item *it)
{
	int *n = arg;

	if (*n == 0 && (strcmp(it->external_id, "V1") != 0 ||
	    strcmp(it->f[0], "+79031234567") != 0 || it->len[2] != 0))
		return 99;
	(*n)++;
	return 0;
}

static void
test_release_format(void **state)
{
	struct vv_buf b = { NULL, 0, 0 };
	struct vv_class_text t = { { "+79031234567", "vera@example.ru", "" },
	    { 12, 15, 0 } };
	uint8_t id[VV_REQ_ID_LEN], other[VV_REQ_ID_LEN];
	/* header, then "V1" (s8), phone, e-mail, address (s16 each) */
	size_t i, first_end = 21 + (1 + 2) + (2 + 12) + (2 + 15) + (2 + 0);
	int n = 0;

	(void)state;
	memset(id, 7, sizeof(id));
	memcpy(other, id, sizeof(id));
	other[0] ^= 1;
	assert_int_equal(vv_release_add(&b, id, "V1", &t), VV_OK);
	assert_int_equal(vv_release_add(&b, id, "V2", &t), VV_OK);
	assert_int_equal(vv_release_walk(b.p, b.len, id, count_items, &n),
	    VV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(vv_release_walk(b.p, b.len, other, NULL, NULL),
	    VV_ERR_INPUT);
	/* Cut anywhere: refused, except right after the first item. */
	for (i = 0; i < b.len; i++)
		assert_int_equal(vv_release_walk(b.p, i, id, NULL, NULL),
		    i == first_end ? VV_OK : VV_ERR_INPUT);
	vv_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_and_round_trip),
		cmocka_unit_test(test_truncation_and_trailing_bytes),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_field_rules),
		cmocka_unit_test(test_challenge_binds_everything),
		cmocka_unit_test(test_release_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
