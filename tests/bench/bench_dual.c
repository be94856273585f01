/*
 * bench_dual.c - dual-control figures: Shamir split and combine of a
 * 32-byte key against the X25519 operation that checks a combined key
 * (raw libsodium, same run), and the machine time of a whole unseal:
 * request, two approvals with software FIDO2 tokens, fetch of 10 records.
 *
 * The unseal runs on its own development vault, so the caller must have
 * closed any other (one SoftHSM2 development token per process).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "vipvault.h"
#include "vault/shamir.h"
#include "hsm/softfido.h"
#include "bench.h"

#define SHAMIR_OPS	20000u
#define X25519_OPS	4000u
#define UNSEAL_ROUNDS	15u
#define UNSEAL_RECORDS	10u
#define MANAGERS	3

static double
cpu_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
accept_any(const uint8_t *secret, void *arg)
{
	(void)secret;
	(void)arg;
	return 0;
}

/* Microseconds per split and per combine (k shares, no check). */
static int
time_shamir(unsigned k, unsigned n, double *split_us, double *combine_us)
{
	struct vv_share *sh = sodium_allocarray(n, sizeof(*sh));
	uint8_t *secret = sodium_malloc(32), *out = sodium_malloc(32);
	unsigned i;
	double t0;
	int r = -1;

	if (sh == NULL || secret == NULL || out == NULL)
		goto out;
	randombytes_buf(secret, 32);
	t0 = bench_now();
	for (i = 0; i < SHAMIR_OPS; i++)
		if (vv_shamir_split(secret, k, n, 1, sh) != VV_OK)
			goto out;
	*split_us = (bench_now() - t0) * 1e6 / SHAMIR_OPS;
	t0 = bench_now();
	for (i = 0; i < SHAMIR_OPS; i++)
		if (vv_shamir_combine(sh + (i % (n - k + 1)), k, accept_any,
		    NULL, out, NULL) != VV_OK)
			goto out;
	*combine_us = (bench_now() - t0) * 1e6 / SHAMIR_OPS;
	r = sodium_memcmp(out, secret, 32) == 0 ? 0 : -1;
out:
	if (sh != NULL)
		sodium_free(sh);
	if (secret != NULL)
		sodium_free(secret);
	if (out != NULL)
		sodium_free(out);
	return r;
}

static double
time_x25519(void)
{
	uint8_t sk[32], pk[32];
	unsigned i;
	double t0;

	randombytes_buf(sk, sizeof(sk));
	t0 = bench_now();
	for (i = 0; i < X25519_OPS; i++) {
		(void)crypto_scalarmult_base(pk, sk);
		sk[0] ^= pk[0];
	}
	return (bench_now() - t0) * 1e6 / X25519_OPS;
}

/* ------------------------------------------------------------ unseal */

struct dual {
	char dir[512];
	char soft[MANAGERS][600];
	char dev[MANAGERS][620];
	vv_fido_opts fido[MANAGERS];
	vv_vault *v;
	char token[VV_TOKEN_MAX];
	const char *ids[UNSEAL_RECORDS];
	char idbuf[UNSEAL_RECORDS][16];
};

static const char *const names[MANAGERS] = { "kate", "leo", "mia" };

static int
dual_setup(struct dual *d, const char *tmp)
{
	vv_create_opts o;
	vv_record_input in;
	char msg[320], phone[32];
	unsigned i;

	(void)snprintf(d->dir, sizeof(d->dir), "%s/dual", tmp);
	for (i = 0; i < MANAGERS; i++) {
		(void)snprintf(d->soft[i], sizeof(d->soft[i]), "%s/%s.soft",
		    tmp, names[i]);
		(void)snprintf(d->dev[i], sizeof(d->dev[i]), "soft:%s",
		    d->soft[i]);
		if (vv_softfido_create(d->soft[i], NULL, msg, sizeof(msg)) != 0)
			return -1;
		d->fido[i].device = d->dev[i];
	}
	memset(&o, 0, sizeof(o));
	o.nmanagers = MANAGERS;
	o.managers = names;
	o.fido = d->fido;
	if (vv_vault_create_with(&d->v, d->dir, &o, msg, sizeof(msg)) != VV_OK) {
		fprintf(stderr, "bench: dual vault: %s\n", msg);
		return -1;
	}
	for (i = 0; i < UNSEAL_RECORDS; i++) {
		(void)snprintf(d->idbuf[i], sizeof(d->idbuf[i]), "V%02u", i);
		(void)snprintf(phone, sizeof(phone), "+7903%07u", 1000000 + i);
		memset(&in, 0, sizeof(in));
		in.external_id = d->idbuf[i];
		in.owner = "bench";
		in.name = "Vera Vip";
		in.phone = phone;
		in.email = "vera@example.ru";
		in.address = "Tverskaya 7, Moscow";
		in.annual_spend = 50000000;
		in.client_since = "2001-01-01";
		if (vv_record_put(d->v, &in) != VV_OK)
			return -1;
		d->ids[i] = d->idbuf[i];
	}
	if (vv_role_add(d->v, "desk", VV_TIERS_ALL, 0) != VV_OK ||
	    vv_token_issue(d->v, "desk", "dana", 0, d->token,
	    sizeof(d->token)) != VV_OK)
		return -1;
	return 0;
}

static int
count_contact(void *arg, const vv_contact *c)
{
	size_t *n = arg;

	*n += c->phone != NULL;
	return 0;
}

/* One unseal; adds wall and CPU seconds of each step. */
static int
one_unseal(struct dual *d, double wall[4], double cpu[4])
{
	char id[VV_REQ_ID_HEX];
	double w, c;
	size_t got = 0;
	int complete = 0, r;

	w = bench_now();
	c = cpu_now();
	r = vv_unseal_request(d->v, d->token, d->ids, UNSEAL_RECORDS,
	    "bench", 0, id);
	wall[0] += bench_now() - w, cpu[0] += cpu_now() - c;
	if (r != VV_OK)
		return -1;
	w = bench_now();
	c = cpu_now();
	r = vv_unseal_approve(d->v, id, names[0], &d->fido[0], &complete);
	wall[1] += bench_now() - w, cpu[1] += cpu_now() - c;
	if (r != VV_OK)
		return -1;
	w = bench_now();
	c = cpu_now();
	r = vv_unseal_approve(d->v, id, names[1], &d->fido[1], &complete);
	wall[2] += bench_now() - w, cpu[2] += cpu_now() - c;
	if (r != VV_OK || !complete)
		return -1;
	w = bench_now();
	c = cpu_now();
	r = vv_unseal_fetch(d->v, d->token, id, count_contact, &got);
	wall[3] += bench_now() - w, cpu[3] += cpu_now() - c;
	return r == VV_OK && got == UNSEAL_RECORDS ? 0 : -1;
}

static void
dual_cleanup(struct dual *d)
{
	unsigned i;

	vv_vault_free(&d->v);
	for (i = 0; i < MANAGERS; i++)
		if (d->soft[i][0] != '\0')
			(void)unlink(d->soft[i]);
	sodium_memzero(d->token, sizeof(d->token));
}

static int
time_unseal(const char *tmp, double wall[4], double cpu[4])
{
	struct dual d;
	unsigned i;
	int r = -1;

	memset(&d, 0, sizeof(d));
	memset(wall, 0, 4 * sizeof(double));
	memset(cpu, 0, 4 * sizeof(double));
	if (dual_setup(&d, tmp) != 0) {
		fprintf(stderr, "bench: dual setup: %s\n", d.v != NULL ?
		    vv_vault_errmsg(d.v) : "failed");
		goto out;
	}
	for (i = 0; i < UNSEAL_ROUNDS; i++)
		if (one_unseal(&d, wall, cpu) != 0) {
			fprintf(stderr, "bench: unseal: %s\n",
			    vv_vault_errmsg(d.v));
			goto out;
		}
	for (i = 0; i < 4; i++) {
		wall[i] = wall[i] * 1e3 / UNSEAL_ROUNDS;
		cpu[i] = cpu[i] * 1e3 / UNSEAL_ROUNDS;
	}
	r = 0;
out:
	dual_cleanup(&d);
	return r;
}

int
bench_dual(const char *tmp)
{
	static const char *const step[4] = { "request (10 records)",
	    "approval 1 (soft token)", "approval 2 + recombine",
	    "fetch (10 records)" };
	double s25, c25, s59, c59, x, wall[4], cpu[4], tw = 0, tc = 0;
	int i;

	if (time_shamir(2, 5, &s25, &c25) != 0 ||
	    time_shamir(5, 9, &s59, &c59) != 0) {
		fprintf(stderr, "bench: shamir failed\n");
		return -1;
	}
	x = time_x25519();
	printf("\n%-34s %12s %14s %7s\n", "dual control (32-byte key)",
	    "vipvault us", "X25519 base us", "ratio");
	printf("%-34s %12.2f %14.2f %7.2f\n", "shamir split 2-of-5", s25, x,
	    s25 / x);
	printf("%-34s %12.2f %14.2f %7.2f\n", "shamir combine 2 shares", c25,
	    x, c25 / x);
	printf("%-34s %12.2f %14.2f %7.2f\n", "shamir split 5-of-9", s59, x,
	    s59 / x);
	printf("%-34s %12.2f %14.2f %7.2f\n", "shamir combine 5 shares", c59,
	    x, c59 / x);
	if (time_unseal(tmp, wall, cpu) != 0)
		return -1;
	printf("\n%-34s %12s %14s\n", "whole unseal, mean of 15", "wall ms",
	    "cpu ms");
	for (i = 0; i < 4; i++) {
		printf("%-34s %12.2f %14.2f\n", step[i], wall[i], cpu[i]);
		tw += wall[i];
		tc += cpu[i];
	}
	printf("%-34s %12.2f %14.2f\n", "total", tw, tc);
	printf("(X25519 base: the check a combined key must pass; every "
	    "approval also\nruns ECDH + ECDSA in libfido2 and the soft token, "
	    "and AES-GCM in SoftHSM2)\n");
	return 0;
}
