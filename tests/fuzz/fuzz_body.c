/*
 * fuzz_body.c - libFuzzer target for the API server's request bodies
 * (cli/api_body.c) and its JSON string output (cli/api_out.c).  What a
 * body parser accepts must meet the rules docs/api.md states; what
 * ab_jstr writes must be JSON for exactly the string it was given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define XID "C900001"

/* The documented amount: up to 13 digits, then optionally '.' and one or
 * two digits; every byte of the JSON string counts (a NUL included). */
static int
ref_amount(const char *s, size_t len, int64_t *minor)
{
	int64_t units = 0, cents = 0;
	size_t i = 0, d = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		units = units * 10 + (s[i] - '0');
		i++;
		d++;
	}
	if (d == 0 || d > 13)
		return -1;
	if (i < len) {
		if (s[i++] != '.' || i == len || len - i > 2)
			return -1;
		for (d = 0; i < len; i++, d++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			cents = cents * 10 + (s[i] - '0');
		}
		if (d == 1)
			cents *= 10;
	}
	*minor = units * 100 + cents;
	return 0;
}

/* No string an accepted body holds has a NUL in it (a C caller would
 * see less than was sent). */
static void
check_no_nul(json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	if (json_is_string(v) && strlen(json_string_value(v)) !=
	    json_string_length(v))
		abort();
	if (json_is_object(v))
		json_object_foreach(v, key, m)
			check_no_nul(m);
	if (json_is_array(v))
		json_array_foreach(v, i, m)
			check_no_nul(m);
}

static void
check_put(const uint8_t *data, size_t size)
{
	struct api_put p;
	char err[160];
	json_t *v;
	int64_t want;
	int r;

	err[0] = '\0';
	r = api_parse_put((const char *)data, size, XID, &p, err,
	    sizeof(err));
	if (r == API_BODY_OK) {
		if (p.in.owner == NULL || p.in.name == NULL ||
		    p.in.client_since == NULL || p.in.annual_spend < 0 ||
		    p.in.annual_spend > 999999999999999LL ||
		    p.in.external_id == NULL ||
		    strcmp(p.in.external_id, XID) != 0 || p.doc == NULL)
			abort();
		check_no_nul(p.doc);
		/* The amount is what the member says, to the last byte. */
		v = json_object_get(p.doc, "annual_spend");
		if (v == NULL)
			abort();
		if (json_is_string(v)) {
			if (ref_amount(json_string_value(v),
			    json_string_length(v), &want) != 0 ||
			    want != p.in.annual_spend)
				abort();
		} else if (!json_is_integer(v) || json_integer_value(v) * 100
		    != p.in.annual_spend)
			abort();
	} else if ((r != API_BODY_JSON && r != API_BODY_FIELD) ||
	    err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	api_put_clear(&p);
	if (p.doc != NULL || p.in.owner != NULL)
		abort();
}

static void
check_unseal(const uint8_t *data, size_t size)
{
	struct api_unseal_body u;
	char err[160];
	size_t i, n;
	int r;

	err[0] = '\0';
	r = api_parse_unseal((const char *)data, size, &u, err, sizeof(err));
	if (r == API_BODY_OK) {
		if (u.n < 1 || u.n > API_UNSEAL_MAX || u.reason == NULL ||
		    strlen(u.reason) < 1 || strlen(u.reason) > API_REASON_MAX ||
		    (u.ttl != 0 && (u.ttl < 60 || u.ttl > 86400)) ||
		    u.doc == NULL)
			abort();
		check_no_nul(u.doc);
		for (i = 0; i < u.n; i++) {
			if (u.records[i] == NULL)
				abort();
			n = strlen(u.records[i]);
			if (n < 1 || n >= API_PARAM_MAX)
				abort();
		}
	} else if ((r != API_BODY_JSON && r != API_BODY_FIELD) ||
	    err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	api_unseal_clear(&u);
	if (u.doc != NULL || u.n != 0)
		abort();
}

/* ab_jstr(s) parsed back is s, and its output has no raw control byte. */
static void
check_jstr(const char *s, size_t len)
{
	struct abuf b = { 0 };
	json_t *probe, *back, *err, *code, *msg;
	size_t i;

	ab_jstr(&b, s);
	if (b.oom || b.p == NULL || b.len < 2 || b.p[0] != '"' ||
	    b.p[b.len - 1] != '"' || strlen(b.p) != b.len)
		abort();
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.p[i] < 0x20 || b.p[i] == 0x7f)
			abort();
	/* jansson refuses invalid UTF-8, which ab_jstr passes through. */
	probe = json_stringn(s, len);
	if (probe != NULL) {
		back = json_loads(b.p, JSON_DECODE_ANY, NULL);
		if (back == NULL || !json_is_string(back) ||
		    json_string_length(back) != len ||
		    memcmp(json_string_value(back), s, len) != 0)
			abort();
		json_decref(back);
	}
	ab_free(&b);

	/* An error response is an object {"error":{"code","message"}}. */
	api_error_json(&b, "invalid_field", s);
	if (b.oom || b.len == 0 || b.p[b.len - 1] != '\n')
		abort();
	if (probe != NULL) {
		back = json_loads(b.p, 0, NULL);
		if (back == NULL || json_object_size(back) != 1 ||
		    (err = json_object_get(back, "error")) == NULL ||
		    json_object_size(err) != 2 ||
		    (code = json_object_get(err, "code")) == NULL ||
		    (msg = json_object_get(err, "message")) == NULL ||
		    strcmp(json_string_value(code), "invalid_field") != 0 ||
		    json_string_length(msg) != len ||
		    memcmp(json_string_value(msg), s, len) != 0)
			abort();
		json_decref(back);
		json_decref(probe);
	}
	ab_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	char *s;

	if (!init) {
		api_json_init();
		init = 1;
	}
	check_put(data, size);
	check_unseal(data, size);
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	check_jstr(s, strlen(s));
	free(s);
	return 0;
}
