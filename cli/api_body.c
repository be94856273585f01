/*
 * api_body.c - JSON request bodies (jansson) to library inputs.
 *
 * Pure functions over untrusted text (fuzzed by tests/fuzz/fuzz_body.c).
 * Unknown members are refused rather than ignored: a CRM that misspells
 * "phone" should hear about it, not store a record without one.  Errors
 * name the member, never its value.  jansson's allocations are wiped on
 * free, since bodies carry client data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/api.h"

/* Each block carries its size in front, so that free can wipe it. */
static void *
wiping_malloc(size_t n)
{
	size_t *p;

	if (n > SIZE_MAX - sizeof(size_t) ||
	    (p = malloc(n + sizeof(size_t))) == NULL)
		return NULL;
	p[0] = n;
	return p + 1;
}

static void
wiping_free(void *ptr)
{
	size_t *p;

	if (ptr == NULL)
		return;
	p = (size_t *)ptr - 1;
	sodium_memzero(ptr, p[0]);
	free(p);
}

void
api_json_init(void)
{
	json_set_alloc_funcs(wiping_malloc, wiping_free);
}

static int
load(const char *body, size_t len, json_t **doc, char *err, size_t errlen)
{
	json_error_t je;

	*doc = NULL;
	if (body == NULL || len == 0) {
		(void)snprintf(err, errlen, "the request needs a JSON body");
		return API_BODY_JSON;
	}
	/* No duplicate keys: which one wins would be a guess.  A \u0000 is
	 * let through to the members' checks, so that the error names the
	 * member (jansson refuses one in a key itself). */
	*doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &je);
	if (*doc == NULL) {
		(void)snprintf(err, errlen, "invalid JSON at line %d, column "
		    "%d", je.line, je.column);
		return API_BODY_JSON;
	}
	if (!json_is_object(*doc)) {
		(void)snprintf(err, errlen, "the body must be a JSON object");
		json_decref(*doc);
		*doc = NULL;
		return API_BODY_JSON;
	}
	return API_BODY_OK;
}

static int
field_err(char *err, size_t errlen, const char *key, const char *what)
{
	(void)snprintf(err, errlen, "%s: %s", key, what);
	return API_BODY_FIELD;
}

/* A string member (NULL when absent or null); it may not hold a NUL. */
static int
get_string(json_t *doc, const char *key, const char **out, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return API_BODY_OK;
	if (!json_is_string(v))
		return field_err(err, errlen, key, "must be a string");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return field_err(err, errlen, key, "must not contain NUL");
	*out = json_string_value(v);
	return API_BODY_OK;
}

/* Amounts: "12345.67" (major units, up to two decimals) or a whole
 * number of major units.  Floating point is refused: 0.1 is not exact. */
static int
parse_amount(const char *s, int64_t *minor)
{
	int64_t units = 0, cents = 0;
	int digits = 0, decimals = -1;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '.' && decimals < 0 && digits > 0) {
			decimals = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || decimals >= 2)
			return -1;
		if (decimals >= 0) {
			cents = cents * 10 + (*s - '0');
			decimals++;
		} else if (++digits > 13)
			return -1;
		else
			units = units * 10 + (*s - '0');
	}
	if (decimals == 0)
		return -1;
	if (decimals == 1)
		cents *= 10;
	*minor = units * 100 + cents;
	return 0;
}

static int
get_spend(json_t *doc, struct api_put *p, char *err, size_t errlen)
{
	json_t *v = json_object_get(doc, "annual_spend");
	json_int_t n;

	if (v == NULL || json_is_null(v))
		return field_err(err, errlen, "annual_spend", "required");
	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (n < 0 || n > 9999999999999LL)
			return field_err(err, errlen, "annual_spend",
			    "0 to 9999999999999");
		p->in.annual_spend = (int64_t)n * 100;
		return API_BODY_OK;
	}
	if (!json_is_string(v) || json_string_length(v) >=
	    sizeof(p->spend_text) || strlen(json_string_value(v)) !=
	    json_string_length(v) || parse_amount(json_string_value(v),
	    &p->in.annual_spend) != 0)
		return field_err(err, errlen, "annual_spend", "a decimal "
		    "string such as \"12345.67\", or a whole number");
	return API_BODY_OK;
}

int
api_parse_put(const char *body, size_t len, const char *external_id,
    struct api_put *p, char *err, size_t errlen)
{
	static const char *const known[] = { "owner", "name", "phone",
	    "email", "address", "notes", "preferences", "annual_spend",
	    "client_since", "external_id", NULL };
	const char *key, *xid = NULL;
	json_t *doc = NULL, *val;
	size_t i;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = load(body, len, &doc, err, errlen)) != API_BODY_OK)
		return r;
	p->doc = doc;
	json_object_foreach(doc, key, val) {
		for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++)
			;
		if (known[i] == NULL)
			return field_err(err, errlen, "body", "unknown member "
			    "(see docs/api.md for the record's members)");
	}
	if ((r = get_string(doc, "owner", &p->in.owner, err, errlen)) ||
	    (r = get_string(doc, "name", &p->in.name, err, errlen)) ||
	    (r = get_string(doc, "phone", &p->in.phone, err, errlen)) ||
	    (r = get_string(doc, "email", &p->in.email, err, errlen)) ||
	    (r = get_string(doc, "address", &p->in.address, err, errlen)) ||
	    (r = get_string(doc, "notes", &p->in.notes, err, errlen)) ||
	    (r = get_string(doc, "preferences", &p->in.preferences, err,
	    errlen)) || (r = get_string(doc, "client_since",
	    &p->in.client_since, err, errlen)) ||
	    (r = get_string(doc, "external_id", &xid, err, errlen)))
		return r;
	/* The URL names the record; a body naming another is a mistake. */
	if (xid != NULL && strcmp(xid, external_id) != 0)
		return field_err(err, errlen, "external_id", "differs from "
		    "the one in the URL");
	if (p->in.owner == NULL)
		return field_err(err, errlen, "owner", "required");
	if (p->in.name == NULL)
		return field_err(err, errlen, "name", "required");
	if (p->in.client_since == NULL)
		return field_err(err, errlen, "client_since", "required "
		    "(YYYY-MM-DD)");
	if ((r = get_spend(doc, p, err, errlen)) != API_BODY_OK)
		return r;
	p->in.external_id = external_id;
	return API_BODY_OK;
}

void
api_put_clear(struct api_put *p)
{
	if (p->doc != NULL)
		json_decref(p->doc);
	sodium_memzero(p, sizeof(*p));
}

static int
get_records(json_t *doc, struct api_unseal_body *u, char *err,
    size_t errlen)
{
	json_t *arr = json_object_get(doc, "records"), *v;
	size_t i;

	if (arr == NULL || !json_is_array(arr) || json_array_size(arr) == 0)
		return field_err(err, errlen, "records", "a non-empty array "
		    "of external ids");
	if (json_array_size(arr) > API_UNSEAL_MAX)
		return field_err(err, errlen, "records", "at most 20 per "
		    "request");
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= API_PARAM_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return field_err(err, errlen, "records", "each an "
			    "external id (1 to 127 bytes)");
		u->records[u->n++] = json_string_value(v);
	}
	return API_BODY_OK;
}

int
api_parse_unseal(const char *body, size_t len, struct api_unseal_body *u,
    char *err, size_t errlen)
{
	const char *key;
	json_t *doc = NULL, *val, *ttl;
	int r;

	memset(u, 0, sizeof(*u));
	if ((r = load(body, len, &doc, err, errlen)) != API_BODY_OK)
		return r;
	u->doc = doc;
	json_object_foreach(doc, key, val) {
		if (strcmp(key, "records") != 0 && strcmp(key, "reason") != 0 &&
		    strcmp(key, "ttl_seconds") != 0)
			return field_err(err, errlen, "body", "unknown member "
			    "(records, reason, ttl_seconds)");
	}
	if ((r = get_records(doc, u, err, errlen)) != API_BODY_OK ||
	    (r = get_string(doc, "reason", &u->reason, err, errlen)) !=
	    API_BODY_OK)
		return r;
	if (u->reason == NULL || u->reason[0] == '\0' ||
	    strlen(u->reason) > API_REASON_MAX)
		return field_err(err, errlen, "reason", "required, 1 to 500 "
		    "bytes");
	ttl = json_object_get(doc, "ttl_seconds");
	if (ttl != NULL && !json_is_null(ttl)) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) < 60 ||
		    json_integer_value(ttl) > 86400)
			return field_err(err, errlen, "ttl_seconds", "a whole "
			    "number, 60 to 86400");
		u->ttl = (int64_t)json_integer_value(ttl);
	}
	return API_BODY_OK;
}

void
api_unseal_clear(struct api_unseal_body *u)
{
	if (u->doc != NULL)
		json_decref(u->doc);
	sodium_memzero(u, sizeof(*u));
}
