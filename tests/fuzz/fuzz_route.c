/*
 * fuzz_route.c - libFuzzer target for the API server's routing and query
 * values (cli/api_route.c): a method, a (percent-decoded) path, a limit,
 * a tier and a cursor, one per line of the input.  Whatever is routed
 * must carry a parameter the vault can take; whatever cursor decodes must
 * encode back to itself, and an id must survive a round trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPART 5

/* Splits the input at newlines into NPART NUL-terminated strings (an
 * embedded NUL ends a string early, as it would in a C caller). */
static void
split(const uint8_t *data, size_t size, char *part[NPART])
{
	size_t i, start = 0;
	int k = 0;

	for (i = 0; i <= size && k < NPART; i++) {
		if (i < size && data[i] != '\n' && k < NPART - 1)
			continue;
		if (k == NPART - 1)
			i = size;
		part[k] = malloc(i - start + 1);
		if (part[k] == NULL)
			abort();
		memcpy(part[k], data + start, i - start);
		part[k][i - start] = '\0';
		k++;
		start = i + 1;
	}
	for (; k < NPART; k++)
		if ((part[k] = calloc(1, 1)) == NULL)
			abort();
}

static int
is_lower_hex_id(const char *s)
{
	size_t i;

	if (strlen(s) != 32)
		return 0;
	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

static int
is_external_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= API_PARAM_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == '/')
			return 0;
	}
	return 1;
}

/* vv_valid_external_id: 1 to 127 bytes, none below 0x21 nor 0x7f. */
/* Well-formed UTF-8 (RFC 3629), written out here rather than taken from
 * the vault's decoder, so that the two can disagree. */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	unsigned long cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4, cp = s[i] & 0x07;
		else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

static int
is_vault_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= API_PARAM_MAX || !utf8_ok((const unsigned char *)s,
	    n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* "GET, HEAD, PUT, POST" in that order, only the bits of mask, ", "
 * between them. */
static void
check_allow(unsigned mask)
{
	static const char *const names[4] = { "GET", "HEAD", "PUT", "POST" };
	static const unsigned bits[4] = { API_GET, API_HEAD, API_PUT,
	    API_POST };
	char out[64], want[64];
	size_t len = 0;
	int i;

	want[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (!(mask & bits[i]))
			continue;
		if (len != 0) {
			memcpy(want + len, ", ", 2);
			len += 2;
		}
		memcpy(want + len, names[i], strlen(names[i]));
		len += strlen(names[i]);
		want[len] = '\0';
	}
	memset(out, 'x', sizeof(out));
	api_allow_header(mask, out, sizeof(out));
	if (strcmp(out, want) != 0)
		abort();
}

static void
check_route(const char *path)
{
	static const char clients[] = "/v1/clients/";
	static const char unseal[] = "/v1/unseal-requests/";
	char param[API_PARAM_MAX + 16];
	const char *name;
	unsigned methods;
	int r;

	memset(param, 'x', sizeof(param));
	r = api_route(path, param);
	if (r < API_R_NONE || r >= API_R_COUNT)
		abort();
	if (memchr(param, '\0', API_PARAM_MAX) == NULL)
		abort();
	switch (r) {
	case API_R_CLIENT:
		if (!is_external_id(param) || strncmp(path, clients,
		    sizeof(clients) - 1) != 0 || strcmp(path +
		    sizeof(clients) - 1, param) != 0 ||
		    strcmp(param, "lookup") == 0)
			abort();
		break;
	case API_R_UNSEAL:
		if (!is_lower_hex_id(param) || strncmp(path, unseal,
		    sizeof(unseal) - 1) != 0 || strcmp(path +
		    sizeof(unseal) - 1, param) != 0)
			abort();
		break;
	case API_R_UNSEAL_RESULT:
		if (!is_lower_hex_id(param) || strncmp(path, unseal,
		    sizeof(unseal) - 1) != 0 || strncmp(path +
		    sizeof(unseal) - 1, param, 32) != 0 ||
		    strcmp(path + sizeof(unseal) - 1 + 32, "/result") != 0)
			abort();
		break;
	default:
		if (param[0] != '\0')
			abort();
	}
	/* A parameter always makes a good cursor. */
	if (r == API_R_CLIENT) {
		char cur[API_CURSOR_MAX], back[API_PARAM_MAX];

		if (api_cursor_encode(param, cur, sizeof(cur)) != 0 ||
		    api_cursor_decode(cur, back, sizeof(back)) != 0 ||
		    strcmp(back, param) != 0)
			abort();
	}
	methods = api_route_methods(r);
	if ((r == API_R_NONE) != (methods == 0) ||
	    (methods & ~(unsigned)(API_GET | API_HEAD | API_PUT | API_POST)))
		abort();
	name = api_route_name(r);
	if (name == NULL || (r != API_R_NONE && name[0] != '/'))
		abort();
	check_allow(methods);
}

static void
check_limit(const char *s)
{
	size_t n = 12345, i, want = 0, len = strlen(s);
	int ok = len >= 1 && len <= 4;

	for (i = 0; i < len && ok; i++) {
		if (s[i] < '0' || s[i] > '9')
			ok = 0;
		else
			want = want * 10 + (size_t)(s[i] - '0');
	}
	ok = ok && want >= 1 && want <= API_PAGE_MAX;
	if (api_parse_limit(s, &n) == 0) {
		if (!ok || n != want || n < 1 || n > API_PAGE_MAX)
			abort();
	} else if (ok || n != 12345)
		abort();
}

static void
check_tier(const char *s)
{
	int t = -7;

	if (api_parse_tier(s, &t) == 0) {
		if (t < VV_TIER_BASIC || t > VV_TIER_VIP ||
		    strcmp(vv_tier_name(t), s) != 0)
			abort();
	} else if (t != -7)
		abort();
}

static void
check_cursor(const char *s)
{
	char id[API_PARAM_MAX], cur[API_CURSOR_MAX], back[API_PARAM_MAX];

	/* Any id the vault accepts (it allows '/') is a record a page may
	 * end at: its cursor must lead back to it. */
	if (is_vault_id(s)) {
		if (api_cursor_encode(s, cur, sizeof(cur)) != 0 ||
		    api_cursor_decode(cur, back, sizeof(back)) != 0 ||
		    strcmp(back, s) != 0)
			abort();
	}
	if (api_cursor_decode(s, id, sizeof(id)) != 0)
		return;
	if (!is_vault_id(id))
		abort();
	if (api_cursor_encode(id, cur, sizeof(cur)) != 0)
		abort();
	/* Canonical: one cursor per id. */
	if (strcmp(cur, s) != 0)
		abort();
	if (api_cursor_decode(cur, back, sizeof(back)) != 0 ||
	    strcmp(back, id) != 0)
		abort();
	/* A buffer too small is refused, never overrun. */
	if (api_cursor_decode(s, back, strlen(id)) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[NPART];
	int m, k;

	split(data, size, part);
	m = api_method(part[0]);
	if (m != API_GET && m != API_PUT && m != API_POST && m != API_HEAD &&
	    m != API_OTHER)
		abort();
	check_route(part[1]);
	check_limit(part[2]);
	check_tier(part[3]);
	check_cursor(part[4]);
	check_cursor(part[1]);
	if (size > 0)
		check_allow(data[0]);
	for (k = 0; k < NPART; k++)
		free(part[k]);
	return 0;
}
