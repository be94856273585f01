#!/usr/bin/env bash
# test_tamper.sh - a damaged vault.key, vault.db or vault.conf, a missing
# or wrong HSM: the right exit code, a message naming the part, nothing
# written, and the vault works again once the file is restored.
. "$(dirname "$0")/lib.sh"

V=$E2E_TMP/v
B=$E2E_TMP/backup
new_vault "$V"
vvr() { "$VIPVAULT" --vault "$V" "$@"; }
run vvr add --id R1 --name 'Tamper Example' --owner bob --spend 150000 \
    --since 2001-01-01 --phone '+1 212 555 0101' --email t@example.org
run vvr add --id R2 --name 'Second Example' --owner bob --spend 50 \
    --since 2020-01-01 --phone '+1 212 555 0102'
run vvr role add desk --tiers basic,standard,vip
TOK=$(issue_token "$V" desk bob)
[ -n "$TOK" ] || fatal "token"
mkdir "$B"
cp -a "$V/." "$B/"

# flip_byte FILE OFFSET
flip_byte() {
	python3 - "$1" "$2" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0x01
open(p, "wb").write(b)
EOF
}

restore() {
	rm -rf "$V"
	mkdir "$V"
	cp -a "$B/." "$V/"
}

# works LABEL: the vault opens and reads after a restore
works() {
	expect_exit 0 vvr tiers || return
	expect_exit 0 vvr get --token "$TOK" R1
	assert_contains "$OUT" "Tamper Example" "$1: restored vault reads again"
}

# files_state: the vault's own files (the SoftHSM2 token's files are
# SoftHSM's business: it rewrites them on every login)
files_state() {
	(cd "$V" && ls -A && sha256sum vault.conf vault.key vault.db \
	    vault.db-wal vault.db-shm hsm/user.pin hsm/softhsm2.conf 2>/dev/null)
}

# refused CODE LABEL NEEDLE CMD...: fails with CODE, names NEEDLE, and
# leaves the vault's files as they were
refused() {
	local code=$1 label=$2 needle=$3 before after
	shift 3
	before=$(files_state)
	expect_exit "$code" "$@"
	assert_contains "$ERR" "$needle" "$label: message names '$needle'"
	assert_empty "$OUT" "$label: nothing on stdout"
	after=$(files_state)
	if [ "$after" = "$before" ]; then
		ok "$label: no file changed"
	else
		fail "$label: files changed:"
		diff <(echo "$before") <(echo "$after") | sed 's/^/        | /' >&2
	fi
}

# ---- vault.key
for off in 0 20 40 67; do
	flip_byte "$V/vault.key" "$off"
	refused 5 "vault.key byte $off flipped" vault.key vvr tiers
	refused 5 "vault.key byte $off flipped, get" vault.key vvr get --token "$TOK" R1
	restore
done
works "vault.key"
head -c 30 "$B/vault.key" >"$V/vault.key"
refused 5 "vault.key truncated" vault.key vvr tiers
: >"$V/vault.key"
refused 5 "vault.key empty" vault.key vvr tiers
rm "$V/vault.key"
run vvr tiers
[ "$RC" -ne 0 ] && ok "vault.key missing: refused (exit $RC)" || fail "vault.key missing: opened"
assert_contains "$ERR" "vault.key" "vault.key missing: named"
[ ! -e "$V/vault.key" ] && ok "vault.key missing: not recreated" || fail "vault.key recreated"
restore
# another vault's key
new_vault "$E2E_TMP/other"
cp "$E2E_TMP/other/vault.key" "$V/vault.key"
refused 5 "another vault's vault.key" vault.key vvr tiers
restore
works "vault.key"

# ---- the HSM
mv "$V/hsm" "$E2E_TMP/hsm.away"
refused 6 "hsm/ moved away" HSM vvr tiers
refused 6 "hsm/ moved away, get" HSM vvr get --token "$TOK" R1
[ ! -e "$V/hsm" ] && ok "hsm/ missing: not recreated" || fail "hsm/ recreated"
mv "$E2E_TMP/hsm.away" "$V/hsm"
works "hsm/"
printf '%032d' 0 >"$V/hsm/user.pin"
refused 6 "wrong dev PIN" HSM vvr tiers
restore
works "user.pin"
# another vault's token in place of ours
rm -rf "$V/hsm"
cp -a "$E2E_TMP/other/hsm" "$V/hsm"
run vvr tiers
[ "$RC" -eq 5 ] || [ "$RC" -eq 6 ] && ok "another vault's HSM: refused (exit $RC)" ||
    fail "another vault's HSM: exit $RC, want 5 or 6"
restore

# ---- vault.db
dd if=/dev/zero of="$V/vault.db" bs=1 count=16 conv=notrunc status=none
refused 5 "vault.db header zeroed" "database is corrupt" vvr tiers
restore
flip_byte "$V/vault.db" 3
refused 5 "vault.db salt flipped" "database is corrupt" vvr get --token "$TOK" R1
restore
truncate -s 100 "$V/vault.db"
refused 5 "vault.db truncated to 100 bytes" "database is corrupt" vvr tiers
restore
size=$(stat -c %s "$V/vault.db")
truncate -s $((size - 4096)) "$V/vault.db"
run vvr get --token "$TOK" R1
assert_eq "$RC" 5 "vault.db missing its last page: integrity failure"
restore
: >"$V/vault.db"
refused 5 "vault.db empty" database vvr tiers
rm "$V/vault.db"
refused 5 "vault.db missing" "vault.db is missing" vvr tiers
[ ! -e "$V/vault.db" ] && ok "vault.db missing: not recreated" || fail "vault.db recreated"
restore
works "vault.db"
# A byte flipped inside a page: that page fails its HMAC when it is read,
# as an integrity error naming what was being read (docs/design.md,
# Store).  Listing reads every record and token.
flip_byte "$V/vault.db" 5000
refused 5 "vault.db byte 5000 flipped, list" "corrupt" vvr list --token "$TOK"
restore
works "vault.db"

# ---- vault.conf
id=$(sed -n 's/^vault_id = //p' "$V/vault.conf")
[ "${id:0:1}" = 0 ] && c=1 || c=0
sed -i "s/^vault_id = $id\$/vault_id = $c${id:1}/" "$V/vault.conf"
assert_eq "$(sed -n 's/^vault_id = //p' "$V/vault.conf")" "$c${id:1}" "vault_id edited"
run vvr tiers
[ "$RC" -eq 5 ] || [ "$RC" -eq 6 ] && ok "vault.conf vault_id changed: refused (exit $RC)" ||
    fail "vault.conf vault_id changed: exit $RC, want 5 or 6"
restore
sed -i 's/^format = 1/format = 99/' "$V/vault.conf"
run vvr tiers
[ "$RC" -ne 0 ] && ok "vault.conf format 99: refused (exit $RC)" ||
    fail "vault.conf format 99: opened"
restore
works "vault.conf"

finish
