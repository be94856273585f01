#!/usr/bin/env bash
# test_compliance.sh - the compliance officer's tools through the CLI: a
# key pair, a vault whose mirror is a separate directory, the log of an
# unseal, export, checkpoints, verify catching a damaged mirror, and a
# release refused while the mirror is away.
. "$(dirname "$0")/lib.sh"

need_sample
V=$E2E_TMP/v
M=$E2E_TMP/mirror
K=$E2E_TMP/keys
mkdir -m 700 "$K"

# ---- the officer's key pair
expect_exit 0 "$VIPVAULT" compliance keygen "$K/officer.key" "$K/officer.pub"
assert_mode "$K/officer.key" 600
assert_contains "$(cat "$K/officer.pub")" "vipvault-compliance-public 1"
expect_exit 4 "$VIPVAULT" compliance keygen "$K/officer.key" "$K/other.pub"
assert_contains "$ERR" "never replaced"
expect_exit 0 "$VIPVAULT" compliance keygen "$K/other.key" "$K/other.pub"

for m in kate leo; do
	expect_exit 0 "$VIPVAULT" softkey create "$K/$m"
done
expect_exit 1 "$VIPVAULT" --vault "$V" init --dev --compliance-dir "$M"
assert_contains "$ERR" "go together"
expect_exit 4 "$VIPVAULT" --vault "$V" init --dev --compliance-dir "$M" \
    --compliance-pub "$K/officer.key"
assert_contains "$ERR" "not a compliance public key"
[ ! -e "$V" ] && ok "a refused init leaves no vault" || fail "init left $V"
expect_exit 0 "$VIPVAULT" --vault "$V" init --dev --managers kate,leo \
    --devices "soft:$K/kate,soft:$K/leo" \
    --compliance-dir "$M" --compliance-pub "$K/officer.pub"
[ -f "$M/header" ] && [ -f "$M/entries" ] && ok "the mirror is written" ||
    fail "no mirror in $M"
[ ! -e "$V/compliance.key" ] && ok "no development officer key when one is given" ||
    fail "a development key was made"
import_sample "$V"
expect_exit 0 vvr role add desk --tiers vip
DESK=$(issue_token "$V" desk dana)
expect_exit 0 vvr list --token "$DESK" --json
mapfile -t VIP < <(json 'd[0]["external_id"]' 'd[1]["external_id"]')

expect_exit 0 vvr --json unseal request --token "$DESK" \
    --records "${VIP[0]},${VIP[1]}" --reason "renewal calls"
REQ=$(json 'd["request"]')
expect_exit 0 vvr unseal approve "$REQ" --manager kate --device "soft:$K/kate"
expect_exit 0 vvr unseal approve "$REQ" --manager leo --device "soft:$K/leo"

# ---- fail closed: no release while the mirror is away
mv "$M" "$M.away"
expect_exit 7 vvr unseal fetch "$REQ" --token "$DESK"
assert_contains "$ERR" "release refused"
assert_not_contains "$OUT" "@" "nothing released while the mirror is away"
mv "$M.away" "$M"
expect_exit 0 vvr --json unseal fetch "$REQ" --token "$DESK"
assert_eq "$(json 'len(d)')" 2 "the release goes out once the mirror is back"

# ---- the officer's review
O=(--mirror "$M" --key "$K/officer.key")
expect_exit 0 "$VIPVAULT" compliance log "${O[@]}"
assert_match "$OUT" '^ +1 .* vault-created +ok ' "log: entry 1 is the vault's creation"
assert_contains "$OUT" "release-refused" "log: the refused release is there"
assert_match "$OUT" 'approval +ok +kate .* assertion verified' "log: kate's approval verified"
expect_exit 0 "$VIPVAULT" compliance log "${O[@]}" --type approval --json
mapfile -t J < <(json 'len(d)' '[e["manager"] for e in d]' \
    'all(e["assertion_verified"] for e in d)')
assert_eq "${J[0]:-}" 2 "log --type approval: two"
assert_eq "${J[1]:-}" '["kate", "leo"]' "log --type approval: kate, leo"
assert_eq "${J[2]:-}" true "log --json: both assertions verified offline"
expect_exit 0 "$VIPVAULT" compliance log "${O[@]}" --record "${VIP[0]}" --json
assert_eq "$(json '[e["type"] for e in d]')" \
    '["record-list", "unseal-request", "release", "release-refused", "release"]' \
    "log --record: the list that showed it, the request, the refused and the real release"
expect_exit 0 "$VIPVAULT" compliance show "$REQ" "${O[@]}"
assert_contains "$OUT" "unseal-complete"
expect_exit 3 "$VIPVAULT" compliance show 00112233445566778899aabbccddeeff "${O[@]}"
expect_exit 0 "$VIPVAULT" compliance export "${O[@]}" --format jsonl
n_jsonl=$(printf '%s\n' "$OUT" | wc -l)
expect_exit 0 "$VIPVAULT" compliance export "${O[@]}" --format csv
n_csv=$(printf '%s\n' "$OUT" | wc -l)
assert_eq "$n_csv" "$((n_jsonl + 1))" "export: csv has a header and the same rows"
expect_exit 1 "$VIPVAULT" compliance export "${O[@]}" --format xml
for id in "${VIP[@]}"; do
	assert_not_contains "$(cat "$M/entries" "$M/header" | strings)" "$id" \
	    "the mirror holds no client id in clear"
done
expect_exit 0 "$VIPVAULT" compliance report "${O[@]}" --month "$(date -u +%Y-%m)" --json
mapfile -t J < <(json 'd["unseal_requests"]' 'd["releases"]' 'd["releases_refused"]' \
    '[(p["name"], p["requests"], p["releases"], p["approvals"]) for p in d["people"]]')
assert_eq "${J[0]:-}" 1 "report: one unseal request"
assert_eq "${J[1]:-}" 1 "report: one release"
assert_eq "${J[2]:-}" 1 "report: one release refused while the mirror was away"
assert_eq "${J[3]:-}" '[["dana", 1, 1, 0], ["kate", 0, 0, 1], ["leo", 0, 0, 1]]' \
    "report: per requester and approver"
expect_exit 0 "$VIPVAULT" compliance report "${O[@]}" --month 1999-01
assert_contains "$OUT" "(0 log entries)"
expect_exit 1 "$VIPVAULT" compliance report "${O[@]}" --month 2026-13x
expect_exit 2 "$VIPVAULT" compliance log --mirror "$M" --key "$K/other.key"
assert_contains "$ERR" "another compliance key"

# ---- checkpoints and verify
expect_exit 0 vvr compliance checkpoint
printf '%s\n' "$OUT" >"$K/cp1"
assert_match "$OUT" '^vipvault-checkpoint 1 [0-9a-f]{32} [0-9]+ ' "checkpoint: one line"
expect_exit 0 vvr compliance heartbeat
expect_exit 1 vvr compliance heartbeat --every 0
run timeout 3 "$VIPVAULT" --vault "$V" compliance heartbeat --every 1
assert_eq "$RC" 124 "heartbeat --every keeps running until stopped"
expect_exit 0 "$VIPVAULT" compliance log "${O[@]}" --type heartbeat --json
[ "$(json 'len(d)')" -ge 3 ] && ok "heartbeat --every beats once a second" ||
    fail "heartbeat --every: $(json 'len(d)') heartbeats"
expect_exit 0 vvr compliance verify "${O[@]}" --since-head "$K/cp1"
assert_contains "$OUT" "only grew since the checkpoint"
expect_exit 0 vvr --json compliance verify "${O[@]}"
assert_eq "$(json 'd["ok"]')" true "verify --json: ok"
cp -p "$M/entries" "$K/entries.bak"
python3 - "$M/entries" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x20
open(p, "wb").write(b)
EOF
expect_exit 5 "$VIPVAULT" compliance verify "${O[@]}"
assert_match "$ERR" 'verification FAILED at entry [0-9]+: ' "verify names the first bad entry"
expect_exit 5 "$VIPVAULT" compliance log "${O[@]}"
cp -p "$K/entries.bak" "$M/entries"
expect_exit 0 "$VIPVAULT" compliance verify "${O[@]}"
# ---- a mirror that fills up during a release (a small tmpfs; root only)
SMALL=$E2E_TMP/small
mkdir -p "$SMALL"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=256k tmpfs "$SMALL" 2>/dev/null; then
	W=$E2E_TMP/w
	expect_exit 0 "$VIPVAULT" softkey create "$K/w1"
	expect_exit 0 "$VIPVAULT" softkey create "$K/w2"
	expect_exit 0 "$VIPVAULT" --vault "$W" init --dev --managers kate,leo \
	    --devices "soft:$K/w1,soft:$K/w2" --compliance-dir "$SMALL/m" \
	    --compliance-pub "$K/officer.pub"
	expect_exit 0 "$VIPVAULT" --vault "$W" add --id VF --name 'Vera Full' \
	    --owner bob --spend 500000 --since 2001-01-01 --phone '+7 903 555 01 02'
	expect_exit 0 "$VIPVAULT" --vault "$W" role add desk --tiers vip
	WT=$(issue_token "$W" desk dana)
	expect_exit 0 "$VIPVAULT" --vault "$W" --json unseal request --token "$WT" \
	    --records VF --reason "disk full"
	RF=$(json 'd["request"]')
	expect_exit 0 "$VIPVAULT" --vault "$W" unseal approve "$RF" --manager kate --device "soft:$K/w1"
	expect_exit 0 "$VIPVAULT" --vault "$W" unseal approve "$RF" --manager leo --device "soft:$K/w2"
	# A tmpfs allocates whole pages: heartbeats until the entries file's
	# last page has no room for a release entry, then fill the rest.
	while [ $(( $(stat -c %s "$SMALL/m/entries") % 4096 )) -lt 3900 ]; do
		run "$VIPVAULT" --vault "$W" compliance heartbeat
		[ "$RC" -eq 0 ] || fatal "heartbeat (exit $RC)"
	done
	dd if=/dev/zero of="$SMALL/fill" bs=4k count=1000 2>/dev/null
	expect_exit 7 "$VIPVAULT" --vault "$W" unseal fetch "$RF" --token "$WT"
	assert_contains "$ERR" "release refused" "full mirror: the release is refused"
	assert_not_contains "$OUT" "79035550102" "full mirror: no contact leaves"
	rm -f "$SMALL/fill"
	expect_exit 0 "$VIPVAULT" --vault "$W" --json unseal fetch "$RF" --token "$WT"
	assert_eq "$(json 'd[0]["phone"]')" "+79035550102" "room again: the same fetch releases"
	expect_exit 0 "$VIPVAULT" --vault "$W" compliance verify --mirror "$SMALL/m" \
	    --key "$K/officer.key"
	assert_contains "$OUT" "the same" "the mirror caught up with every entry it missed"
	umount "$SMALL"
else
	ok "small-tmpfs mirror test skipped: it needs root to mount a tmpfs"
fi

# ---- killed between the vault log's commit and the mirror's write
SHIM=$E2E_TMP/die_on_mirror.so
if cc -shared -fPIC -o "$SHIM" "$E2E_DIR/die_on_mirror.c" -ldl 2>/dev/null; then
	D=$E2E_TMP/d
	expect_exit 0 "$VIPVAULT" softkey create "$K/d1"
	expect_exit 0 "$VIPVAULT" softkey create "$K/d2"
	expect_exit 0 "$VIPVAULT" --vault "$D" init --dev --managers kate,leo \
	    --devices "soft:$K/d1,soft:$K/d2"
	expect_exit 0 "$VIPVAULT" --vault "$D" add --id VK --name 'Vera Kill' \
	    --owner bob --spend 500000 --since 2001-01-01 --phone '+7 903 555 07 08'
	expect_exit 0 "$VIPVAULT" --vault "$D" role add desk --tiers vip
	DT=$(issue_token "$D" desk dana)
	expect_exit 0 "$VIPVAULT" --vault "$D" --json unseal request --token "$DT" \
	    --records VK --reason "killed"
	RK=$(json 'd["request"]')
	expect_exit 0 "$VIPVAULT" --vault "$D" unseal approve "$RK" --manager kate --device "soft:$K/d1"
	expect_exit 0 "$VIPVAULT" --vault "$D" unseal approve "$RK" --manager leo --device "soft:$K/d2"
	run env LD_PRELOAD="$SHIM" "$VIPVAULT" --vault "$D" unseal fetch "$RK" --token "$DT"
	assert_eq "$RC" 137 "the fetch is killed at its mirror write"
	assert_not_contains "$OUT" "79035550708" "killed: no contact left"
	expect_exit 0 "$VIPVAULT" --vault "$D" compliance verify --mirror "$D/mirror" \
	    --key "$D/compliance.key"
	assert_contains "$OUT" "the mirror is behind" "verify shows the mirror behind the vault"
	expect_exit 0 "$VIPVAULT" --vault "$D" --json unseal fetch "$RK" --token "$DT"
	assert_eq "$(json 'd[0]["phone"]')" "+79035550708" "after the restart the fetch releases"
	expect_exit 0 "$VIPVAULT" --vault "$D" compliance verify --mirror "$D/mirror" \
	    --key "$D/compliance.key"
	assert_contains "$OUT" "the same" "the mirror caught up and verify passes"
else
	ok "kill test skipped: no C compiler for the fault injector"
fi

# ---- a best-effort RFC 5424 copy to a local syslog socket
SOCK=$E2E_TMP/log.sock
python3 - "$SOCK" "$E2E_TMP/syslog.out" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w") as out:
    try:
        while True:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
    except socket.timeout:
        pass
EOF
SYSLOGD=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$SOCK" ] && break; sleep 0.2; done
S=$E2E_TMP/s
expect_exit 0 "$VIPVAULT" --vault "$S" init --dev --syslog "$SOCK"
expect_exit 0 "$VIPVAULT" --vault "$S" role add crm --tiers basic
expect_exit 0 "$VIPVAULT" --vault "$S" token issue crm --user bob
sleep 0.5
kill "$SYSLOGD" 2>/dev/null; wait "$SYSLOGD" 2>/dev/null
LOG=$(cat "$E2E_TMP/syslog.out" 2>/dev/null)
assert_match "$LOG" '^<85>1 20[0-9-]+T[0-9:.]+Z [^ ]+ vipvault [0-9]+ role-added \[vipvault@32473 seq="[0-9]+" vault="[0-9a-f]{32}" outcome="ok" actor="administrator" role="crm"\]' \
    "syslog: an RFC 5424 line for the new role"
assert_contains "$LOG" "token-issued" "syslog: the token issued"
assert_not_contains "$LOG" "vv_" "syslog: no token secret"
expect_exit 1 "$VIPVAULT" --vault "$E2E_TMP/s2" init --dev --syslog relative.sock
# A socket nobody listens on changes nothing.
expect_exit 0 "$VIPVAULT" --vault "$S" role add desk --tiers vip

expect_exit 0 "$VIPVAULT" compliance --help
assert_contains "$OUT" "compliance verify"
finish
