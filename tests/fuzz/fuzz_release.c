/*
 * fuzz_release.c - libFuzzer target for the release walker, the last
 * parser before contacts leave the vault.  An accepted release must have
 * yielded only well-formed external ids and fields within its bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
check_item(void *arg, const struct vv_release_item *it)
{
	size_t i, *total = arg;

	if (!vv_valid_external_id(it->external_id))
		abort();
	for (i = 0; i < VV_CLASS_FIELDS; i++) {
		if (strlen(it->f[i]) != it->len[i])
			abort();
		*total += it->len[i];
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t id[VV_REQ_ID_LEN];
	size_t total = 0;

	if (size < 5 + VV_REQ_ID_LEN)
		return 0;
	if (vv_release_walk(data, size, id, check_item, &total) == VV_OK &&
	    total > size)
		abort();
	return 0;
}
