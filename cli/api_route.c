/*
 * api_route.c - from method, path and query values to what to run.
 *
 * Pure functions over untrusted text (fuzzed by tests/fuzz/fuzz_route.c).
 * The path arrives percent-decoded; a path parameter must be something a
 * record or request id can be, so nothing odd reaches the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/api.h"
#include "vault/utf8.h"

int
api_method(const char *name)
{
	if (name == NULL)
		return API_OTHER;
	if (strcmp(name, "GET") == 0)
		return API_GET;
	if (strcmp(name, "HEAD") == 0)
		return API_HEAD;
	if (strcmp(name, "PUT") == 0)
		return API_PUT;
	if (strcmp(name, "POST") == 0)
		return API_POST;
	return API_OTHER;
}

/* An external id as the vault accepts them: 1 to 127 bytes of UTF-8, no
 * space or control character; in a path, no '/' either (which would be another
 * path segment), but a cursor may hold one: a page can end at any record
 * the vault holds. */
static int
valid_external_id(const char *s, size_t n, int slash_ok)
{
	size_t i, len;

	if (n == 0 || n >= API_PARAM_MAX)
		return 0;
	for (i = 0; i < n; i += len) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || (c == '/' && !slash_ok) ||
		    (len = vv_utf8_len((const uint8_t *)s + i, n - i)) == 0)
			return 0;
	}
	return 1;
}

static int
valid_request_id(const char *s, size_t n)
{
	size_t i;

	if (n != 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

static int
take_param(const char *s, size_t n, char *param)
{
	memcpy(param, s, n);
	param[n] = '\0';
	return 1;
}

int
api_route(const char *path, char *param)
{
	static const char clients[] = "/v1/clients/";
	static const char unseal[] = "/v1/unseal-requests/";
	const char *rest, *slash;
	size_t n;

	param[0] = '\0';
	if (path == NULL)
		return API_R_NONE;
	if (strcmp(path, "/v1/health") == 0)
		return API_R_HEALTH;
	if (strcmp(path, "/metrics") == 0)
		return API_R_METRICS;
	if (strcmp(path, "/v1/clients") == 0)
		return API_R_CLIENTS;
	if (strcmp(path, "/v1/clients/lookup") == 0)
		return API_R_LOOKUP;
	if (strcmp(path, "/v1/unseal-requests") == 0)
		return API_R_UNSEAL_NEW;
	if (strncmp(path, clients, sizeof(clients) - 1) == 0) {
		rest = path + sizeof(clients) - 1;
		n = strlen(rest);
		if (!valid_external_id(rest, n, 0))
			return API_R_NONE;
		return take_param(rest, n, param) ? API_R_CLIENT : API_R_NONE;
	}
	if (strncmp(path, unseal, sizeof(unseal) - 1) != 0)
		return API_R_NONE;
	rest = path + sizeof(unseal) - 1;
	if ((slash = strchr(rest, '/')) == NULL) {
		n = strlen(rest);
		return valid_request_id(rest, n) && take_param(rest, n,
		    param) ? API_R_UNSEAL : API_R_NONE;
	}
	n = (size_t)(slash - rest);
	if (strcmp(slash, "/result") != 0 || !valid_request_id(rest, n))
		return API_R_NONE;
	return take_param(rest, n, param) ? API_R_UNSEAL_RESULT : API_R_NONE;
}

unsigned
api_route_methods(int route)
{
	switch (route) {
	case API_R_CLIENT:
		return API_GET | API_HEAD | API_PUT;
	case API_R_UNSEAL_NEW:
		return API_POST;
	case API_R_UNSEAL_RESULT:
		/* No HEAD: a fetch releases the contacts once, and a HEAD
		 * would spend it on a response without a body. */
		return API_GET;
	case API_R_NONE:
		return 0;
	default:
		return API_GET | API_HEAD;
	}
}

const char *
api_route_name(int route)
{
	static const char *const names[API_R_COUNT] = {
		"other", "/v1/health", "/metrics", "/v1/clients/{id}",
		"/v1/clients", "/v1/clients/lookup", "/v1/unseal-requests",
		"/v1/unseal-requests/{id}", "/v1/unseal-requests/{id}/result"
	};

	return route >= 0 && route < API_R_COUNT ? names[route] : "other";
}

void
api_allow_header(unsigned methods, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%s%s%s%s%s%s%s",
	    methods & API_GET ? "GET" : "",
	    methods & API_GET && methods & (API_HEAD | API_PUT | API_POST) ?
	    ", " : "", methods & API_HEAD ? "HEAD" : "",
	    methods & API_HEAD && methods & (API_PUT | API_POST) ? ", " : "",
	    methods & API_PUT ? "PUT" : "",
	    methods & API_PUT && methods & API_POST ? ", " : "",
	    methods & API_POST ? "POST" : "");
}

int
api_parse_limit(const char *s, size_t *out)
{
	size_t n = 0, i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 4)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (size_t)(s[i] - '0');
	}
	if (n < 1 || n > API_PAGE_MAX)
		return -1;
	*out = n;
	return 0;
}

int
api_parse_tier(const char *s, int *tier)
{
	int t = s != NULL ? vv_tier_from_name(s) : 0;

	if (t == 0)
		return -1;
	*tier = t;
	return 0;
}

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

int
api_cursor_encode(const char *external_id, char *out, size_t outlen)
{
	size_t n = strlen(external_id);

	if (n == 0 || n >= API_PARAM_MAX ||
	    sodium_base64_ENCODED_LEN(n, B64) > outlen)
		return -1;
	(void)sodium_bin2base64(out, outlen, (const unsigned char *)
	    external_id, n, B64);
	return 0;
}

/* libsodium 1.0.18 decodes some bytes outside the alphabet (0xcf as
 * '_'): only the alphabet, so that each id has one cursor. */
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
api_cursor_decode(const char *cursor, char *external_id, size_t len)
{
	size_t got = 0;
	const char *end = NULL;

	if (cursor == NULL || len < 2 || strlen(cursor) >= API_CURSOR_MAX ||
	    cursor[strspn(cursor, b64url)] != '\0' ||
	    sodium_base642bin((unsigned char *)external_id, len - 1, cursor,
	    strlen(cursor), NULL, &got, &end, B64) != 0 || *end != '\0' ||
	    !valid_external_id(external_id, got, 1))
		return -1;
	external_id[got] = '\0';
	return 0;
}
