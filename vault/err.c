/*
 * err.c - the error space and the message kept on a vault handle.
 */
#include <stdio.h>
#include <string.h>

#include "vault/internal.h"

const char *
vv_strerror(int err)
{
	switch (err) {
	case VV_OK:
		return "success";
	case VV_ERR_INVALID:
		return "invalid argument";
	case VV_ERR_DENIED:
		return "permission denied";
	case VV_ERR_NOT_FOUND:
		return "not found";
	case VV_ERR_INPUT:
		return "malformed input";
	case VV_ERR_INTEGRITY:
		return "integrity check failed: data tampered with or corrupt";
	case VV_ERR_HSM:
		return "HSM unavailable or failed";
	case VV_ERR_IO:
		return "file input/output error";
	case VV_ERR_NOMEM:
		return "out of memory";
	case VV_ERR_DB:
		return "database error";
	case VV_ERR_SCHEMA:
		return "vault was created by a newer vipvault";
	case VV_ERR_EXISTS:
		return "already exists";
	case VV_ERR_SEALED:
		return "sealed under dual control: needs an approved unseal";
	case VV_ERR_INTERNAL:
		return "internal error";
	case VV_ERR_TOKEN:
		return "FIDO2 token unavailable or failed";
	case VV_ERR_FROZEN:
		return "the bearer token is frozen: an administrator must "
		    "unfreeze it";
	default:
		return "unknown error";
	}
}

int
vv_global_init(void)
{
	if (sodium_init() < 0)
		return VV_ERR_INTERNAL;
	return VV_OK;
}

int
vv_fail(vv_vault *v, int err, const char *fmt, ...)
{
	va_list ap;

	if (v == NULL)
		return err;
	va_start(ap, fmt);
	(void)vsnprintf(v->errmsg, sizeof(v->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

/*
 * SQLCipher reports a page that fails its HMAC, or a wrong key, as
 * NOTADB or CORRUPT: both mean the file is not what the vault wrote.
 */
int
vv_fail_db(vv_vault *v, int rc, const char *what)
{
	const char *msg = v != NULL && v->db != NULL ? sqlite3_errmsg(v->db) :
	    sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return vv_fail(v, VV_ERR_INTEGRITY,
		    "%s: database is corrupt or was altered (%s)", what, msg);
	case SQLITE_NOMEM:
		return vv_fail(v, VV_ERR_NOMEM, "%s: out of memory", what);
	case SQLITE_CONSTRAINT:
		return vv_fail(v, VV_ERR_EXISTS, "%s: %s", what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return vv_fail(v, VV_ERR_DB, "%s: vault is busy (%s)", what,
		    msg);
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		return vv_fail(v, VV_ERR_IO, "%s: %s", what, msg);
	default:
		return vv_fail(v, VV_ERR_DB, "%s: %s", what, msg);
	}
}

const char *
vv_vault_errmsg(const vv_vault *v)
{
	if (v == NULL)
		return "no vault";
	return v->errmsg[0] != '\0' ? v->errmsg : "no error";
}
