/*
 * fuzz_event.c - libFuzzer target for the compliance log entry decoder.
 * The hash chain and the Merkle tree cover an entry's bytes, so whatever
 * decodes must encode back to exactly the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vipvault.h"
#include "vault/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vv_event e;
	static uint8_t out[VV_EVENT_ENC_MAX];
	char err[128];
	size_t len = 0;

	if (vv_event_decode(data, size, &e, err, sizeof(err)) != VV_OK)
		return 0;
	if (vv_event_encode(&e, out, &len) != VV_OK || len != size ||
	    memcmp(out, data, size) != 0)
		abort();
	return 0;
}
