/*
 * bench.h - what the benchmark's generator, raw baseline and runner share.
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

/* Declared here so that the generator need not see sqlite3.h. */
struct sqlite3;
struct sqlite3_stmt;

/* Monotonic seconds, for timing. */
double bench_now(void);

/*
 * Raw SQLCipher baseline (bench_raw.c).  bench_raw_open creates an
 * encrypted database at path with a plaintext clients table, with indexed
 * the vault's lookups too; *dbp is set even on failure, for the caller to
 * close, and ver receives PRAGMA cipher_version.  bench_raw_import loads
 * the CSV at csv in one transaction and fails unless nrec rows went in;
 * *secs is the time from open to commit.  bench_raw_gets runs st (a select
 * by external_id) for each of the n ids in seq, adding what it read to
 * *sum, which the caller checks is not zero.
 */
int bench_raw_open(const char *path, int indexed, struct sqlite3 **dbp,
    char *ver, size_t verlen);
int bench_raw_import(struct sqlite3 *db, const char *csv, size_t nrec,
    double *secs);
int bench_raw_gets(struct sqlite3 *db, struct sqlite3_stmt *st,
    char (*seq)[ID_MAX], size_t n, size_t *sum);

/* Dual control (bench_dual.c): Shamir timings and a whole unseal on a
 * development vault made under tmp; no other dev vault may be open. */
int bench_dual(const char *tmp);
/* Compliance log (bench_clog.c): append, mirror and verify figures. */
int bench_clog(const char *tmp);
/* Gets of seq through s with and without their compliance entries. */
struct vv_session;
int bench_logged_reads(struct vv_session *s, char (*seq)[ID_MAX], size_t n);

/* Operations per second of the raw libsodium baselines (bench_sodium.c);
 * -1 if one fails. */
double bench_aead_rate(void);
double bench_seal_rate(void);

/* Lookups by phone through s against raw_idx's phone index, for the
 * phones of the records seq[0..n) names (bench_find.c). */
int bench_find(struct vv_session *s, struct sqlite3 *raw_idx,
    char (*seq)[ID_MAX], size_t n);

/* The API under load (bench_http.c): wrk against vipvault serve on the
 * vault in vdir, reading seq[0..n); in-process gets/s for the ratio. */
struct vv_vault;
int bench_http(struct vv_vault *v, const char *vdir, const char *tmp,
    char (*seq)[ID_MAX], size_t n, double inproc_rate);

#endif
