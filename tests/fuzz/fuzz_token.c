/*
 * fuzz_token.c - libFuzzer target for the bearer token parser, which
 * sees whatever an API client or a command line sends.  An accepted token
 * must have the exact shape "vv_" + 16 hex + "_" + 43 base64url
 * characters, and its id must be those 16 hex digits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t secret[32];
	char id[17], *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vv_token_parse(s, id, secret) == VV_OK &&
	    (strlen(s) != 3 + 16 + 1 + 43 || strncmp(s, "vv_", 3) != 0 ||
	    strncmp(s + 3, id, 16) != 0 || strlen(id) != 16))
		abort();
	free(s);
	return 0;
}
