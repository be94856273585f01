#!/usr/bin/env bash
# test_api_budgets.sh - the HTTP API's budgets through curl against a real
# server: freezes for pages, reads, distinct records and working hours,
# unfreezing, throttling of bursts (429, never a freeze), the freezes in
# the compliance log and the metrics; then canaries: where they show, who
# may see them, the alerts; and the access log.  The helpers are in
# api_lib.sh.
. "$(dirname "$0")/api_lib.sh"

# A budget counted per minute (or per hour) is a sliding estimate over
# fixed windows: checks that count to a limit start well inside a minute.
away_from_minute_edge() {
	local s
	s=$(date +%S)
	s=${s#0}
	[ "$s" -ge 50 ] && sleep $((61 - s))
	return 0
}

# wait_clog TYPE PYEXPR: polls the compliance log (--type TYPE --json)
# until PYEXPR (over d, the entries) is true, at most 10 s; OUT holds the
# last answer.
wait_clog() {
	local i r
	for ((i = 0; i < 50; i++)); do
		run "$VIPVAULT" compliance log --mirror "$V/mirror" \
		    --key "$V/compliance.key" --type "$1" --json
		if [ "$RC" -eq 0 ]; then
			r=$(j "bool($2)")
			[ "$r" = true ] && return 0
		fi
		sleep 0.2
	done
	return 1
}

# token_field TOKEN PYEXPR: PYEXPR over t, the token's entry in token
# list --json.
token_field() {
	run vvr token list --json
	j "[$2 for t in d if t[\"id\"] == \"$(tid "$1")\"][0]"
}

# =====================================================================
# 1. the vault, a role for each budget
# =====================================================================
api_vault
api_roles sales analyst salesfree
H=$(date +%H)
H=${H#0}
NIGHT_FROM=$(((H + 2) % 24))
NIGHT_TO=$(((H + 3) % 24))
api_role_add tight --tiers basic,standard,vip --own-clients-only \
    --reads-per-minute 5 --burst 0
api_role_add paged --tiers basic,standard --pages-per-hour 2 --burst 0
api_role_add distinct --tiers basic,standard --records-per-hour 3 --burst 0
api_role_add night --tiers basic,standard --burst 0 \
    --hours "$NIGHT_FROM-$NIGHT_TO"
api_role_add bursty --tiers basic,standard --burst 2
api_token SALES sales alice
api_token ANALYST analyst nora
api_token SALESFREE salesfree alice
api_token TIGHT tight alice
api_token PAGED paged pat
api_token DISTINCT distinct dina
api_token NIGHT night nick
api_token BURSTY bursty bea

start_server budgets
MAIN=$SRV
# records any basic,standard role reads
api GET "/v1/clients?limit=10" "$ANALYST"
mapfile -t STD_IDS < <(j '"\n".join(c["external_id"] for c in d["clients"])')
[ "${#STD_IDS[@]}" -eq 10 ] || fatal "analyst: a page of 10 records"

# =====================================================================
# 2. budgets and freezes
# =====================================================================
away_from_minute_edge
# ---- list pages per hour: 2
api GET "/v1/clients?limit=5" "$PAGED"
expect_status 200 "paged: page 1"
api GET "/v1/clients?limit=5&cursor=$(j 'd["next_cursor"]')" "$PAGED"
expect_status 200 "paged: page 2"
api GET "/v1/clients?limit=5&cursor=$(j 'd["next_cursor"]')" "$PAGED"
expect_error 423 frozen "paged: page 3 in an hour"
assert_contains "$(token_field "$PAGED" 't["frozen_reason"]')" "pages per hour" \
    "token list: paged's reason names pages per hour"
api GET "/v1/clients/$E0" "$PAGED"
expect_error 423 frozen "paged: a GET after the freeze"

# ---- reads per minute: 5
for i in 0 1 2 3 4; do
	api GET "/v1/clients/${ALICE_IDS[$i]}" "$TIGHT"
	expect_status 200 "tight: read $((i + 1)) of 5"
done
api GET "/v1/clients/${ALICE_IDS[5]}" "$TIGHT"
expect_error 423 frozen "tight: the 6th read in a minute"
assert_not_contains "$OUT" "external_id" "the read that froze returns no record"
assert_contains "$(j 'd["error"]["message"]')" "$(tid "$TIGHT")" "423: names the token"
api GET "/v1/clients/${ALICE_IDS[0]}" "$TIGHT"
expect_error 423 frozen "tight: a later GET of a record read before"
api GET "/v1/clients?limit=1" "$TIGHT"
expect_error 423 frozen "tight: a later list"
api GET /v1/clients/lookup "$TIGHT" -G --data-urlencode "email=$A0_EMAIL"
expect_error 423 frozen "tight: a later lookup"
mapfile -t J < <(token_field "$TIGHT" 't["frozen"]' ; token_field "$TIGHT" 't["frozen_reason"]')
assert_eq "${J[0]:-}" true "token list: tight is frozen"
assert_contains "${J[1]:-}" "reads per minute" "token list: the reason names reads per minute"
expect_exit 0 vvr token unfreeze "$(tid "$TIGHT")"
# The server still counts this minute's reads: the next one is over again.
api GET "/v1/clients/${ALICE_IDS[0]}" "$TIGHT"
expect_error 423 frozen "tight: unfrozen, but still over this minute's budget"
assert_eq "$(token_field "$TIGHT" 't["frozen"]')" true "tight: frozen again"
expect_exit 0 vvr role budget tight --reads-per-minute 1000
expect_exit 0 vvr role list --json
assert_eq "$(json '[r["budget"] for r in d if r["name"] == "tight"][0]["burst_per_second"]')" 0 \
    "role budget changes only the limit given"
expect_exit 0 vvr token unfreeze "$(tid "$TIGHT")"
api GET "/v1/clients/${ALICE_IDS[0]}" "$TIGHT"
expect_status 200 "tight: unfrozen with a larger budget, reads again"
assert_eq "$(token_field "$TIGHT" 't["frozen"]')" false "tight: not frozen"

# ---- distinct records per hour: 3
for i in 1 2 3 1 2 3 1; do
	api GET "/v1/clients/${STD_IDS[$i]}" "$DISTINCT"
	[ "$HS" = 200 ] || break
done
expect_status 200 "distinct: three records, read over and over"
api GET "/v1/clients/${STD_IDS[4]}" "$DISTINCT"
expect_error 423 frozen "distinct: a 4th distinct record"
assert_contains "$(token_field "$DISTINCT" 't["frozen_reason"]')" \
    "distinct records per hour" "token list: distinct's reason"

# ---- working hours
api GET "/v1/clients/$E0" "$NIGHT"
expect_error 423 frozen "night: a read outside $NIGHT_FROM-$NIGHT_TO"
assert_contains "$(token_field "$NIGHT" 't["frozen_reason"]')" "working hours" \
    "token list: night's reason names working hours"

# ---- burst: 2 a second slows down, never freezes
burst=()
for i in $(seq 12); do
	burst+=(-o /dev/null "$URL/v1/clients/${STD_IDS[$((i % 3))]}")
done
BURST_OUT=$(curl -sS --max-time 30 -Z --parallel-immediate --parallel-max 12 \
    -H "Authorization: Bearer $BURSTY" \
    -w '%{http_code} %header{retry-after}\n' "${burst[@]}" 2>&1)
n429=$(printf '%s\n' "$BURST_OUT" | grep -c '^429 ')
n200=$(printf '%s\n' "$BURST_OUT" | grep -c '^200 ')
[ "$n429" -ge 1 ] && ok "bursty: $n429 of 12 got 429" ||
    { fail "bursty: no 429 in a burst of 12"; _show "$BURST_OUT" 12; }
[ "$n200" -ge 1 ] && [ $((n200 + n429)) -eq 12 ] && ok "bursty: the rest 200" ||
    { fail "bursty: 200s and 429s only"; _show "$BURST_OUT" 12; }
assert_eq "$(printf '%s\n' "$BURST_OUT" | awk '$1 == 429 { print $2 }' | sort -u)" \
    1 "429: Retry-After: 1"
assert_eq "$(token_field "$BURSTY" 't["frozen"]')" false "bursty: not frozen"
sleep 1.1
api GET "/v1/clients/$E0" "$BURSTY"
expect_status 200 "bursty: a second later, served"
# ten in a row on one connection: more than 2 in some second
seq_args=()
for i in $(seq 10); do
	seq_args+=(-o "$E2E_TMP/seq$i.body" "$URL/v1/clients/${STD_IDS[$((i % 3))]}")
done
SEQ_OUT=$(curl -sS --max-time 30 -H "Authorization: Bearer $BURSTY" \
    -w '%{http_code} %header{retry-after}\n' "${seq_args[@]}" 2>&1)
first429=$(printf '%s\n' "$SEQ_OUT" | grep -n '^429 ' | head -n 1 | cut -d: -f1)
if [ -n "$first429" ]; then
	ok "bursty: 429 within ten requests in a row (request $first429)"
	OUT=$(cat "$E2E_TMP/seq$first429.body")
	HS=429
	expect_error 429 rate_limited "bursty: the 429's body"
	assert_eq "$(printf '%s\n' "$SEQ_OUT" | sed -n "${first429}p")" "429 1" \
	    "bursty: the 429 says Retry-After: 1"
else
	fail "bursty: no 429 in ten requests in a row"
	_show "$SEQ_OUT" 10
fi

# ---- the freezes in the compliance log
FREEZE_IDS="[\"$(tid "$TIGHT")\", \"$(tid "$PAGED")\", \"$(tid "$DISTINCT")\", \"$(tid "$NIGHT")\"]"
wait_clog freeze "all(sum(e.get(\"token_id\") == t for e in d) >= 1 for t in $FREEZE_IDS)"
mapfile -t J < <(j "sorted(set(e.get(\"token_id\") for e in d))" \
    "sum(e.get(\"token_id\") == \"$(tid "$TIGHT")\" for e in d)" \
    "all(e[\"actor\"] and e[\"role\"] for e in d)")
assert_eq "${J[0]:-}" "$(python3 -c "import json,sys; print(json.dumps(sorted(json.loads(sys.argv[1]))))" "$FREEZE_IDS")" \
    "compliance log: a freeze for each frozen token, none for bursty"
assert_eq "${J[1]:-}" 2 "compliance log: tight frozen twice"
assert_eq "${J[2]:-}" true "compliance log: freezes name the user and role"
run "$VIPVAULT" compliance log --mirror "$V/mirror" --key "$V/compliance.key" \
    --type unfreeze --json
assert_eq "$(j "sum(e.get(\"token_id\") == \"$(tid "$TIGHT")\" for e in d)")" 2 \
    "compliance log: two unfreezes of tight"
api GET /metrics ""
assert_match "$OUT" 'vipvault_freezes_total\{budget="reads_per_minute"\} [1-9]' "metrics: a reads freeze"
assert_match "$OUT" 'vipvault_freezes_total\{budget="working_hours"\} [1-9]' "metrics: a working-hours freeze"
assert_match "$OUT" 'vipvault_throttled_total [1-9]' "metrics: throttled requests"

# =====================================================================
# 3. canaries
# =====================================================================
expect_exit 0 vvr canary plant --owner alice --count 3 --json
mapfile -t CANARIES < <(j 'd["planted"][0]' 'd["planted"][1]' 'd["planted"][2]')
assert_eq "${#CANARIES[@]}" 3 "canary plant: three ids"
CANARY_JSON=$(printf '%s\n' "${CANARIES[@]}" | python3 -c 'import json,sys; print(json.dumps(sorted(sys.stdin.read().split())))')
expect_exit 0 vvr canary list --json
mapfile -t J < <(json 'sorted(c["external_id"] for c in d)' \
    'sorted({c["owner"] for c in d})' 'd[0]["phone"]' 'd[0]["email"]' \
    'd[0]["external_id"]')
assert_eq "${J[0]:-}|${J[1]:-}" "$CANARY_JSON|[\"alice\"]" "canary list: the three, alice's"
CANARY_PHONE=${J[2]:-none}
CANARY_EMAIL=${J[3]:-none}
CANARY0=${J[4]:-none}

all_pages "$E2E_TMP/alice-pages.jsonl" 60 "limit=100" "$SALESFREE"
expect_status 200 "salesfree (alice): every page of alice's records"
mapfile -t J < <(python3 - "$E2E_TMP/alice-pages.jsonl" "$CANARY_JSON" \
    "$RECORD_KEYS" "${ALICE_IDS[@]}" <<'EOF'
import json, sys
pages = [json.loads(l) for l in open(sys.argv[1])]
canaries = set(json.loads(sys.argv[2]))
keys = json.loads(sys.argv[3])
sample = set(sys.argv[4:])
recs = [c for p in pages for c in p["clients"]]
ids = [c["external_id"] for c in recs]
print(len(ids) == len(set(ids)))
print(ids == sorted(ids, key=lambda s: s.encode()))
print(sample <= set(ids))
print(canaries <= set(ids))
print(all(c["owner"] == "alice" for c in recs))
print(all(sorted(c) == keys for c in recs))
print(any("canar" in json.dumps(c).lower() for c in recs))
print(sorted(len(c["external_id"]) for c in recs if c["external_id"] in canaries) ==
      [len(min(sample))] * len(canaries))
EOF
)
assert_eq "${J[0]:-}" True "alice's pages: no duplicates"
assert_eq "${J[1]:-}" True "alice's pages: in order"
assert_eq "${J[2]:-}" True "alice's pages: every sample record of hers"
assert_eq "${J[3]:-}" True "alice's pages: the three canaries"
assert_eq "${J[4]:-}" True "alice's pages: all hers"
assert_eq "${J[5]:-}" True "a canary has the members of any record"
assert_eq "${J[6]:-}" False "nothing in a record says canary"
assert_eq "${J[7]:-}" True "a canary's id looks like the others"
api GET "/v1/clients/$CANARY0" "$SALES"
expect_status 200 "alice's sales token: GET of her canary"
for c in "${CANARIES[@]}"; do
	api GET "/v1/clients/$c" "$ANALYST"
	expect_error 404 not_found "analyst: GET of a canary"
done
api GET /v1/clients/lookup "$ANALYST" -G --data-urlencode "phone=$CANARY_PHONE"
expect_error 404 not_found "analyst: lookup of a canary's phone"
api GET /v1/clients/lookup "$ANALYST" -G --data-urlencode "email=$CANARY_EMAIL"
expect_error 404 not_found "analyst: lookup of a canary's e-mail"
# A page that would start at the canary, for a token that may not see it.
CUR=$(python3 -c 'import base64,sys; s=sys.argv[1]; s=s[:-1]+chr(ord(s[-1])-1); print(base64.urlsafe_b64encode(s.encode()).decode().rstrip("="))' "$CANARY0")
api GET "/v1/clients?limit=1&cursor=$CUR" "$ANALYST"
expect_status 200 "analyst: a page just before a canary"
assert_not_contains "$OUT" "\"$CANARY0\"" "analyst: the page skips the canary"
wait_clog canary "any(e[\"outcome\"] == \"denied\" and e.get(\"token_id\") == \"$(tid "$SALESFREE")\" for e in d)"
mapfile -t J < <(j "sum(e[\"outcome\"] == \"denied\" and e.get(\"token_id\") == \"$(tid "$SALESFREE")\" for e in d)" \
    "all(e[\"actor\"] == \"alice\" for e in d if e[\"outcome\"] == \"denied\")" \
    "sorted({e.get(\"token_id\") for e in d if e[\"outcome\"] == \"denied\"})")
[ "${J[0]:-0}" -ge 1 ] 2>/dev/null && ok "compliance log: canary alerts name alice's salesfree token" ||
    fail "compliance log: no canary alert for salesfree ($(tid "$SALESFREE"))"
assert_eq "${J[1]:-}" true "canary alerts: actor alice"
assert_eq "${J[2]:-}" "$(printf '%s\n' "$(tid "$SALES")" "$(tid "$SALESFREE")" |
    sort | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().split()))')" \
    "canary alerts: alice's two tokens, not the analyst's"
api GET /metrics ""
assert_not_contains "$OUT" "canary" "metrics: nothing about canaries (no token is needed to read them)"

# =====================================================================
# 4. the access log
# =====================================================================
stop_server "$MAIN"
assert_eq "$SRV_RC" 0 "budgets server: SIGTERM, exit 0"
PHONE_DIGITS="${A0_E164#+} ${E0_E164#+} ${CANARY_PHONE#+}"
check_access_log "$E2E_TMP/budgets.log" 60 "access log"
grep -q '"token_id":"'"$(tid "$TIGHT")"'","user":"alice","role":"tight"' \
    "$E2E_TMP/budgets.log" && ok "access log: token id, user and role" ||
    fail "access log: no line names alice's tight token"

expect_exit 0 vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key"
assert_contains "$OUT" "the same" "in the end: the mirror and the vault agree"
assert_not_contains "$(cat "$E2E_FAILED_STDERR")" "$CANARY_PHONE" \
    "no error message quotes a canary's phone"
api_finish
