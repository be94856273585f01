/*
 * fuzz_email.c - libFuzzer target for e-mail normalisation and masking.
 * An accepted address must be short enough, hold one '@', contain no
 * upper-case ASCII, normalise to itself, and mask to its first character,
 * "***@" and (the tail of) its domain.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vipvault.h"
#include "vault/mask.h"
#include "vault/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_form(const char *s)
{
	const char *at = strchr(s, '@');
	size_t i;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    strlen(s) >= VV_EMAIL_MAX || strchr(at, '.') == NULL)
		abort();
	for (i = 0; s[i] != '\0'; i++)
		if ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == ' ')
			abort();
}

static void
check_mask(const char *s)
{
	char out[VV_MASK_MAX];
	const char *dom = strchr(s, '@') + 1, *star, *tail;
	size_t dl = strlen(dom), tl;

	if (vv_mask_email(s, out, sizeof(out)) != VV_OK ||
	    strlen(out) >= VV_MASK_MAX)
		abort();
	/* One whole character of the local part, then "***@". */
	if ((star = strstr(out, "***@")) == NULL || star == out ||
	    star - out > 4 || memcmp(out, s, (size_t)(star - out)) != 0)
		abort();
	/* Then the domain, or "*." and a tail of it that starts a label. */
	tail = star + 4;
	if (strcmp(tail, dom) == 0)
		return;
	if (strncmp(tail, "*.", 2) != 0)
		abort();
	tl = strlen(tail + 2);
	if (tl >= dl || dom[dl - tl - 1] != '.' ||
	    strcmp(tail + 2, dom + dl - tl) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[VV_EMAIL_MAX], again[VV_EMAIL_MAX];
	const char *why = NULL;
	char *in;
	int r;

	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	r = vv_email_normalize(in, out, sizeof(out), &why);
	if (r == VV_OK) {
		check_form(out);
		if (vv_email_normalize(out, again, sizeof(again), NULL) !=
		    VV_OK || strcmp(out, again) != 0)
			abort();
		check_mask(out);
	} else if (r != VV_ERR_INPUT || why == NULL || out[0] != '\0')
		abort();
	/* Masking arbitrary text must never misbehave either. */
	r = vv_mask_address(in, out, VV_MASK_MAX);
	if (r != VV_OK && r != VV_ERR_INPUT)
		abort();
	free(in);
	return 0;
}
