/*
 * fuzz_lookup.c - libFuzzer target for the blind index's bucket check
 * (vault/lookups.c), the one parser of a bucket read from the database.
 *
 *   bits(1) bucket(4, big-endian) blob(rest)
 *
 * Whatever the check accepts must be what the readers rely on: whole
 * 16-byte pairs, strictly increasing, each hash in the named bucket.
 * That is checked here independently, and so is the converse: a blob
 * with those properties must be accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/lookups.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
well_formed(const uint8_t *b, size_t len, uint32_t bucket, unsigned bits)
{
	uint64_t h, prev_h = 0, id, prev_id = 0;
	size_t i, k;

	if (len == 0 || len % VV_LOOKUP_ENTRY != 0)
		return 0;
	for (i = 0; i < len; i += VV_LOOKUP_ENTRY) {
		for (h = 0, id = 0, k = 0; k < 8; k++) {
			h = h << 8 | b[i + k];
			id = id << 8 | b[i + 8 + k];
		}
		if ((uint32_t)(h >> (64 - bits)) != bucket)
			return 0;
		if (i > 0 && (h < prev_h || (h == prev_h && id <= prev_id)))
			return 0;
		prev_h = h;
		prev_id = id;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned bits;
	uint32_t bucket;
	int ok;

	if (size < 5)
		return 0;
	bits = VV_LOOKUP_BITS_MIN + data[0] % (VV_LOOKUP_BITS_MAX -
	    VV_LOOKUP_BITS_MIN + 1);
	bucket = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
	    (uint32_t)data[3] << 8 | data[4];
	bucket &= (1u << bits) - 1;
	ok = vv_lookup_bucket_check(data + 5, size - 5, bucket, bits) == VV_OK;
	if (ok != well_formed(data + 5, size - 5, bucket, bits))
		abort();
	return 0;
}
