/*
 * json.c - a minimal streaming JSON writer for --json output.
 *
 * Output is written as it is produced, so listing a large vault needs no
 * memory beyond one record.  Strings are escaped per RFC 8259; bytes at
 * or above 0x80 pass through (the vault stores only valid UTF-8).
 */
#include <stdio.h>

#include "cli/cli.h"

void
jw_init(struct jw *w, FILE *fp)
{
	w->fp = fp;
	w->depth = 0;
	w->need_comma[0] = 0;
}

static void
sep(struct jw *w)
{
	if (w->need_comma[w->depth])
		(void)fputc(',', w->fp);
	w->need_comma[w->depth] = 1;
}

static void
open_(struct jw *w, int ch)
{
	sep(w);
	(void)fputc(ch, w->fp);
	if (w->depth < (int)(sizeof(w->need_comma) / sizeof(int)) - 1)
		w->depth++;
	w->need_comma[w->depth] = 0;
}

static void
close_(struct jw *w, int ch)
{
	if (w->depth > 0)
		w->depth--;
	(void)fputc(ch, w->fp);
}

void
jw_obj(struct jw *w)
{
	open_(w, '{');
}

void
jw_obj_end(struct jw *w)
{
	close_(w, '}');
}

void
jw_arr(struct jw *w)
{
	open_(w, '[');
}

void
jw_arr_end(struct jw *w)
{
	close_(w, ']');
}

static void
put_string(FILE *fp, const char *s)
{
	const unsigned char *p;

	(void)fputc('"', fp);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			(void)fputs("\\\"", fp);
			break;
		case '\\':
			(void)fputs("\\\\", fp);
			break;
		case '\n':
			(void)fputs("\\n", fp);
			break;
		case '\r':
			(void)fputs("\\r", fp);
			break;
		case '\t':
			(void)fputs("\\t", fp);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				(void)fprintf(fp, "\\u%04x", *p);
			else
				(void)fputc(*p, fp);
		}
	}
	(void)fputc('"', fp);
}

void
jw_key(struct jw *w, const char *key)
{
	sep(w);
	put_string(w->fp, key);
	(void)fputc(':', w->fp);
	/* The value that follows must not add another comma. */
	w->need_comma[w->depth] = 0;
}

void
jw_str(struct jw *w, const char *s)
{
	sep(w);
	if (s == NULL)
		(void)fputs("null", w->fp);
	else
		put_string(w->fp, s);
}

void
jw_int(struct jw *w, long long n)
{
	sep(w);
	(void)fprintf(w->fp, "%lld", n);
}

void
jw_bool(struct jw *w, int b)
{
	sep(w);
	(void)fputs(b ? "true" : "false", w->fp);
}

void
jw_end(struct jw *w)
{
	(void)fputc('\n', w->fp);
	(void)fflush(w->fp);
}
