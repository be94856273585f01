/*
 * request.c - the canonical byte encoding of an unseal request.
 *
 * Key managers' tokens sign a hash of these bytes, so there must be
 * exactly one encoding of any request: fixed field order, big-endian
 * integers, length-prefixed strings, records sorted and distinct, no
 * trailing bytes.  The decoder accepts nothing else, and rejects text a
 * terminal would interpret (control characters in the reason), because a
 * manager reads the reason before touching his token.
 *
 *   "VVRQ" version(1) kind(1) vault_id(16) request_id(16)
 *   created(8) expires(8) requester(s8) token_id(s8) role(s8)
 *   recipient_pk(32) reason(s16) nrecords(1) external_id(s8)...
 *
 * s8 / s16: a 1- / 2-byte length, then that many bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"
#include "vault/utf8.h"

#define MAGIC "VVRQ"
#define REQ_VERSION 1
#define CHALLENGE_PURPOSE "vipvault/unseal-decision/v1"

const char *
vv_request_kind_name(int kind)
{
	if (kind == VV_REQ_UNSEAL)
		return "unseal";
	if (kind == VV_REQ_RESHARE)
		return "reshare";
	return NULL;
}

/* One line of printable UTF-8: no C0/C1 controls, no DEL. */
static int
valid_reason(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, l;

	if (n == 0 || n > VV_REQ_REASON_MAX)
		return 0;
	while (i < n) {
		if ((l = vv_utf8_len(p + i, n - i)) == 0)
			return 0;
		if (l == 1 && (p[i] < 0x20 || p[i] == 0x7f))
			return 0;
		if (l == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return 0;	/* U+0080..U+009F */
		i += l;
	}
	return 1;
}

static int
valid_token_id(const char *s)
{
	size_t i;

	if (strlen(s) != 16)
		return 0;
	for (i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
cmp_records(const void *a, const void *b)
{
	return strcmp(a, b);
}

void
vv_request_sort(struct vv_request *r)
{
	size_t i, n = 0;

	qsort(r->records, r->nrecords, sizeof(r->records[0]), cmp_records);
	for (i = 0; i < r->nrecords; i++)
		if (n == 0 || strcmp(r->records[n - 1], r->records[i]) != 0)
			memmove(r->records[n++], r->records[i],
			    sizeof(r->records[0]));
	r->nrecords = n;
}

/* A re-split names no records and no recipient, and comes from the
 * administrator. */
static const char *
check_reshare(const struct vv_request *r)
{
	static const uint8_t zero[crypto_box_PUBLICKEYBYTES];

	if (strcmp(r->requester, VV_RESHARE_REQUESTER) != 0 ||
	    strcmp(r->token_id, VV_RESHARE_TOKEN_ID) != 0 ||
	    strcmp(r->role, VV_RESHARE_ROLE) != 0 ||
	    memcmp(r->recipient_pk, zero, sizeof(zero)) != 0)
		return "a re-split comes from the administrator";
	if (r->nrecords != 0)
		return "a re-split names no records";
	return NULL;
}

/* The rules both directions enforce; names the first broken one. */
static const char *
check(const struct vv_request *r)
{
	size_t i;

	if (vv_request_kind_name(r->kind) == NULL)
		return "unknown request kind";
	if (r->created <= 0 || r->expires <= r->created ||
	    r->expires - r->created > VV_REQ_TTL_MAX)
		return "bad validity period";
	if (!valid_reason(r->reason, strlen(r->reason)))
		return "the reason must be 1 to 500 bytes of printable UTF-8 "
		    "on one line";
	if (r->kind == VV_REQ_RESHARE)
		return check_reshare(r);
	if (!vv_valid_name(r->requester))
		return "bad requester name";
	if (!valid_token_id(r->token_id))
		return "bad token id";
	if (!vv_valid_name(r->role))
		return "bad role name";
	if (r->nrecords == 0 || r->nrecords > VV_REQ_RECORDS_MAX)
		return "bad number of records";
	for (i = 0; i < r->nrecords; i++) {
		if (!vv_valid_external_id(r->records[i]))
			return "bad external id";
		if (i > 0 && strcmp(r->records[i - 1], r->records[i]) >= 0)
			return "records not sorted and distinct";
	}
	return NULL;
}

/* ------------------------------------------------------------ encode */

struct wbuf {
	uint8_t *p;
	size_t len;
};

static void
put(struct wbuf *w, const void *d, size_t n)
{
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void
put_s8(struct wbuf *w, const char *s)
{
	uint8_t n = (uint8_t)strlen(s);

	put(w, &n, 1);
	put(w, s, n);
}

int
vv_request_encode(const struct vv_request *r, uint8_t *out, size_t *outlen)
{
	struct wbuf w = { out, 0 };
	uint8_t b[8], n;
	size_t i, rl;

	*outlen = 0;
	if (check(r) != NULL)
		return VV_ERR_INPUT;
	put(&w, MAGIC, 4);
	b[0] = REQ_VERSION;
	b[1] = r->kind;
	put(&w, b, 2);
	put(&w, r->vault_id, VV_ID_LEN);
	put(&w, r->id, VV_REQ_ID_LEN);
	vv_put_be64(b, (uint64_t)r->created);
	put(&w, b, 8);
	vv_put_be64(b, (uint64_t)r->expires);
	put(&w, b, 8);
	put_s8(&w, r->requester);
	put_s8(&w, r->token_id);
	put_s8(&w, r->role);
	put(&w, r->recipient_pk, sizeof(r->recipient_pk));
	rl = strlen(r->reason);
	b[0] = (uint8_t)(rl >> 8);
	b[1] = (uint8_t)rl;
	put(&w, b, 2);
	put(&w, r->reason, rl);
	n = (uint8_t)r->nrecords;
	put(&w, &n, 1);
	for (i = 0; i < r->nrecords; i++)
		put_s8(&w, r->records[i]);
	*outlen = w.len;
	return VV_OK;
}

/* ------------------------------------------------------------ decode */

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
	const char *bad;	/* the first thing that did not fit */
};

static int
take(struct rbuf *r, void *d, size_t n, const char *what)
{
	if (r->bad != NULL)
		return -1;
	if (r->len - r->off < n) {
		r->bad = what;
		return -1;
	}
	memcpy(d, r->p + r->off, n);
	r->off += n;
	return 0;
}

/* A length-prefixed string into s (max bytes with its NUL); embedded NUL
 * bytes are refused, so the C string is the whole field. */
static void
take_str(struct rbuf *r, size_t lenbytes, char *s, size_t max,
    const char *what)
{
	uint8_t b[2];
	size_t n;

	if (take(r, b, lenbytes, what) != 0)
		return;
	n = lenbytes == 1 ? b[0] : (size_t)b[0] << 8 | b[1];
	if (n >= max) {
		r->bad = what;
		return;
	}
	if (take(r, s, n, what) != 0)
		return;
	s[n] = '\0';
	if (memchr(s, '\0', n) != NULL)
		r->bad = what;
}

static void
take_header(struct rbuf *rb, struct vv_request *r)
{
	uint8_t b[8] = { 0 };

	if (take(rb, b, 6, "header") == 0 && (memcmp(b, MAGIC, 4) != 0 ||
	    b[4] != REQ_VERSION))
		rb->bad = "not a version 1 request";
	r->kind = b[5];
	(void)take(rb, r->vault_id, VV_ID_LEN, "vault id");
	(void)take(rb, r->id, VV_REQ_ID_LEN, "request id");
	if (take(rb, b, 8, "created") == 0)
		r->created = (int64_t)vv_get_be64(b);
	if (take(rb, b, 8, "expires") == 0)
		r->expires = (int64_t)vv_get_be64(b);
}

int
vv_request_decode(const uint8_t *in, size_t len, struct vv_request *r,
    char *err, size_t errlen)
{
	struct rbuf rb = { in, len, 0, NULL };
	const char *bad;
	uint8_t n = 0;
	size_t i;

	memset(r, 0, sizeof(*r));
	take_header(&rb, r);
	take_str(&rb, 1, r->requester, sizeof(r->requester), "requester");
	take_str(&rb, 1, r->token_id, sizeof(r->token_id), "token id");
	take_str(&rb, 1, r->role, sizeof(r->role), "role");
	(void)take(&rb, r->recipient_pk, sizeof(r->recipient_pk),
	    "recipient key");
	take_str(&rb, 2, r->reason, sizeof(r->reason), "reason");
	(void)take(&rb, &n, 1, "record count");
	r->nrecords = n;
	for (i = 0; i < r->nrecords && rb.bad == NULL; i++)
		take_str(&rb, 1, r->records[i], sizeof(r->records[i]),
		    "external id");
	if (rb.bad == NULL && rb.off != len)
		rb.bad = "trailing bytes";
	bad = rb.bad != NULL ? rb.bad : check(r);
	if (bad == NULL)
		return VV_OK;
	(void)snprintf(err, errlen, "malformed unseal request: %s", bad);
	memset(r, 0, sizeof(*r));
	return VV_ERR_INPUT;
}

void
vv_request_challenge(const uint8_t *vault_id, const char *decision,
    const uint8_t digest[32], uint8_t cdh[32])
{
	crypto_hash_sha256_state h;
	uint8_t d = (uint8_t)strlen(decision);

	(void)crypto_hash_sha256_init(&h);
	(void)crypto_hash_sha256_update(&h, (const uint8_t *)CHALLENGE_PURPOSE,
	    sizeof(CHALLENGE_PURPOSE));
	(void)crypto_hash_sha256_update(&h, vault_id, VV_ID_LEN);
	(void)crypto_hash_sha256_update(&h, &d, 1);
	(void)crypto_hash_sha256_update(&h, (const uint8_t *)decision, d);
	(void)crypto_hash_sha256_update(&h, digest, 32);
	(void)crypto_hash_sha256_final(&h, cdh);
}

void
vv_rp_id(const vv_vault *v, char out[VV_RP_ID_MAX])
{
	(void)snprintf(out, VV_RP_ID_MAX, "vipvault-%s", v->id_hex);
}
