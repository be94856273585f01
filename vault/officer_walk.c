/*
 * officer_walk.c - reading a mirror entry by entry, checking as it goes:
 * the sequence runs on, each entry opens with the compliance key and
 * decodes, the hash chain holds, each signed tree head verifies and is
 * the Merkle root of its size, and each approval's assertion verifies
 * against the credential enrolled earlier in the log.  The first thing
 * wrong stops the walk, named with its entry number.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"
#include "vault/officer.h"

#define CREDS_MAX 1024

struct cred_slot {
	char manager[VV_EVENT_NAME_MAX];
	struct vv_fido_cred cred;
};

struct walk {
	vv_officer *o;
	vv_log_fn *fn;
	void *arg;
	struct vv_event *e;
	uint8_t *enc;
	uint8_t prev[32];
	struct vv_merkle tree;
	uint64_t seq;
	size_t head_off;
	struct vv_tree_head head;
	int have_head;
	uint64_t heads;
	struct cred_slot *creds;
	size_t ncreds;
	uint8_t (*leaves)[32];	/* when a consistency proof is wanted */
	uint64_t first_bad;
	char *problem;
	size_t problemlen;
};

static int
bad(struct walk *w, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(struct walk *w, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	w->first_bad = seq;
	va_start(ap, fmt);
	(void)vsnprintf(w->problem, w->problemlen, fmt, ap);
	va_end(ap);
	return VV_ERR_INTEGRITY;
}

static int
next_head(struct walk *w)
{
	int r;

	r = vv_mirror_next_head(w->o->heads.p, w->o->heads.len, &w->head_off,
	    &w->head);
	w->have_head = r == VV_OK;
	if (r == VV_ERR_INPUT)
		return bad(w, w->seq, "the mirror's heads file is torn after "
		    "%llu heads", (unsigned long long)w->heads);
	return VV_OK;
}

/* Heads for the size just reached must verify and match the root. */
static int
check_heads(struct walk *w)
{
	uint8_t root[32];

	while (w->have_head && w->head.size <= w->tree.size) {
		if (w->head.size < w->tree.size)
			return bad(w, w->head.size, "a tree head for size %llu "
			    "is out of order", (unsigned long long)
			    w->head.size);
		memcpy(w->head.vault_id, w->o->h.vault_id, VV_ID_LEN);
		if (vv_tree_head_verify(&w->head, w->o->h.sign_pk) != VV_OK)
			return bad(w, w->head.size, "the tree head at entry "
			    "%llu has a bad signature", (unsigned long long)
			    w->head.size);
		vv_merkle_root(&w->tree, root);
		if (sodium_memcmp(root, w->head.root, 32) != 0)
			return bad(w, w->head.size, "the tree head at entry "
			    "%llu does not match the entries' Merkle root",
			    (unsigned long long)w->head.size);
		w->heads++;
		if (next_head(w) != VV_OK)
			return VV_ERR_INTEGRITY;
	}
	return VV_OK;
}

static void
remember_cred(struct walk *w, const struct vv_event *e)
{
	struct cred_slot *c;

	if (w->ncreds == CREDS_MAX || e->pubkey_len > VV_FIDO_PK_MAX ||
	    e->cred_id_len > VV_FIDO_CREDID_MAX)
		return;
	c = &w->creds[w->ncreds++];
	memset(c, 0, sizeof(*c));
	(void)snprintf(c->manager, sizeof(c->manager), "%s", e->manager);
	memcpy(c->cred.id, e->cred_id, e->cred_id_len);
	c->cred.id_len = e->cred_id_len;
	memcpy(c->cred.pk, e->pubkey, e->pubkey_len);
	c->cred.pk_len = e->pubkey_len;
	c->cred.alg = e->alg;
	memcpy(c->cred.aaguid, e->aaguid, 16);
}

/* 1 when a decision's assertion verifies against the manager's last
 * enrolled credential, over the challenge its request digest gives. */
static int
check_assertion(struct walk *w, const struct vv_event *e)
{
	const struct cred_slot *c = NULL;
	uint8_t cdh[32];
	char rp[VV_RP_ID_MAX];
	uint32_t count;
	size_t i;
	int approve = e->type == VV_EV_APPROVAL;

	if (e->authdata_len == 0 || e->sig_len == 0 || !e->has_digest)
		return -1;
	for (i = w->ncreds; i > 0 && c == NULL; i--)
		if (strcmp(w->creds[i - 1].manager, e->manager) == 0)
			c = &w->creds[i - 1];
	if (c == NULL)
		return 0;
	vv_request_challenge(w->o->h.vault_id, approve ? "approve" : "deny",
	    e->digest, cdh);
	if (e->has_challenge && sodium_memcmp(cdh, e->challenge, 32) != 0)
		return 0;
	(void)snprintf(rp, sizeof(rp), "vipvault-%s", w->o->vault_hex);
	/* cred.uv is 0: user presence is required, verification is not
	 * asked of an old assertion (the vault checked it when it came). */
	return vv_fido_verify(rp, &c->cred, cdh, approve, e->authdata,
	    e->authdata_len, e->sig, e->sig_len, &count) == VV_OK ? 1 : 0;
}

static int
hand_out(struct walk *w, const struct vv_event *e, int assertion_ok)
{
	char refs[VV_EVENT_REFS_MAX][33], aaguid[33];
	const char *refp[VV_EVENT_REFS_MAX];
	vv_log_entry le;
	size_t i;

	memset(&le, 0, sizeof(le));
	le.seq = e->seq;
	le.time_ms = e->time_ms;
	le.type = vv_event_type_name(e->type);
	le.outcome = vv_event_outcome_name(e->outcome);
	le.actor = e->actor[0] != '\0' ? e->actor : NULL;
	le.role = e->role[0] != '\0' ? e->role : NULL;
	le.token_id = e->token_id[0] != '\0' ? e->token_id : NULL;
	le.request_id = e->request_id[0] != '\0' ? e->request_id : NULL;
	le.manager = e->manager[0] != '\0' ? e->manager : NULL;
	le.detail = e->detail[0] != '\0' ? e->detail : NULL;
	for (i = 0; i < e->nrefs; i++) {
		vv_hex(refs[i], e->refs[i], VV_EVENT_REF_LEN);
		refp[i] = refs[i];
	}
	le.nrefs = e->nrefs;
	le.refs = refp;
	le.has_count = e->has_count;
	le.count = e->count;
	le.has_epoch = e->has_epoch;
	le.epoch = e->epoch;
	le.has_expires = e->has_expires;
	le.expires = e->expires;
	le.has_sign_count = e->has_sign_count;
	le.sign_count = e->sign_count;
	if (e->has_aaguid) {
		vv_hex(aaguid, e->aaguid, 16);
		le.aaguid = aaguid;
	}
	le.assertion_ok = assertion_ok;
	return w->fn(w->arg, &le);
}

/* One record of the entries file. */
static int
step(struct walk *w, uint64_t seq, const uint8_t *hash,
    const uint8_t *sealed, size_t sealedlen)
{
	uint8_t chain[32], leaf[32], ad[VV_MIRROR_AD_LEN];
	size_t len = sealedlen - VV_MIRROR_NONCE - VV_MIRROR_TAG;
	char err[160];
	int ok = -1;

	if (seq != w->seq + 1)
		return bad(w, w->seq + 1, "entry %llu is missing or out of "
		    "order (found entry %llu there)", (unsigned long long)
		    (w->seq + 1), (unsigned long long)seq);
	vv_mirror_ad(w->o->h.vault_id, seq, ad);
	if (len > VV_EVENT_ENC_MAX ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(w->enc, NULL, NULL,
	    sealed + VV_MIRROR_NONCE, sealedlen - VV_MIRROR_NONCE, ad,
	    sizeof(ad), sealed, w->o->keys + 64) != 0)
		return bad(w, seq, "entry %llu does not open with the "
		    "compliance key: it was altered", (unsigned long long)seq);
	vv_clog_chain(w->prev, w->enc, len, chain);
	if (sodium_memcmp(chain, hash, 32) != 0)
		return bad(w, seq, "entry %llu breaks the hash chain: it, or "
		    "an entry before it, was altered, inserted or removed",
		    (unsigned long long)seq);
	if (vv_event_decode(w->enc, len, w->e, err, sizeof(err)) != VV_OK)
		return bad(w, seq, "entry %llu: %s", (unsigned long long)seq,
		    err);
	if (w->e->seq != seq)
		return bad(w, seq, "entry %llu says it is entry %llu",
		    (unsigned long long)seq, (unsigned long long)w->e->seq);
	memcpy(w->prev, chain, 32);
	vv_merkle_leaf_hash(w->enc, len, leaf);
	if (w->leaves != NULL)
		memcpy(w->leaves[seq - 1], leaf, 32);
	vv_merkle_append_leaf_hash(&w->tree, leaf);
	w->seq = seq;
	if (w->e->type == VV_EV_MANAGER_ENROLLED)
		remember_cred(w, w->e);
	if (w->e->type == VV_EV_APPROVAL || w->e->type == VV_EV_DENIAL)
		ok = check_assertion(w, w->e);
	/* A decision the vault accepted must stand on its own: signed by
	 * the credential the log says the manager enrolled. */
	if (ok != 1 && w->e->outcome == VV_OUT_OK &&
	    (w->e->type == VV_EV_APPROVAL || w->e->type == VV_EV_DENIAL))
		return bad(w, seq, "entry %llu: the %s by %s does not verify "
		    "against the credential he enrolled", (unsigned long long)
		    seq, w->e->type == VV_EV_APPROVAL ? "approval" : "denial",
		    w->e->manager);
	if (check_heads(w) != VV_OK)
		return VV_ERR_INTEGRITY;
	if (w->fn != NULL && hand_out(w, w->e, ok) != 0)
		return VV_ERR_NOT_FOUND;	/* stopped by the caller */
	return VV_OK;
}

static int
walk_init(struct walk *w, vv_officer *o, char *problem, size_t problemlen)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->problem = problem;
	w->problemlen = problemlen;
	problem[0] = '\0';
	vv_clog_genesis(o->h.vault_id, w->prev);
	vv_merkle_init(&w->tree);
	w->e = malloc(sizeof(*w->e));
	w->enc = malloc(VV_EVENT_ENC_MAX);
	w->creds = calloc(CREDS_MAX, sizeof(*w->creds));
	if (w->e == NULL || w->enc == NULL || w->creds == NULL)
		return VV_ERR_NOMEM;
	return next_head(w);
}

static void
walk_free(struct walk *w)
{
	free(w->e);
	free(w->enc);
	free(w->creds);
	free(w->leaves);
}

/* The whole entries file; VV_ERR_NOT_FOUND when fn stopped it. */
static int
walk_all(struct walk *w)
{
	const uint8_t *hash, *sealed;
	size_t off = 0, sealedlen;
	uint64_t seq;
	int r;

	for (;;) {
		r = vv_mirror_next(w->o->entries.p, w->o->entries.len, &off,
		    &seq, &hash, &sealed, &sealedlen);
		if (r == VV_ERR_NOT_FOUND)
			break;
		if (r != VV_OK)
			return bad(w, w->seq + 1, "the mirror is torn after "
			    "entry %llu (truncated or overwritten)",
			    (unsigned long long)w->seq);
		if ((r = step(w, seq, hash, sealed, sealedlen)) != VV_OK)
			return r;
	}
	if (w->have_head)
		return bad(w, w->head.size, "a signed tree head covers %llu "
		    "entries but the mirror holds %llu: entries were removed",
		    (unsigned long long)w->head.size,
		    (unsigned long long)w->seq);
	return VV_OK;
}

int
vv_officer_foreach(vv_officer *o, vv_log_fn *fn, void *arg)
{
	struct walk w;
	int r;

	if ((r = walk_init(&w, o, o->errmsg, sizeof(o->errmsg))) == VV_OK) {
		w.fn = fn;
		w.arg = arg;
		r = walk_all(&w);
		if (r == VV_ERR_NOT_FOUND)
			r = VV_OK;
	}
	walk_free(&w);
	return r;
}

/* ----------------------------------------------------------- verify */

static int
leaf_at(void *arg, uint64_t index, uint8_t out[32])
{
	const struct walk *w = arg;

	if (index >= w->seq)
		return -1;
	memcpy(out, w->leaves[index], 32);
	return 0;
}

static int
compare_vault(struct walk *w, vv_vault *v, vv_verify_report *rep)
{
	const uint8_t *hash, *sealed;
	sqlite3_stmt *st = NULL;
	size_t off = 0, sealedlen;
	uint64_t seq;
	int r = VV_OK, rc;

	if (vv_prepare(v, "SELECT seq, hash FROM clog ORDER BY seq", &st) !=
	    VV_OK)
		return bad(w, 0, "the vault's log cannot be read");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rep->vault_entries++;
		if (vv_mirror_next(w->o->entries.p, w->o->entries.len, &off,
		    &seq, &hash, &sealed, &sealedlen) != VV_OK)
			continue;	/* the mirror is behind */
		if ((uint64_t)sqlite3_column_int64(st, 0) != seq ||
		    sqlite3_column_bytes(st, 1) != 32 ||
		    sodium_memcmp(sqlite3_column_blob(st, 1), hash, 32) != 0) {
			r = bad(w, seq, "entry %llu differs between the vault "
			    "and the mirror", (unsigned long long)seq);
			break;
		}
	}
	sqlite3_finalize(st);
	if (r == VV_OK && rep->vault_entries < w->seq)
		r = bad(w, rep->vault_entries + 1, "the mirror holds entries "
		    "the vault does not (from entry %llu): the vault's log "
		    "was cut or rolled back", (unsigned long long)
		    (rep->vault_entries + 1));
	return r;
}

int
vv_officer_verify(vv_officer *o, vv_vault *v, const char *since_head,
    vv_verify_report *rep)
{
	struct vv_checkpoint cp;
	struct walk w;
	uint64_t n;
	int r;

	memset(rep, 0, sizeof(*rep));
	if ((r = walk_init(&w, o, rep->problem, sizeof(rep->problem))) !=
	    VV_OK)
		goto out;
	n = o->entries.len / VV_MIRROR_REC_MIN + 1;
	if (since_head != NULL && (w.leaves = calloc(n, 32)) == NULL) {
		r = VV_ERR_NOMEM;
		goto out;
	}
	if ((r = walk_all(&w)) != VV_OK)
		goto out;
	if (v != NULL && (r = compare_vault(&w, v, rep)) != VV_OK)
		goto out;
	if (since_head != NULL && (r = vv_checkpoint_read(since_head, &cp,
	    rep->problem, sizeof(rep->problem))) == VV_OK)
		r = vv_checkpoint_check(&cp, &o->h, &w.tree, leaf_at, &w,
		    rep->problem, sizeof(rep->problem));
out:
	rep->entries = w.seq;
	rep->heads = w.heads;
	rep->first_bad = w.first_bad;
	(void)snprintf(o->errmsg, sizeof(o->errmsg), "%s", rep->problem);
	walk_free(&w);
	return r;
}
