#!/usr/bin/env bash
# test_tokens.sh - roles and bearer tokens: creation, listing without
# secrets, the three ways to pass a token, revocation, bad tokens.
. "$(dirname "$0")/lib.sh"

V=$E2E_TMP/v
new_vault "$V"
expect_exit 0 "$VIPVAULT" --vault "$V" add --id T1 --name 'Token Example' \
    --owner bob --spend 12.50 --since 2020-01-01 --phone '+1 212 555 0100'

# ---- roles
expect_exit 0 "$VIPVAULT" --vault "$V" role add crm --tiers basic,standard
assert_contains "$OUT" "role crm created"
expect_exit 0 "$VIPVAULT" --vault "$V" role add desk --tiers vip,standard,basic
expect_exit 0 "$VIPVAULT" --vault "$V" role add seg --tiers basic --own-clients-only
expect_exit 0 "$VIPVAULT" --vault "$V" role list
assert_match "$OUT" '^crm +basic,standard +all clients +read +300/min 1000 rec/h 100 pages/h burst 20/s hours any$' "role list: crm, default budget"
assert_match "$OUT" '^desk +basic,standard,vip +all clients +read ' "role list: desk, tiers in order"
assert_match "$OUT" '^seg +basic +own clients only +read ' "role list: seg is segmented"
roles_before=$OUT
expect_exit 0 "$VIPVAULT" --vault "$V" role list --json
mapfile -t J < <(json '[r["name"] for r in d]' \
    '[r for r in d if r["name"] == "seg"][0]' \
    '[r for r in d if r["name"] == "crm"][0]["own_clients_only"]')
assert_eq "${J[0]:-}" '["crm", "desk", "seg"]' "role list --json: names"
assert_eq "${J[1]:-}" '{"name": "seg", "tiers": "basic", "own_clients_only": true, "write": false, "budget": {"reads_per_minute": 300, "records_per_hour": 1000, "pages_per_hour": 100, "burst_per_second": 20, "hours": "any"}}' \
    "role list --json: seg"
assert_eq "${J[2]:-}" false "role list --json: crm is not segmented"

state=$(vault_state "$V")
expect_exit 4 "$VIPVAULT" --vault "$V" role add crm --tiers basic
assert_contains "$ERR" "role 'crm' already exists" "duplicate role: says so"
assert_eq "$(vault_state "$V")" "$state" "duplicate role: nothing changed"
expect_exit 0 "$VIPVAULT" --vault "$V" role list
assert_eq "$OUT" "$roles_before" "duplicate role: list unchanged, crm keeps its tiers"
expect_exit 1 "$VIPVAULT" --vault "$V" role add r2 --tiers basic,gold
assert_contains "$ERR" "--tiers"
expect_exit 1 "$VIPVAULT" --vault "$V" role add r2
expect_exit 1 "$VIPVAULT" --vault "$V" role add 'bad name!' --tiers basic
assert_eq "$(vault_state "$V")" "$state" "refused roles: nothing changed"

# ---- tokens
TOKRE='^vv_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$'
expect_exit 0 "$VIPVAULT" --vault "$V" token issue crm --user bob
assert_match "$OUT" "$TOKRE" "token issue prints vv_<16 hex>_<43 base64url>"
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "token issue prints one line"
assert_empty "$ERR" "token issue: nothing on stderr"
TOK=$OUT
TID=${TOK#vv_}; TID=${TID%%_*}
SECRET=${TOK#vv_"$TID"_}
expect_exit 0 "$VIPVAULT" --vault "$V" --json token issue desk --user carol
assert_match "$(json 'd["token"]')" "$TOKRE" "token issue --json"
TOK2=$(json 'd["token"]')
[ "$TOK" != "$TOK2" ] && ok "two tokens differ" || fail "two tokens are equal"
expect_exit 3 "$VIPVAULT" --vault "$V" token issue nosuch --user bob
assert_contains "$ERR" "no role named 'nosuch'"
expect_exit 1 "$VIPVAULT" --vault "$V" token issue crm
expect_exit 1 "$VIPVAULT" --vault "$V" token issue crm --user bob --expires-days 0
expect_exit 0 "$VIPVAULT" --vault "$V" token issue crm --user bob --expires-days 30
assert_match "$OUT" "$TOKRE" "token with an expiry"

# the list shows ids, never secrets; the vault keeps only hashes
expect_exit 0 "$VIPVAULT" --vault "$V" token list
assert_match "$OUT" "^$TID +crm +bob +active\$" "token list: id, role, user, active"
assert_not_contains "$OUT" "$SECRET" "token list does not show the secret"
assert_not_contains "$OUT" "vv_" "token list shows no whole token"
expect_exit 0 "$VIPVAULT" --vault "$V" token list --json
mapfile -t J < <(json 'len(d)' \
    '[(t["role"], t["user"], t["revoked"]) for t in d if t["id"] == "'"$TID"'"]' \
    'all(t["created"] > 1600000000 for t in d)' \
    'sorted(t["expires"] > 0 for t in d)')
assert_eq "${J[0]:-}" 3 "token list --json: three tokens"
assert_eq "${J[1]:-}" '[["crm", "bob", false]]' "token list --json: the crm token"
assert_eq "${J[2]:-}" true "token list --json: creation times"
assert_eq "${J[3]:-}" '[false, false, true]' "token list --json: one token expires"
assert_not_contains "$OUT" "$SECRET" "token list --json does not show the secret"
if grep -rqaF -- "$SECRET" "$V"; then fail "the token secret is stored in the vault"
else ok "the token secret is not stored in the vault"; fi

# ---- the three ways to pass a token
expect_exit 0 "$VIPVAULT" --vault "$V" get --token "$TOK" T1
assert_contains "$OUT" "Token Example" "--token reads"
expect_exit 0 env VIPVAULT_TOKEN="$TOK" "$VIPVAULT" --vault "$V" get T1
assert_contains "$OUT" "Token Example" "VIPVAULT_TOKEN reads"
printf '%s\n' "$TOK" >"$E2E_TMP/tok"
chmod 600 "$E2E_TMP/tok"
expect_exit 0 "$VIPVAULT" --vault "$V" get --token-file "$E2E_TMP/tok" T1
assert_contains "$OUT" "Token Example" "--token-file (with a newline) reads"
printf '%s\r\n' "$TOK" >"$E2E_TMP/tok-crlf"
expect_exit 0 "$VIPVAULT" --vault "$V" get --token-file "$E2E_TMP/tok-crlf" T1
expect_exit 0 env VIPVAULT_DIR="$V" VIPVAULT_TOKEN="$TOK" "$VIPVAULT" list
assert_contains "$OUT" "T1" "VIPVAULT_DIR and VIPVAULT_TOKEN together"
expect_exit 0 env VIPVAULT_TOKEN=garbage "$VIPVAULT" --vault "$V" get --token "$TOK" T1
assert_contains "$OUT" "Token Example" "--token wins over VIPVAULT_TOKEN"
expect_exit 7 "$VIPVAULT" --vault "$V" get --token-file "$E2E_TMP/no-such" T1
assert_contains "$ERR" "cannot read the token file"
expect_exit 1 env VIPVAULT_TOKEN= "$VIPVAULT" --vault "$V" get T1
assert_contains "$ERR" "a bearer token is required" "empty VIPVAULT_TOKEN: usage"

# ---- bad tokens: exit 2 and one message, the same whatever is wrong
bad_token() {
	expect_exit 2 "$VIPVAULT" --vault "$V" get --token "$2" T1
	assert_eq "$ERR" "vipvault get: invalid token" "$1: one message, 'invalid token'"
	assert_empty "$OUT" "$1: nothing on stdout"
}
first=${SECRET:0:1}; [ "$first" = A ] && flip=B || flip=A
BADSECRET=$flip${SECRET:1}
bad_token "wrong secret" "vv_${TID}_$BADSECRET"
# the last of 43 base64url characters carries 4 bits: setting the 2 unused
# ones must not give another spelling of the same token
B64=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_
i=${B64%%"${SECRET: -1}"*}; i=${#i}
bad_token "non-canonical base64url" "vv_${TID}_${SECRET%?}${B64:$((i | 1)):1}"
bad_token "unknown id" "vv_0123456789abcdef_$SECRET"
bad_token "garbled" "not-a-token"
bad_token "truncated" "${TOK%?????}"
bad_token "empty secret" "vv_${TID}_"
bad_token "too long" "$TOK$TOK"
bad_token "with a space" "$TOK "
printf 'garbage\n' >"$E2E_TMP/bad-tok"
expect_exit 2 "$VIPVAULT" --vault "$V" list --token-file "$E2E_TMP/bad-tok"
assert_contains "$ERR" "invalid token" "bad --token-file: invalid token"
expect_exit 2 env VIPVAULT_TOKEN="vv_${TID}_$BADSECRET" "$VIPVAULT" --vault "$V" list
assert_contains "$ERR" "invalid token" "bad VIPVAULT_TOKEN: invalid token"
assert_not_contains "$ERR" "$SECRET" "the message does not echo the token"

# ---- revoke
state=$(vault_state "$V")
expect_exit 3 "$VIPVAULT" --vault "$V" token revoke 0000000000000000
assert_contains "$ERR" "no token with id"
expect_exit 1 "$VIPVAULT" --vault "$V" token revoke
assert_eq "$(vault_state "$V")" "$state" "refused revokes: nothing changed"
expect_exit 0 "$VIPVAULT" --vault "$V" token revoke "$TID"
assert_contains "$OUT" "token $TID revoked"
expect_exit 0 "$VIPVAULT" --vault "$V" token list
assert_match "$OUT" "^$TID +crm +bob +revoked\$" "token list: revoked"
bad_token "revoked" "$TOK"
expect_exit 2 "$VIPVAULT" --vault "$V" get --token-file "$E2E_TMP/tok" T1
expect_exit 2 env VIPVAULT_TOKEN="$TOK" "$VIPVAULT" --vault "$V" find --phone '+12125550100'
assert_eq "$ERR" "vipvault find: invalid token" "revoked token on find"
# the other tokens still work
expect_exit 0 "$VIPVAULT" --vault "$V" get --token "$TOK2" T1
# revoking twice is harmless
run "$VIPVAULT" --vault "$V" token revoke "$TID"
[ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] && ok "second revoke: exit $RC" ||
    fail "second revoke: exit $RC"
bad_token "revoked (after a second revoke)" "$TOK"

finish
