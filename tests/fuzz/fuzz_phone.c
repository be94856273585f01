/*
 * fuzz_phone.c - libFuzzer target for phone normalisation and masking.
 * An accepted number must be E.164, normalise to itself, and mask to
 * a string showing only country code, first national digit and the last
 * two digits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vipvault.h"
#include "vault/mask.h"
#include "vault/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ^\+[1-9][0-9]{7,14}$ */
static int
is_e164(const char *s)
{
	size_t n;

	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	for (n = 2; s[n] >= '0' && s[n] <= '9'; n++)
		;
	return s[n] == '\0' && n >= 9 && n <= 16;
}

static void
check_mask(const char *e164)
{
	char out[VV_MASK_MAX], shown[VV_MASK_MAX];
	size_t cc, n = strlen(e164) - 1, i, ns = 0;

	if (vv_mask_phone(e164, out, sizeof(out)) != VV_OK)
		abort();
	if ((cc = vv_phone_country_code_len(e164 + 1)) == 0)
		cc = 3;
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= '0' && out[i] <= '9')
			shown[ns++] = out[i];
	if (ns != cc + 3 || memcmp(shown, e164 + 1, cc + 1) != 0 ||
	    memcmp(shown + cc + 1, e164 + n - 1, 2) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[VV_PHONE_MAX], again[VV_PHONE_MAX];
	const char *why = NULL;
	char *in;
	int r;

	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	r = vv_phone_normalize(in, out, sizeof(out), &why);
	if (r == VV_OK) {
		if (!is_e164(out) ||
		    vv_phone_normalize(out, again, sizeof(again), NULL) !=
		    VV_OK || strcmp(out, again) != 0)
			abort();
		check_mask(out);
	} else if (r != VV_ERR_INPUT || why == NULL || out[0] != '\0')
		abort();
	free(in);
	return 0;
}
