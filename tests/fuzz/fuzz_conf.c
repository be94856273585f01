/*
 * fuzz_conf.c - libFuzzer target for the vault.conf parser.  Whatever
 * the input, parsing must not crash or leak; accepted input must name an
 * HSM that is "dev" or a pkcs11: URI.
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
	struct vv_conf c;
	char msg[256];

	if (vv_conf_parse((const char *)data, size, &c, msg, sizeof(msg)) !=
	    VV_OK)
		return 0;
	if (c.hsm == NULL || (strcmp(c.hsm, "dev") != 0 &&
	    strncmp(c.hsm, "pkcs11:", 7) != 0))
		abort();
	vv_conf_clear(&c);
	return 0;
}
