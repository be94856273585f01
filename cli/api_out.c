/*
 * api_out.c - responses: JSON written into buffers that are wiped when
 * they grow and when libmicrohttpd is done with them, since a response
 * holds client data.  Each block carries its capacity in front, which is
 * how ab_release (a plain free callback) knows how much to wipe.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/api.h"

#define HDR sizeof(size_t)

static int
grow(struct abuf *b, size_t need)
{
	size_t cap = b->cap != 0 ? b->cap : 512, *blk;

	if (b->oom)
		return -1;
	if (b->len + need < b->cap)
		return 0;
	while (cap <= b->len + need) {
		if (cap > (SIZE_MAX - HDR) / 2) {
			b->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	if ((blk = malloc(cap + HDR)) == NULL) {
		b->oom = 1;
		return -1;
	}
	blk[0] = cap;
	if (b->p != NULL) {
		memcpy(blk + 1, b->p, b->len);
		ab_release(b->p);
	}
	b->p = (char *)(blk + 1);
	b->cap = cap;
	return 0;
}

void
ab_put(struct abuf *b, const char *s, size_t n)
{
	if (grow(b, n + 1) != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
ab_puts(struct abuf *b, const char *s)
{
	ab_put(b, s, strlen(s));
}

void
ab_printf(struct abuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		ab_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
	/* Only what was written can hold anything. */
	if (n > 0)
		sodium_memzero(tmp, (size_t)n < sizeof(tmp) ? (size_t)n + 1 :
		    sizeof(tmp));
}

void
ab_jstr(struct abuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;
	char esc[7];

	if (s == NULL) {
		ab_put(b, "null", 4);
		return;
	}
	ab_put(b, "\"", 1);
	for (run = s; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		ab_put(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ab_put(b, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			ab_put(b, esc, 6);
		}
	}
	ab_put(b, run, (size_t)(s - run));
	ab_put(b, "\"", 1);
}

char *
ab_take(struct abuf *b)
{
	char *p = b->p;

	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
ab_release(void *p)
{
	size_t *blk;

	if (p == NULL)
		return;
	blk = (size_t *)p - 1;
	sodium_memzero(p, blk[0]);
	free(blk);
}

void
ab_free(struct abuf *b)
{
	ab_release(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void
api_amount(char *out, size_t outlen, int64_t minor)
{
	uint64_t u = minor < 0 ? 0 - (uint64_t)minor : (uint64_t)minor;

	/* "-1.50", not "-1.-50" */
	(void)snprintf(out, outlen, "%s%llu.%02llu", minor < 0 ? "-" : "",
	    (unsigned long long)(u / 100), (unsigned long long)(u % 100));
}

void
api_record_json(struct abuf *b, const vv_record *r)
{
	char amount[32];
	int f, first = 1;

	/* Plain appends, no printf: this runs for every record served. */
	api_amount(amount, sizeof(amount), vv_record_annual_spend(r));
	ab_puts(b, "{\"external_id\":");
	ab_jstr(b, vv_record_external_id(r));
	ab_puts(b, ",\"owner\":");
	ab_jstr(b, vv_record_owner(r));
	ab_puts(b, ",\"tier\":");
	ab_jstr(b, vv_tier_name(vv_record_tier(r)));
	ab_puts(b, vv_record_pinned(r) ? ",\"pinned\":true" :
	    ",\"pinned\":false");
	ab_puts(b, ",\"annual_spend\":\"");
	ab_puts(b, amount);
	ab_puts(b, "\",\"client_since\":");
	ab_jstr(b, vv_record_client_since(r));
	for (f = 0; f < VV_FIELD_COUNT; f++) {
		ab_puts(b, ",\"");
		ab_puts(b, vv_field_name(f));
		ab_puts(b, "\":");
		ab_jstr(b, vv_record_field(r, f));
	}
	ab_puts(b, ",\"masked\":[");
	for (f = 0; f < VV_FIELD_COUNT; f++) {
		if (!vv_record_masked(r, f))
			continue;
		ab_puts(b, first ? "\"" : ",\"");
		ab_puts(b, vv_field_name(f));
		ab_puts(b, "\"");
		first = 0;
	}
	ab_puts(b, "]}");
}

void
api_error_json(struct abuf *b, const char *code, const char *message)
{
	ab_puts(b, "{\"error\":{\"code\":");
	ab_jstr(b, code);
	ab_puts(b, ",\"message\":");
	ab_jstr(b, message);
	ab_puts(b, "}}\n");
}
