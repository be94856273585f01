/*
 * fuzz_request.c - libFuzzer target for the canonical unseal request
 * decoder, whose bytes a key manager's token signs.  Canonical means:
 * whatever decodes must encode back to exactly the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vv_request q;
	static uint8_t out[VV_REQ_ENC_MAX];
	char err[128];
	size_t len = 0;

	if (vv_request_decode(data, size, &q, err, sizeof(err)) != VV_OK)
		return 0;
	if (vv_request_encode(&q, out, &len) != VV_OK || len != size ||
	    memcmp(out, data, size) != 0)
		abort();
	return 0;
}
