/*
 * fuzz_softfido_state.c - libFuzzer target for the soft authenticator's
 * state-file parser.  Accepted input must survive a round trip through
 * the formatter unchanged in meaning; refused input must come with a
 * message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/softfido_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const struct sf_state *a, const struct sf_state *b)
{
	return memcmp(a->secret, b->secret, sizeof(a->secret)) == 0 &&
	    a->counter == b->counter && a->has_pin == b->has_pin &&
	    (!a->has_pin || memcmp(a->pin_hash, b->pin_hash,
	    sizeof(a->pin_hash)) == 0) && a->pin_retries == b->pin_retries &&
	    a->presence == b->presence && a->fault == b->fault &&
	    a->nprotocols == b->nprotocols &&
	    memcmp(a->protocols, b->protocols, a->nprotocols) == 0 &&
	    a->ctap21 == b->ctap21;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_state st, again;
	char err[256], text[SF_STATE_MAX];
	size_t n;

	err[0] = '\0';
	if (vv_sf_state_parse((const char *)data, size, &st, err,
	    sizeof(err)) != 0) {
		if (err[0] == '\0' || strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	if (st.pin_retries > SF_MAX_RETRIES || st.nprotocols < 1 ||
	    st.nprotocols > 2)
		abort();
	if ((n = vv_sf_state_format(&st, text, sizeof(text))) == 0 ||
	    vv_sf_state_parse(text, n, &again, err, sizeof(err)) != 0 ||
	    !same(&st, &again))
		abort();
	return 0;
}
