#!/usr/bin/env bash
# test_api_failures.sh - the HTTP API server when what it stands on fails
# under it, through real servers: the compliance log cannot be written
# (a file size limit stands in for a full disk), the HSM is out of reach
# when a worker opens the vault, and the compliance mirror disappears.
# Each time: nothing is released that was not logged, the server says
# why, keeps answering, and recovers when the cause goes.  The helpers
# are in api_lib.sh.
. "$(dirname "$0")/api_lib.sh"

api_vault
# No budget: a few hundred reads in a row must not freeze the token.
api_role_add reader --tiers basic,standard --reads-per-minute 0 \
    --records-per-hour 0 --pages-per-hour 0 --burst 0
api_token READER reader nora

# verify_log VAR: the officer's verify of the vault log against the
# mirror (OUT, RC as run sets them); the number of entries in VAR.
verify_log() {
	local n
	run vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key" --json
	n=$(json 'd["entries"]' <<<"$OUT" 2>/dev/null)
	printf -v "$1" '%s' "${n:-?}"
}

# =====================================================================
# 1. The log cannot be written: every read is refused, none released
# =====================================================================
# The server may not extend files past 256 KiB (SIGXFSZ ignored, so a
# write fails with EFBIG as on a full disk).  The log's WAL grows with
# each group commit until its next commit cannot be written.
verify_log before
[[ "$before" =~ ^[0-9]+$ ]] || fatal "compliance verify before the test: $OUT"
SERVE_WRAP=(bash -c 'trap "" XFSZ; ulimit -S -f 256; exec "$@"' wrap)
start_server full
unset SERVE_WRAP
FULL=$SRV
E0_NAME=$(row "$E0" | cut -d$'\037' -f2)
got200=0 got503=0 leaked=0 other=0
for ((i = 0; i < 600 && got503 == 0; i++)); do
	api GET "/v1/clients/$E0" "$READER"
	case $HS in
	200) got200=$((got200 + 1)) ;;
	503) got503=1
	     [[ "$OUT" == *"$E0_NAME"* || "$OUT" == *"$E0_E164"* ]] && leaked=1
	     FAILED_BODY=$OUT ;;
	*) other=$((other + 1)) ;;
	esac
done
[ "$got200" -gt 0 ] && ok "full disk: $got200 reads answered while the log could grow" ||
    fail "full disk: no read answered at first"
assert_eq "$got503" 1 "full disk: a read refused once the log cannot be written"
assert_eq "$other" 0 "full disk: no status but 200 and 503"
OUT=$FAILED_BODY
expect_error 503 compliance_unavailable "full disk: the refusal"
assert_eq "$leaked" 0 "full disk: the refusal holds none of the record"
api GET /v1/health ""
expect_status 200 "full disk: health still answers"
api GET "/v1/clients/$E0" "$READER"
expect_error 503 compliance_unavailable "full disk: the next read is refused too"
assert_contains "$(cat "$E2E_TMP/full.err")" "logging reads failed" \
    "full disk: the server says why on stderr"
# The disk has room again: reads are answered and logged.
run prlimit --pid "$FULL" --fsize=unlimited:
[ "$RC" -eq 0 ] || fatal "prlimit: $ERR"
api GET "/v1/clients/$E0" "$READER"
expect_status 200 "full disk over: a read is answered again"
assert_eq "$(j 'd["name"]')" "$E0_NAME" "full disk over: the record in full"
stop_server "$FULL"
assert_eq "$SRV_RC" 0 "full disk: SIGTERM, exit 0"
verify_log after
assert_eq "$RC" 0 "full disk: compliance verify passes afterwards"
# Every answered read is in the log: the group commits merge a token's
# reads of one kind into entries, so the count is of entries, at least
# one more than before; the refused ones left no entry half-written
# (verify passed).
[[ "$after" =~ ^[0-9]+$ ]] && [ "$after" -gt "$before" ] &&
    ok "full disk: the answered reads were logged ($before -> $after entries)" ||
    fail "full disk: entries $before -> $after"

# =====================================================================
# 2. The HSM is out of reach when a worker opens the vault
# =====================================================================
# The server opens its own handles at start; each pool thread opens its
# vault at its first request.  Taking the dev token away after the start
# makes those opens fail.
start_server nohsm --threads 1
NOHSM=$SRV
mv "$V/hsm" "$V/hsm.away"
api GET "/v1/clients/$E0" "$READER"
expect_error 503 unavailable "HSM away: a read"
assert_not_contains "$OUT" "$E0_NAME" "HSM away: nothing of the record"
api GET /v1/health ""
expect_status 200 "HSM away: health still answers"
api GET /metrics ""
expect_status 200 "HSM away: metrics still answer"
mv "$V/hsm.away" "$V/hsm"
api GET "/v1/clients/$E0" "$READER"
expect_status 200 "HSM back: the read is answered"
stop_server "$NOHSM"
assert_eq "$SRV_RC" 0 "HSM away: SIGTERM, exit 0"

# =====================================================================
# 3. The compliance mirror disappears, and comes back
# =====================================================================
# Reads need only the vault's own log (the mirror follows it); the
# server says the mirror failed, and brings it up to date once it is
# back.
start_server nomirror
NOMIRROR=$SRV
mv "$V/mirror" "$V/mirror.away"
for ((i = 0; i < 5; i++)); do
	api GET "/v1/clients/$E0" "$READER"
	[ "$HS" = 200 ] || break
done
expect_status 200 "mirror away: reads are answered (logged in the vault)"
for ((i = 0; i < 50; i++)); do
	grep -q "mirror" "$E2E_TMP/nomirror.err" 2>/dev/null && break
	sleep 0.1
done
assert_contains "$(cat "$E2E_TMP/nomirror.err")" "mirror" \
    "mirror away: the server says the mirror failed"
mv "$V/mirror.away" "$V/mirror"
api GET "/v1/clients/$E0" "$READER"
expect_status 200 "mirror back: a read"
stop_server "$NOMIRROR"
assert_eq "$SRV_RC" 0 "mirror away: SIGTERM, exit 0"
expect_exit 0 vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key"
assert_contains "$OUT" "the same" "mirror back: the mirror caught up with the vault"

check_access_log "$E2E_TMP/full.log" 10 "access log of the full-disk server"
api_finish
