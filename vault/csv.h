/*
 * csv.h - streaming RFC 4180 reader.
 *
 * Reads one record at a time from a FILE.  Accepts CRLF or LF line ends,
 * a UTF-8 byte order mark at the very start, quoted fields holding commas,
 * doubled quotes and line breaks.  Rejects invalid UTF-8, NUL bytes, a
 * quote inside an unquoted field, text after a closing quote, an
 * unterminated quoted field, and fields or records over the limits below.
 * Field buffers are wiped when they are reused and when the reader is
 * freed: they hold client data.
 *
 * Strict where RFC 4180 is: a carriage return outside quotes must be
 * followed by a line feed ("bare carriage return"), and nothing may
 * precede an opening quote.  Inside quotes every byte is data, CR
 * included.  The record limit counts field bytes after unquoting.
 */
#ifndef VV_CSV_H
#define VV_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VV_CSV_MAX_FIELD   65536u   /* bytes in one field */
#define VV_CSV_MAX_FIELDS  64u      /* fields in one record */
#define VV_CSV_MAX_RECORD  1048576u /* bytes in one record */

typedef struct vv_csv vv_csv;

/* Creates a reader over fp (not closed by vv_csv_free). VV_OK or
 * VV_ERR_NOMEM. */
int vv_csv_new(vv_csv **out, FILE *fp);
void vv_csv_free(vv_csv **c);

/*
 * Reads the next record.  Returns VV_OK and sets *nfields (>= 1); at end
 * of input returns VV_OK with *nfields == 0.  A blank line is a record
 * with one empty field.  On malformed input returns VV_ERR_INPUT, and
 * vv_csv_errmsg() names the problem while vv_csv_error_line() and
 * vv_csv_error_column() (1-based) say where; VV_ERR_IO on a read error.
 * The line is that of the offending byte, except for an unterminated
 * quoted field, where it is the line the field opens on; the column is
 * the 1-based index of the field.  Errors are final: later calls return
 * the same code.  Fields of a record stay valid until the next call.
 */
int vv_csv_next(vv_csv *c, size_t *nfields);

/* Field i (0-based) of the current record, NUL-terminated; *len, if not
 * NULL, receives its length in bytes.  NULL if i is out of range. */
const char *vv_csv_field(const vv_csv *c, size_t i, size_t *len);

/* 1-based physical line on which the current record starts. */
uint64_t vv_csv_line(const vv_csv *c);
/* Bytes consumed from the stream so far (for progress reports). */
uint64_t vv_csv_offset(const vv_csv *c);

const char *vv_csv_errmsg(const vv_csv *c);
uint64_t vv_csv_error_line(const vv_csv *c);
size_t vv_csv_error_column(const vv_csv *c);

#endif /* VV_CSV_H */
