/*
 * csv.c - streaming RFC 4180 reader; see csv.h.
 *
 * The reader is a small state machine fed from its own read buffer.  In
 * the common states it scans a run of ordinary bytes with a table lookup
 * and copies the run in one go, so the cost per byte is a load and a
 * compare.  Field bytes are gathered in one growing record buffer, each
 * field NUL-terminated; UTF-8 is checked once per field, when it ends.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vipvault.h"
#include "vault/csv.h"
#include "vault/utf8.h"

/* Bytes read from the stream at a time.  Tests and fuzzers may build
 * with a tiny buffer so that every refill path is exercised. */
#ifndef VV_CSV_BUFSZ
#define VV_CSV_BUFSZ 65536u
#endif
_Static_assert(VV_CSV_BUFSZ >= 4, "the BOM must fit in the first read");

#define REC_MIN 4096u
/* Field bytes, plus one NUL per field. */
#define REC_MAX (VV_CSV_MAX_RECORD + VV_CSV_MAX_FIELDS)

enum csv_state {
	ST_START,	/* at the first byte of a field */
	ST_PLAIN,	/* inside an unquoted field */
	ST_QUOTED,	/* inside a quoted field */
	ST_QUOTE,	/* a quote seen inside a quoted field */
	ST_CR		/* a carriage return seen outside quotes */
};

/* Bytes that end a run: 1 outside quotes, 2 inside quotes. */
#define SP_PLAIN  1u
#define SP_QUOTED 2u
static const uint8_t special[256] = {
	['\n'] = SP_PLAIN | SP_QUOTED,
	['\r'] = SP_PLAIN,
	[','] = SP_PLAIN,
	['"'] = SP_PLAIN | SP_QUOTED,
};

struct vv_csv {
	FILE		*fp;
	uint8_t		*buf;		/* read buffer */
	size_t		 pos;		/* next unread byte in buf */
	size_t		 len;		/* valid bytes in buf */
	uint64_t	 base;		/* stream offset of buf[0] */
	int		 eof;
	uint8_t		*rec;		/* fields of the record, NUL-ended */
	size_t		 rec_len;
	size_t		 rec_cap;
	size_t		 data;		/* field bytes, NULs not counted */
	size_t		 off[VV_CSV_MAX_FIELDS];
	size_t		 flen[VV_CSV_MAX_FIELDS];
	size_t		 nf;		/* finished fields */
	enum csv_state	 state;
	uint64_t	 line;		/* physical line of the next byte */
	uint64_t	 rline;		/* line the record starts on */
	uint64_t	 fline;		/* line the field starts on */
	int		 failed;	/* sticky error code */
	const char	*errmsg;
	uint64_t	 eline;
	size_t		 ecol;
};

int
vv_csv_new(vv_csv **out, FILE *fp)
{
	vv_csv *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return VV_ERR_NOMEM;
	if ((c->buf = malloc(VV_CSV_BUFSZ)) == NULL ||
	    (c->rec = malloc(REC_MIN)) == NULL) {
		free(c->buf);
		free(c);
		return VV_ERR_NOMEM;
	}
	c->fp = fp;
	c->rec_cap = REC_MIN;
	c->line = 1;
	c->rline = 1;
	c->errmsg = "no error";
	*out = c;

	return VV_OK;
}

void
vv_csv_free(vv_csv **cp)
{
	vv_csv *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	sodium_memzero(c->buf, VV_CSV_BUFSZ);
	sodium_memzero(c->rec, c->rec_cap);
	free(c->buf);
	free(c->rec);
	free(c);
	*cp = NULL;
}

static int
fail(vv_csv *c, const char *msg, uint64_t line)
{
	c->failed = VV_ERR_INPUT;
	c->errmsg = msg;
	c->eline = line;
	c->ecol = c->nf + 1;
	sodium_memzero(c->rec, c->rec_len);
	c->rec_len = 0;
	c->nf = 0;

	return VV_ERR_INPUT;
}

/* Reads the next block; leaves c->len == 0 at the end of the stream. */
static int
refill(vv_csv *c)
{
	c->base += c->len;
	c->pos = 0;
	c->len = 0;
	if (c->eof)
		return VV_OK;
	c->len = fread(c->buf, 1, VV_CSV_BUFSZ, c->fp);
	if (c->len < VV_CSV_BUFSZ) {
		if (ferror(c->fp)) {
			c->failed = VV_ERR_IO;
			c->errmsg = "read error";
			c->eline = c->line;
			c->ecol = c->nf + 1;
			return VV_ERR_IO;
		}
		c->eof = 1;
	}
	/* A byte order mark is only meaningful as the very first bytes. */
	if (c->base == 0 && c->len >= 3 && c->buf[0] == 0xef &&
	    c->buf[1] == 0xbb && c->buf[2] == 0xbf)
		c->pos = 3;

	return VV_OK;
}

/* Grows the record buffer to hold need bytes; the old copy is wiped. */
static int
grow(vv_csv *c, size_t need)
{
	size_t cap = c->rec_cap;
	uint8_t *p;

	/* append() keeps every record within REC_MAX. */
	if (need > REC_MAX)
		return VV_ERR_INTERNAL;
	while (cap < need)
		cap *= 2;
	if (cap > REC_MAX)
		cap = REC_MAX;
	if ((p = malloc(cap)) == NULL) {
		c->failed = VV_ERR_NOMEM;
		c->errmsg = "out of memory";
		return VV_ERR_NOMEM;
	}
	memcpy(p, c->rec, c->rec_len);
	sodium_memzero(c->rec, c->rec_cap);
	free(c->rec);
	c->rec = p;
	c->rec_cap = cap;

	return VV_OK;
}

static int
append(vv_csv *c, const uint8_t *p, size_t n)
{
	int r;

	if (c->rec_len - c->off[c->nf] + n > VV_CSV_MAX_FIELD)
		return fail(c, "field too long", c->line);
	if (c->data + n > VV_CSV_MAX_RECORD)
		return fail(c, "record too long", c->line);
	/* One spare byte for the NUL that ends the field. */
	if (c->rec_len + n + 1 > c->rec_cap &&
	    (r = grow(c, c->rec_len + n + 1)) != VV_OK)
		return r;
	memcpy(c->rec + c->rec_len, p, n);
	c->rec_len += n;
	c->data += n;

	return VV_OK;
}

/* Checks the field's encoding; an error names the line of the bad byte,
 * which in a quoted field may be below the line the field starts on. */
static int
check_field(vv_csv *c, const uint8_t *s, size_t n)
{
	size_t i = 0, k, len;
	uint64_t line;

	while (i < n) {
		if (s[i] >= 0x01 && s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] != 0 && (len = vv_utf8_len(s + i, n - i)) != 0) {
			i += len;
			continue;
		}
		line = c->fline;
		for (k = 0; k < i; k++)
			line += s[k] == '\n';
		return fail(c, s[i] == 0 ? "NUL byte" : "invalid UTF-8", line);
	}

	return VV_OK;
}

static int
open_field(vv_csv *c)
{
	if (c->nf == VV_CSV_MAX_FIELDS)
		return fail(c, "too many fields", c->line);
	c->off[c->nf] = c->rec_len;
	c->fline = c->line;

	return VV_OK;
}

static int
end_field(vv_csv *c)
{
	size_t start = c->off[c->nf];
	int r;

	if ((r = check_field(c, c->rec + start, c->rec_len - start)) != VV_OK)
		return r;
	/* An empty field may find the buffer exactly full. */
	if (c->rec_len == c->rec_cap && (r = grow(c, c->rec_len + 1)) != VV_OK)
		return r;
	c->rec[c->rec_len++] = '\0';
	c->flen[c->nf] = c->rec_len - 1 - start;
	c->nf++;
	c->state = ST_START;

	return VV_OK;
}

/* Scans ordinary bytes of the current state, stopping at a special
 * byte or at the end of the buffer. */
static int
take_run(vv_csv *c, unsigned mask)
{
	const uint8_t *p = c->buf + c->pos, *end = c->buf + c->len;
	const uint8_t *q = p;

	while (q < end && (special[*q] & mask) == 0)
		q++;
	c->pos += (size_t)(q - p);
	if (q == p)
		return VV_OK;

	return append(c, p, (size_t)(q - p));
}

/* Handles the special byte that ends a run outside quotes, or the byte
 * after a closing quote.  Sets *done at the end of the record. */
static int
field_end_byte(vv_csv *c, uint8_t b, const char *other, int *done)
{
	int r;

	switch (b) {
	case ',':
		c->pos++;
		return end_field(c);
	case '\n':
		c->pos++;
		if ((r = end_field(c)) != VV_OK)
			return r;
		c->line++;
		*done = 1;
		return VV_OK;
	case '\r':
		c->pos++;
		c->state = ST_CR;
		return VV_OK;
	default:
		return fail(c, other, c->line);
	}
}

/* Advances through the buffer until it is used up or a record ends. */
static int
step(vv_csv *c, int *done)
{
	uint8_t b;
	int r;

	switch (c->state) {
	case ST_START:
		if ((r = open_field(c)) != VV_OK)
			return r;
		c->state = ST_PLAIN;
		if (c->buf[c->pos] == '"') {
			c->pos++;
			c->state = ST_QUOTED;
		}
		return VV_OK;
	case ST_PLAIN:
		if ((r = take_run(c, SP_PLAIN)) != VV_OK || c->pos == c->len)
			return r;
		b = c->buf[c->pos];
		return field_end_byte(c, b, "quote in unquoted field", done);
	case ST_QUOTED:
		if ((r = take_run(c, SP_QUOTED)) != VV_OK || c->pos == c->len)
			return r;
		if (c->buf[c->pos++] == '"') {
			c->state = ST_QUOTE;
			return VV_OK;
		}
		if ((r = append(c, (const uint8_t *)"\n", 1)) == VV_OK)
			c->line++;
		return r;
	case ST_QUOTE:
		b = c->buf[c->pos];
		if (b != '"')
			return field_end_byte(c, b, "text after closing quote",
			    done);
		c->pos++;
		c->state = ST_QUOTED;
		return append(c, &b, 1);
	case ST_CR:
		if (c->buf[c->pos] != '\n')
			return fail(c, "bare carriage return", c->line);
		c->state = ST_PLAIN;
		return field_end_byte(c, '\n', NULL, done);
	}

	return VV_ERR_INTERNAL;
}

/* The stream has ended in the middle of (or just before) a record. */
static int
at_eof(vv_csv *c, size_t *nfields)
{
	int r;

	switch (c->state) {
	case ST_START:
		if (c->nf == 0)
			return VV_OK;
		if ((r = open_field(c)) != VV_OK)
			return r;
		break;
	case ST_QUOTED:
		return fail(c, "unterminated quoted field", c->fline);
	case ST_CR:
		return fail(c, "bare carriage return", c->line);
	case ST_PLAIN:
	case ST_QUOTE:
		break;
	}
	if ((r = end_field(c)) != VV_OK)
		return r;
	*nfields = c->nf;

	return VV_OK;
}

int
vv_csv_next(vv_csv *c, size_t *nfields)
{
	int done = 0, r;

	*nfields = 0;
	if (c->failed)
		return c->failed;
	sodium_memzero(c->rec, c->rec_len);
	c->rec_len = 0;
	c->data = 0;
	c->nf = 0;
	c->state = ST_START;
	c->rline = c->line;

	while (!done) {
		if (c->pos == c->len) {
			if ((r = refill(c)) != VV_OK)
				return r;
			if (c->len == 0)
				return at_eof(c, nfields);
			continue;	/* the block may hold only a BOM */
		}
		if ((r = step(c, &done)) != VV_OK)
			return r;
	}
	*nfields = c->nf;

	return VV_OK;
}

const char *
vv_csv_field(const vv_csv *c, size_t i, size_t *len)
{
	if (i >= c->nf)
		return NULL;
	if (len != NULL)
		*len = c->flen[i];

	return (const char *)c->rec + c->off[i];
}

uint64_t
vv_csv_line(const vv_csv *c)
{
	return c->rline;
}

uint64_t
vv_csv_offset(const vv_csv *c)
{
	return c->base + c->pos;
}

const char *
vv_csv_errmsg(const vv_csv *c)
{
	return c->errmsg;
}

uint64_t
vv_csv_error_line(const vv_csv *c)
{
	return c->eline;
}

size_t
vv_csv_error_column(const vv_csv *c)
{
	return c->ecol;
}
