/*
 * bench.c - vipvault figures against raw baselines measured in the same
 * run: CSV import against raw SQLCipher inserts of the same plaintext
 * rows in one transaction, tier-scoped get-by-id against a raw SQLCipher
 * select by id, and the libsodium operations a read is made of; then the
 * dual-control figures (bench_dual.c).
 *
 * The records are generated here with a fixed seed: Cyrillic, Chinese and
 * English names, phones in the formats a CRM exports, quoted addresses
 * with commas, notes; about 5% VIP and 30% standard under the default
 * policy.  Missed targets are printed, not failed: a benchmark is not a
 * test.  Exits non-zero only on errors.  The raw SQLCipher side is in
 * bench_raw.c, the generator in bench_gen.c.
 *
 *   BENCH_RECORDS=N  records to generate (default 100000)
 *   BENCH_GETS=N     timed gets per read row (default 200000)
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "vipvault.h"
#include "vault/csv.h"
#include "bench.h"

#define DEF_RECORDS	100000u
#define DEF_GETS	200000u
#define MAX_COUNT	50000000u
#define SEED		BENCH_SEED
#define WARM_MAX	20000u
#define GET_ROUNDS	5u
/* The median is reported: five rounds, since on a shared machine one
 * side's time can move by a fifth from one round to the next. */
#define IMPORT_ROUNDS	5u
_Static_assert(IMPORT_ROUNDS % 2 == 1, "a median of an odd count");
#define IMPORT_TARGET	2.0
#define GET_TARGET	2.5

struct bench {
	size_t nrec, ngets, warm;
	char *tmp, *csv, *vdir, *rawdb, *rawdb_idx;
	uint8_t *tier;		/* generated tier of each record */
	size_t counts[4];
	uint64_t csv_bytes;
	char (*seq)[ID_MAX];	/* basic/standard ids to get */
	char (*vseq)[ID_MAX];	/* VIP ids to get */
	vv_vault *v;
	vv_session *s, *svip;
	sqlite3 *raw, *raw_idx;
	char cipher_ver[32];
	double imp_vv, imp_raw, imp_raw_idx, get_vv, get_raw, vip_vv, vip_raw;
	double aead_rate, seal_rate;
};

/* ------------------------------------------------------------ helpers */

double
bench_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
env_count(const char *name, size_t min, size_t def, size_t *out)
{
	const char *s = getenv(name);
	unsigned long long n;
	char *end;

	*out = def;
	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > MAX_COUNT) {
		fprintf(stderr, "bench: %s must be a number from %zu to %u\n",
		    name, min, MAX_COUNT);
		return -1;
	}
	*out = (size_t)n;
	return 0;
}

static void
cpu_model(char *out, size_t outlen)
{
	char line[256], *p;
	FILE *fp;

	(void)snprintf(out, outlen, "unknown CPU");
	if ((fp = fopen("/proc/cpuinfo", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "model name", 10) != 0 ||
		    (p = strchr(line, ':')) == NULL)
			continue;
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		p[strcspn(p, "\n")] = '\0';
		(void)snprintf(out, outlen, "%s", p);
		break;
	}
	(void)fclose(fp);
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

static char *
join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* Reads the whole CSV once: warms the page cache and the reader. */
static int
read_csv_once(const char *path)
{
	vv_csv *c = NULL;
	size_t n = 0;
	FILE *fp;
	int r;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if ((r = vv_csv_new(&c, fp)) == VV_OK)
		do {
			r = vv_csv_next(c, &n);
		} while (r == VV_OK && n != 0);
	vv_csv_free(&c);
	(void)fclose(fp);
	return r == VV_OK ? 0 : -1;
}

/* Picks n ids at random from the records of the tiers in mask. */
static int
make_seq(struct bench *b, unsigned mask, uint64_t seed, char (**out)[ID_MAX])
{
	char (*seq)[ID_MAX] = NULL;
	size_t *pool, np = 0, i;

	*out = NULL;
	if ((pool = calloc(b->nrec, sizeof(*pool))) == NULL)
		return -1;
	for (i = 0; i < b->nrec; i++)
		if (mask & VV_TIER_MASK(b->tier[i]))
			pool[np++] = i;
	if (np > 0) {
		if ((seq = calloc(b->ngets, sizeof(*seq))) == NULL) {
			free(pool);
			return -1;
		}
		for (i = 0; i < b->ngets; i++)
			(void)snprintf(seq[i], ID_MAX, "C%07zu",
			    pool[bench_rnd(&seed) % np]);
	}
	free(pool);
	*out = seq;
	return 0;
}

/* ---------------------------------------------------------- vipvault */

static int
vault_fail(const vv_vault *v, const char *what, int r)
{
	fprintf(stderr, "bench: %s: %s (%s)\n", what, vv_strerror(r),
	    vv_vault_errmsg(v));
	return -1;
}

static int
vault_import(struct bench *b)
{
	vv_import_summary sum;
	double t0;
	int r, t;

	t0 = bench_now();
	if ((r = vv_import_csv(b->v, b->csv, NULL, NULL, &sum)) != VV_OK)
		return vault_fail(b->v, "import", r);
	b->imp_vv = bench_now() - t0;
	for (t = VV_TIER_BASIC; t <= VV_TIER_VIP; t++)
		if (sum.per_tier[t] != b->counts[t]) {
			fprintf(stderr, "bench: the vault put %zu records in "
			    "tier %s, the generator %zu\n", sum.per_tier[t],
			    vv_tier_name(t), b->counts[t]);
			return -1;
		}
	return sum.inserted == b->nrec ? 0 : -1;
}

static int
open_session(vv_vault *v, const char *role, unsigned mask, vv_session **s)
{
	char tok[VV_TOKEN_MAX];
	int r;

	if ((r = vv_role_add(v, role, mask, 0)) != VV_OK)
		return vault_fail(v, "adding a role", r);
	if ((r = vv_token_issue(v, role, "bench", 0, tok, sizeof(tok))) !=
	    VV_OK)
		return vault_fail(v, "issuing a token", r);
	r = vv_session_open(v, tok, s);
	sodium_memzero(tok, sizeof(tok));
	if (r != VV_OK)
		return vault_fail(v, "opening a session", r);
	return 0;
}

static int
vault_gets_run(vv_session *s, const vv_vault *v, char (*seq)[ID_MAX],
    size_t n, int vip, size_t *sum)
{
	vv_record *rec = NULL;
	const char *f;
	size_t i;
	int r, field;

	for (i = 0; i < n; i++) {
		if ((r = vv_get(s, seq[i], &rec)) != VV_OK)
			return vault_fail(v, "get", r);
		for (field = 0; field < VV_FIELD_COUNT; field++)
			if ((f = vv_record_field(rec, field)) != NULL)
				*sum += strlen(f);
		if ((vv_record_tier(rec) == VV_TIER_VIP) != vip ||
		    vv_record_masked(rec, VV_FIELD_PHONE) != vip) {
			fprintf(stderr, "bench: %s came back in the wrong tier "
			    "or masking\n", seq[i]);
			vv_record_free(&rec);
			return -1;
		}
		vv_record_free(&rec);
	}
	return 0;
}

/*
 * Times the gets of seq through the vault and through the raw database in
 * GET_ROUNDS alternating rounds, so that drift in the machine's speed
 * falls on both sides alike.
 */
static int
time_gets(struct bench *b, vv_session *s, char (*seq)[ID_MAX], int vip,
    double *t_vv, double *t_raw)
{
	sqlite3_stmt *st = NULL;
	size_t sum = 0, at, n, round;
	double t0;
	int r = -1;

	*t_vv = *t_raw = 0;
	if (sqlite3_prepare_v2(b->raw, "SELECT external_id, name, phone, "
	    "email, address, annual_spend, client_since, owner, notes FROM "
	    "clients WHERE external_id = ?", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: raw: %s\n", sqlite3_errmsg(b->raw));
		return -1;
	}
	if (vault_gets_run(s, b->v, seq, b->warm, vip, &sum) != 0 ||
	    bench_raw_gets(b->raw, st, seq, b->warm, &sum) != 0)
		goto out;
	for (round = 0, at = 0; round < GET_ROUNDS; round++, at += n) {
		n = (b->ngets - at) / (GET_ROUNDS - round);
		t0 = bench_now();
		if (vault_gets_run(s, b->v, seq + at, n, vip, &sum) != 0)
			goto out;
		*t_vv += bench_now() - t0;
		t0 = bench_now();
		if (bench_raw_gets(b->raw, st, seq + at, n, &sum) != 0)
			goto out;
		*t_raw += bench_now() - t0;
	}
	r = sum != 0 ? 0 : -1;
out:
	sqlite3_finalize(st);
	return r;
}

/* ------------------------------------------------------------- report */

static void
row_ratio(const char *what, size_t n, double t_vv, double t_raw,
    double target)
{
	double ratio = t_vv / t_raw;

	printf("%-34s %12.0f %14.0f %7.2f", what, (double)n / t_vv,
	    (double)n / t_raw, ratio);
	if (target > 0)
		printf("   <= %.1f %s\n", target, ratio <= target ? "ok" :
		    "MISSED");
	else
		printf("   -\n");
}

static void
report(const struct bench *b)
{
	char cpu[128];
	struct rusage ru;

	cpu_model(cpu, sizeof(cpu));
	printf("vipvault bench: %zu records, %s, libsodium %s, SQLCipher %s "
	    "(SQLite %s)\n", b->nrec, cpu, sodium_version_string(),
	    b->cipher_ver, sqlite3_libversion());
	printf("records: basic %zu, standard %zu, vip %zu; CSV %.1f MiB; "
	    "%zu gets per read row\n\n", b->counts[VV_TIER_BASIC],
	    b->counts[VV_TIER_STANDARD], b->counts[VV_TIER_VIP],
	    (double)b->csv_bytes / 1048576.0, b->ngets);
	printf("%-34s %12s %14s %7s   %s\n", "measure", "vipvault",
	    "raw baseline", "ratio", "target");
	row_ratio("import vs bare table (records/s)", b->nrec, b->imp_vv,
	    b->imp_raw, IMPORT_TARGET);
	row_ratio("import vs same lookups (rec/s)", b->nrec, b->imp_vv,
	    b->imp_raw_idx, IMPORT_TARGET);
	if (b->seq != NULL)
		row_ratio("get by id, basic/standard (/s)", b->ngets,
		    b->get_vv, b->get_raw, GET_TARGET);
	else
		printf("%-34s %12s\n", "get by id, basic/standard (/s)",
		    "n/a");
	if (b->vseq != NULL)
		row_ratio("get by id, vip, masked (/s)", b->ngets, b->vip_vv,
		    b->vip_raw, 0);
	else
		printf("%-34s %12s\n", "get by id, vip, masked (/s)", "n/a");
	printf("%-34s %12s %14.0f\n", "xchacha20poly1305 open 100 B (/s)",
	    "-", b->aead_rate);
	printf("%-34s %12s %14.0f\n", "crypto_box_seal_open (/s)", "-",
	    b->seal_rate);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("%-34s %8.0f MiB\n", "peak RSS", (double)ru.ru_maxrss /
		    1024.0);
	printf("\nratio = vipvault time / raw time; imports: median of %u "
	    "rounds, each into fresh\nfiles; gets in %u alternating rounds "
	    "after %zu warm-up gets\n", IMPORT_ROUNDS, GET_ROUNDS, b->warm);
	printf("bare table: external_id unique; same lookups: plus indexes "
	    "on phone, email,\nowner (what the vault's blind indexes and "
	    "segmentation answer)\n");
	printf("times (s): import %.3f vs %.3f bare, %.3f indexed; get %.3f "
	    "vs %.3f;\nvip get %.3f vs %.3f\n", b->imp_vv, b->imp_raw,
	    b->imp_raw_idx, b->get_vv, b->get_raw, b->vip_vv, b->vip_raw);
}

/* --------------------------------------------------------------- main */

static int
setup(struct bench *b)
{
	const char *tmpdir = getenv("TMPDIR");

	if (tmpdir == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	if (asprintf(&b->tmp, "%s/vipvault-bench.XXXXXX", tmpdir) < 0) {
		b->tmp = NULL;
		return -1;
	}
	if (mkdtemp(b->tmp) == NULL) {
		fprintf(stderr, "bench: mkdtemp %s: %s\n", b->tmp,
		    strerror(errno));
		free(b->tmp);
		b->tmp = NULL;
		return -1;
	}
	if ((b->csv = join(b->tmp, "clients.csv")) == NULL ||
	    (b->vdir = join(b->tmp, "vault")) == NULL ||
	    (b->rawdb = join(b->tmp, "raw.db")) == NULL ||
	    (b->rawdb_idx = join(b->tmp, "raw-indexed.db")) == NULL)
		return -1;
	return 0;
}

static void
remove_db(const char *path)
{
	char *p;

	(void)unlink(path);
	if (asprintf(&p, "%s-wal", path) >= 0) {
		(void)unlink(p);
		free(p);
	}
	if (asprintf(&p, "%s-shm", path) >= 0) {
		(void)unlink(p);
		free(p);
	}
}

/* One round: raw bare table, vault, raw table with the same lookups,
 * each into a fresh database.  The last round's vault and bare table
 * stay open for the reads. */
static int
import_round(struct bench *b, double *t_raw, double *t_vv, double *t_idx)
{
	char msg[320];
	int r;

	if (b->raw != NULL)
		(void)sqlite3_close_v2(b->raw);
	if (b->raw_idx != NULL)
		(void)sqlite3_close_v2(b->raw_idx);
	b->raw = b->raw_idx = NULL;
	vv_vault_free(&b->v);
	remove_db(b->rawdb);
	remove_db(b->rawdb_idx);
	(void)nftw(b->vdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if ((r = vv_vault_create(&b->v, b->vdir, NULL, msg, sizeof(msg))) !=
	    VV_OK) {
		fprintf(stderr, "bench: creating the vault: %s (%s)\n",
		    vv_strerror(r), msg);
		return -1;
	}
	if (bench_raw_open(b->rawdb, 0, &b->raw, b->cipher_ver,
	    sizeof(b->cipher_ver)) != 0 || bench_raw_open(b->rawdb_idx, 1,
	    &b->raw_idx, b->cipher_ver, sizeof(b->cipher_ver)) != 0)
		return -1;
	if (bench_raw_import(b->raw, b->csv, b->nrec, t_raw) != 0 ||
	    vault_import(b) != 0 ||
	    bench_raw_import(b->raw_idx, b->csv, b->nrec, t_idx) != 0)
		return -1;
	*t_vv = b->imp_vv;
	return 0;
}

static double
median(double *t, size_t n)
{
	double x;
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (t[j] < t[i]) {
				x = t[i];
				t[i] = t[j];
				t[j] = x;
			}
	return t[n / 2];
}

static int
import_rounds(struct bench *b)
{
	double raw[IMPORT_ROUNDS], vv[IMPORT_ROUNDS], idx[IMPORT_ROUNDS];
	unsigned i;

	for (i = 0; i < IMPORT_ROUNDS; i++)
		if (import_round(b, &raw[i], &vv[i], &idx[i]) != 0)
			return -1;
	b->imp_raw = median(raw, IMPORT_ROUNDS);
	b->imp_vv = median(vv, IMPORT_ROUNDS);
	b->imp_raw_idx = median(idx, IMPORT_ROUNDS);
	return 0;
}

static int
run(struct bench *b)
{

	if (setup(b) != 0)
		return -1;
	if ((b->tier = calloc(b->nrec, 1)) == NULL ||
	    bench_gen_csv(b->csv, b->nrec, b->tier, b->counts,
	    &b->csv_bytes) != 0)
		return -1;
	if (read_csv_once(b->csv) != 0 || import_rounds(b) != 0)
		return -1;
	if (make_seq(b, VV_TIER_MASK(VV_TIER_BASIC) |
	    VV_TIER_MASK(VV_TIER_STANDARD), SEED + 1, &b->seq) != 0 ||
	    make_seq(b, VV_TIER_MASK(VV_TIER_VIP), SEED + 2, &b->vseq) != 0) {
		fprintf(stderr, "bench: out of memory\n");
		return -1;
	}
	if (b->seq != NULL &&
	    (open_session(b->v, "bench", VV_TIER_MASK(VV_TIER_BASIC) |
	    VV_TIER_MASK(VV_TIER_STANDARD), &b->s) != 0 ||
	    time_gets(b, b->s, b->seq, 0, &b->get_vv, &b->get_raw) != 0))
		return -1;
	if (b->vseq != NULL &&
	    (open_session(b->v, "bench-vip", VV_TIER_MASK(VV_TIER_VIP),
	    &b->svip) != 0 ||
	    time_gets(b, b->svip, b->vseq, 1, &b->vip_vv, &b->vip_raw) != 0))
		return -1;
	if ((b->aead_rate = bench_aead_rate()) <= 0 ||
	    (b->seal_rate = bench_seal_rate()) <= 0) {
		fprintf(stderr, "bench: libsodium baseline failed\n");
		return -1;
	}
	report(b);
	if (b->seq != NULL && bench_logged_reads(b->s, b->seq, b->ngets) != 0) {
		fprintf(stderr, "bench: logged reads failed\n");
		return -1;
	}
	if (b->seq != NULL && bench_find(b->s, b->raw_idx, b->seq,
	    b->ngets / 10) != 0)
		return -1;
	if (b->seq != NULL && bench_http(b->v, b->vdir, b->tmp, b->seq,
	    b->ngets, (double)b->ngets / b->get_vv) != 0) {
		fprintf(stderr, "bench: the HTTP run failed\n");
		return -1;
	}
	/* One development SoftHSM2 token per process: the dual bench
	 * makes its own vault. */
	vv_session_free(&b->s);
	vv_session_free(&b->svip);
	vv_vault_free(&b->v);
	if (bench_dual(b->tmp) != 0)
		return -1;
	return bench_clog(b->tmp);
}

static void
cleanup(struct bench *b)
{
	vv_session_free(&b->s);
	vv_session_free(&b->svip);
	vv_vault_free(&b->v);
	if (b->raw != NULL)
		(void)sqlite3_close_v2(b->raw);
	if (b->raw_idx != NULL)
		(void)sqlite3_close_v2(b->raw_idx);
	if (b->tmp != NULL)
		(void)nftw(b->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(b->seq);
	free(b->vseq);
	free(b->tier);
	free(b->csv);
	free(b->vdir);
	free(b->rawdb);
	free(b->rawdb_idx);
	free(b->tmp);
}

int
main(void)
{
	struct bench b;
	int r;

	memset(&b, 0, sizeof(b));
	if (env_count("BENCH_RECORDS", 1, DEF_RECORDS, &b.nrec) != 0 ||
	    env_count("BENCH_GETS", GET_ROUNDS, DEF_GETS, &b.ngets) != 0)
		return 2;
	b.warm = b.ngets / 10 < WARM_MAX ? b.ngets / 10 : WARM_MAX;
	if (vv_global_init() != VV_OK) {
		fprintf(stderr, "bench: vv_global_init failed\n");
		return 1;
	}
	r = run(&b);
	(void)fflush(stdout);
	cleanup(&b);
	return r == 0 ? 0 : 1;
}
