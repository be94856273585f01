/*
 * softfido_cbor.c - CBOR for the soft authenticator: a size check before
 * libcbor loads a request, typed look-ups in maps, reply framing.
 *
 * Requests come from libfido2 in tests but from anything in the fuzzer,
 * so nothing here trusts a declared length or a type.
 */
#include <string.h>

#include <cbor.h>

#include "hsm/softfido_int.h"

struct scan {
	size_t	add;	/* items the last header announced */
	int	bad;
};

static void
scan_array(void *ctx, size_t n)
{
	((struct scan *)ctx)->add = n;
}

static void
scan_map(void *ctx, size_t n)
{
	struct scan *s = ctx;

	if (n > SIZE_MAX / 2)
		s->bad = 1;
	else
		s->add = 2 * n;
}

static void
scan_tag(void *ctx, uint64_t tag)
{
	(void)tag;
	((struct scan *)ctx)->add = 1;
}

/* CTAP2 canonical CBOR has no indefinite lengths. */
static void
scan_indefinite(void *ctx)
{
	((struct scan *)ctx)->bad = 1;
}

int
vv_sf_cbor_check(const uint8_t *buf, size_t len)
{
	struct cbor_callbacks cb = cbor_empty_callbacks;
	struct cbor_decoder_result r;
	struct scan s;
	size_t pos = 0, need = 1;

	cb.array_start = scan_array;
	cb.map_start = scan_map;
	cb.tag = scan_tag;
	cb.indef_array_start = scan_indefinite;
	cb.indef_map_start = scan_indefinite;
	cb.byte_string_start = scan_indefinite;
	cb.string_start = scan_indefinite;
	cb.indef_break = scan_indefinite;
	while (need > 0) {
		if (pos >= len)
			return -1;
		memset(&s, 0, sizeof(s));
		r = cbor_stream_decode(buf + pos, len - pos, &cb, &s);
		if (r.status != CBOR_DECODER_FINISHED || s.bad || r.read == 0)
			return -1;
		pos += r.read;
		need--;
		/* Every item still owed takes at least one byte. */
		if (s.add > len - pos || need > len - pos - s.add)
			return -1;
		need += s.add;
	}
	return pos == len ? 0 : -1;
}

static int
map_find(const cbor_item_t *m, int64_t k, const char *s,
    const cbor_item_t **v)
{
	const struct cbor_pair *p;
	const cbor_item_t *key;
	size_t i, n, slen = s != NULL ? strlen(s) : 0;
	int64_t ik;
	int hit;

	*v = NULL;
	if (!cbor_isa_map(m) || (p = cbor_map_handle(m)) == NULL)
		return 0;
	n = cbor_map_size(m);
	for (i = 0; i < n; i++) {
		if ((key = p[i].key) == NULL || p[i].value == NULL)
			return -1;
		if (s != NULL)
			hit = cbor_isa_string(key) &&
			    cbor_string_is_definite(key) &&
			    cbor_string_length(key) == slen &&
			    (slen == 0 || memcmp(cbor_string_handle(key), s,
			    slen) == 0);
		else
			hit = vv_sf_int(key, &ik) == 0 && ik == k;
		if (!hit)
			continue;
		if (*v != NULL)
			return -1;
		*v = p[i].value;
	}
	return 0;
}

int
vv_sf_map_int(const cbor_item_t *m, int64_t k, const cbor_item_t **v)
{
	return map_find(m, k, NULL, v);
}

int
vv_sf_map_str(const cbor_item_t *m, const char *s, const cbor_item_t **v)
{
	return map_find(m, 0, s, v);
}

int
vv_sf_bytes(const cbor_item_t *it, const uint8_t **p, size_t *len)
{
	if (it == NULL || !cbor_isa_bytestring(it) ||
	    !cbor_bytestring_is_definite(it))
		return -1;
	*len = cbor_bytestring_length(it);
	*p = cbor_bytestring_handle(it);
	if (*p == NULL && *len != 0)
		return -1;
	return 0;
}

int
vv_sf_text(const cbor_item_t *it, const char **p, size_t *len)
{
	if (it == NULL || !cbor_isa_string(it) ||
	    !cbor_string_is_definite(it))
		return -1;
	*len = cbor_string_length(it);
	*p = (const char *)cbor_string_handle(it);
	if (*p == NULL && *len != 0)
		return -1;
	return 0;
}

int
vv_sf_uint(const cbor_item_t *it, uint64_t *v)
{
	if (it == NULL || !cbor_isa_uint(it))
		return -1;
	*v = cbor_get_int(it);
	return 0;
}

int
vv_sf_int(const cbor_item_t *it, int64_t *v)
{
	uint64_t u;

	if (it == NULL || (!cbor_isa_uint(it) && !cbor_isa_negint(it)))
		return -1;
	if ((u = cbor_get_int(it)) > INT64_MAX)
		return -1;
	/* A negative integer n is encoded as -1 - n. */
	*v = cbor_isa_uint(it) ? (int64_t)u : -1 - (int64_t)u;
	return 0;
}

int
vv_sf_bool(const cbor_item_t *it, int *v)
{
	if (it == NULL || !cbor_is_bool(it))
		return -1;
	*v = cbor_get_bool(it);
	return 0;
}

int
vv_sf_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *val)
{
	int r = -1;

	if (key != NULL && val != NULL &&
	    cbor_map_add(map, (struct cbor_pair){ .key = key, .value = val }))
		r = 0;
	if (key != NULL)
		cbor_decref(&key);
	if (val != NULL)
		cbor_decref(&val);
	return r;
}

/* The shortest encoding: libcbor encodes an item at the width it has,
 * and libfido2 ignores map keys wider than a byte. */
cbor_item_t *
vv_sf_build_int(int64_t v)
{
	uint64_t u = v >= 0 ? (uint64_t)v : (uint64_t)(-1 - v);
	cbor_item_t *it;

	if (u <= UINT8_MAX)
		it = v >= 0 ? cbor_build_uint8((uint8_t)u) :
		    cbor_build_negint8((uint8_t)u);
	else if (u <= UINT16_MAX)
		it = v >= 0 ? cbor_build_uint16((uint16_t)u) :
		    cbor_build_negint16((uint16_t)u);
	else if (u <= UINT32_MAX)
		it = v >= 0 ? cbor_build_uint32((uint32_t)u) :
		    cbor_build_negint32((uint32_t)u);
	else
		it = v >= 0 ? cbor_build_uint64(u) : cbor_build_negint64(u);
	return it;
}

cbor_item_t *
vv_sf_cose_p256(const uint8_t x[32], const uint8_t y[32], int alg)
{
	cbor_item_t *m;

	/* Canonical order: 1, 3, -1, -2, -3. */
	if ((m = cbor_new_definite_map(5)) == NULL)
		return NULL;
	if (vv_sf_put(m, cbor_build_uint8(1), cbor_build_uint8(2)) != 0 ||
	    vv_sf_put(m, cbor_build_uint8(3), vv_sf_build_int(alg)) != 0 ||
	    vv_sf_put(m, vv_sf_build_int(-1), cbor_build_uint8(1)) != 0 ||
	    vv_sf_put(m, vv_sf_build_int(-2),
	    cbor_build_bytestring(x, 32)) != 0 ||
	    vv_sf_put(m, vv_sf_build_int(-3),
	    cbor_build_bytestring(y, 32)) != 0) {
		cbor_decref(&m);
		return NULL;
	}
	return m;
}

int
vv_sf_cose_p256_read(const cbor_item_t *m, uint8_t x[32], uint8_t y[32])
{
	const cbor_item_t *kty, *crv, *vx, *vy;
	const uint8_t *px, *py;
	size_t lx, ly;
	int64_t t, c;

	if (m == NULL || !cbor_isa_map(m) ||
	    vv_sf_map_int(m, 1, &kty) != 0 || vv_sf_map_int(m, -1, &crv) != 0 ||
	    vv_sf_map_int(m, -2, &vx) != 0 || vv_sf_map_int(m, -3, &vy) != 0)
		return -1;
	if (vv_sf_int(kty, &t) != 0 || t != 2 || vv_sf_int(crv, &c) != 0 ||
	    c != 1 || vv_sf_bytes(vx, &px, &lx) != 0 || lx != 32 ||
	    vv_sf_bytes(vy, &py, &ly) != 0 || ly != 32)
		return -1;
	memcpy(x, px, 32);
	memcpy(y, py, 32);
	return 0;
}

size_t
vv_sf_frame(uint8_t *reply, size_t max, uint8_t status,
    const cbor_item_t *map)
{
	size_t n;

	if (max == 0)
		return 0;
	reply[0] = status;
	if (status != CTAP2_OK || map == NULL)
		return 1;
	if ((n = cbor_serialize(map, reply + 1, max - 1)) == 0) {
		reply[0] = CTAP1_ERR_OTHER;
		return 1;
	}
	return 1 + n;
}

/*
 * Optional request fields by integer key, as CTAP2 statuses.  A present
 * field always gets a non-NULL pointer, even when empty: a zero-length
 * pinUvAuthParam means something.
 */
int
vv_sf_opt_bytes(const cbor_item_t *m, int64_t k, const uint8_t **p,
    size_t *len)
{
	static const uint8_t empty[1];
	const cbor_item_t *v;

	*p = NULL;
	*len = 0;
	if (vv_sf_map_int(m, k, &v) != 0)
		return CTAP2_ERR_INVALID_CBOR;
	if (v == NULL)
		return CTAP2_OK;
	if (vv_sf_bytes(v, p, len) != 0)
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (*p == NULL)
		*p = empty;
	return CTAP2_OK;
}

int
vv_sf_opt_text(const cbor_item_t *m, int64_t k, const char **p,
    size_t *len)
{
	const cbor_item_t *v;

	*p = NULL;
	*len = 0;
	if (vv_sf_map_int(m, k, &v) != 0)
		return CTAP2_ERR_INVALID_CBOR;
	if (v == NULL)
		return CTAP2_OK;
	if (vv_sf_text(v, p, len) != 0)
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (*p == NULL)
		*p = "";
	return CTAP2_OK;
}

int
vv_sf_opt_uint(const cbor_item_t *m, int64_t k, uint64_t *v, int *has)
{
	const cbor_item_t *it;

	*v = 0;
	*has = 0;
	if (vv_sf_map_int(m, k, &it) != 0)
		return CTAP2_ERR_INVALID_CBOR;
	if (it == NULL)
		return CTAP2_OK;
	if (vv_sf_uint(it, v) != 0)
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	*has = 1;
	return CTAP2_OK;
}

int
vv_sf_opt_item(const cbor_item_t *m, int64_t k, const cbor_item_t **v)
{
	return vv_sf_map_int(m, k, v) == 0 ? CTAP2_OK : CTAP2_ERR_INVALID_CBOR;
}
