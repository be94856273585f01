/*
 * bench.h - what the benchmark's generator and runner share.
 */
#ifndef VV_BENCH_H
#define VV_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_SEED 0x76697076u	/* "vipv" */
#define ID_MAX 24u		/* "C" + digits + NUL, generously */

/* splitmix64: small, fast and the same on every machine. */
uint64_t bench_rnd(uint64_t *s);
unsigned bench_rndn(uint64_t *s, unsigned n);

/*
 * Writes nrec synthetic CRM records to path as CSV (the sample's columns,
 * Russian, English and Chinese clients, contacts in mixed national
 * formats, quoted multi-line notes), about 5% VIP and 30% standard under
 * the default policy.  tier[i] receives record i's tier and counts[] the
 * totals; *bytes the file size.  Deterministic for a given nrec and day.
 */
int bench_gen_csv(const char *path, size_t nrec, uint8_t *tier,
    size_t counts[4], uint64_t *bytes);

#endif
