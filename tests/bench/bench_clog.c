/*
 * bench_clog.c - compliance log figures: appending entries to the vault
 * log (one transaction), mirroring them, and the officer's verify over
 * the whole mirror (target: 1,000,000 entries in under 5 s), against
 * raw libsodium doing the hashing alone (chain + Merkle leaf + node) in
 * the same run.
 *
 *   BENCH_LOG_ENTRIES=N   entries (default 1000000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vipvault.h"
#include "vault/clog.h"
#include "vault/session_int.h"
#include "bench.h"

#define DEF_ENTRIES 1000000u
#define VERIFY_TARGET 5.0

static int
fill_log(vv_vault *v, size_t n)
{
	struct vv_event *e;
	size_t i;
	int r = VV_OK;

	if ((e = malloc(sizeof(*e))) == NULL)
		return VV_ERR_NOMEM;
	if ((r = vv_store_begin(v)) != VV_OK)
		goto out;
	for (i = 0; i < n && r == VV_OK; i++) {
		/* A typical entry: a read of one record by a CRM token. */
		vv_clog_event(e, VV_EV_RECORD_READ);
		(void)snprintf(e->actor, sizeof(e->actor), "crm-app");
		(void)snprintf(e->role, sizeof(e->role), "crm");
		(void)snprintf(e->token_id, sizeof(e->token_id),
		    "0123456789abcdef");
		randombytes_buf(e->refs[0], VV_EVENT_REF_LEN);
		e->nrefs = 1;
		e->has_classes = 1;
		e->classes = 1u << 1 | 1u << 3;
		r = vv_clog_append(v, e);
	}
	if (r == VV_OK)
		r = vv_store_commit(v);
	else
		vv_store_rollback(v);
out:
	free(e);
	return r;
}

/* What verify cannot avoid: SHA-256 of chain, leaf and node per entry. */
static double
raw_hashing(size_t n)
{
	uint8_t entry[120], h[32], node[65];
	size_t i;
	double t0;

	randombytes_buf(entry, sizeof(entry));
	memset(h, 0, sizeof(h));
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		entry[0] = (uint8_t)i;
		crypto_hash_sha256(h, entry, sizeof(entry));
		crypto_hash_sha256(h, h, 32);
		node[0] = 1;
		memcpy(node + 1, h, 32);
		memcpy(node + 33, h, 32);
		crypto_hash_sha256(h, node, sizeof(node));
	}
	return bench_now() - t0;
}

#define READ_ROUNDS 4u
#define LOGGED_TARGET 1.5

static int
gets(vv_session *s, char (*seq)[ID_MAX], size_t n, double *secs)
{
	vv_record *rec = NULL;
	double t0 = bench_now();
	size_t i;

	for (i = 0; i < n; i++) {
		if (vv_get(s, seq[i], &rec) != VV_OK)
			return -1;
		vv_record_free(&rec);
	}
	/* A response leaves only after its entry is durable. */
	if (vv_session_flush(s) != VV_OK)
		return -1;
	*secs += bench_now() - t0;
	return 0;
}

int
bench_logged_reads(vv_session *s, char (*seq)[ID_MAX], size_t n)
{
	double logged = 0, unlogged = 0;
	size_t round, at, k;

	/* Alternating rounds, so that drift falls on both sides alike. */
	for (round = 0, at = 0; round < READ_ROUNDS; round++, at += k) {
		k = (n - at) / (READ_ROUNDS - round);
		vv_session_set_audit(s, 0);
		if (gets(s, seq + at, k, &unlogged) != 0)
			return -1;
		vv_session_set_audit(s, 1);
		if (gets(s, seq + at, k, &logged) != 0)
			return -1;
	}
	printf("%-34s %12.0f %14.0f %7.2f   <= %.1f %s\n",
	    "get by id, logged vs unlogged (/s)", (double)n / logged,
	    (double)n / unlogged, logged / unlogged, LOGGED_TARGET,
	    logged / unlogged <= LOGGED_TARGET ? "ok" : "MISSED");
	printf("(logged: group-committed, 255 reads to an entry, up to 32 "
	    "entries to a commit;\nthe raw side is the same gets with the log "
	    "off)\n");
	return 0;
}

int
bench_clog(const char *tmp)
{
	char dir[512], mirror[600], key[600], msg[320];
	vv_verify_report rep;
	vv_officer *o = NULL;
	vv_vault *v = NULL;
	size_t n = DEF_ENTRIES;
	const char *env = getenv("BENCH_LOG_ENTRIES");
	double t_fill, t_sync, t_verify, t_raw;
	int r = -1;

	if (env != NULL && (n = strtoul(env, NULL, 10)) == 0)
		n = DEF_ENTRIES;
	(void)snprintf(dir, sizeof(dir), "%s/clog-vault", tmp);
	(void)snprintf(mirror, sizeof(mirror), "%s/mirror", dir);
	(void)snprintf(key, sizeof(key), "%s/compliance.key", dir);
	if (vv_vault_create(&v, dir, NULL, msg, sizeof(msg)) != VV_OK) {
		fprintf(stderr, "bench: clog vault: %s\n", msg);
		return -1;
	}
	t_fill = bench_now();
	if (fill_log(v, n) != VV_OK) {
		fprintf(stderr, "bench: filling the log: %s\n",
		    vv_vault_errmsg(v));
		goto out;
	}
	t_fill = bench_now() - t_fill;
	t_sync = bench_now();
	if (vv_mirror_sync(v) != VV_OK) {
		fprintf(stderr, "bench: mirror: %s\n", vv_vault_errmsg(v));
		goto out;
	}
	t_sync = bench_now() - t_sync;
	t_verify = bench_now();
	if (vv_officer_open(&o, mirror, key, msg, sizeof(msg)) != VV_OK ||
	    vv_officer_verify(o, NULL, NULL, &rep) != VV_OK) {
		fprintf(stderr, "bench: verify: %s\n", o != NULL ?
		    vv_officer_errmsg(o) : msg);
		goto out;
	}
	t_verify = bench_now() - t_verify;
	t_raw = raw_hashing(n);
	printf("\n%-34s %12s %14s %7s   %s\n", "compliance log", "vipvault s",
	    "raw hashing s", "ratio", "target");
	printf("%-34s %12.2f %14s %7s   -\n", "append, commit, mirror",
	    t_fill + t_sync, "-", "-");
	printf("%-34s %12.2f %14.2f %7.2f   < %.0f s %s\n", "officer verify",
	    t_verify, t_raw, t_verify / t_raw, VERIFY_TARGET,
	    t_verify < VERIFY_TARGET ? "ok" : "MISSED");
	printf("(%zu entries of ~%zu bytes, %llu signed heads; raw hashing: "
	    "the three SHA-256 an\nentry needs at least)\n", n,
	    (size_t)100, (unsigned long long)rep.heads);
	r = 0;
out:
	vv_officer_free(&o);
	vv_vault_free(&v);
	return r;
}
