/*
 * checkpoint.c - signed tree heads that leave the vault.
 *
 * A checkpoint is one line an officer keeps where operators cannot reach
 * (printed, mailed, in another system):
 *
 *   vipvault-checkpoint 1 VAULT_ID SIZE ROOT TIME_MS SIG SIGN_KEY
 *
 * Later, a consistency proof from SIZE to the log's current size shows
 * that the log only grew: no entry before SIZE was changed, removed or
 * reordered, and the vault was not rolled back to an older copy.  The
 * signing key in the line pins the vault's key, so a mirror rewritten
 * whole under a new key is caught too.  The heartbeat keeps a quiet log
 * growing, so that cutting its end shows against the next checkpoint.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/officer.h"

#define MAGIC "vipvault-checkpoint 1"

int
vv_compliance_checkpoint(vv_vault *v, char *out, size_t outlen)
{
	struct vv_tree_head h;
	sqlite3_stmt *st = NULL;
	char id[2 * VV_ID_LEN + 1], root[65], sig[129], pk[65];
	int r, rc, n;

	/* A fresh head, so the checkpoint covers everything logged. */
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_clog_sign_head(v)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	if ((r = vv_prepare(v, "SELECT size, root, time_ms, sig FROM "
	    "clog_heads ORDER BY size DESC LIMIT 1", &st)) != VV_OK)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 1) != 32 ||
	    sqlite3_column_bytes(st, 3) != crypto_sign_BYTES) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "no signed tree head");
		goto out;
	}
	h.size = (uint64_t)sqlite3_column_int64(st, 0);
	memcpy(h.root, sqlite3_column_blob(st, 1), 32);
	h.time_ms = sqlite3_column_int64(st, 2);
	memcpy(h.sig, sqlite3_column_blob(st, 3), crypto_sign_BYTES);
	vv_hex(id, v->id, VV_ID_LEN);
	vv_hex(root, h.root, 32);
	vv_hex(sig, h.sig, sizeof(h.sig));
	vv_hex(pk, v->log_sign_pk, 32);
	n = snprintf(out, outlen, "%s %s %" PRIu64 " %s %" PRId64 " %s %s\n",
	    MAGIC, id, h.size, root, h.time_ms, sig, pk);
	if (n < 0 || (size_t)n >= outlen)
		r = vv_fail(v, VV_ERR_INVALID, "checkpoint buffer too small");
out:
	sqlite3_finalize(st);
	return r;
}

int
vv_compliance_heartbeat(vv_vault *v)
{
	int r;

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_clog_note(v, VV_EV_HEARTBEAT, NULL, NULL, NULL, NULL, 0,
	    0)) != VV_OK || (r = vv_clog_sign_head(v)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	/* The database sink catches up here (and at releases). */
	r = vv_pgsink_sync(v);
	return r == VV_ERR_NOT_FOUND ? VV_OK : r;
}

/* Space-separated hex field into out (exactly n bytes). */
static int
hex_field(char **at, uint8_t *out, size_t n)
{
	char *tok = strsep(at, " ");

	return tok != NULL && strlen(tok) == 2 * n &&
	    vv_unhex(out, n, tok) == 0 ? 0 : -1;
}

static int
num_field(char **at, uint64_t *out)
{
	char *tok = strsep(at, " "), *end;
	unsigned long long x;

	if (tok == NULL || *tok < '0' || *tok > '9')
		return -1;
	errno = 0;
	x = strtoull(tok, &end, 10);
	*out = x;
	return *end == '\0' && errno == 0 ? 0 : -1;
}

int
vv_checkpoint_parse(const char *text, size_t len, struct vv_checkpoint *cp)
{
	char *line, *at;
	uint64_t t = 0;
	int r = VV_OK;

	memset(cp, 0, sizeof(*cp));
	if (len > 1024 || memchr(text, '\0', len) != NULL ||
	    (line = calloc(1, len + 1)) == NULL)
		return VV_ERR_INPUT;
	memcpy(line, text, len);
	if (len > 0 && line[len - 1] == '\n')
		line[len - 1] = '\0';
	at = line + strlen(MAGIC) + 1;
	if (strncmp(line, MAGIC " ", strlen(MAGIC) + 1) != 0 ||
	    hex_field(&at, cp->head.vault_id, VV_ID_LEN) != 0 ||
	    num_field(&at, &cp->head.size) != 0 ||
	    hex_field(&at, cp->head.root, 32) != 0 || num_field(&at, &t) != 0 ||
	    hex_field(&at, cp->head.sig, crypto_sign_BYTES) != 0 ||
	    hex_field(&at, cp->sign_pk, 32) != 0 || at != NULL ||
	    t > INT64_MAX)
		r = VV_ERR_INPUT;
	cp->head.time_ms = (int64_t)t;
	free(line);
	return r;
}

int
vv_checkpoint_read(const char *path, struct vv_checkpoint *cp, char *err,
    size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = vv_read_file(path, 1024, &buf, &len)) != VV_OK) {
		(void)snprintf(err, errlen, "cannot read the checkpoint %s",
		    path);
		return r;
	}
	if ((r = vv_checkpoint_parse((const char *)buf, len, cp)) != VV_OK)
		(void)snprintf(err, errlen, "%s is not a vipvault checkpoint",
		    path);
	free(buf);
	return r;
}

int
vv_checkpoint_check(const struct vv_checkpoint *cp,
    const struct vv_mirror_header *h, const struct vv_merkle *tree,
    vv_merkle_leaf_fn *leaf, void *arg, char *err, size_t errlen)
{
	uint8_t proof[64][32], root[32];
	size_t n = 0;

	if (memcmp(cp->head.vault_id, h->vault_id, VV_ID_LEN) != 0) {
		(void)snprintf(err, errlen, "the checkpoint is of another vault");
		return VV_ERR_INTEGRITY;
	}
	if (sodium_memcmp(cp->sign_pk, h->sign_pk, 32) != 0) {
		(void)snprintf(err, errlen, "the mirror is signed with another "
		    "key than the checkpoint's: it was rewritten");
		return VV_ERR_INTEGRITY;
	}
	if (vv_tree_head_verify(&cp->head, cp->sign_pk) != VV_OK) {
		(void)snprintf(err, errlen, "the checkpoint's signature does "
		    "not verify");
		return VV_ERR_INTEGRITY;
	}
	if (cp->head.size > tree->size) {
		(void)snprintf(err, errlen, "the log holds %llu entries, fewer "
		    "than the %llu of the checkpoint: it was cut or rolled "
		    "back", (unsigned long long)tree->size,
		    (unsigned long long)cp->head.size);
		return VV_ERR_INTEGRITY;
	}
	if (cp->head.size == 0)
		return VV_OK;
	vv_merkle_root(tree, root);
	if (vv_merkle_consistency_proof(leaf, arg, cp->head.size, tree->size,
	    proof, &n) != 0 || vv_merkle_verify_consistency(cp->head.size,
	    tree->size, cp->head.root, root, (const uint8_t (*)[32])proof,
	    n) != 0) {
		(void)snprintf(err, errlen, "the log is not an extension of the "
		    "checkpoint at %llu entries: entries before it were "
		    "changed", (unsigned long long)cp->head.size);
		return VV_ERR_INTEGRITY;
	}
	return VV_OK;
}
