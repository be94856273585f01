#!/usr/bin/env bash
# test_init.sh - creating vaults: files and modes, refusals that leave
# nothing behind, a PKCS#11 token named by URI.
. "$(dirname "$0")/lib.sh"

# ---- init --dev
V=$E2E_TMP/dev
expect_exit 0 "$VIPVAULT" --vault "$V" init --dev
assert_match "$OUT" '^created vault [0-9a-f]{32} in ' "init names the vault id"
assert_contains "$OUT" "write-only" "init says VIP contacts are write-only"
for f in vault.conf vault.key vault.db hsm/user.pin; do
	if [ -f "$V/$f" ]; then ok "init --dev created $f"; else
		fail "init --dev did not create $f"; fi
	assert_mode "$V/$f" 600
done
assert_mode "$V/hsm" 700
assert_eq "$(wc -c <"$V/hsm/user.pin")" 32 "dev PIN file holds 32 bytes"
assert_contains "$(cat "$V/vault.conf")" "hsm = dev" "vault.conf: dev HSM"
# No world- or group-readable file anywhere in the vault.
loose=$(find "$V" -perm /077 -type f)
assert_empty "$loose" "no file in the vault is readable by group or others"

# --json, VIPVAULT_DIR
expect_exit 0 env VIPVAULT_DIR="$E2E_TMP/j" "$VIPVAULT" --json init --dev
mapfile -t J < <(json 'd["hsm"]' 'd["vault_id"]' 'd["dir"]')
assert_eq "${J[0]:-}" dev "init --json: hsm is dev"
assert_match "${J[1]:-}" '^[0-9a-f]{32}$' "init --json: vault_id"
assert_eq "${J[2]:-}" "$E2E_TMP/j" "init --json: dir from VIPVAULT_DIR"
expect_exit 0 "$VIPVAULT" --vault "$E2E_TMP/j" tiers
# two vaults never share an id
id1=$(sed -n 's/^vault_id = //p' "$V/vault.conf")
id2=$(sed -n 's/^vault_id = //p' "$E2E_TMP/j/vault.conf")
[ -n "$id1" ] && [ "$id1" != "$id2" ] && ok "vault ids differ" ||
    fail "vault ids are equal or missing: '$id1' '$id2'"

# an existing empty directory is fine
mkdir "$E2E_TMP/empty"
expect_exit 0 "$VIPVAULT" --vault "$E2E_TMP/empty" init --dev

# ---- refusals
# a second init over a vault: EXISTS -> 4, the vault untouched
before=$(vault_state "$V")
expect_exit 4 "$VIPVAULT" --vault "$V" init --dev
assert_contains "$ERR" "not empty" "init over a vault: says the directory is not empty"
assert_eq "$(vault_state "$V")" "$before" "init over a vault changes nothing"

# a non-empty directory: 4, nothing created
mkdir "$E2E_TMP/busy"
echo keep >"$E2E_TMP/busy/notes.txt"
expect_exit 4 "$VIPVAULT" --vault "$E2E_TMP/busy" init --dev
assert_eq "$(ls -A "$E2E_TMP/busy")" notes.txt "non-empty dir: nothing created"
assert_eq "$(cat "$E2E_TMP/busy/notes.txt")" keep "non-empty dir: file untouched"

# neither or both of --dev/--pkcs11: 1, nothing created
expect_exit 1 "$VIPVAULT" --vault "$E2E_TMP/n1" init
assert_contains "$ERR" "exactly one of --dev and --pkcs11"
assert_empty "$OUT" "init without a mode: nothing on stdout"
expect_exit 1 "$VIPVAULT" --vault "$E2E_TMP/n1" init --dev --pkcs11 'pkcs11:token=x'
assert_contains "$ERR" "exactly one of --dev and --pkcs11"
expect_exit 1 "$VIPVAULT" --vault "$E2E_TMP/n1" init --dev extra
[ ! -e "$E2E_TMP/n1" ] && ok "usage errors create nothing" ||
    fail "a usage error created $E2E_TMP/n1"
expect_exit 1 "$VIPVAULT" init --dev
assert_contains "$ERR" "VIPVAULT_DIR" "init without a directory names VIPVAULT_DIR"

# ---- PKCS#11 by URI
MOD=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
expect_exit 6 "$VIPVAULT" --vault "$E2E_TMP/p1" init --pkcs11 \
    "pkcs11:token=nonexistent?module-path=$MOD&pin-source=file:$E2E_TMP/x"
assert_contains "$ERR" "HSM" "missing token: message says HSM"
assert_contains "$ERR" "nonexistent" "missing token: names the token"
[ ! -e "$E2E_TMP/p1" ] || [ -z "$(ls -A "$E2E_TMP/p1")" ] &&
    ok "missing token: directory left absent or empty" ||
    fail "missing token: files left in $E2E_TMP/p1: $(ls -A "$E2E_TMP/p1")"

# pin-value in the URI is refused (the PIN would sit in vault.conf)
run "$VIPVAULT" --vault "$E2E_TMP/p2" init --pkcs11 \
    "pkcs11:token=x?module-path=$MOD&pin-value=1234"
[ "$RC" -ne 0 ] && ok "pin-value refused (exit $RC)" || fail "pin-value accepted"
assert_contains "$ERR" "pin-value" "pin-value refusal names the attribute"
assert_not_contains "$ERR" "1234" "pin-value refusal does not echo the PIN"
[ ! -e "$E2E_TMP/p2" ] && ok "pin-value: nothing created" ||
    fail "pin-value: $E2E_TMP/p2 created"

# a real token made with softhsm2-util, named by URI
if command -v softhsm2-util >/dev/null && [ -n "$SOFTHSM_MODULE" ]; then
	H=$E2E_TMP/hsm-ext
	mkdir -p "$H/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	    "$H/tokens" >"$H/softhsm2.conf"
	export SOFTHSM2_CONF=$H/softhsm2.conf
	if softhsm2-util --init-token --free --label vv-e2e --pin 246810 \
	    --so-pin 13579135 >/dev/null 2>&1; then
		echo 246810 >"$H/pin"
		chmod 600 "$H/pin"
		echo 000000 >"$H/badpin"
		chmod 600 "$H/badpin"
		URI="pkcs11:token=vv-e2e?module-path=$SOFTHSM_MODULE&pin-source=file:$H"
		expect_exit 6 "$VIPVAULT" --vault "$E2E_TMP/p3" init --pkcs11 "$URI/badpin"
		assert_contains "$ERR" "PIN_INCORRECT" "wrong PIN: says so"
		[ ! -e "$E2E_TMP/p3" ] && ok "wrong PIN: nothing created" ||
		    fail "wrong PIN: $E2E_TMP/p3 created"
		# a PIN file other users may read is refused, like an ssh key
		cp "$H/pin" "$H/loosepin"
		chmod 644 "$H/loosepin"
		run "$VIPVAULT" --vault "$E2E_TMP/p5" init --pkcs11 "$URI/loosepin"
		[ "$RC" -ne 0 ] && ok "world-readable PIN file refused (exit $RC)" ||
		    fail "world-readable PIN file accepted"
		assert_contains "$ERR" "must be ours alone" "loose PIN file: says why"
		chmod 640 "$H/loosepin"
		run "$VIPVAULT" --vault "$E2E_TMP/p5" init --pkcs11 "$URI/loosepin"
		[ "$RC" -ne 0 ] && ok "group-readable PIN file refused (exit $RC)" ||
		    fail "group-readable PIN file accepted"
		[ ! -e "$E2E_TMP/p5" ] && ok "loose PIN file: nothing created" ||
		    fail "loose PIN file: $E2E_TMP/p5 created"
		run "$VIPVAULT" --vault "$E2E_TMP/p6" init --pkcs11 \
		    "pkcs11:token=vv-e2e?module-path=$SOFTHSM_MODULE&pin-source=file:pin"
		[ "$RC" -ne 0 ] && ok "relative pin-source refused (exit $RC)" ||
		    fail "relative pin-source accepted"
		assert_not_contains "$ERR" "246810" "no message quotes the PIN"
		P=$E2E_TMP/p4
		expect_exit 0 "$VIPVAULT" --vault "$P" init --pkcs11 "$URI/pin"
		assert_contains "$OUT" "PKCS#11 token" "init --pkcs11 says PKCS#11"
		[ ! -e "$P/hsm" ] && ok "init --pkcs11 makes no hsm/" ||
		    fail "init --pkcs11 made $P/hsm"
		assert_contains "$(cat "$P/vault.conf")" "hsm = $URI/pin" \
		    "vault.conf keeps the URI"
		assert_mode "$P/vault.key" 600
		assert_mode "$P/vault.db" 600
		expect_exit 0 "$VIPVAULT" --vault "$P" add --id P1 --name N \
		    --owner bob --spend 1 --since 2020-01-01
		expect_exit 0 "$VIPVAULT" --vault "$P" role add r --tiers basic
		tok=$(issue_token "$P" r bob)
		expect_exit 0 "$VIPVAULT" --vault "$P" get --token "$tok" P1
		# the token out of reach: HSM error
		unset SOFTHSM2_CONF
		expect_exit 6 "$VIPVAULT" --vault "$P" tiers
		assert_contains "$ERR" "vv-e2e" "token gone: names the token"
	else
		fail "softhsm2-util could not make a token"
	fi
	unset SOFTHSM2_CONF
else
	echo "  skip: softhsm2-util not installed (PKCS#11 URI tests)"
fi

finish
