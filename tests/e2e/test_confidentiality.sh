#!/usr/bin/env bash
# test_confidentiality.sh - no client data in clear anywhere in the vault
# directory, and none in the messages of failed commands.
. "$(dirname "$0")/lib.sh"
sample_vault
run vvr role add seg --tiers basic,standard,vip --own-clients-only
SEG=$(issue_token "$V" seg nobody)
[ -n "$SEG" ] || fatal "roles and tokens"

# ---- 20 records: 10 VIP, 10 spread over the file
vips=$(vvr list --tier vip --token "$DESK" | awk 'NR > 1 && NR <= 11 { print $1 }')
spread=$(vvr list --token "$DESK" | awk 'NR > 1 && NR % 997 == 0 { print $1 }' | head -n 10)
ids=$(printf '%s\n%s\n' "$vips" "$spread" | sort -u)
assert_eq "$(wc -l <<<"$ids")" 20 "20 records chosen"
declare -A NAME PHONE EMAIL E164
: >"$E2E_TMP/patterns"
while IFS=$'\t' read -r id n p e a o e164; do
	NAME[$id]=$n PHONE[$id]=$p EMAIL[$id]=$e E164[$id]=$e164
	printf '%s\n%s\n%s\n%s\n%s\n' "$n" "$p" "$e" "$e164" "${e164#+}" \
	    >>"$E2E_TMP/patterns"
done < <(sample_rows $ids)
assert_eq "$(wc -l <"$E2E_TMP/patterns")" 100 "names, phones (CSV, E.164, digits), e-mails"

# Exercise the vault a little first: re-tier, pin, a failed import, reads.
run vvr tiers set vip.min_spend=50000
run vvr tiers set vip.min_spend=100000
first=$(head -n 1 <<<"$ids")
run vvr tiers pin "$first" vip
run vvr get --token "$DESK" "$first"
python3 - "$SAMPLE" "$E2E_TMP/fail.csv" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f, \
     open(sys.argv[2], "w", newline="", encoding="utf-8") as g:
    rows = list(csv.reader(f))
    w = csv.writer(g, lineterminator="\n")
    w.writerows(rows[:500])
    bad = rows[1][:]
    bad[0] = "BAD1"
    bad[2] = bad[2].replace("+", "") + "x"   # the real phone, spoiled
    w.writerow(bad)
EOF
run vvr import "$E2E_TMP/fail.csv"
assert_eq "$RC" 4 "a failed import of real rows"

# ---- grep the vault directory (all but the dev PIN) for each value
scan() {
	local hits
	hits=$(LC_ALL=C grep -rlaF --exclude=user.pin -f "$E2E_TMP/patterns" "$V")
	if [ -z "$hits" ]; then
		ok "$1: no name, phone or e-mail in clear in the vault directory"
	else
		fail "$1: client data in clear in: ${hits//$V\//}"
	fi
}
scan "after import"
files=$(find "$V" -type f ! -name user.pin | wc -l)
[ "$files" -ge 4 ] && ok "scanned $files files" || fail "only $files files scanned"
# the same records written again one by one through add
for id in $(head -n 3 <<<"$ids"); do
	run vvr add --id "$id" --name "${NAME[$id]}" --owner bob --spend 1 \
	    --since 2020-01-01 --phone "${PHONE[$id]}" --email "${EMAIL[$id]}"
	assert_eq "$RC" 0 "add $id again"
done
scan "after add"
# reads write nothing in clear either
run vvr list --token "$DESK"
scan "after reads"

# ---- failed commands quote no client data
for id in $vips; do
	run vvr get --token "$CRM" "$id"                  # denied
	run vvr find --phone "${PHONE[$id]}" --token "$CRM"  # outside the role
	run vvr find --email "${EMAIL[$id]}" --token "$SEG"  # outside the segment
done
for id in $spread; do
	run vvr get --token "$SEG" "$id"                  # not found: segment
	run vvr find --phone "${PHONE[$id]}x" --token "$CRM" # bad phone
	run vvr find --email "${EMAIL[$id]/@/}" --token "$CRM" # bad e-mail
	run vvr add --id "$id" --name "${NAME[$id]}" --owner bob --spend 1 \
	    --since 2020-01-01 --phone "${PHONE[$id]/+/}x"   # bad phone
	run vvr add --id "$id" --name "${NAME[$id]}" --owner bob --spend 1 \
	    --since 2020-01-01 --email "${EMAIL[$id]/@/ }"    # bad e-mail
	run vvr add --id "$id" --name "${NAME[$id]}" --owner 'bad owner' \
	    --spend 1 --since 2020-01-01                       # bad owner
done
run vvr get --token "vv_${E164[$first]#+}_${EMAIL[$first]}" "$first"
run vvr import "$SAMPLE" extra
nfail=$(grep -c '^vipvault' "$E2E_FAILED_STDERR")
[ "$nfail" -ge 60 ] && ok "$nfail failure messages collected" ||
    fail "only $nfail failure messages collected"
hits=$(LC_ALL=C grep -naF -f "$E2E_TMP/patterns" "$E2E_FAILED_STDERR" | cut -d: -f1 | head -n 5)
if [ -z "$hits" ]; then
	ok "no failure message quotes a name, phone or e-mail"
else
	fail "failure messages quote client data (lines ${hits//$'\n'/,} of the stderr log)"
	sed -n "${hits%%$'\n'*}p" "$E2E_FAILED_STDERR" | sed 's/^/        | /' >&2
fi

finish
