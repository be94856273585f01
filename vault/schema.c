/*
 * schema.c - the database schema, one migration per version.
 *
 * PRAGMA user_version is the schema version.  Each migration runs in the
 * transaction that bumps the version, so a crash mid-migration leaves the
 * old schema intact.  Migrations are append-only: a released one is never
 * edited, a change is a new version.
 */
#include <stdio.h>

#include "vault/internal.h"
#include "vault/lookups.h"

static const char migration_1[] =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE domain_keys ("
	"  domain INTEGER NOT NULL CHECK (domain BETWEEN 1 AND 4),"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  pk BLOB NOT NULL CHECK (length(pk) = 32),"
	"  sk_escrow BLOB,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (domain, version));"
	"CREATE TABLE roles ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  tiers INTEGER NOT NULL,"
	"  flags INTEGER NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE role_grants ("
	"  role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,"
	"  domain INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  sealed_sk BLOB NOT NULL,"
	"  PRIMARY KEY (role_id, domain, version),"
	"  FOREIGN KEY (domain, version) REFERENCES domain_keys);"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  role_id INTEGER NOT NULL REFERENCES roles(id),"
	"  user TEXT NOT NULL,"
	"  hash BLOB NOT NULL CHECK (length(hash) = 32),"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE data_keys ("
	"  id INTEGER PRIMARY KEY,"
	"  domain INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  sealed BLOB NOT NULL,"
	"  nonce_prefix BLOB NOT NULL CHECK (length(nonce_prefix) = 16),"
	"  FOREIGN KEY (domain, version) REFERENCES domain_keys);"
	"CREATE TABLE records ("
	"  id INTEGER PRIMARY KEY,"
	"  external_id TEXT NOT NULL UNIQUE,"
	"  owner TEXT NOT NULL,"
	"  annual_spend INTEGER NOT NULL,"
	"  client_since TEXT NOT NULL,"
	"  tier INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 3),"
	"  pinned INTEGER NOT NULL DEFAULT 0,"
	"  phone_idx INTEGER,"
	"  email_idx INTEGER,"
	/* No foreign key to data_keys: it cost a lookup per write, and a
	 * reader refuses a missing or foreign data key anyway. */
	"  dk_main INTEGER NOT NULL,"
	"  dk_contact INTEGER NOT NULL,"
	"  identity_ct BLOB NOT NULL,"
	"  contact_ct BLOB NOT NULL,"
	"  profile_ct BLOB NOT NULL,"
	"  masked_ct BLOB,"
	"  updated INTEGER NOT NULL);"
	"CREATE INDEX records_phone ON records(phone_idx);"
	"CREATE INDEX records_email ON records(email_idx);"
	"CREATE INDEX records_owner ON records(owner, external_id);";

/* Dual control: key managers, their sealed shares, unseal requests and
 * the managers' decisions on them (docs/design.md, "Dual control"). */
static const char migration_2[] =
	"CREATE TABLE managers ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  cred_id BLOB NOT NULL UNIQUE,"
	"  alg INTEGER NOT NULL CHECK (alg IN (-7, -8)),"
	"  pubkey BLOB NOT NULL,"
	"  aaguid BLOB NOT NULL CHECK (length(aaguid) = 16),"
	"  sign_count INTEGER NOT NULL,"
	"  uv INTEGER NOT NULL,"
	"  hmac_salt BLOB NOT NULL CHECK (length(hmac_salt) = 32),"
	"  share_pk BLOB NOT NULL CHECK (length(share_pk) = 32),"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE shares ("
	"  manager_id INTEGER NOT NULL REFERENCES managers(id),"
	"  epoch INTEGER NOT NULL,"
	"  share_index INTEGER NOT NULL CHECK (share_index BETWEEN 1 AND 255),"
	"  sealed BLOB NOT NULL,"
	"  PRIMARY KEY (manager_id, epoch),"
	"  UNIQUE (epoch, share_index));"
	"CREATE TABLE unseal_requests ("
	"  id TEXT PRIMARY KEY,"
	"  encoding BLOB NOT NULL,"
	"  seal BLOB NOT NULL,"
	"  requester TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	"  state TEXT NOT NULL CHECK (state IN ('pending', 'approved',"
	"    'denied', 'fetched', 'expired', 'done')),"
	"  release BLOB,"
	"  closed INTEGER);"
	"CREATE INDEX unseal_requests_created ON unseal_requests(created);"
	"CREATE TABLE approvals ("
	"  request_id TEXT NOT NULL REFERENCES unseal_requests(id),"
	"  manager_id INTEGER NOT NULL REFERENCES managers(id),"
	"  decision TEXT NOT NULL CHECK (decision IN ('approve', 'deny')),"
	"  at INTEGER NOT NULL,"
	"  authdata BLOB NOT NULL,"
	"  sig BLOB NOT NULL,"
	"  sign_count INTEGER NOT NULL,"
	"  pending_share BLOB,"
	"  PRIMARY KEY (request_id, manager_id));"
	"CREATE TABLE releases ("
	"  request_id TEXT PRIMARY KEY REFERENCES unseal_requests(id),"
	"  at INTEGER NOT NULL,"
	"  requester TEXT NOT NULL,"
	"  records INTEGER NOT NULL);";

/* The compliance log (docs/compliance.md): entries, signed tree heads,
 * and where the Merkle tree and the mirror stand. */
static const char migration_3[] =
	"CREATE TABLE clog ("
	"  seq INTEGER PRIMARY KEY,"
	"  type INTEGER NOT NULL,"
	"  time_ms INTEGER NOT NULL,"
	"  entry BLOB NOT NULL,"
	"  hash BLOB NOT NULL CHECK (length(hash) = 32));"
	"CREATE TABLE clog_heads ("
	"  size INTEGER PRIMARY KEY,"
	"  root BLOB NOT NULL CHECK (length(root) = 32),"
	"  time_ms INTEGER NOT NULL,"
	"  sig BLOB NOT NULL CHECK (length(sig) = 64));"
	"CREATE TABLE clog_state ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  size INTEGER NOT NULL,"
	"  frontier BLOB NOT NULL,"
	"  mirrored INTEGER NOT NULL,"
	"  mirror_bytes INTEGER NOT NULL,"
	"  heads_mirrored INTEGER NOT NULL,"
	"  heads_bytes INTEGER NOT NULL);"
	"INSERT INTO clog_state VALUES (1, 0, x'', 0, 0, 0, 0);";

/* The CRM API (docs/api.md): per-role budgets and write permission
 * (flags), frozen tokens, and canary records. */
static const char migration_4[] =
	"ALTER TABLE roles ADD COLUMN reads_per_minute INTEGER NOT NULL "
	"  DEFAULT 300;"
	"ALTER TABLE roles ADD COLUMN records_per_hour INTEGER NOT NULL "
	"  DEFAULT 1000;"
	"ALTER TABLE roles ADD COLUMN pages_per_hour INTEGER NOT NULL "
	"  DEFAULT 100;"
	"ALTER TABLE roles ADD COLUMN burst_per_second INTEGER NOT NULL "
	"  DEFAULT 20;"
	"ALTER TABLE roles ADD COLUMN hours_from INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE roles ADD COLUMN hours_to INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE tokens ADD COLUMN frozen INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE tokens ADD COLUMN frozen_at INTEGER;"
	"ALTER TABLE tokens ADD COLUMN frozen_reason TEXT;"
	"ALTER TABLE records ADD COLUMN canary INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX records_canary ON records(canary) WHERE canary = 1;";

/* The blind index moves out of two SQLite indexes into buckets
 * (lookups.c); the columns stay, so an update knows what to remove.  The
 * buckets are filled from the records by vv_lookups_rebuild. */
static const char migration_5[] =
	"CREATE TABLE lookups ("
	"  bucket INTEGER PRIMARY KEY,"
	"  entries BLOB NOT NULL);"
	"DROP INDEX IF EXISTS records_phone;"
	"DROP INDEX IF EXISTS records_email;";

/* migrations[n] turns schema n-1 into schema n. */
static const char *const migrations[] = {
	NULL,
	migration_1,
	migration_2,
	migration_3,
	migration_4,
	migration_5,
};

static const char *
migration(int version)
{
	if (version < 1 ||
	    (size_t)version >= sizeof(migrations) / sizeof(migrations[0]))
		return NULL;
	return migrations[version];
}

int
vv_schema_migrate(vv_vault *v, int from)
{
	char bump[64];
	int r, version;

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	for (version = from + 1; version <= VV_SCHEMA_VERSION; version++) {
		const char *sql = migration(version);

		if (sql == NULL) {
			r = vv_fail(v, VV_ERR_INTERNAL, "no migration to "
			    "schema %d", version);
			goto fail;
		}
		if ((r = vv_exec(v, sql)) != VV_OK ||
		    (version == 5 && (r = vv_lookups_rebuild(v)) != VV_OK))
			goto fail;
	}
	(void)snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
	    VV_SCHEMA_VERSION);
	if ((r = vv_exec(v, bump)) != VV_OK)
		goto fail;
	return vv_store_commit(v);
fail:
	vv_store_rollback(v);
	return r;
}
