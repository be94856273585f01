-- compliance-pg.sql - the PostgreSQL sink of the vipvault compliance log.
--
-- Run by the compliance database's owner (a superuser: plpython3u is
-- untrusted), in a database compliance owns:
--
--   psql -v vault_role=vipvault -d compliance -f compliance-pg.sql
--
-- The vault's role may only call three functions.  append() checks that
-- each entry follows the last one of its vault (sequence number and
-- previous hash), stores it, and answers with a receipt signed by the
-- sink's own Ed25519 key, which the vault verifies before it goes on.
-- Triggers refuse UPDATE, DELETE and TRUNCATE of entries, for everyone.
-- Needs the Debian packages postgresql-plpython3-15 and python3-nacl.

CREATE EXTENSION IF NOT EXISTS plpython3u;
CREATE SCHEMA vipvault_sink;
REVOKE ALL ON SCHEMA vipvault_sink FROM PUBLIC;

CREATE TABLE vipvault_sink.entries (
    vault bytea NOT NULL CHECK (length(vault) = 16),
    seq bigint NOT NULL CHECK (seq >= 1),
    prev bytea NOT NULL CHECK (length(prev) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    sealed bytea NOT NULL,
    received timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vault, seq));

CREATE TABLE vipvault_sink.signing_key (
    id int PRIMARY KEY CHECK (id = 1),
    sk bytea NOT NULL,
    pk bytea NOT NULL);

REVOKE ALL ON ALL TABLES IN SCHEMA vipvault_sink FROM PUBLIC;

DO $$
import nacl.signing
k = nacl.signing.SigningKey.generate()
plpy.execute(plpy.prepare(
    "INSERT INTO vipvault_sink.signing_key VALUES (1, $1, $2)",
    ["bytea", "bytea"]), [bytes(k), bytes(k.verify_key)])
$$ LANGUAGE plpython3u;

CREATE FUNCTION vipvault_sink.refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the compliance log is append-only';
END $$;

CREATE TRIGGER entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON vipvault_sink.entries
    FOR EACH STATEMENT EXECUTE FUNCTION vipvault_sink.refuse_change();

CREATE FUNCTION vipvault_sink.public_key() RETURNS bytea
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
    SELECT pk FROM vipvault_sink.signing_key WHERE id = 1
$$;

CREATE FUNCTION vipvault_sink.last(v bytea, OUT seq bigint, OUT hash bytea)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.seq, e.hash FROM vipvault_sink.entries e WHERE e.vault = v
    ORDER BY e.seq DESC LIMIT 1
$$;

CREATE FUNCTION vipvault_sink.append(v bytea, s bigint, p bytea, h bytea,
    b bytea) RETURNS bytea
    LANGUAGE plpython3u SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
import nacl.signing
# One appender per vault at a time; the primary key is the backstop.
plpy.execute(plpy.prepare("SELECT pg_advisory_xact_lock(hashtext($1))",
    ["text"]), [bytes(v).hex()])
last = plpy.execute(plpy.prepare(
    "SELECT seq, hash FROM vipvault_sink.entries WHERE vault = $1 "
    "ORDER BY seq DESC LIMIT 1", ["bytea"]), [v])
if len(last) == 0:
    if s != 1:
        plpy.error("entry %d does not follow: the sink has none" % s)
elif s != last[0]["seq"] + 1 or bytes(p) != bytes(last[0]["hash"]):
    plpy.error("entry %d does not follow entry %d" % (s, last[0]["seq"]))
plpy.execute(plpy.prepare(
    "INSERT INTO vipvault_sink.entries(vault, seq, prev, hash, sealed) "
    "VALUES ($1, $2, $3, $4, $5)",
    ["bytea", "bigint", "bytea", "bytea", "bytea"]), [v, s, p, h, b])
sk = plpy.execute("SELECT sk FROM vipvault_sink.signing_key WHERE id = 1")
msg = (b"vipvault/sink-receipt/v1\0" + bytes(v) + s.to_bytes(8, "big") +
    bytes(h))
return nacl.signing.SigningKey(bytes(sk[0]["sk"])).sign(msg).signature
$$;

REVOKE ALL ON FUNCTION vipvault_sink.public_key() FROM PUBLIC;
REVOKE ALL ON FUNCTION vipvault_sink.last(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION vipvault_sink.append(bytea, bigint, bytea, bytea,
    bytea) FROM PUBLIC;
GRANT USAGE ON SCHEMA vipvault_sink TO :"vault_role";
GRANT EXECUTE ON FUNCTION vipvault_sink.public_key() TO :"vault_role";
GRANT EXECUTE ON FUNCTION vipvault_sink.last(bytea) TO :"vault_role";
GRANT EXECUTE ON FUNCTION vipvault_sink.append(bytea, bigint, bytea, bytea,
    bytea) TO :"vault_role";
