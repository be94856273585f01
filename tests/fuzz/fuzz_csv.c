/*
 * fuzz_csv.c - libFuzzer target for the CSV reader: reads every record
 * of the input and checks what the reader promises about each field.
 * Build with -DVV_CSV_BUFSZ=7 (or similar) beside it to reach the refill
 * paths with small inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vipvault.h"
#include "vault/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_record(const vv_csv *c, size_t nf, uint64_t *last_line)
{
	const char *f;
	size_t i, len, total = 0;

	if (nf > VV_CSV_MAX_FIELDS || vv_csv_line(c) <= *last_line)
		abort();
	*last_line = vv_csv_line(c);
	for (i = 0; i < nf; i++) {
		if ((f = vv_csv_field(c, i, &len)) == NULL)
			abort();
		/* NUL bytes are refused, so the length is the string's. */
		if (len > VV_CSV_MAX_FIELD || strlen(f) != len)
			abort();
		total += len;
	}
	if (total > VV_CSV_MAX_RECORD || vv_csv_field(c, nf, NULL) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t last_line = 0;
	vv_csv *c = NULL;
	FILE *fp;
	size_t nf;
	int r;

	if (size == 0)
		return 0;	/* fmemopen wants a buffer */
	if ((fp = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		return 0;
	if (vv_csv_new(&c, fp) != VV_OK)
		goto out;
	while ((r = vv_csv_next(c, &nf)) == VV_OK && nf > 0) {
		check_record(c, nf, &last_line);
		if (vv_csv_offset(c) > size)
			abort();
	}
	if (r == VV_OK && vv_csv_offset(c) != size)
		abort();
	if (r != VV_OK && (r != VV_ERR_INPUT || vv_csv_error_line(c) == 0 ||
	    vv_csv_error_column(c) == 0 ||
	    vv_csv_error_column(c) > VV_CSV_MAX_FIELDS + 1 ||
	    vv_csv_errmsg(c) == NULL))
		abort();
out:
	vv_csv_free(&c);
	fclose(fp);
	return 0;
}
