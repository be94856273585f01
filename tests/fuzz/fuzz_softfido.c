/*
 * fuzz_softfido.c - libFuzzer target for the soft authenticator's CBOR
 * commands: the input is one request (command byte, then CBOR), as
 * libfido2's transport would hand it over.  The token is loaded once from
 * a state file with a fixed secret, so that credential ids in the seed
 * corpus (captured from libfido2 against the same secret) open, and
 * getAssertion is reached beyond the allowList.
 *
 * Whatever the input: no crash, no leak, a reply of one status byte, or
 * status 0 and one well-formed CBOR map.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cbor.h>

#include "hsm/softfido.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char state_text[] = "vipvault-softfido 1\n"
    "secret 4242424242424242424242424242424242424242424242424242424242424242\n"
    "counter 0\npin -\npin-retries 8\npresence allow\nfault none\n"
    "protocols 2,1\nctap 2.1\n";

static char dir[] = "/tmp/vv-fuzz-softfido-XXXXXX";
static char path[sizeof(dir) + 8];
static struct vv_softfido *sf;

static void
cleanup(void)
{
	vv_softfido_free(&sf);
	(void)unlink(path);
	(void)rmdir(dir);
}

static void
init(void)
{
	FILE *fp;

	if (mkdtemp(dir) == NULL)
		abort();
	(void)snprintf(path, sizeof(path), "%s/token", dir);
	if ((fp = fopen(path, "wx")) == NULL ||
	    fwrite(state_text, 1, sizeof(state_text) - 1, fp) !=
	    sizeof(state_text) - 1 || fclose(fp) != 0 ||
	    chmod(path, 0600) != 0 || vv_softfido_load(path, &sf) != 0)
		abort();
	(void)atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t reply[VV_SOFTFIDO_MSG_MAX];
	struct cbor_load_result res;
	cbor_item_t *item;
	size_t n;

	if (sf == NULL)
		init();
	n = vv_softfido_cbor(sf, data, size, reply, sizeof(reply));
	if (n == 0 || n > sizeof(reply) || (reply[0] != 0 && n != 1))
		abort();
	if (n == 1)
		return 0;
	if ((item = cbor_load(reply + 1, n - 1, &res)) == NULL ||
	    res.read != n - 1 || !cbor_isa_map(item) ||
	    !cbor_map_is_definite(item))
		abort();
	cbor_decref(&item);
	return 0;
}
