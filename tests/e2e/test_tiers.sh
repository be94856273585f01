#!/usr/bin/env bash
# test_tiers.sh - the value policy: show, set (re-tiering), pin, unpin;
# promoted records get masked contacts, and demotion never unmasks them.
. "$(dirname "$0")/lib.sh"
sample_vault

# vip_ids: the VIP ids the desk sees, one a line
vip_ids() {
	"$VIPVAULT" --vault "$V" list --tier vip --token "$DESK" |
	    awk 'NR > 1 { print $1 }'
}

# ---- show
expect_exit 0 vvr tiers
assert_match "$OUT" '^TIER +RULE +RECORDS$' "tiers: header"
assert_match "$OUT" '^vip +spend >= 100000\.00 +and >= +5 years +[0-9]+$' "tiers: vip rule"
assert_match "$OUT" '^standard +spend >= 10000\.00 +and >= +0 years +[0-9]+$' "tiers: standard rule"
assert_match "$OUT" '^basic +the rest +[0-9]+$' "tiers: basic"
text_counts=$(awk '{ print $NF }' <<<"$OUT" | tail -n 3 | paste -sd ' ')
expect_exit 0 vvr tiers --json
mapfile -t J < <(json 'd["policy"]' 'd["records"]["vip"]' \
    'd["records"]["standard"]' 'd["records"]["basic"]')
assert_eq "${J[0]:-}" '{"vip.min_spend_minor": 10000000, "vip.min_years": 5, "standard.min_spend_minor": 1000000, "standard.min_years": 0}' \
    "tiers --json: the default policy"
read -r VIP0 STD0 BAS0 <<<"${J[1]:-} ${J[2]:-} ${J[3]:-}"
assert_eq "$text_counts" "$VIP0 $STD0 $BAS0" "tiers text and --json agree"
assert_eq "$((VIP0 + STD0 + BAS0))" 10000 "tiers: counts sum to 10000"
vip_before=$(vip_ids)
assert_eq "$(wc -l <<<"$vip_before")" "$VIP0" "desk lists every VIP record"

# ---- refused changes: usage 1, bad value 4, nothing changed
state=$(vault_state "$V")
expect_exit 1 vvr tiers set vip.foo=1
assert_contains "$ERR" "unknown policy key 'vip.foo'"
expect_exit 1 vvr tiers set vip.min_spend
assert_contains "$ERR" "KEY=VALUE"
expect_exit 1 vvr tiers set
for bad in vip.min_spend=abc vip.min_spend=-1 vip.min_spend=1.234 \
    vip.min_spend= standard.min_spend=1e6 vip.min_years=-1 \
    vip.min_years=201 standard.min_years=x; do
	expect_exit 4 vvr tiers set "$bad"
	assert_contains "$ERR" "${bad%%=*}: bad value" "tiers set $bad: names the key"
done
expect_exit 4 vvr tiers set vip.min_spend=50000 vip.min_years=abc
assert_eq "$(vault_state "$V")" "$state" "refused tiers set: policy and counts unchanged"
expect_exit 0 vvr --json tiers
assert_eq "$(json 'd["policy"]["vip.min_spend_minor"]')" 10000000 \
    "refused tiers set: first assignment not applied"

# ---- lower the VIP threshold: more VIP records, contacts masked
expect_exit 0 vvr tiers set vip.min_spend=50000
assert_match "$OUT" '^policy updated; [0-9]+ records changed tier$' "tiers set: reports changes"
changed=$(sed -nE 's/^policy updated; ([0-9]+) records.*/\1/p' <<<"$OUT")
read -r VIP1 STD1 BAS1 <<<"$(tier_counts "$V")"
[ "$VIP1" -gt "$VIP0" ] && ok "vip.min_spend=50000: more VIP records ($VIP0 -> $VIP1)" ||
    fail "vip.min_spend=50000: VIP $VIP0 -> $VIP1"
assert_eq "$((VIP1 - VIP0))" "$changed" "records changed tier = new VIP records"
assert_eq "$BAS1" "$BAS0" "basic unchanged"
assert_eq "$((VIP1 + STD1 + BAS1))" 10000 "still 10000 records"
expect_exit 0 vvr --json tiers
assert_eq "$(json 'd["policy"]["vip.min_spend_minor"]')" 5000000 "policy: 50000.00"
expect_exit 0 vvr --json tiers set vip.min_spend=50000
assert_eq "$OUT" '{"retiered":0}' "same policy again: nothing re-tiered"

promoted=$(comm -13 <(sort <<<"$vip_before") <(vip_ids | sort))
assert_eq "$(wc -l <<<"$promoted")" "$changed" "the promoted records are listed as VIP"
P=$(head -n 1 <<<"$promoted")
IFS=$'\t' read -r _ PNAME PPHONE PEMAIL PADDR _ PE164 < <(sample_rows "$P")
[ -n "${PE164:-}" ] || fatal "promoted record $P not in the sample"
expect_exit 0 vvr get --json --token "$DESK" "$P"
mapfile -t J < <(json 'd["tier"]' 'd["masked"]')
assert_eq "${J[0]:-}" vip "promoted $P: tier vip"
assert_eq "${J[1]:-}" '["phone", "email", "address"]' "promoted $P: contacts masked"
no_clear() {
	assert_not_contains "$OUT" "$PPHONE" "$1: no clear phone"
	assert_not_contains "$OUT" "$PE164" "$1: no E.164 phone"
	assert_not_contains "$OUT" "$PEMAIL" "$1: no clear e-mail"
	assert_not_contains "$OUT" "$PADDR" "$1: no clear address"
}
no_clear "promoted, desk"
assert_contains "$OUT" "$PNAME" "promoted, desk: the name is readable"
expect_exit 2 vvr get --token "$CRM" "$P"
assert_contains "$ERR" "may not read vip" "promoted: crm denied"

# ---- raise it back: counts as at first, demoted contacts stay masked
expect_exit 0 vvr tiers set vip.min_spend=100000.00
assert_eq "$(tier_counts "$V")" "$VIP0 $STD0 $BAS0" "policy restored: counts as at first"
expect_exit 0 vvr get --json --token "$CRM" "$P"
mapfile -t J < <(json 'd["tier"]' 'd["masked"]')
assert_eq "${J[0]:-}" standard "demoted $P: standard again, crm reads it"
assert_eq "${J[1]:-}" '["phone", "email", "address"]' \
    "demoted $P: contacts stay under dual control"
no_clear "demoted, crm"

# ---- the standard threshold: basic <-> standard, contacts stay readable
B=$("$VIPVAULT" --vault "$V" list --tier basic --token "$CRM" | awk 'NR == 2 { print $1 }')
expect_exit 0 vvr tiers set standard.min_spend=0
read -r v s b <<<"$(tier_counts "$V")"
assert_eq "$v $s $b" "$VIP0 $((STD0 + BAS0)) 0" "standard.min_spend=0: no basic record left"
expect_exit 0 vvr get --json --token "$CRM" "$B"
assert_eq "$(json '[d["tier"], d["masked"], d["phone"][0]]')" '["standard", [], "+"]' \
    "promoted to standard: contacts in clear for crm"
expect_exit 0 vvr tiers set standard.min_spend=10000
assert_eq "$(tier_counts "$V")" "$VIP0 $STD0 $BAS0" "standard threshold restored"

# ---- pin and unpin
IFS=$'\t' read -r _ _ PPHONE PEMAIL PADDR _ PE164 < <(sample_rows "$B")
expect_exit 0 vvr tiers pin "$B" vip
assert_eq "$OUT" "$B pinned to vip" "tiers pin: confirmation"
assert_eq "$(tier_counts "$V")" "$((VIP0 + 1)) $STD0 $((BAS0 - 1))" "pinned: one more VIP"
expect_exit 0 vvr get --token "$DESK" "$B"
assert_match "$OUT" '^tier +vip \(pinned\)$' "pinned record: vip (pinned)"
assert_match "$OUT" '^phone .*\(masked: dual control\)$' "pinned record: phone masked"
no_clear "pinned, desk"
expect_exit 2 vvr get --token "$CRM" "$B"
expect_exit 0 vvr tiers set vip.min_spend=50000
expect_exit 0 vvr get --json --token "$DESK" "$B"
assert_eq "$(json '[d["tier"], d["pinned"]]')" '["vip", true]' "pinned: stays VIP after tiers set"
expect_exit 0 vvr tiers set vip.min_spend=100000 vip.min_years=5
expect_exit 0 vvr get --json --token "$DESK" "$B"
assert_eq "$(json '[d["tier"], d["pinned"]]')" '["vip", true]' "pinned: stays VIP after a second tiers set"
expect_exit 0 vvr tiers unpin "$B"
assert_eq "$OUT" "$B unpinned" "tiers unpin: confirmation"
assert_eq "$(tier_counts "$V")" "$VIP0 $STD0 $BAS0" "unpinned: back to the policy tier"
expect_exit 0 vvr get --json --token "$CRM" "$B"
assert_eq "$(json '[d["tier"], d["pinned"], d["masked"]]')" \
    '["basic", false, ["phone", "email", "address"]]' \
    "unpinned: basic again, contacts stay under dual control"
no_clear "unpinned, crm"
# pinned down: a VIP record pinned to basic becomes readable by crm, its
# contacts still masked
VP=$(head -n 1 <<<"$vip_before")
expect_exit 0 vvr tiers pin "$VP" basic
expect_exit 0 vvr get --json --token "$CRM" "$VP"
assert_eq "$(json '[d["tier"], d["pinned"], d["masked"]]')" \
    '["basic", true, ["phone", "email", "address"]]' "VIP pinned to basic: still masked"
expect_exit 0 vvr tiers unpin "$VP"

state=$(vault_state "$V")
expect_exit 3 vvr tiers pin NO-SUCH-ID vip
assert_contains "$ERR" "no record 'NO-SUCH-ID'"
expect_exit 3 vvr tiers unpin NO-SUCH-ID
expect_exit 1 vvr tiers pin "$B" gold
assert_contains "$ERR" "basic, standard or vip"
expect_exit 1 vvr tiers pin "$B"
expect_exit 1 vvr tiers unpin
assert_eq "$(vault_state "$V")" "$state" "refused pins: nothing changed"

finish
