#!/usr/bin/env bash
# test_unseal.sh - dual control through the CLI: key managers enrolled at
# init on software FIDO2 tokens, unseal requests, approvals, denials,
# fetch-once, and tokens that misbehave (a counter going backwards, a
# wrong hmac-secret output, a token that is not the enrolled one).
. "$(dirname "$0")/lib.sh"

need_sample
V=$E2E_TMP/v
K=$E2E_TMP/keys
mkdir -m 700 "$K"
for m in kate leo mia; do
	expect_exit 0 "$VIPVAULT" softkey create "$K/$m"
done
assert_mode "$K/kate" 600
expect_exit 4 "$VIPVAULT" softkey create "$K/kate"
assert_contains "$ERR" "exists" "softkey create: refuses to replace a token"

# ---- init with managers
expect_exit 1 "$VIPVAULT" --vault "$V" init --dev --managers kate
assert_contains "$ERR" "at least two"
expect_exit 1 "$VIPVAULT" --vault "$V" init --dev --managers kate,leo \
    --threshold 3
expect_exit 1 "$VIPVAULT" --vault "$V" init --dev --threshold 2
assert_contains "$ERR" "need --managers"
expect_exit 1 "$VIPVAULT" --vault "$V" init --dev --managers kate,leo,mia \
    --devices "soft:$K/kate,soft:$K/leo"
assert_contains "$ERR" "one device per manager"
expect_exit 6 "$VIPVAULT" --vault "$V" init --dev --managers kate,leo,mia \
    --devices "soft:$K/kate,soft:$K/leo,soft:$K/nobody"
assert_contains "$ERR" "nobody" "init: names the missing token"
[ ! -e "$V" ] && ok "failed init leaves no vault" || fail "failed init left $V"

expect_exit 0 "$VIPVAULT" --vault "$V" --json init --dev \
    --managers kate,leo,mia --threshold 2 \
    --devices "soft:$K/kate,soft:$K/leo,soft:$K/mia"
mapfile -t J < <(json 'd["managers"]' 'd["threshold"]')
assert_eq "${J[0]:-}" '["kate", "leo", "mia"]' "init --json: managers"
assert_eq "${J[1]:-}" 2 "init --json: threshold"
expect_exit 0 vvr manager list
assert_contains "$OUT" "unseal needs 2 approvals"
assert_match "$OUT" '^kate +es256 +no-pin +counter [0-9]+ +share epoch 1 \(software token\)$' \
    "manager list: kate holds a share"
expect_exit 0 vvr manager list --json
mapfile -t J < <(json '[m["name"] for m in d["managers"]]' \
    'd["managers"][0]["share_epoch"]' 'len(d["managers"][0]["aaguid"])')
assert_eq "${J[0]:-}" '["kate", "leo", "mia"]' "manager list --json: names"
assert_eq "${J[1]:-}" 1 "manager list --json: epoch"
assert_eq "${J[2]:-}" 32 "manager list --json: aaguid in hex"

import_sample "$V"
expect_exit 0 vvr role add desk --tiers basic,standard,vip
expect_exit 0 vvr role add crm --tiers basic,standard
DESK=$(issue_token "$V" desk dana)
KATE=$(issue_token "$V" desk kate)
CRM=$(issue_token "$V" crm bob)

# Three VIP clients and one standard one from the sample.
expect_exit 0 vvr list --token "$DESK" --tier vip --json
mapfile -t VIP < <(json 'd[0]["external_id"]' 'd[1]["external_id"]' \
    'd[2]["external_id"]')
expect_exit 0 vvr list --token "$DESK" --tier standard --json
STD=$(json 'd[0]["external_id"]')
IDS="${VIP[0]},${VIP[1]},${VIP[2]}"

# ---- the story
expect_exit 0 vvr --json unseal request --token "$DESK" --records "$IDS" \
    --reason "renewal calls" --ttl 10m
REQ=$(json 'd["request"]')
assert_match "$REQ" '^[0-9a-f]{32}$' "request: a 32-hex id"
expect_exit 0 vvr unseal list
assert_match "$OUT" "^$REQ pending +dana +3 records 0/2 approvals +renewal calls$" \
    "unseal list: the pending request"
expect_exit 0 vvr unseal show "$REQ"
assert_contains "$OUT" "${VIP[0]} ${VIP[1]} ${VIP[2]}" "show: the records, sorted"
assert_match "$OUT" 'requester +dana \(role desk\)' "show: who asked, in which role"
assert_match "$OUT" 'expires +20[0-9-]+ [0-9:]+ UTC' "show: until when"
expect_exit 2 vvr unseal fetch "$REQ" --token "$DESK"
assert_contains "$ERR" "still pending"
expect_exit 0 vvr unseal approve "$REQ" --manager kate --device "soft:$K/kate"
assert_contains "$OUT" "approved by kate"
expect_exit 2 vvr unseal approve "$REQ" --manager kate --device "soft:$K/kate"
assert_contains "$ERR" "counts once"
expect_exit 0 vvr --json unseal show "$REQ"
mapfile -t J < <(json 'd["approved_by"]' 'd["state"]')
assert_eq "${J[0]:-}" '["kate"]' "show --json: kate approved"
assert_eq "${J[1]:-}" pending "show --json: still pending"
expect_exit 0 vvr unseal approve "$REQ" --manager leo --device "soft:$K/leo"
assert_contains "$OUT" "complete"
expect_exit 2 vvr unseal fetch "$REQ" --token "$KATE"
assert_contains "$ERR" "only the token that made"
expect_exit 0 vvr --json unseal fetch "$REQ" --token "$DESK"
mapfile -t J < <(json 'len(d)' '[c["external_id"] for c in d]' 'd[0]["phone"]')
assert_eq "${J[0]:-}" 3 "fetch: three records"
want_phone=$(sample_rows "${VIP[0]}" | cut -f7)
assert_eq "${J[2]:-}" "$want_phone" "fetch: the real phone number, E.164"
expect_exit 2 vvr unseal fetch "$REQ" --token "$DESK"
assert_contains "$ERR" "already fetched" "a second fetch is refused"
expect_exit 2 vvr unseal approve "$REQ" --manager mia --device "soft:$K/mia"
expect_exit 0 vvr get "${VIP[0]}" --token "$DESK" --json
assert_eq "$(json 'd["masked"]')" '["phone", "email", "address"]' \
    "after the unseal, get still masks: the key was not kept"

# ---- rules on requests
expect_exit 1 vvr unseal request --token "$DESK" --records "$STD" --reason x
assert_contains "$ERR" "not a VIP record"
expect_exit 3 vvr unseal request --token "$CRM" --records "${VIP[0]}" --reason x
expect_exit 1 vvr unseal request --token "$DESK" --records "${VIP[0]}" \
    --reason x --ttl 25h
many=$(sample_rows --all 2>/dev/null | cut -f1 | head -21 | paste -sd,)
expect_exit 1 vvr unseal request --token "$DESK" --records "$many" --reason bulk
assert_contains "$ERR" "1 to 20 records" "no bulk export through unseal"
expect_exit 1 vvr unseal request --token "$DESK" --records "${VIP[0]}" \
    --reason $'two\nlines'
expect_exit 1 vvr unseal request --token "$DESK" --reason x
expect_exit 1 vvr unseal approve "$REQ"
assert_contains "$ERR" "--manager"

# ---- a requester cannot approve his own request; a denial closes it
expect_exit 0 vvr --json unseal request --token "$KATE" --records "${VIP[1]}" \
    --reason "own client"
OWN=$(json 'd["request"]')
expect_exit 2 vvr unseal approve "$OWN" --manager kate --device "soft:$K/kate"
assert_contains "$ERR" "cannot decide"
expect_exit 0 vvr unseal deny "$OWN" --manager mia --device "soft:$K/mia"
assert_contains "$OUT" "denied by mia"
expect_exit 2 vvr unseal approve "$OWN" --manager leo --device "soft:$K/leo"
assert_contains "$ERR" "denied"
expect_exit 2 vvr unseal fetch "$OWN" --token "$KATE"
expect_exit 0 vvr unseal list
assert_not_contains "$OUT" "$OWN" "list: closed requests hidden"
expect_exit 0 vvr unseal list --all
assert_contains "$OUT" "$OWN denied" "list --all: the denied request"

# ---- tokens that misbehave
expect_exit 0 vvr --json unseal request --token "$DESK" --records "${VIP[2]}" \
    --reason "token faults"
R2=$(json 'd["request"]')
# Leo's token used by kate: it holds no credential of kate's.
expect_exit 2 vvr unseal approve "$R2" --manager kate --device "soft:$K/leo"
assert_contains "$ERR" "refused"
# A copy of kate's token made before her last use: counter goes back.
cp -p "$K/kate" "$K/kate.bak"
sed -i 's/^counter .*/counter 1/' "$K/kate"
expect_exit 5 vvr unseal approve "$R2" --manager kate --device "soft:$K/kate"
assert_contains "$ERR" "may be a clone"
cp -p "$K/kate.bak" "$K/kate"
sed -i 's/^fault .*/fault wrong-hmac/' "$K/leo"
expect_exit 5 vvr unseal approve "$R2" --manager leo --device "soft:$K/leo"
assert_contains "$ERR" "wrong hmac-secret output"
sed -i 's/^fault .*/fault none/' "$K/leo"
sed -i 's/^presence .*/presence deny/' "$K/mia"
expect_exit 2 vvr unseal approve "$R2" --manager mia --device "soft:$K/mia"
sed -i 's/^presence .*/presence allow/' "$K/mia"
chmod 644 "$K/mia"
expect_exit 6 vvr unseal approve "$R2" --manager mia --device "soft:$K/mia"
assert_contains "$ERR" "mia" "a world-readable token file is refused, named"
chmod 600 "$K/mia"
expect_exit 0 vvr unseal approve "$R2" --manager mia --device "soft:$K/mia"
expect_exit 0 vvr unseal approve "$R2" --manager kate --device "soft:$K/kate"
expect_exit 0 vvr unseal fetch "$R2" --token "$DESK"
assert_contains "$OUT" "${VIP[2]}" "after the faults, the request still completes"

# ---- a manager enrolled later holds a share after a re-split
expect_exit 0 "$VIPVAULT" softkey create "$K/nina"
expect_exit 0 vvr manager enroll nina --device "soft:$K/nina"
assert_contains "$OUT" "no share until"
expect_exit 1 vvr manager reshare
assert_contains "$ERR" "--reason"
expect_exit 0 vvr --json manager reshare --reason "nina joins" --ttl 1h
RS=$(json 'd["request"]')
expect_exit 0 vvr unseal show "$RS"
assert_contains "$OUT" "re-split of the VIP key" "show: a re-split says so"
expect_exit 0 vvr unseal approve "$RS" --manager kate --device "soft:$K/kate"
expect_exit 0 vvr unseal approve "$RS" --manager mia --device "soft:$K/mia"
assert_contains "$OUT" "complete"
expect_exit 2 vvr unseal fetch "$RS" --token "$DESK"
assert_contains "$ERR" "nothing to fetch"
expect_exit 0 vvr manager list --json
mapfile -t J < <(json '[m["share_epoch"] for m in d["managers"]]' 'd["epoch"]')
assert_eq "${J[0]:-}" '[2, 2, 2, 2]' "after the re-split every manager holds an epoch 2 share"
assert_eq "${J[1]:-}" 2 "key epoch 2"
expect_exit 0 vvr --json unseal request --token "$DESK" --records "${VIP[0]}" \
    --reason "after the re-split"
R3=$(json 'd["request"]')
expect_exit 0 vvr unseal approve "$R3" --manager nina --device "soft:$K/nina"
expect_exit 0 vvr unseal approve "$R3" --manager leo --device "soft:$K/leo"
expect_exit 0 vvr --json unseal fetch "$R3" --token "$DESK"
assert_eq "$(json 'd[0]["phone"]')" "$want_phone" "nina and leo release the contact"

# ---- a token with a PIN: the PIN comes from a file that is ours alone
printf '4321\n' >"$K/pin"
chmod 600 "$K/pin"
printf '9999\n' >"$K/badpin"
chmod 600 "$K/badpin"
expect_exit 0 "$VIPVAULT" softkey create "$K/olga" --pin-file "$K/pin"
expect_exit 0 vvr manager enroll olga --device "soft:$K/olga" --pin-file "$K/pin"
expect_exit 0 vvr manager list --json
assert_eq "$(json '[m["user_verification"] for m in d["managers"] if m["name"] == "olga"][0]')" \
    true "a manager enrolled with a PIN verifies his user"
expect_exit 2 vvr manager enroll olga2 --device "soft:$K/olga" </dev/null
assert_contains "$ERR" "PIN" "without a PIN source and no terminal: refused"
chmod 644 "$K/pin"
expect_exit 2 vvr manager enroll olga3 --device "soft:$K/olga" --pin-file "$K/pin"
assert_contains "$ERR" "ours alone" "a PIN file others can read is refused"
chmod 600 "$K/pin"
expect_exit 0 vvr --json manager reshare --reason "olga joins"
RO=$(json 'd["request"]')
expect_exit 0 vvr unseal approve "$RO" --manager kate --device "soft:$K/kate"
expect_exit 0 vvr unseal approve "$RO" --manager leo --device "soft:$K/leo"
expect_exit 0 vvr --json unseal request --token "$DESK" --records "${VIP[1]}" \
    --reason "olga's first"
RP=$(json 'd["request"]')
expect_exit 2 vvr unseal approve "$RP" --manager olga --device "soft:$K/olga" \
    --pin-file "$K/badpin"
assert_contains "$ERR" "PIN" "a wrong PIN is refused"
expect_exit 0 vvr unseal approve "$RP" --manager olga --device "soft:$K/olga" \
    --pin-file "$K/pin"
expect_exit 0 vvr unseal approve "$RP" --manager nina --device "soft:$K/nina"
expect_exit 0 vvr unseal fetch "$RP" --token "$DESK"
assert_not_contains "$(cat "$E2E_FAILED_STDERR")" "4321" "no error message quotes a PIN"

# ---- another vault: the same manager names, other credentials
W=$E2E_TMP/w
expect_exit 0 "$VIPVAULT" softkey create "$K/x1"
expect_exit 0 "$VIPVAULT" softkey create "$K/x2"
expect_exit 0 "$VIPVAULT" --vault "$W" init --dev --managers kate,leo \
    --devices "soft:$K/x1,soft:$K/x2"
expect_exit 0 "$VIPVAULT" --vault "$W" add --id VX --name 'Vera X' \
    --owner bob --spend 500000 --since 2001-01-01 --phone '+7 903 000 11 22'
expect_exit 0 "$VIPVAULT" --vault "$W" role add desk --tiers vip
WT=$(issue_token "$W" desk dana)
expect_exit 0 "$VIPVAULT" --vault "$W" --json unseal request --token "$WT" \
    --records VX --reason "other vault"
RW=$(json 'd["request"]')
expect_exit 2 "$VIPVAULT" --vault "$W" unseal approve "$RW" --manager kate \
    --device "soft:$K/kate"
assert_contains "$ERR" "refused" "kate's token from vault v is unknown in vault w"

# ---- help, and no secret in any error
expect_exit 0 "$VIPVAULT" unseal --help
assert_contains "$OUT" "unseal approve REQ --manager NAME"
expect_exit 0 "$VIPVAULT" manager --help
expect_exit 0 "$VIPVAULT" softkey --help
want_email=$(sample_rows "${VIP[0]}" | cut -f4)
assert_not_contains "$(cat "$E2E_FAILED_STDERR")" "$want_email" \
    "no error message quotes a VIP contact"
assert_not_contains "$(cat "$E2E_FAILED_STDERR")" "$DESK" \
    "no error message quotes a token"
finish
