/*
 * release.c - the plaintext a completed unseal hands its requester.
 *
 *   "VVRL" version(1) request_id(16) then, per record:
 *   external_id(s8) phone(s16) email(s16) address(s16)
 *
 * It exists only sealed to the requester (crypto_box_seal) and under the
 * HSM, so the parser's input is authenticated; it is strict anyway, and
 * fuzzed, because it is the last step before plaintext leaves the vault.
 */
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"

#define MAGIC "VVRL"
#define REL_VERSION 1
#define HEADER_LEN (4 + 1 + VV_REQ_ID_LEN)

static int
put_str(struct vv_buf *b, const char *s, size_t n, size_t lenbytes)
{
	int r;

	if ((lenbytes == 1 && n > 0xff) || n > 0xffff)
		return VV_ERR_INPUT;
	if ((r = vv_buf_reserve(b, b->len + lenbytes + n)) != VV_OK)
		return r;
	if (lenbytes == 2)
		b->p[b->len++] = (uint8_t)(n >> 8);
	b->p[b->len++] = (uint8_t)n;
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	return VV_OK;
}

int
vv_release_add(struct vv_buf *b, const uint8_t id[VV_REQ_ID_LEN],
    const char *external_id, const struct vv_class_text *t)
{
	size_t i;
	int r;

	if (b->len == 0) {
		if ((r = vv_buf_reserve(b, HEADER_LEN)) != VV_OK)
			return r;
		memcpy(b->p, MAGIC, 4);
		b->p[4] = REL_VERSION;
		memcpy(b->p + 5, id, VV_REQ_ID_LEN);
		b->len = HEADER_LEN;
	}
	if ((r = put_str(b, external_id, strlen(external_id), 1)) != VV_OK)
		return r;
	for (i = 0; i < VV_CLASS_FIELDS; i++)
		if ((r = put_str(b, t->f[i], t->len[i], 2)) != VV_OK)
			return r;
	return VV_OK;
}

/* A length-prefixed field at p[*off]; no NUL inside. */
static int
get_str(const uint8_t *p, size_t len, size_t *off, size_t lenbytes,
    const uint8_t **s, size_t *n)
{
	if (len - *off < lenbytes)
		return -1;
	*n = lenbytes == 1 ? p[*off] : (size_t)p[*off] << 8 | p[*off + 1];
	*off += lenbytes;
	if (len - *off < *n || memchr(p + *off, '\0', *n) != NULL)
		return -1;
	*s = p + *off;
	*off += *n;
	return 0;
}

/* The fields are not NUL-terminated in the release: item holds copies
 * in buf, one NUL-terminated string after another. */
static int
next_item(const uint8_t *p, size_t len, size_t *off,
    struct vv_release_item *it, char *buf)
{
	const uint8_t *s;
	size_t n, i, at = 0;

	if (get_str(p, len, off, 1, &s, &n) != 0 || n == 0 ||
	    n >= sizeof(it->external_id))
		return -1;
	memcpy(it->external_id, s, n);
	it->external_id[n] = '\0';
	if (!vv_valid_external_id(it->external_id))
		return -1;
	for (i = 0; i < VV_CLASS_FIELDS; i++) {
		if (get_str(p, len, off, 2, &s, &n) != 0)
			return -1;
		memcpy(buf + at, s, n);
		buf[at + n] = '\0';
		it->f[i] = buf + at;
		it->len[i] = n;
		at += n + 1;
	}
	return 0;
}

int
vv_release_walk(const uint8_t *p, size_t len,
    const uint8_t id[VV_REQ_ID_LEN],
    int (*fn)(void *arg, const struct vv_release_item *it), void *arg)
{
	struct vv_release_item it;
	size_t off = HEADER_LEN;
	char *buf;
	int r = VV_OK;

	if (len < HEADER_LEN || memcmp(p, MAGIC, 4) != 0 ||
	    p[4] != REL_VERSION || sodium_memcmp(p + 5, id,
	    VV_REQ_ID_LEN) != 0 || len == HEADER_LEN)
		return VV_ERR_INPUT;
	/* Fields never exceed the release itself. */
	if ((buf = malloc(len + VV_CLASS_FIELDS)) == NULL)
		return VV_ERR_NOMEM;
	while (off < len && r == VV_OK) {
		if (next_item(p, len, &off, &it, buf) != 0)
			r = VV_ERR_INPUT;
		else if (fn != NULL)
			r = fn(arg, &it);
	}
	sodium_memzero(buf, len + VV_CLASS_FIELDS);
	sodium_memzero(&it, sizeof(it));
	free(buf);
	return r;
}
