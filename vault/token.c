/*
 * token.c - bearer tokens.
 *
 * A token is "vv_" + 16 hex digits of public id + "_" + 43 base64url
 * characters of a 256-bit secret.  Only BLAKE2b-256 of the secret is
 * stored; it is compared with sodium_memcmp.  A fast hash suffices: the
 * secret is uniformly random and 256 bits long, so there is nothing for a
 * slow hash to protect against, and every API call pays for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/clog.h"

#define TOKEN_ID_LEN 8u
#define TOKEN_SECRET_LEN 32u
#define TOKEN_HASH_LEN 32u
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void
secret_hash(const uint8_t *secret, uint8_t out[TOKEN_HASH_LEN])
{
	(void)crypto_generichash(out, TOKEN_HASH_LEN, secret,
	    TOKEN_SECRET_LEN, (const uint8_t *)"vipvault/token/v1", 17);
}

static int
role_id_by_name(vv_vault *v, const char *role, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT id FROM roles WHERE name = ?",
	    &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, role, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no role named '%s'", role);
	else
		r = vv_fail_db(v, rc, "looking up a role");
	sqlite3_finalize(st);
	return r;
}

static int
insert_token(vv_vault *v, const char *id_hex, int64_t role_id,
    const char *user, const uint8_t *hash, int64_t expires)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT INTO tokens(id, role_id, user, hash, "
	    "created, expires) VALUES (?, ?, ?, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, id_hex, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 2, role_id);
	(void)sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
	(void)sqlite3_bind_blob(st, 4, hash, TOKEN_HASH_LEN, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 5, vv_now());
	(void)sqlite3_bind_int64(st, 6, expires);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing a token");
	sqlite3_finalize(st);
	return r;
}

/* An issued or revoked token in the log: its id, never its secret. */
static int
note_token(vv_vault *v, int type, const char *id_hex, const char *user,
    const char *role)
{
	struct vv_event *e;
	int r;

	if ((e = malloc(sizeof(*e))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	vv_clog_event(e, type);
	(void)snprintf(e->actor, sizeof(e->actor), "%s", VV_ACTOR_ADMIN);
	(void)snprintf(e->token_id, sizeof(e->token_id), "%s", id_hex);
	if (user != NULL)
		(void)snprintf(e->detail, sizeof(e->detail), "for user %s",
		    user);
	if (role != NULL)
		(void)snprintf(e->role, sizeof(e->role), "%s", role);
	r = vv_clog_append(v, e);
	free(e);
	return r;
}

int
vv_token_issue(vv_vault *v, const char *role, const char *user,
    int64_t expires_at, char *out, size_t outlen)
{
	uint8_t id[TOKEN_ID_LEN], hash[TOKEN_HASH_LEN];
	char id_hex[2 * TOKEN_ID_LEN + 1];
	char b64[sodium_base64_ENCODED_LEN(TOKEN_SECRET_LEN, B64_VARIANT)];
	uint8_t *secret;
	int64_t role_id = 0;
	int r, n;

	if (outlen < VV_TOKEN_MAX)
		return vv_fail(v, VV_ERR_INVALID, "token buffer too small");
	if (user == NULL || !vv_valid_name(user))
		return vv_fail(v, VV_ERR_INVALID, "user: must be a user name "
		    "(letters, digits, . _ - @)");
	if (expires_at != 0 && expires_at <= vv_now())
		return vv_fail(v, VV_ERR_INVALID, "expiry is in the past");
	if ((r = role_id_by_name(v, role, &role_id)) != VV_OK)
		return r;
	if ((secret = sodium_malloc(TOKEN_SECRET_LEN)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	randombytes_buf(id, sizeof(id));
	randombytes_buf(secret, TOKEN_SECRET_LEN);
	vv_hex(id_hex, id, sizeof(id));
	secret_hash(secret, hash);
	if ((r = vv_store_begin(v)) != VV_OK)
		goto out;
	if ((r = insert_token(v, id_hex, role_id, user, hash,
	    expires_at)) != VV_OK || (r = note_token(v, VV_EV_TOKEN_ISSUED,
	    id_hex, user, role)) != VV_OK || (r = vv_store_commit(v)) !=
	    VV_OK) {
		vv_store_rollback(v);
		goto out;
	}
	(void)sodium_bin2base64(b64, sizeof(b64), secret, TOKEN_SECRET_LEN,
	    B64_VARIANT);
	n = snprintf(out, outlen, "vv_%s_%s", id_hex, b64);
	sodium_memzero(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= outlen)
		r = vv_fail(v, VV_ERR_INTERNAL, "token does not fit");
out:
	sodium_free(secret);
	return r;
}

/* Splits a token into its id and secret; VV_ERR_DENIED if malformed. */
int
vv_token_parse(const char *token, char id_hex[2 * TOKEN_ID_LEN + 1],
    uint8_t *secret)
{
	size_t got = 0;
	const char *end = NULL, *b64;

	if (token == NULL || strncmp(token, "vv_", 3) != 0 ||
	    strlen(token) < 3 + 2 * TOKEN_ID_LEN + 1 ||
	    token[3 + 2 * TOKEN_ID_LEN] != '_')
		return VV_ERR_DENIED;
	memcpy(id_hex, token + 3, 2 * TOKEN_ID_LEN);
	id_hex[2 * TOKEN_ID_LEN] = '\0';
	b64 = token + 3 + 2 * TOKEN_ID_LEN + 1;
	if (sodium_base642bin(secret, TOKEN_SECRET_LEN, b64, strlen(b64),
	    NULL, &got, &end, B64_VARIANT) != 0 || got != TOKEN_SECRET_LEN ||
	    *end != '\0')
		return VV_ERR_DENIED;
	return VV_OK;
}

int
vv_token_verify(vv_vault *v, const char *token, struct vv_auth *ti)
{
	static const uint8_t dummy[TOKEN_HASH_LEN];
	uint8_t hash[TOKEN_HASH_LEN];
	char id_hex[2 * TOKEN_ID_LEN + 1];
	sqlite3_stmt *st = NULL;
	uint8_t *secret;
	const void *stored = dummy;
	int r, rc, ok;

	memset(ti, 0, sizeof(*ti));
	if ((secret = sodium_malloc(TOKEN_SECRET_LEN)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of guarded memory");
	if (vv_token_parse(token, id_hex, secret) != VV_OK) {
		r = vv_fail(v, VV_ERR_DENIED, "invalid token");
		goto out;
	}
	if ((r = vv_prepare(v, "SELECT t.hash, t.user, t.expires, t.revoked, "
	    "r.id, r.name, r.tiers, r.flags, t.frozen, r.reads_per_minute, "
	    "r.records_per_hour, r.pages_per_hour, r.burst_per_second, "
	    "r.hours_from, r.hours_to FROM tokens t JOIN roles r ON "
	    "r.id = t.role_id WHERE t.id = ?", &st)) != VV_OK)
		goto out;
	(void)sqlite3_bind_text(st, 1, id_hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = vv_fail_db(v, rc, "reading tokens");
		goto out;
	}
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == TOKEN_HASH_LEN)
		stored = sqlite3_column_blob(st, 0);
	/* Hash and compare even for an unknown id: same work either way. */
	secret_hash(secret, hash);
	ok = sodium_memcmp(hash, stored, TOKEN_HASH_LEN) == 0 &&
	    stored != dummy;
	if (!ok || sqlite3_column_int(st, 3) != 0 ||
	    (sqlite3_column_int64(st, 2) != 0 &&
	    sqlite3_column_int64(st, 2) <= vv_now())) {
		r = vv_fail(v, VV_ERR_DENIED, "invalid token");
		goto out;
	}
	(void)snprintf(ti->id, sizeof(ti->id), "%s", id_hex);
	(void)snprintf(ti->user, sizeof(ti->user), "%s",
	    (const char *)sqlite3_column_text(st, 1));
	ti->role_id = sqlite3_column_int64(st, 4);
	(void)snprintf(ti->role, sizeof(ti->role), "%s",
	    (const char *)sqlite3_column_text(st, 5));
	ti->tiers = (unsigned)sqlite3_column_int(st, 6);
	ti->flags = (unsigned)sqlite3_column_int(st, 7);
	ti->budget.reads_per_minute = (uint32_t)sqlite3_column_int64(st, 9);
	ti->budget.records_per_hour = (uint32_t)sqlite3_column_int64(st, 10);
	ti->budget.pages_per_hour = (uint32_t)sqlite3_column_int64(st, 11);
	ti->budget.burst_per_second = (uint32_t)sqlite3_column_int64(st, 12);
	ti->budget.hours_from = sqlite3_column_int(st, 13);
	ti->budget.hours_to = sqlite3_column_int(st, 14);
	r = sqlite3_column_int(st, 8) != 0 ? vv_fail(v, VV_ERR_FROZEN,
	    "token %s is frozen; an administrator must unfreeze it "
	    "(vipvault token unfreeze %s)", id_hex, id_hex) : VV_OK;
out:
	sqlite3_finalize(st);
	sodium_free(secret);
	sodium_memzero(hash, sizeof(hash));
	return r;
}

/* A public token id: exactly 16 lower-case hex digits. */
static int
valid_token_id(const char *id)
{
	size_t i;

	for (i = 0; i < 2 * TOKEN_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[i] == '\0';
}

int
vv_token_revoke(vv_vault *v, const char *token_id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* Never echo the argument: it may be a whole token, secret and all. */
	if (token_id == NULL || !valid_token_id(token_id))
		return vv_fail(v, VV_ERR_INVALID, "a token id is the 16 hex "
		    "digits between 'vv_' and the second '_'");

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_prepare(v, "UPDATE tokens SET revoked = 1 WHERE id = ?",
	    &st)) != VV_OK)
		goto fail;
	(void)sqlite3_bind_text(st, 1, token_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "revoking a token");
	else if (sqlite3_changes(v->db) == 0)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no token with id %s",
		    token_id);
	sqlite3_finalize(st);
	if (r == VV_OK && (r = note_token(v, VV_EV_TOKEN_REVOKED, token_id,
	    NULL, NULL)) == VV_OK && (r = vv_store_commit(v)) == VV_OK)
		return VV_OK;
fail:
	vv_store_rollback(v);
	return r;
}

int
vv_token_recheck(vv_vault *v, struct vv_auth *ti, sqlite3_stmt **stp)
{
	sqlite3_stmt *st;
	int r = VV_OK, rc;

	/* Prepared once per session: an API server checks every request. */
	if (*stp == NULL && (r = vv_prepare(v, "SELECT t.expires, t.revoked, "
	    "t.frozen, r.reads_per_minute, r.records_per_hour, "
	    "r.pages_per_hour, r.burst_per_second, r.hours_from, r.hours_to "
	    "FROM tokens t JOIN roles r ON r.id = t.role_id WHERE t.id = ?",
	    stp)) != VV_OK)
		return r;
	st = *stp;
	(void)sqlite3_bind_text(st, 1, ti->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading tokens");
	else if (rc == SQLITE_DONE || sqlite3_column_int(st, 1) != 0 ||
	    (sqlite3_column_int64(st, 0) != 0 &&
	    sqlite3_column_int64(st, 0) <= vv_now()))
		r = vv_fail(v, VV_ERR_DENIED, "invalid token");
	else if (sqlite3_column_int(st, 2) != 0)
		r = vv_fail(v, VV_ERR_FROZEN, "token %s is frozen; an "
		    "administrator must unfreeze it (vipvault token unfreeze "
		    "%s)", ti->id, ti->id);
	else {
		/* A budget an administrator changed applies at once. */
		ti->budget.reads_per_minute =
		    (uint32_t)sqlite3_column_int64(st, 3);
		ti->budget.records_per_hour =
		    (uint32_t)sqlite3_column_int64(st, 4);
		ti->budget.pages_per_hour =
		    (uint32_t)sqlite3_column_int64(st, 5);
		ti->budget.burst_per_second =
		    (uint32_t)sqlite3_column_int64(st, 6);
		ti->budget.hours_from = sqlite3_column_int(st, 7);
		ti->budget.hours_to = sqlite3_column_int(st, 8);
	}
	/* Reset now: an open read statement would pin the WAL snapshot. */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
	return r;
}

/* Sets or clears a token's freeze and logs it, in one transaction.  The
 * entry names the token's user and role so that compliance need not
 * look them up. */
static int
set_frozen(vv_vault *v, const char *token_id, int frozen, const char *reason)
{
	struct vv_event *e = NULL;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (token_id == NULL || !valid_token_id(token_id))
		return vv_fail(v, VV_ERR_INVALID, "a token id is the 16 hex "
		    "digits between 'vv_' and the second '_'");
	if ((e = malloc(sizeof(*e))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	vv_clog_event(e, frozen ? VV_EV_FREEZE : VV_EV_UNFREEZE);
	if ((r = vv_store_begin(v)) != VV_OK)
		goto out;
	if ((r = vv_prepare(v, "SELECT t.user, r.name, t.frozen FROM tokens t "
	    "JOIN roles r ON r.id = t.role_id WHERE t.id = ?", &st)) != VV_OK)
		goto fail;
	(void)sqlite3_bind_text(st, 1, token_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no token with id %s",
		    token_id);
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		r = vv_fail_db(v, rc, "reading tokens");
		goto fail;
	}
	if (sqlite3_column_int(st, 2) == frozen) {
		/* Freezing twice (two workers crossing a budget at once) is
		 * one freeze: the first entry stands. */
		r = frozen ? VV_OK : vv_fail(v, VV_ERR_INVALID, "token %s is "
		    "not frozen", token_id);
		goto fail;
	}
	(void)snprintf(e->actor, sizeof(e->actor), "%s", frozen ?
	    (const char *)sqlite3_column_text(st, 0) : VV_ACTOR_ADMIN);
	(void)snprintf(e->role, sizeof(e->role), "%s",
	    (const char *)sqlite3_column_text(st, 1));
	(void)snprintf(e->token_id, sizeof(e->token_id), "%s", token_id);
	if (frozen) {
		e->outcome = VV_OUT_DENIED;
		(void)snprintf(e->detail, sizeof(e->detail), "%s",
		    reason != NULL ? reason : "frozen");
	} else
		(void)snprintf(e->detail, sizeof(e->detail), "unfrozen for "
		    "user %s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if ((r = vv_prepare(v, "UPDATE tokens SET frozen = ?, frozen_at = ?, "
	    "frozen_reason = ? WHERE id = ?", &st)) != VV_OK)
		goto fail;
	(void)sqlite3_bind_int(st, 1, frozen);
	if (frozen) {
		(void)sqlite3_bind_int64(st, 2, vv_now());
		(void)sqlite3_bind_text(st, 3, e->detail, -1, SQLITE_STATIC);
	}
	(void)sqlite3_bind_text(st, 4, token_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = vv_fail_db(v, rc, "freezing a token");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = vv_clog_append(v, e)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK)
		goto fail;
	goto out;
fail:
	sqlite3_finalize(st);
	st = NULL;
	vv_store_rollback(v);
out:
	free(e);
	return r;
}

int
vv_token_freeze(vv_vault *v, const char *token_id, const char *reason)
{
	return set_frozen(v, token_id, 1, reason);
}

int
vv_token_unfreeze(vv_vault *v, const char *token_id)
{
	return set_frozen(v, token_id, 0, NULL);
}

int
vv_token_foreach(vv_vault *v, vv_token_fn *fn, void *arg)
{
	vv_token_info t;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT t.id, r.name, t.user, t.created, "
	    "t.expires, t.revoked, t.frozen, t.frozen_at, t.frozen_reason "
	    "FROM tokens t JOIN roles r ON r.id = t.role_id "
	    "ORDER BY t.created, t.id", &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		t.id = (const char *)sqlite3_column_text(st, 0);
		t.role = (const char *)sqlite3_column_text(st, 1);
		t.user = (const char *)sqlite3_column_text(st, 2);
		t.created = sqlite3_column_int64(st, 3);
		t.expires = sqlite3_column_int64(st, 4);
		t.revoked = sqlite3_column_int(st, 5);
		t.frozen = sqlite3_column_int(st, 6);
		t.frozen_at = sqlite3_column_int64(st, 7);
		t.frozen_reason = t.frozen ? (const char *)
		    sqlite3_column_text(st, 8) : NULL;
		if (fn(arg, &t) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "listing tokens");
	sqlite3_finalize(st);
	return r;
}
