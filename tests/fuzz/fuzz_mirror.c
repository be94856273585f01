/*
 * fuzz_mirror.c - libFuzzer target for what the officer's tools parse
 * from a mirror anyone with access to its directory could have damaged:
 * the header, entry records, head records, and a checkpoint line.  None
 * may crash or read out of bounds; a record accepted must lie inside
 * the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/officer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vv_mirror_header h;
	struct vv_tree_head th;
	struct vv_checkpoint cp;
	const uint8_t *hash, *sealed;
	size_t off = 0, sealedlen;
	uint64_t seq;
	char err[128];

	(void)vv_mirror_header_parse((const char *)data, size, &h, err,
	    sizeof(err));
	(void)vv_checkpoint_parse((const char *)data, size, &cp);
	while (vv_mirror_next(data, size, &off, &seq, &hash, &sealed,
	    &sealedlen) == VV_OK)
		if (off > size || sealed + sealedlen > data + size)
			abort();
	off = 0;
	while (vv_mirror_next_head(data, size, &off, &th) == VV_OK)
		if (off > size)
			abort();
	return 0;
}
