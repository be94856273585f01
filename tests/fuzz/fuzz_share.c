/*
 * fuzz_share.c - libFuzzer target for the share decoder, which sees
 * whatever comes out of a key manager's sealed blob.  A decoded share
 * must be one vv_share_encode accepts and must encode back to exactly
 * the input; a refused one must leave the share wiped.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vipvault.h"
#include "vault/shamir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t enc[VV_SHARE_LEN];
	struct vv_share s;
	int r;

	memset(&s, 0xaa, sizeof(s));
	r = vv_share_decode(&s, data, size);
	if (r != VV_OK) {
		if (r != VV_ERR_INPUT || !sodium_is_zero((unsigned char *)&s,
		    sizeof(s)))
			abort();
		return 0;
	}
	if (size != VV_SHARE_LEN || s.version != VV_SHARE_VERSION ||
	    s.index == 0 || s.threshold < 2)
		abort();
	if (vv_share_encode(enc, &s) != VV_OK ||
	    memcmp(enc, data, VV_SHARE_LEN) != 0)
		abort();
	/* A share alone is a valid set of one. */
	if (vv_shamir_validate(&s, 1, NULL, NULL) != VV_OK)
		abort();
	return 0;
}
