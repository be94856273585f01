#!/usr/bin/env bash
# test_pgsink.sh - the compliance database sink against a real PostgreSQL
# server started here (as the postgres user, in a temporary directory,
# on a Unix socket only): entries arrive with signed receipts, the
# vault's role can only append, nobody can rewrite, and a release waits
# for the database: refused while it is down or answers a bad receipt,
# released once it is back.
. "$(dirname "$0")/lib.sh"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ "$(id -u)" -ne 0 ] || [ -z "$PGBIN" ] || ! id postgres >/dev/null 2>&1; then
	ok "skipped: needs root, the postgres user and PostgreSQL to run a server"
	finish
fi
need_sample
PGD=$(mktemp -d /tmp/vv-pg.XXXXXX)
chown postgres: "$PGD"
chmod 700 "$PGD"
PORT=$((20000 + RANDOM % 20000))
pg() { runuser -u postgres -- "$@"; }
pg_up() {
	pg "$PGBIN/pg_ctl" -D "$PGD/data" -o "-k $PGD -c listen_addresses='' -p $PORT" \
	    -l "$PGD/log" -w start >/dev/null
}
pg_down() { pg "$PGBIN/pg_ctl" -D "$PGD/data" -m fast -w stop >/dev/null 2>&1; }
psql_as() {	# psql_as USER SQL...
	local u=$1
	shift
	pg psql -h "$PGD" -p "$PORT" -U "$u" -d compliance -At -v ON_ERROR_STOP=1 "$@"
}
trap 'st=$?; pg_down; rm -rf "$PGD"; (exit $st); _e2e_exit' EXIT

pg "$PGBIN/initdb" -D "$PGD/data" -A trust -U postgres >/dev/null ||
    fatal "initdb"
pg_up || fatal "starting PostgreSQL"
pg psql -h "$PGD" -p "$PORT" -U postgres -q -c "CREATE DATABASE compliance" \
    -c "CREATE ROLE vipvault LOGIN" || fatal "creating the database"
psql_as postgres -q -v vault_role=vipvault -f "$E2E_DIR/../../docs/compliance-pg.sql" \
    >/dev/null 2>&1 || fatal "compliance-pg.sql"
ok "a PostgreSQL server and the sink schema"
CONN="host=$PGD port=$PORT dbname=compliance user=vipvault connect_timeout=3"

K=$E2E_TMP/keys
mkdir -m 700 "$K"
for m in kate leo; do
	expect_exit 0 "$VIPVAULT" softkey create "$K/$m"
done
V=$E2E_TMP/v
expect_exit 7 "$VIPVAULT" --vault "$E2E_TMP/bad" init --dev \
    --compliance-pg "host=$PGD port=1 dbname=compliance user=vipvault connect_timeout=2"
[ "$RC" -ne 0 ] && [ ! -e "$E2E_TMP/bad" ] && ok "no database: no vault" ||
    fail "init without a database left $E2E_TMP/bad"
expect_exit 0 "$VIPVAULT" --vault "$V" init --dev --managers kate,leo \
    --devices "soft:$K/kate,soft:$K/leo" --compliance-pg "$CONN"
import_sample "$V"
expect_exit 0 vvr role add desk --tiers vip
DESK=$(issue_token "$V" desk dana)
expect_exit 0 vvr list --token "$DESK" --json
VIP=$(json 'd[0]["external_id"]')

n_sink() { psql_as postgres -c "SELECT count(*) FROM vipvault_sink.entries"; }
n_vault() {
	"$VIPVAULT" --vault "$V" compliance log --mirror "$V/mirror" \
	    --key "$V/compliance.key" --json | python3 -c \
	    'import json,sys; print(len(json.load(sys.stdin)))'
}
# A release waits for the database; other entries reach it with the
# next release or heartbeat, so a slow database never slows writes.
expect_exit 0 vvr compliance heartbeat
assert_eq "$(n_sink)" "$(n_vault)" "after a heartbeat every entry is in the database"

# ---- the vault's role appends, nobody rewrites
run psql_as vipvault -c "DELETE FROM vipvault_sink.entries"
[ "$RC" -ne 0 ] && ok "the vault's role cannot delete" || fail "vault role deleted entries"
run psql_as vipvault -c "SELECT count(*) FROM vipvault_sink.entries"
[ "$RC" -ne 0 ] && ok "the vault's role cannot even read" || fail "vault role read entries"
run psql_as postgres -c "UPDATE vipvault_sink.entries SET seq = seq"
[ "$RC" -ne 0 ] && assert_contains "$ERR" "append-only" "even the owner cannot update" ||
    fail "the owner updated entries"
run psql_as postgres -c "TRUNCATE vipvault_sink.entries"
[ "$RC" -ne 0 ] && ok "nor truncate" || fail "the owner truncated entries"
run psql_as vipvault -c "SELECT vipvault_sink.append('\\x00112233445566778899aabbccddeeff', 1, '\\x00', '\\x00', '\\x00')"
[ "$RC" -ne 0 ] && ok "append refuses what does not follow" || fail "append took garbage"

# ---- a release waits for the database
unseal() {
	run "$VIPVAULT" --vault "$V" --json unseal request --token "$DESK" \
	    --records "$VIP" --reason "$1"
	REQ=$(json 'd["request"]')
	run vvr unseal approve "$REQ" --manager kate --device "soft:$K/kate"
	run vvr unseal approve "$REQ" --manager leo --device "soft:$K/leo"
}
unseal "database down"
pg_down
expect_exit 7 vvr unseal fetch "$REQ" --token "$DESK"
assert_contains "$ERR" "release refused" "database down: the release is refused"
assert_not_contains "$OUT" "+" "database down: no contact leaves"
pg_up || fatal "restarting PostgreSQL"
expect_exit 0 vvr --json unseal fetch "$REQ" --token "$DESK"
assert_eq "$(json 'len(d)')" 1 "database back: the same fetch releases"
assert_eq "$(n_sink)" "$(n_vault)" "the database caught up with every entry"

# ---- a slow database is a database that is down
unseal "database slow"
psql_as postgres -q \
    -c "CREATE FUNCTION vipvault_sink.stall() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(8); RETURN NEW; END \$\$" \
    -c "CREATE TRIGGER stall BEFORE INSERT ON vipvault_sink.entries FOR EACH ROW EXECUTE FUNCTION vipvault_sink.stall()" \
    >/dev/null || fatal "slowing the database down"
expect_exit 7 vvr unseal fetch "$REQ" --token "$DESK"
assert_contains "$ERR" "release refused" "a database that does not answer in time: refused"
assert_not_contains "$OUT" "+" "a slow database: no contact leaves"
psql_as postgres -q -c "DROP TRIGGER stall ON vipvault_sink.entries" >/dev/null ||
    fatal "speeding the database up"
expect_exit 0 vvr unseal fetch "$REQ" --token "$DESK"
assert_eq "$(n_sink)" "$(n_vault)" "the database caught up after the stall"

# ---- the officer checks the database against the mirror
OCONN="host=$PGD port=$PORT dbname=compliance user=postgres"
O=(--mirror "$V/mirror" --key "$V/compliance.key")
expect_exit 0 "$VIPVAULT" compliance verify "${O[@]}" --pg "$OCONN"
assert_match "$OUT" "^verified: the database holds [0-9]+ entries" "verify --pg: the database matches"
psql_as postgres -q -c "ALTER TABLE vipvault_sink.entries DISABLE TRIGGER entries_append_only" \
    -c "UPDATE vipvault_sink.entries SET sealed = sealed || '\\x00'::bytea WHERE seq = 7" \
    >/dev/null || fatal "tampering as the database's owner"
expect_exit 5 "$VIPVAULT" compliance verify "${O[@]}" --pg "$OCONN"
assert_contains "$ERR" "database entry 7 does not open" "verify --pg names the entry the owner altered"
psql_as postgres -q -c "UPDATE vipvault_sink.entries SET sealed = substring(sealed from 1 for length(sealed) - 1) WHERE seq = 7" \
    -c "ALTER TABLE vipvault_sink.entries ENABLE TRIGGER entries_append_only" \
    >/dev/null || fatal "undoing the tampering"
expect_exit 0 "$VIPVAULT" compliance verify "${O[@]}" --pg "$OCONN"

# ---- a receipt that does not verify stops the release
unseal "bad receipt"
psql_as postgres -q -c "UPDATE vipvault_sink.signing_key SET sk = sk || ''::bytea" \
    -c "DO \$\$ import nacl.signing; k = nacl.signing.SigningKey.generate(); plpy.execute(plpy.prepare('UPDATE vipvault_sink.signing_key SET sk = \$1', ['bytea']), [bytes(k)]) \$\$ LANGUAGE plpython3u" \
    >/dev/null || fatal "replacing the sink key"
expect_exit 5 vvr unseal fetch "$REQ" --token "$DESK"
assert_contains "$ERR" "receipt" "a receipt under another key is refused"
finish
