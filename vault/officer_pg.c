/*
 * officer_pg.c - the officer checks the PostgreSQL sink against the
 * directory mirror: the same entries, in the same order, each opening
 * with the mirror key, chained from the vault's genesis hash.  The
 * officer connects as compliance (the database's owner), not as the
 * vault's role, which cannot read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "vault/officer.h"

/* The mirror's chain hash of each entry, in order (from its records). */
static int
mirror_hashes(vv_officer *o, uint8_t (**out)[32], uint64_t *n)
{
	const uint8_t *hash, *sealed;
	size_t off = 0, sealedlen, cap = 0;
	uint64_t seq;
	void *p;

	*out = NULL;
	*n = 0;
	while (vv_mirror_next(o->entries.p, o->entries.len, &off, &seq, &hash,
	    &sealed, &sealedlen) == VV_OK) {
		if (*n == cap) {
			cap = cap == 0 ? 1024 : 2 * cap;
			if ((p = realloc(*out, cap * 32)) == NULL)
				return VV_ERR_NOMEM;
			*out = p;
		}
		memcpy((*out)[(*n)++], hash, 32);
	}
	return VV_OK;
}

static const uint8_t *
bytea(PGresult *res, int row, int col, size_t *len, unsigned char **free_me)
{
	*free_me = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row,
	    col), len);
	return *free_me;
}

/* One database row: follows the previous one, opens, chains, and is the
 * mirror's entry of that number. */
static int
check_row(vv_officer *o, PGresult *res, int row, uint8_t prev[32],
    uint8_t (*mh)[32], uint64_t nmirror, uint8_t *plain,
    vv_verify_report *rep)
{
	unsigned char *fp = NULL, *fh = NULL, *fs = NULL;
	const uint8_t *p, *h, *s;
	uint8_t ad[VV_MIRROR_AD_LEN], chain[32];
	size_t pl = 0, hl = 0, sl = 0;
	uint64_t seq = strtoull(PQgetvalue(res, row, 0), NULL, 10);
	const char *why = NULL;

	p = bytea(res, row, 1, &pl, &fp);
	h = bytea(res, row, 2, &hl, &fh);
	s = bytea(res, row, 3, &sl, &fs);
	vv_mirror_ad(o->h.vault_id, seq, ad);
	if (seq != rep->entries + 1)
		why = "is missing or out of order";
	else if (p == NULL || h == NULL || s == NULL || pl != 32 || hl != 32 ||
	    sodium_memcmp(p, prev, 32) != 0)
		why = "does not follow the one before it";
	else if (sl < VV_MIRROR_NONCE + VV_MIRROR_TAG || sl - VV_MIRROR_NONCE -
	    VV_MIRROR_TAG > VV_EVENT_ENC_MAX ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL,
	    s + VV_MIRROR_NONCE, sl - VV_MIRROR_NONCE, ad, sizeof(ad), s,
	    o->keys + 64) != 0)
		why = "does not open with the compliance key";
	else {
		vv_clog_chain(prev, plain, sl - VV_MIRROR_NONCE -
		    VV_MIRROR_TAG, chain);
		if (sodium_memcmp(chain, h, 32) != 0)
			why = "breaks the hash chain";
		else if (seq <= nmirror && sodium_memcmp(mh[seq - 1], h,
		    32) != 0)
			why = "differs from the mirror's";
		else
			memcpy(prev, h, 32);
	}
	PQfreemem(fp);
	PQfreemem(fh);
	PQfreemem(fs);
	if (why != NULL) {
		rep->first_bad = seq != rep->entries + 1 ? rep->entries + 1 :
		    seq;
		(void)snprintf(rep->problem, sizeof(rep->problem), "database "
		    "entry %llu %s", (unsigned long long)rep->first_bad, why);
		return VV_ERR_INTEGRITY;
	}
	rep->entries = seq;
	return VV_OK;
}

int
vv_officer_verify_pg(vv_officer *o, const char *conninfo,
    vv_verify_report *rep)
{
	const char *vals[1] = { (const char *)o->h.vault_id };
	int lens[1] = { VV_ID_LEN }, fmts[1] = { 1 }, i, n, r;
	uint8_t (*mh)[32] = NULL, prev[32], *plain = NULL;
	uint64_t nmirror = 0;
	PGconn *c = NULL;
	PGresult *res = NULL;

	memset(rep, 0, sizeof(*rep));
	if ((r = mirror_hashes(o, &mh, &nmirror)) != VV_OK ||
	    (plain = malloc(VV_EVENT_ENC_MAX)) == NULL) {
		r = VV_ERR_NOMEM;
		goto out;
	}
	c = PQconnectdb(conninfo);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		(void)snprintf(rep->problem, sizeof(rep->problem), "cannot "
		    "connect to the compliance database");
		r = VV_ERR_IO;
		goto out;
	}
	res = PQexecParams(c, "SELECT seq, prev, hash, sealed FROM "
	    "vipvault_sink.entries WHERE vault = $1 ORDER BY seq", 1, NULL,
	    vals, lens, fmts, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		(void)snprintf(rep->problem, sizeof(rep->problem), "cannot read "
		    "the compliance database's entries");
		r = VV_ERR_IO;
		goto out;
	}
	vv_clog_genesis(o->h.vault_id, prev);
	n = PQntuples(res);
	for (i = 0, r = VV_OK; i < n && r == VV_OK; i++)
		r = check_row(o, res, i, prev, mh, nmirror, plain, rep);
	rep->vault_entries = nmirror;	/* here: the mirror's count */
out:
	(void)snprintf(o->errmsg, sizeof(o->errmsg), "%s", rep->problem);
	PQclear(res);
	PQfinish(c);
	if (plain != NULL)
		sodium_memzero(plain, VV_EVENT_ENC_MAX);
	free(plain);
	free(mh);
	return r;
}
