#!/usr/bin/env bash
# test_reads.sh - reading as a role: full standard records, denied and
# masked VIP records, segmentation, find by phone and e-mail.
. "$(dirname "$0")/lib.sh"
sample_vault
for r in "plain basic" "seg basic,standard,vip --own-clients-only"; do
	set -- $r
	run vvr role add "$1" --tiers "$2" "${@:3}"
	[ "$RC" -eq 0 ] || fatal "role add $r (exit $RC)"
done
PLAIN=$(issue_token "$V" plain bob)
SEG=$(issue_token "$V" seg alice)
[ -n "$PLAIN" ] && [ -n "$SEG" ] || fatal "token issue failed"

# ---- pick records from what the VIP desk sees; phones unique in the
# sample, so that a find has exactly one answer
expect_exit 0 vvr list --json --token "$DESK" || fatal "desk cannot list"
printf '%s' "$OUT" >"$E2E_TMP/desk.json"
sample_rows --all >"$E2E_TMP/sample.tsv"
mapfile -t J < <(python3 - "$E2E_TMP/sample.tsv" "$E2E_TMP/desk.json" <<'EOF'
import collections, json, sys

# id and phone in E.164: the first and last columns of sample_rows
with open(sys.argv[1], encoding="utf-8") as f:
    phone = {c[0]: c[6] for c in (l.rstrip("\n").split("\t") for l in f)}
n = collections.Counter(phone.values())
d = json.load(open(sys.argv[2], encoding="utf-8"))
uniq = [r for r in d if n[phone[r["external_id"]]] == 1]
def first(rows, **kw):
    for r in rows:
        if all((r[k] == v) if not k.startswith("not_") else (r[k[4:]] != v)
               for k, v in kw.items()):
            return r["external_id"]
    return ""
print(len(d))
print(first(uniq, tier="vip"))
print(first(uniq, tier="standard"))
print(first(d, tier="basic"))
print(first(d, tier="vip", owner="alice"))
print(first(uniq, tier="standard", not_owner="alice"))
print(sum(r["owner"] == "alice" for r in d))
print(sum(r["tier"] != "vip" for r in d))
print(json.dumps(all(r["masked"] == ["phone", "email", "address"]
                     for r in d if r["tier"] == "vip")))
print(json.dumps(all(r["masked"] == [] for r in d if r["tier"] != "vip")))
EOF
)
assert_eq "${J[0]:-}" 10000 "desk lists all 10000 records"
VIP=${J[1]:-} STD=${J[2]:-} BASIC=${J[3]:-} AVIP=${J[4]:-} OSTD=${J[5]:-}
NALICE=${J[6]:-} NNONVIP=${J[7]:-}
assert_eq "${J[8]:-}" true "desk list --json: every VIP record masked"
assert_eq "${J[9]:-}" true "desk list --json: no other record masked"
[ -n "$VIP" ] && [ -n "$STD" ] && [ -n "$BASIC" ] && [ -n "$AVIP" ] &&
    [ -n "$OSTD" ] || fatal "sample lacks the records this test needs"

declare -A NAME PHONE EMAIL ADDR OWNER E164
while IFS=$'\t' read -r id n p e a o e164; do
	NAME[$id]=$n PHONE[$id]=$p EMAIL[$id]=$e ADDR[$id]=$a OWNER[$id]=$o
	E164[$id]=$e164
done < <(sample_rows "$VIP" "$STD" "$BASIC" "$AVIP" "$OSTD")
[ -n "${E164[$STD]:-}" ] && [ -n "${E164[$VIP]:-}" ] ||
    fatal "records not found in the sample CSV"

# ---- a standard record, in full, for a basic+standard role
expect_exit 0 vvr get --token "$CRM" "$STD"
assert_match "$OUT" "^tier +standard\$" "crm get: tier standard"
assert_match "$OUT" "^phone +\\${E164[$STD]}\$" "crm get: phone in E.164"
assert_match "$OUT" "^email +${EMAIL[$STD],,}\$" "crm get: e-mail in clear"
assert_contains "$OUT" "${NAME[$STD]}" "crm get: name"
assert_contains "$OUT" "${ADDR[$STD]}" "crm get: address"
assert_not_contains "$OUT" "masked" "crm get standard: nothing masked"
expect_exit 0 vvr get --json --token "$CRM" "$STD"
mapfile -t J < <(json 'd["phone"]' 'd["masked"]' 'd["owner"]' 'd["tier"]' 'd["email"]')
assert_eq "${J[0]:-}" "${E164[$STD]}" "crm get --json: phone"
assert_eq "${J[1]:-}" "[]" "crm get --json: masked is empty"
assert_eq "${J[2]:-}" "${OWNER[$STD]}" "crm get --json: owner"
assert_eq "${J[3]:-}" standard "crm get --json: tier"
assert_eq "${J[4]:-}" "${EMAIL[$STD],,}" "crm get --json: e-mail"
expect_exit 0 vvr get --token "$CRM" "$BASIC"
assert_match "$OUT" "^tier +basic\$" "crm get: a basic record"

# ---- tiers the role may not read: denied, nothing on stdout
expect_exit 2 vvr get --token "$CRM" "$VIP"
assert_contains "$ERR" "may not read vip" "crm get vip: denied"
assert_empty "$OUT" "crm get vip: nothing on stdout"
expect_exit 2 vvr get --token "$PLAIN" "$STD"
assert_contains "$ERR" "may not read standard" "basic-only role on a standard record"
expect_exit 0 vvr get --token "$PLAIN" "$BASIC"
expect_exit 2 vvr list --tier vip --token "$CRM"
assert_contains "$ERR" "may not read vip" "crm list --tier vip: denied"
expect_exit 2 vvr list --tier standard --token "$PLAIN"
expect_exit 0 vvr list --json --token "$CRM"
mapfile -t J < <(json 'len(d)' 'sorted(set(r["tier"] for r in d))')
assert_eq "${J[0]:-}" "$NNONVIP" "crm list: every basic and standard record"
assert_eq "${J[1]:-}" '["basic", "standard"]' "crm list: no VIP record"

# ---- a VIP record for a VIP-reading role: contacts masked
vip_masked() {	# LABEL ID: checks $OUT holds none of ID's clear contacts
	assert_not_contains "$OUT" "${PHONE[$2]}" "$1: not the phone as in the CSV"
	assert_not_contains "$OUT" "${E164[$2]}" "$1: not the phone in E.164"
	assert_not_contains "$OUT" "${E164[$2]#+}" "$1: not the phone digits"
	assert_not_contains "$OUT" "${EMAIL[$2]}" "$1: not the e-mail"
	assert_not_contains "$OUT" "${EMAIL[$2],,}" "$1: not the e-mail, lower case"
	assert_not_contains "$OUT" "${ADDR[$2]}" "$1: not the address"
}
expect_exit 0 vvr get --token "$DESK" "$VIP"
assert_match "$OUT" "^tier +vip\$" "desk get: tier vip"
assert_match "$OUT" "^phone .*\\*.*\\(masked: dual control\\)\$" "desk get: phone masked"
assert_match "$OUT" "^email .*\\*.*\\(masked: dual control\\)\$" "desk get: e-mail masked"
assert_match "$OUT" "^address .*\\(masked: dual control\\)\$" "desk get: address masked"
assert_contains "$OUT" "${NAME[$VIP]}" "desk get: the name is readable"
vip_masked "desk get vip" "$VIP"
expect_exit 0 vvr get --json --token "$DESK" "$VIP"
mapfile -t J < <(json 'd["masked"]' '"*" in d["phone"]' '"*" in d["email"]' \
    'd["email"].split("@")[-1]')
assert_eq "${J[0]:-}" '["phone", "email", "address"]' "desk get --json: masked list"
assert_eq "${J[1]:-}" true "desk get --json: phone has '*'"
assert_eq "${J[2]:-}" true "desk get --json: e-mail has '*'"
assert_eq "${J[3]:-}" "${EMAIL[$VIP]##*@}" "desk get --json: masked e-mail keeps the domain"
vip_masked "desk get --json vip" "$VIP"

# ---- find by phone and e-mail, spelled differently
d=${E164[$STD]#+}
expect_exit 0 vvr find --phone "00 ${d:0:2} ${d:2:3} ${d:5:3}-${d:8}" --token "$CRM"
assert_match "$OUT" "^$STD " "find --phone with 00 and spaces"
expect_exit 0 vvr find --phone "+${d:0:1}-${d:1:3}-${d:4:3}-${d:7}" --json --token "$CRM"
assert_eq "$(json '[r["external_id"] for r in d]')" "[\"$STD\"]" "find --phone with dashes, --json"
expect_exit 0 vvr find --phone "${PHONE[$STD]}" --token "$CRM"
assert_match "$OUT" "^$STD " "find --phone as in the CSV"
expect_exit 0 vvr find --email "${EMAIL[$STD]^^}" --token "$CRM"
assert_match "$OUT" "^$STD " "find --email in upper case"
expect_exit 3 vvr find --phone '+1 999 000 0000' --token "$CRM"
assert_contains "$ERR" "no record with this phone" "find absent phone: not found"
expect_exit 3 vvr find --email 'nobody@nowhere.example' --token "$CRM"
expect_exit 4 vvr find --phone '12345' --token "$CRM"
assert_contains "$ERR" "phone" "find bad phone: names phone"
# VIP: masked for desk, invisible to crm
v=${E164[$VIP]#+}
expect_exit 0 vvr find --json --phone "00$v" --token "$DESK"
assert_eq "$(json '[(r["external_id"], r["masked"]) for r in d]')" \
    "[[\"$VIP\", [\"phone\", \"email\", \"address\"]]]" "desk find vip: masked"
vip_masked "desk find vip" "$VIP"
run vvr find --phone "00$v" --token "$CRM"
[ "$RC" -eq 2 ] || [ "$RC" -eq 3 ] && ok "crm find vip phone: exit $RC" ||
    fail "crm find vip phone: exit $RC, want 2 or 3"
assert_not_contains "$OUT" "$VIP" "crm find vip phone: the record is not shown"

# ---- segmentation: alice sees her own clients only
expect_exit 0 vvr list --json --token "$SEG"
mapfile -t J < <(json 'len(d)' 'sorted(set(r["owner"] for r in d))')
assert_eq "${J[0]:-}" "$NALICE" "seg list: every alice record"
assert_eq "${J[1]:-}" '["alice"]' "seg list: every row's owner is alice"
expect_exit 0 vvr list --token "$SEG"
assert_eq "$(awk 'NR > 1 && $3 != "alice"' <<<"$OUT")" "" "seg list text: owner column is alice"
expect_exit 3 vvr get --token "$SEG" "$OSTD"
assert_eq "$ERR" "vipvault get: no record '$OSTD'" "seg get other owner: not found"
assert_empty "$OUT" "seg get other owner: nothing on stdout"
expect_exit 3 vvr get --token "$SEG" NO-SUCH-ID
assert_eq "$ERR" "vipvault get: no record 'NO-SUCH-ID'" "absent record: same message"
o=${E164[$OSTD]#+}
expect_exit 3 vvr find --phone "+$o" --token "$SEG"
assert_not_contains "$OUT" "$OSTD" "seg find other owner's phone: not shown"
expect_exit 0 vvr get --json --token "$SEG" "$AVIP"
assert_eq "$(json '[d["owner"], d["masked"]]')" '["alice", ["phone", "email", "address"]]' \
    "seg get own VIP: masked"
vip_masked "seg get own vip" "$AVIP"
expect_exit 0 vvr list --tier vip --json --token "$SEG"
assert_eq "$(json 'sorted(set((r["owner"], r["tier"]) for r in d))')" \
    '[["alice", "vip"]]' "seg list --tier vip: alice's VIP records only"

# ---- records that do not exist
expect_exit 3 vvr get --token "$DESK" NO-SUCH-ID
assert_empty "$OUT" "absent record: nothing on stdout"

# reads change no record: they only add compliance log entries, one per
# command, naming the records read by pseudonym
tiers_before=$(tier_counts "$V")
n_before=$("$VIPVAULT" --vault "$V" compliance log --mirror "$V/mirror" \
    --key "$V/compliance.key" --type record-read --json | python3 -c \
    'import json,sys; print(len(json.load(sys.stdin)))')
run vvr get --token "$DESK" "$VIP"
run vvr list --token "$CRM"
assert_eq "$(tier_counts "$V")" "$tiers_before" "reads leave the records as they were"
expect_exit 0 "$VIPVAULT" --vault "$V" compliance log --mirror "$V/mirror" \
    --key "$V/compliance.key" --type record-read --json
mapfile -t J < <(json 'len(d)' 'd[-1]["actor"]' 'd[-1]["role"]' \
    'len(d[-1]["records"])' 'd[-1]["count"]')
assert_eq "${J[0]:-}" "$((n_before + 1))" "a get is one record-read entry"
assert_eq "${J[1]:-} ${J[2]:-} ${J[3]:-} ${J[4]:-}" "vdesk desk 1 1" \
    "the entry names the user, role and one record (a pseudonym)"
expect_exit 0 "$VIPVAULT" --vault "$V" compliance log --mirror "$V/mirror" \
    --key "$V/compliance.key" --type record-list --json
assert_eq "$(json 'd[-1]["actor"]')" bob "a list is a record-list entry"
assert_not_contains "$(cat "$V/mirror/entries")" "$VIP" "the mirror names no record in clear"

finish
