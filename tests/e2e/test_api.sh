#!/usr/bin/env bash
# test_api.sh - the HTTP API (vipvault serve, docs/api.md) through curl
# against real servers: every endpoint with its status codes and bodies,
# segmentation, budgets and freezes, canaries, the access log, a graceful
# stop, a kill -9 in the middle of writes, malformed and slow requests,
# and TLS.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fatal "curl is needed: apt-get install curl"
need_sample

# ---- servers: started in the background, killed at exit whatever happens
SRV_PIDS=()
_api_exit() {
	local status=$? p
	for p in "${SRV_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	(exit "$status")
	_e2e_exit
}
trap _api_exit EXIT

# start_server NAME [SERVE OPTIONS...]: serves $V on a free port; SRV is
# its pid, PORT its port, URL http://127.0.0.1:PORT; its access log is
# $E2E_TMP/NAME.log, its stderr $E2E_TMP/NAME.err.
start_server() {
	local name=$1 i
	shift
	rm -f "$E2E_TMP/$name.port"
	"$VIPVAULT" --vault "$V" serve --listen 127.0.0.1:0 \
	    --port-file "$E2E_TMP/$name.port" \
	    --access-log "$E2E_TMP/$name.log" "$@" \
	    2>>"$E2E_TMP/$name.err" </dev/null &
	SRV=$!
	SRV_PIDS+=("$SRV")
	for ((i = 0; i < 300; i++)); do
		[ -s "$E2E_TMP/$name.port" ] && break
		kill -0 "$SRV" 2>/dev/null || break
		sleep 0.1
	done
	PORT=$(cat "$E2E_TMP/$name.port" 2>/dev/null)
	if [ -z "$PORT" ]; then
		_show "$(cat "$E2E_TMP/$name.err")"
		fatal "serve $name did not start"
	fi
	URL=http://127.0.0.1:$PORT
}

# forget_server PID: it has been waited for.
forget_server() {
	local keep=() p
	for p in "${SRV_PIDS[@]}"; do
		[ "$p" != "$1" ] && keep+=("$p")
	done
	SRV_PIDS=("${keep[@]}")
}

# stop_server PID: SIGTERM, then its exit status in SRV_RC (124 when it
# is still running after 20 s: then it is killed).
stop_server() {
	local i
	kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		SRV_RC=124
	else
		wait "$1"
		SRV_RC=$?
	fi
	forget_server "$1"
}

# api METHOD PATH TOKEN [CURL ARGS...]: one request to $URL; HS is the
# status (000: no response), OUT the body, HDRS the headers (CR removed).
api() {
	local m=$1 p=$2 t=$3
	local a=()
	shift 3
	[ -n "$t" ] && a=(-H "Authorization: Bearer $t")
	: >"$E2E_TMP/.body"
	: >"$E2E_TMP/.hdrs"
	HS=$(curl -sS --max-time 30 -X "$m" -o "$E2E_TMP/.body" \
	    -D "$E2E_TMP/.hdrs" -w '%{http_code}' "${a[@]}" "$@" "$URL$p" \
	    2>"$E2E_TMP/.curlerr")
	OUT=$(cat "$E2E_TMP/.body" 2>/dev/null)
	HDRS=$(tr -d '\r' <"$E2E_TMP/.hdrs" 2>/dev/null)
}

# j EXPR...: json on $OUT, a marker instead of a traceback when $OUT is
# not JSON (so that the check comparing it fails, with the body shown).
j() {
	json "$@" 2>/dev/null || printf '<not JSON: %s>\n' "${OUT:0:120}"
}

# expect_status CODE LABEL
expect_status() {
	if [ "$HS" = "$1" ]; then
		ok "$2: HTTP $1"
		return 0
	fi
	fail "$2: HTTP $HS, want $1"
	_show "${OUT:-$(cat "$E2E_TMP/.curlerr")}" 4
	return 1
}

# expect_error STATUS CODE LABEL: the status, and an error body
# {"error":{"code":CODE,"message":...}} (matched here: python starts
# slowly, and this runs for every refusal).
expect_error() {
	local code="<not an error body: ${OUT:0:80}>"
	expect_status "$1" "$3"
	[[ "$OUT" =~ ^\{\"error\":\{\"code\":\"([a-z_]+)\",\"message\":\".+\"\}\}$ ]] &&
	    code=${BASH_REMATCH[1]}
	assert_eq "$code" "$2" "$3: code $2"
}

# header NAME: the value of a response header of the last request.
header() {
	printf '%s\n' "$HDRS" | sed -n "s/^$1: //Ip" | tail -n 1
}

# tid TOKEN: the token's public id.
tid() {
	local t=${1#vv_}
	printf '%s' "${t%%_*}"
}

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

# =====================================================================
# 1. the vault: key managers (for unseal requests), the sample, roles
# =====================================================================
V=$E2E_TMP/v
K=$E2E_TMP/keys
mkdir -m 700 "$K"
for m in kate leo mia; do
	run "$VIPVAULT" softkey create "$K/$m"
	[ "$RC" -eq 0 ] || fatal "softkey create $m (exit $RC)"
done
run "$VIPVAULT" --vault "$V" init --dev --managers kate,leo,mia \
    --threshold 2 --devices "soft:$K/kate,soft:$K/leo,soft:$K/mia"
[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "init with key managers (exit $RC)"; }
import_sample "$V"

# The burst limit is tested with its own role; the roles that many checks
# use in a row have none, so a fast machine does not get 429s.
H=$(date +%H)
H=${H#0}
NIGHT_FROM=$(((H + 2) % 24))
NIGHT_TO=$(((H + 3) % 24))
FREE=(--reads-per-minute 0 --records-per-hour 0 --pages-per-hour 0 --burst 0)
for spec in \
    "sales --tiers basic,standard,vip --own-clients-only --burst 0" \
    "analyst --tiers basic,standard --burst 0" \
    "sync --tiers basic,standard --write --burst 0" \
    "tight --tiers basic,standard,vip --own-clients-only --reads-per-minute 5 --burst 0" \
    "paged --tiers basic,standard --pages-per-hour 2 --burst 0" \
    "distinct --tiers basic,standard --records-per-hour 3 --burst 0" \
    "night --tiers basic,standard --burst 0 --hours $NIGHT_FROM-$NIGHT_TO" \
    "bursty --tiers basic,standard --burst 2" \
    "salesfree --tiers basic,standard,vip --own-clients-only ${FREE[*]}"; do
	# shellcheck disable=SC2086
	run vvr role add $spec
	[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "role add $spec (exit $RC)"; }
done
SALES=$(issue_token "$V" sales alice)
SALES_BOB=$(issue_token "$V" sales bob)
ANALYST=$(issue_token "$V" analyst nora)
SYNC=$(issue_token "$V" sync crm)
TIGHT=$(issue_token "$V" tight alice)
PAGED=$(issue_token "$V" paged pat)
DISTINCT=$(issue_token "$V" distinct dina)
NIGHT=$(issue_token "$V" night nick)
BURSTY=$(issue_token "$V" bursty bea)
SALESFREE=$(issue_token "$V" salesfree alice)
DOOMED=$(issue_token "$V" analyst rita)
ALL_TOKENS=("$SALES" "$SALES_BOB" "$ANALYST" "$SYNC" "$TIGHT" "$PAGED"
    "$DISTINCT" "$NIGHT" "$BURSTY" "$SALESFREE" "$DOOMED")
for t in "${ALL_TOKENS[@]}"; do
	[[ "$t" =~ ^vv_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$ ]] || fatal "token issue"
done

# The sample as the API shows it: id, name, phone, email, address, owner,
# phone in E.164.
sample_rows --all >"$E2E_TMP/rows.tsv"
# row ID: its line with fields split by \037 (a tab is IFS white space:
# an empty field would vanish)
row() { awk -F'\t' -v id="$1" '$1 == id' "$E2E_TMP/rows.tsv" | tr '\t' '\037'; }
mapfile -t ALICE_IDS < <(awk -F'\t' '$6 == "alice" { print $1 }' \
    "$E2E_TMP/rows.tsv" | sort)
mapfile -t ELENA_IDS < <(awk -F'\t' '$6 == "elena" { print $1 }' \
    "$E2E_TMP/rows.tsv" | sort)
[ "${#ALICE_IDS[@]}" -gt 1000 ] && [ "${#ELENA_IDS[@]}" -gt 10 ] ||
    fatal "sample: alice's and elena's records"
A0=${ALICE_IDS[0]}
IFS=$'\037' read -r _ A0_NAME A0_PHONE A0_EMAIL _ _ A0_E164 < <(row "$A0")
E0=${ELENA_IDS[0]}
IFS=$'\037' read -r _ _ E0_PHONE E0_EMAIL _ _ E0_E164 < <(row "$E0")

start_server main
MAIN=$SRV

# =====================================================================
# 2. every endpoint
# =====================================================================
# ---- health and metrics: no token
api GET /v1/health ""
expect_status 200 "health"
assert_eq "$(j 'd["status"]')" ok "health: status ok"
assert_match "$(header X-Request-Id)" '^[0-9a-f]{16}$' "health: an X-Request-Id"
api GET /metrics ""
expect_status 200 "metrics"
assert_contains "$OUT" "vipvault_http_requests_total{" "metrics: request counter"
assert_match "$(header Content-Type)" '^text/plain' "metrics: Prometheus text"

# ---- one record
api GET "/v1/clients/$A0" "$SALES"
expect_status 200 "GET own standard/basic record"
mapfile -t J < <(j 'd["external_id"]' 'd["owner"]' 'd["name"]' 'd["phone"]' \
    'd["email"]' 'd["masked"]' 'd["tier"] in ("basic", "standard")' \
    'sorted(d)')
assert_eq "${J[0]:-}" "$A0" "GET: external_id"
assert_eq "${J[1]:-}" alice "GET: owner"
assert_eq "${J[2]:-}" "$A0_NAME" "GET: the sample's name"
assert_eq "${J[3]:-}" "$A0_E164" "GET: the sample's phone, E.164"
assert_eq "${J[4]:-}" "$A0_EMAIL" "GET: the sample's e-mail"
assert_eq "${J[5]:-}" '[]' "GET: nothing masked below VIP"
assert_eq "${J[6]:-}" true "GET: tier basic or standard"
RECORD_KEYS=${J[7]:-}
assert_eq "$RECORD_KEYS" '["address", "annual_spend", "client_since", "email", "external_id", "masked", "name", "notes", "owner", "phone", "pinned", "preferences", "tier"]' \
    "GET: the record's members"
api GET "/v1/clients/$E0" "$ANALYST"
expect_status 200 "GET another owner's basic/standard record (analyst)"
mapfile -t J < <(j 'd["owner"]' 'd["phone"]' 'd["email"]' 'd["masked"]')
assert_eq "${J[0]:-}|${J[1]:-}|${J[2]:-}|${J[3]:-}" \
    "elena|$E0_E164|$E0_EMAIL|[]" "analyst: elena's record in full"

# ---- a page of alice's VIP records, followed to the end
: >"$E2E_TMP/vip-pages.jsonl"
cursor=
for ((pages = 1; pages <= 50; pages++)); do
	api GET "/v1/clients?tier=vip&limit=20${cursor:+&cursor=$cursor}" "$SALES"
	[ "$HS" = 200 ] || break
	printf '%s\n' "$OUT" >>"$E2E_TMP/vip-pages.jsonl"
	cursor=$(j 'd["next_cursor"] or ""')
	[ -n "$cursor" ] || break
done
expect_status 200 "list: every page of alice's VIP records"
mapfile -t J < <(python3 - "$E2E_TMP/vip-pages.jsonl" <<'EOF'
import json, sys
pages = [json.loads(l) for l in open(sys.argv[1])]
ids = [c["external_id"] for p in pages for c in p["clients"]]
print(len(pages))
print(all(len(p["clients"]) == 20 for p in pages[:-1]) and
      1 <= len(pages[-1]["clients"]) <= 20)
print(len(ids) == len(set(ids)))
print(ids == sorted(ids, key=lambda s: s.encode()))
print(all(c["owner"] == "alice" and c["tier"] == "vip"
          for p in pages for c in p["clients"]))
print(all(c["masked"] == ["phone", "email", "address"]
          for p in pages for c in p["clients"]))
print(pages[-1]["next_cursor"] is None)
print(" ".join(ids))
EOF
)
[ "${J[0]:-0}" -ge 3 ] && ok "list: several pages (${J[0]:-0})" ||
    fail "list: ${J[0]:-0} pages of alice's VIPs, want at least 3"
assert_eq "${J[1]:-}" True "list: full pages of 20 but the last"
assert_eq "${J[2]:-}" True "list: no record on two pages"
assert_eq "${J[3]:-}" True "list: external id (byte) order across pages"
assert_eq "${J[4]:-}" True "list: only alice's VIP records"
assert_eq "${J[5]:-}" True "list: VIP contacts masked"
assert_eq "${J[6]:-}" True "list: the last page has no next_cursor"
read -r -a VIP_IDS <<<"${J[7]:-}"
expect_exit 0 vvr --json list --token "$SALESFREE" --tier vip
assert_eq "$(json '" ".join(sorted(r["external_id"] for r in d))')" \
    "${J[7]:-}" "list: the pages hold what the CLI lists for alice"
VIP=${VIP_IDS[0]:-none}
IFS=$'\037' read -r _ VIP_NAME VIP_PHONE VIP_EMAIL VIP_ADDR _ VIP_E164 < <(row "$VIP")

api GET "/v1/clients/$VIP" "$SALES"
expect_status 200 "GET alice's VIP record"
mapfile -t J < <(j 'd["masked"]' 'd["phone"]' 'd["email"]' 'd["address"]' \
    'd["name"]' 'd["tier"]')
assert_eq "${J[0]:-}" '["phone", "email", "address"]' "VIP: masked members"
[ -n "${J[1]:-}" ] && [ "${J[1]}" != "$VIP_PHONE" ] &&
    [ "${J[1]}" != "$VIP_E164" ] && ok "VIP: the phone is not the sample's" ||
    fail "VIP: phone '${J[1]:-}' is not masked"
[ "${J[2]:-}" != "$VIP_EMAIL" ] && [ "${J[3]:-}" != "$VIP_ADDR" ] &&
    ok "VIP: e-mail and address masked" || fail "VIP: e-mail or address in clear"
assert_eq "${J[4]:-}|${J[5]:-}" "$VIP_NAME|vip" "VIP: the name and tier in clear"

# ---- list parameters
api GET "/v1/clients?limit=101" "$SALES"
expect_error 400 invalid_field "list limit=101"
assert_contains "$(j 'd["error"]["message"]')" limit "limit=101: the message names limit"
api GET "/v1/clients?limit=0" "$SALES"
expect_error 400 invalid_field "list limit=0"
api GET "/v1/clients?limit=ten" "$SALES"
expect_error 400 invalid_field "list limit=ten"
api GET "/v1/clients?tier=gold" "$SALES"
expect_error 400 invalid_field "list tier=gold"
api GET "/v1/clients?cursor=%21%21not-base64%21%21" "$SALES"
expect_error 400 invalid_field "list with a bad cursor"
api GET "/v1/clients?tier=vip&limit=5" "$ANALYST"
expect_error 403 forbidden "analyst: list tier=vip"
api GET "/v1/clients?limit=10" "$ANALYST"
expect_status 200 "analyst: list without a tier"
assert_eq "$(j 'sorted({c["tier"] for c in d["clients"]} - {"basic", "standard"})')" \
    '[]' "analyst: a page without VIP records"
# records any basic,standard role reads, for the budget checks
mapfile -t STD_IDS < <(j '"\n".join(c["external_id"] for c in d["clients"])')
[ "${#STD_IDS[@]}" -eq 10 ] || fatal "analyst: a page of 10 records"

# ---- lookups
api GET /v1/clients/lookup "$SALES" -G --data-urlencode "phone=$A0_PHONE"
expect_status 200 "lookup by phone (as the sample writes it)"
mapfile -t J < <(j '[m["external_id"] for m in d["matches"]]' \
    'd["matches"][0]["phone"]' 'sorted(d["matches"][0])')
assert_contains "${J[0]:-}" "\"$A0\"" "lookup phone: the record matches"
[ -n "${J[1]:-}" ] && [ "${J[1]}" != "$A0_E164" ] &&
    [ "${J[1]}" != "$A0_PHONE" ] && [[ "${J[1]}" == *"*"* ]] &&
    ok "lookup phone: the phone comes back masked" ||
    fail "lookup phone: '${J[1]:-}' is not a masked phone"
assert_eq "${J[2]:-}" '["external_id", "phone", "tier"]' "lookup: a match's members"
api GET /v1/clients/lookup "$SALES" -G --data-urlencode "email=${A0_EMAIL^^}"
expect_status 200 "lookup by e-mail, other case"
mapfile -t J < <(j '[m["external_id"] for m in d["matches"]]' \
    'd["matches"][0]["email"]')
assert_contains "${J[0]:-}" "\"$A0\"" "lookup e-mail: the record matches"
[ -n "${J[1]:-}" ] && [ "${J[1]}" != "$A0_EMAIL" ] && [[ "${J[1]}" == *"*"* ]] &&
    ok "lookup e-mail: masked" || fail "lookup e-mail: '${J[1]:-}' is not masked"
api GET /v1/clients/lookup "$SALES" -G --data-urlencode "phone=$A0_PHONE" \
    --data-urlencode "email=$A0_EMAIL"
expect_error 400 bad_request "lookup with phone and email"
api GET /v1/clients/lookup "$SALES"
expect_error 400 bad_request "lookup with neither"
api GET /v1/clients/lookup "$SALES" -G --data-urlencode "phone=555-0199"
expect_error 400 invalid_field "lookup: a phone without country code"
api GET /v1/clients/lookup "$SALES" -G --data-urlencode "email=not-an-address"
expect_error 400 invalid_field "lookup: a malformed e-mail"
api GET /v1/clients/lookup "$SALES" -G --data-urlencode "phone=+1 212 555 0000"
expect_error 404 not_found "lookup: no match"

# ---- PUT
put_body() { # owner name phone notes
	printf '{"owner":"%s","name":"%s","phone":"%s","email":"jane.roe@example.com","address":"1 Market St, London","notes":"%s","preferences":"email first","annual_spend":"12345.67","client_since":"2019-04-01"}' \
	    "$1" "$2" "$3" "$4"
}
PUTH=(-H 'Content-Type: application/json')
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" \
    -d "$(put_body alice 'Jane Roe' '+44 20 7946 0958' 'call before noon')"
expect_status 201 "PUT a new record"
mapfile -t J < <(j 'd["external_id"]' 'd["created"]' 'd["tier"]')
assert_eq "${J[0]:-}|${J[1]:-}" "C900001|true" "PUT new: created true"
assert_match "${J[2]:-}" '^(basic|standard|vip)$' "PUT new: the tier"
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" \
    -d "$(put_body alice 'Jane Roe-Smith' '+44 20 7946 0999' 'call after noon')"
expect_status 200 "PUT the same record again"
assert_eq "$(j 'd["created"]')" false "PUT update: created false"
api GET /v1/clients/C900001 "$SYNC"
expect_status 200 "GET the updated record"
mapfile -t J < <(j 'd["name"]' 'd["phone"]' 'd["notes"]' 'd["owner"]')
assert_eq "${J[0]:-}|${J[1]:-}|${J[2]:-}|${J[3]:-}" \
    "Jane Roe-Smith|+442079460999|call after noon|alice" "GET: the new values"
api PUT /v1/clients/C900001 "$SALES" "${PUTH[@]}" \
    -d "$(put_body alice 'Jane Roe' '+44 20 7946 0958' x)"
expect_error 403 forbidden "PUT with a role without --write"
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" -d '{"owner": "alice", "name":'
expect_error 400 invalid_json "PUT invalid JSON"
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" -d '["owner", "alice"]'
expect_error 400 invalid_json "PUT a JSON array"
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" \
    -d '{"owner":"alice","name":"J","annual_spend":"1.00","client_since":"2019-04-01","ssn":"1"}'
expect_error 400 invalid_field "PUT an unknown member"
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" \
    -d '{"name":"J","annual_spend":"1.00","client_since":"2019-04-01"}'
expect_error 400 invalid_field "PUT without owner"
assert_contains "$(j 'd["error"]["message"]')" owner "PUT without owner: the message names owner"
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" \
    -d '{"owner":"alice","name":"J","annual_spend":"12x.SECRET","client_since":"2019-04-01"}'
expect_error 400 invalid_field "PUT a bad amount"
assert_contains "$(j 'd["error"]["message"]')" annual_spend "bad amount: the message names the field"
assert_not_contains "$OUT" "SECRET" "bad amount: the message does not quote the value"
# 64 KiB of body is the limit: JSON padded with spaces to 65536 and 65537.
pad_body() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
b = json.dumps({"owner": "alice", "name": "Pad Ding", "annual_spend": "10.00",
                "client_since": "2020-01-01"})
n = int(sys.argv[2])
open(sys.argv[1], "w").write(b[:-1] + " " * (n - len(b)) + "}")
EOF
}
pad_body "$E2E_TMP/64k.json" 65536
pad_body "$E2E_TMP/64k1.json" 65537
api PUT /v1/clients/C900002 "$SYNC" "${PUTH[@]}" --data-binary "@$E2E_TMP/64k.json"
expect_status 201 "PUT a body of exactly 64 KiB"
api PUT /v1/clients/C900002 "$SYNC" "${PUTH[@]}" --data-binary "@$E2E_TMP/64k1.json"
expect_error 413 payload_too_large "PUT a body of 64 KiB + 1"
api PUT /v1/clients/C900002 "$SYNC" "${PUTH[@]}" -H 'Transfer-Encoding: chunked' \
    --data-binary "@$E2E_TMP/64k1.json"
expect_error 413 payload_too_large "PUT 64 KiB + 1, chunked (no Content-Length)"
api PUT "/v1/clients/$VIP" "$SYNC" "${PUTH[@]}" \
    -d "$(put_body alice 'Over Write' '+44 20 7946 0958' x)"
expect_error 403 forbidden "PUT over a VIP record by a role that does not read vip"
api GET "/v1/clients/$VIP" "$SALES"
assert_eq "$(j 'd["name"]')" "$VIP_NAME" "the refused PUT changed nothing"

# ---- unseal requests
api POST /v1/unseal-requests "$SALES" "${PUTH[@]}" \
    -d "{\"records\":[\"$VIP\"],\"reason\":\"renewal calls\",\"ttl_seconds\":900}"
expect_status 201 "POST an unseal request"
mapfile -t J < <(j 'd["id"]' 'd["state"]' 'd["threshold"]' 'd["records"]')
REQ=${J[0]:-none}
assert_match "$REQ" '^[0-9a-f]{32}$' "unseal: a 32-hex id"
assert_eq "${J[1]:-}|${J[2]:-}|${J[3]:-}" "pending|2|[\"$VIP\"]" "unseal: pending, threshold 2"
api GET "/v1/unseal-requests/$REQ" "$SALES"
expect_status 200 "GET the request"
mapfile -t J < <(j 'd["state"]' 'd["approvals"]' 'd["reason"]')
assert_eq "${J[0]:-}|${J[1]:-}|${J[2]:-}" "pending|0|renewal calls" "request: pending, no approval"
api GET "/v1/unseal-requests/$REQ/result" "$SALES"
expect_error 409 not_approved "result before the approvals"
api POST /v1/unseal-requests "$SALES" "${PUTH[@]}" \
    -d "{\"records\":[\"$A0\"],\"reason\":\"not vip\"}"
expect_error 400 invalid_field "unseal request for a record that is not VIP"
api POST /v1/unseal-requests "$SALES" "${PUTH[@]}" -d 'records=1'
expect_error 400 invalid_json "unseal request that is not JSON"
api POST /v1/unseal-requests "$ANALYST" "${PUTH[@]}" \
    -d "{\"records\":[\"$VIP\"],\"reason\":\"no vip role\"}"
[[ "$HS" == 40[34] ]] && ok "unseal request by a role without vip: refused ($HS)" ||
    fail "unseal request by a role without vip: HTTP $HS"
expect_exit 0 vvr unseal approve "$REQ" --manager kate --device "soft:$K/kate"
expect_exit 0 vvr unseal approve "$REQ" --manager leo --device "soft:$K/leo"
assert_contains "$OUT" "complete" "the second approval completes the request"
api GET "/v1/unseal-requests/$REQ" "$SALES"
assert_eq "$(j 'd["state"]')|$(j 'd["approvals"]')" "approved|2" "request: approved"
api GET "/v1/unseal-requests/$REQ" "$SALES_BOB"
expect_error 404 not_found "another user's token: GET of the request"
api GET "/v1/unseal-requests/$REQ/result" "$SALES_BOB"
expect_error 404 not_found "another user's token: the result"
api HEAD "/v1/unseal-requests/$REQ/result" "$SALES" -I
expect_status 405 "HEAD of the result (would spend the one fetch)"
api GET "/v1/unseal-requests/$REQ/result" "$SALES"
expect_status 200 "the result once approved"
mapfile -t J < <(j 'd["id"]' '[c["external_id"] for c in d["contacts"]]' \
    'd["contacts"][0]["phone"]' 'd["contacts"][0]["email"]')
assert_eq "${J[0]:-}|${J[1]:-}" "$REQ|[\"$VIP\"]" "result: the request's record"
assert_eq "${J[2]:-}" "$VIP_E164" "result: the sample's real phone"
assert_eq "${J[3]:-}" "$VIP_EMAIL" "result: the sample's real e-mail"
api GET "/v1/unseal-requests/$REQ/result" "$SALES"
expect_error 409 already_fetched "a second fetch"
assert_not_contains "$OUT" "$VIP_E164" "a second fetch releases nothing"
api GET "/v1/unseal-requests/$REQ" "$SALES"
assert_eq "$(j 'd["state"]')" fetched "request: fetched"
api GET /v1/unseal-requests/00112233445566778899aabbccddeeff "$SALES"
expect_error 404 not_found "GET of a request that does not exist"

# ---- routes, methods, tokens
api GET /v1/nothing-here "$SALES"
expect_error 404 not_found "unknown path"
api GET /v2/clients "" 
expect_error 404 not_found "unknown path, no token"
api DELETE "/v1/clients/$A0" "$SALES"
expect_error 405 method_not_allowed "DELETE a record"
assert_match "$(header Allow)" 'GET' "405: Allow names GET"
assert_match "$(header Allow)" 'PUT' "405: Allow names PUT"
api POST "/v1/clients/$A0" "$SALES" "${PUTH[@]}" -d '{}'
expect_error 405 method_not_allowed "POST a record"
assert_match "$(header Allow)" '^GET, HEAD, PUT$' "405: Allow: GET, HEAD, PUT"
api GET /v1/unseal-requests "$SALES"
expect_error 405 method_not_allowed "GET the unseal collection"
assert_eq "$(header Allow)" POST "405: Allow: POST"
api GET "/v1/clients/$A0" ""
expect_error 401 unauthorized "no token"
assert_match "$(header WWW-Authenticate)" '^Bearer' "401: WWW-Authenticate: Bearer"
NOTOKEN_BODY=$OUT
api GET "/v1/clients/$A0" "garbage"
expect_error 401 unauthorized "a garbage token"
GARBAGE_BODY=$OUT
assert_eq "$NOTOKEN_BODY" "$GARBAGE_BODY" "no token and a garbage token: the same answer"
assert_match "$(header WWW-Authenticate)" '^Bearer' "401 (garbage): WWW-Authenticate"
api GET "/v1/clients/$A0" "vv_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect_error 401 unauthorized "a well-formed unknown token"
assert_eq "$OUT" "$GARBAGE_BODY" "unknown and garbage tokens: the same answer"
api GET "/v1/clients/$A0" "" -H "Authorization: Basic $(printf 'a:b' | base64)"
expect_error 401 unauthorized "Basic instead of Bearer"
assert_eq "$OUT" "$GARBAGE_BODY" "Basic and garbage: the same answer"
# a token in use (cached by the workers), then revoked
for i in 1 2 3; do
	api GET "/v1/clients/$E0" "$DOOMED"
	expect_status 200 "token before its revocation ($i)"
done
expect_exit 0 vvr token revoke "$(tid "$DOOMED")"
for i in 1 2 3 4; do
	api GET "/v1/clients/$E0" "$DOOMED"
	expect_error 401 unauthorized "revoked token ($i)"
done
assert_eq "$OUT" "$GARBAGE_BODY" "revoked and garbage tokens: the same answer"

# =====================================================================
# 3. segmentation: alice's own-clients-only token
# =====================================================================
api GET "/v1/clients/$E0" "$SALES"
expect_error 404 not_found "alice: another owner's record"
OTHER_BODY=$OUT
api GET /v1/clients/C000000X "$SALES"
expect_error 404 not_found "alice: a record that does not exist"
assert_eq "$OTHER_BODY" "$OUT" "another owner's record and none: the same answer"
api GET "/v1/clients?limit=50" "$SALES"
expect_status 200 "alice: a page of every tier"
mapfile -t J < <(j 'len(d["clients"])' 'sorted({c["owner"] for c in d["clients"]})')
assert_eq "${J[0]:-}|${J[1]:-}" '50|["alice"]' "alice's page: 50 records, all hers"
api GET "/v1/clients?owner=bob" "$SALES"
expect_status 200 "alice: list owner=bob"
assert_eq "$(j 'd["clients"]')|$(j 'd["next_cursor"]')" '[]|null' "owner=bob: an empty page"
api GET /v1/clients/lookup "$SALES" -G --data-urlencode "phone=$E0_PHONE"
expect_error 404 not_found "alice: lookup of elena's phone"
api GET /v1/clients/lookup "$SALES" -G --data-urlencode "email=$E0_EMAIL"
expect_error 404 not_found "alice: lookup of elena's e-mail"
api GET /v1/clients/lookup "$ANALYST" -G --data-urlencode "email=$E0_EMAIL"
expect_status 200 "analyst (all owners): the same lookup matches"

# =====================================================================
# 4. budgets and freezes
# =====================================================================
token_field() { # TOKEN PYEXPR over t, the token's entry in token list --json
	run vvr token list --json
	j "[$2 for t in d if t[\"id\"] == \"$(tid "$1")\"][0]"
}
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
# 5. canaries
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

: >"$E2E_TMP/alice-pages.jsonl"
cursor=
for ((pages = 1; pages <= 60; pages++)); do
	api GET "/v1/clients?limit=100${cursor:+&cursor=$cursor}" "$SALESFREE"
	[ "$HS" = 200 ] || break
	printf '%s\n' "$OUT" >>"$E2E_TMP/alice-pages.jsonl"
	cursor=$(j 'd["next_cursor"] or ""')
	[ -n "$cursor" ] || break
done
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
# 6. the access log of the main server
# =====================================================================
check_access_log() { # FILE MIN_LINES LABEL
	local secrets=() t
	for t in "${ALL_TOKENS[@]}"; do
		secrets+=("${t:20}")
	done
	mapfile -t J < <(python3 - "$1" "$2" "$PHONE_DIGITS" "${secrets[@]}" <<'EOF'
import json, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
routes = {"other", "/v1/health", "/metrics", "/v1/clients/{id}", "/v1/clients",
          "/v1/clients/lookup", "/v1/unseal-requests",
          "/v1/unseal-requests/{id}", "/v1/unseal-requests/{id}/result"}
keys = ["time", "request_id", "method", "route", "status", "duration_us",
        "token_id", "user", "role", "bytes"]
bad_json = bad_keys = bad_route = 0
for l in lines:
    try:
        d = json.loads(l)
    except ValueError:
        bad_json += 1
        continue
    if sorted(d) != sorted(keys):
        bad_keys += 1
    if d.get("route") not in routes:
        bad_route += 1
text = "\n".join(lines)
print(len(lines))
print(bad_json, bad_keys, bad_route)
print(len(re.findall(r"[CK][0-9]{6}", text)))
print(len(re.findall(r"\+[0-9]|@|%2B", text)) +
      sum(text.count(p) for p in sys.argv[3].split()))
print(sum(text.count(s) for s in sys.argv[4:]) + text.count("vv_"))
print(len({json.loads(l)["route"] for l in lines if l.startswith("{")}))
EOF
)
	local min=$2
	shift 2
	[ "${J[0]:-0}" -ge "$min" ] && ok "$1: ${J[0]:-0} lines" || fail "$1: ${J[0]:-0} lines"
	assert_eq "${J[1]:-}" "0 0 0" "$1: every line JSON with the documented members and a route template"
	assert_eq "${J[2]:-}" 0 "$1: no client id"
	assert_eq "${J[3]:-}" 0 "$1: no phone number or e-mail address"
	assert_eq "${J[4]:-}" 0 "$1: no token secret"
}
PHONE_DIGITS="${A0_E164#+} ${E0_E164#+} ${VIP_E164#+} ${CANARY_PHONE#+} 442079460958 442079460999"
check_access_log "$E2E_TMP/main.log" 100 "access log"
assert_eq "${J[5]:-}" 9 "access log: every route seen"
grep -q '"token_id":"'"$(tid "$SALES")"'","user":"alice","role":"sales"' \
    "$E2E_TMP/main.log" && ok "access log: token id, user and role" ||
    fail "access log: no line names alice's sales token"

# =====================================================================
# 7. graceful stop
# =====================================================================
# a) Requests pinned in flight: each sends its headers with "Expect:
# 100-continue" and waits for "100 Continue" (the server has begun it)
# before SIGTERM; then the bodies follow.  Every one must be answered in
# full; a health check on an open connection says "stopping"; new
# connections are refused.
stop_server "$MAIN"
assert_eq "$SRV_RC" 0 "main server: SIGTERM, exit 0"
start_server stop1
python3 - "$PORT" "$SRV" "$SYNC" "$SALESFREE" >"$E2E_TMP/stop1.out" \
    2>"$E2E_TMP/stop1.py.err" <<'EOF'
import json, os, signal, socket, sys, time
port, pid, sync, reader = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.settimeout(20)
    return s

def read_response(s):
    """A whole response (Content-Length): status, body; None if cut."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None, buf
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    if status == 100:
        return 100, body
    n = int(hdr.get("content-length", "-1"))
    while len(body) < n:
        d = s.recv(65536)
        if not d:
            return None, body
        body += d
    return status, body

conns = []
for i in range(20):
    s = connect()
    if i % 2 == 0:
        body = json.dumps({"owner": "alice", "name": "Stop %d" % i,
                           "annual_spend": "10.00", "client_since": "2020-01-01"}).encode()
        req = ("PUT /v1/clients/S%06d HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\n" % (i, sync)).encode()
    else:
        body = b"{}"
        req = ("GET /v1/clients?limit=100 HTTP/1.1\r\nHost: t\r\n"
               "Authorization: Bearer %s\r\n" % reader).encode()
    s.sendall(req + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    conns.append((i, s, body))
for i, s, body in conns:
    st, rest = read_response(s)
    print("continue", i, st)
keep = connect()
keep.sendall(b"GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
print("health-before", read_response(keep)[0])
for i, s, body in conns:
    s.sendall(body[:1])
os.kill(pid, signal.SIGTERM)
refused = False
for _ in range(100):
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=1)
        c.close()
        time.sleep(0.05)
    except OSError:
        refused = True
        break
print("refused", refused)
keep.sendall(b"GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
st, body = read_response(keep)
print("health-during", st, body.decode().strip())
for i, s, body in conns:
    s.sendall(body[1:])
for i, s, body in conns:
    try:
        st, b = read_response(s)
    except OSError as e:
        st, b = None, str(e).encode()
    if st == 200 and i % 2 == 1:
        try:
            n = len(json.loads(b)["clients"])
        except ValueError:
            n = -1
        print("done", i, st, n)
    else:
        print("done", i, st, 0)
EOF
STOP1=$(cat "$E2E_TMP/stop1.out")
assert_eq "$(grep -c '^continue [0-9]* 100$' <<<"$STOP1")" 20 \
    "stop: 20 requests begun (100 Continue) before SIGTERM"
assert_contains "$STOP1" "health-before 200" "stop: health before"
assert_contains "$STOP1" "refused True" "stop: new connections refused after SIGTERM"
assert_contains "$STOP1" 'health-during 503 {"status":"stopping"}' \
    "stop: health on an open connection: 503 stopping"
assert_eq "$(grep -cE '^done [0-9]*[02468] 201 0$' <<<"$STOP1")" 10 \
    "stop: the 10 PUTs in flight answered 201"
assert_eq "$(grep -cE '^done [0-9]*[13579] 200 100$' <<<"$STOP1")" 10 \
    "stop: the 10 lists in flight answered 200 with 100 records each"
[ -s "$E2E_TMP/stop1.py.err" ] && { fail "stop: the client failed"; _show "$(cat "$E2E_TMP/stop1.py.err")"; }
for ((i = 0; i < 150; i++)); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; done
stop_server "$SRV"
assert_eq "$SRV_RC" 0 "stop: the server exits 0 once they are answered"
assert_contains "$(cat "$E2E_TMP/stop1.err")" "stopped" "stop: the server says it stopped"

# b) 20 curls of a list at once, SIGTERM right behind them: a request the
# server began is answered in full; one it had not begun (not accepted
# yet) may be refused or reset, never cut short.
start_server stop2
pids=()
for i in $(seq 20); do
	(
		curl -sS --max-time 30 -o "$E2E_TMP/c$i.body" -w '%{http_code}' \
		    -H "Authorization: Bearer $SALESFREE" \
		    "$URL/v1/clients?limit=100" >"$E2E_TMP/c$i.code" 2>/dev/null
		echo $? >"$E2E_TMP/c$i.rc"
	) &
	pids+=($!)
done
sleep 0.2
STOP2=$SRV
kill -TERM "$STOP2"
wait "${pids[@]}"
stop_server "$STOP2"
assert_eq "$SRV_RC" 0 "stop (curls): the server exits 0"
served=0 unserved=0 bad=0
for i in $(seq 20); do
	rc=$(cat "$E2E_TMP/c$i.rc")
	code=$(cat "$E2E_TMP/c$i.code")
	if [ "$rc" = 0 ] && [ "$code" = 200 ] && python3 -c '
import json, sys
assert len(json.load(open(sys.argv[1]))["clients"]) == 100' "$E2E_TMP/c$i.body" 2>/dev/null; then
		served=$((served + 1))
	elif [ "$code" = 000 ] && [ ! -s "$E2E_TMP/c$i.body" ] &&
	    { [ "$rc" = 7 ] || [ "$rc" = 52 ] || [ "$rc" = 55 ] || [ "$rc" = 56 ]; }; then
		unserved=$((unserved + 1))
	else
		bad=$((bad + 1))
		echo "      curl $i: exit $rc, HTTP $code" >&2
	fi
done
assert_eq "$bad" 0 "stop (curls): $served complete 200s, $unserved not let in, none cut short"
# the server began each served request: its access log line says 200
assert_eq "$(grep -c '"status":200' "$E2E_TMP/stop2.log")" "$served" \
    "stop (curls): the access log has a 200 for each complete response"
[ "$(grep -vc '"status":200' "$E2E_TMP/stop2.log")" -eq 0 ] &&
    ok "stop (curls): no request logged as cut (499)" ||
    fail "stop (curls): $(grep -v '"status":200' "$E2E_TMP/stop2.log" | head -3)"
expect_exit 0 vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key"
assert_contains "$OUT" "the same" "after the stops: the mirror and the vault agree"

# =====================================================================
# 8. kill -9 in the middle of writes
# =====================================================================
start_server kill1
KILL1=$SRV
cat >"$E2E_TMP/putloop.py" <<'EOF'
import http.client, json, sys
port, tok, prefix, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
out = open(log, "w", buffering=1)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
for i in range(100000):
    rid = "%s%05d" % (prefix, i // 2)       # created, then updated
    body = json.dumps({"owner": "alice", "name": "Kill %s %d" % (prefix, i),
        "phone": "+7 903 %03d %02d %02d" % (i % 1000, i % 97, i % 89),
        "notes": "version %d" % i, "annual_spend": "100.00",
        "client_since": "2020-01-01"})
    out.write("sent %s %d\n" % (rid, i))
    try:
        c.request("PUT", "/v1/clients/" + rid, body,
                  {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
    except Exception as e:
        out.write("cut %s %d\n" % (rid, i))
        break
    out.write("ack %s %d %d %s\n" % (rid, i, r.status, data.decode().strip()))
EOF
loops=()
for p in KA KB KC; do
	python3 "$E2E_TMP/putloop.py" "$PORT" "$SYNC" "$p" "$E2E_TMP/put-$p.log" &
	loops+=($!)
done
for ((i = 0; i < 300; i++)); do
	[ "$(cat "$E2E_TMP"/put-K?.log 2>/dev/null | grep -c '^ack ')" -ge 60 ] && break
	sleep 0.1
done
kill -KILL "$KILL1"
wait "$KILL1" 2>/dev/null
forget_server "$KILL1"
wait "${loops[@]}"
ACKS=$(cat "$E2E_TMP"/put-K?.log | grep -c '^ack ')
[ "$ACKS" -ge 60 ] && ok "kill: $ACKS writes acknowledged before kill -9" ||
    fail "kill: only $ACKS writes acknowledged"
assert_eq "$(cat "$E2E_TMP"/put-K?.log | grep -c '^cut ')" 3 "kill: every writer was cut off"
assert_eq "$(cat "$E2E_TMP"/put-K?.log | grep '^ack ' | grep -cvE '^ack \S+ [0-9]+ 20[01] ')" 0 \
    "kill: every acknowledged write was 200 or 201"
expect_exit 0 vvr --json list --token "$SALESFREE" --tier basic
[ "$(json 'len(d)')" -gt 100 ] && ok "kill: the vault opens and lists" ||
    fail "kill: the list after the kill"
expect_exit 0 vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key"
start_server kill2
KILL2=$SRV
# Every acknowledged write reads back with its value; the write in flight
# at the kill is there whole or not at all.
python3 - "$PORT" "$SALESFREE" "$E2E_TMP"/put-K?.log >"$E2E_TMP/kill.out" <<'EOF'
import http.client, json, re, sys
port, tok = int(sys.argv[1]), sys.argv[2]
want = {}       # id -> (last acknowledged version, version in flight or None)
for path in sys.argv[3:]:
    acked, inflight = {}, {}
    for l in open(path):
        f = l.split()
        if f[0] == "ack":
            acked[f[1]] = int(f[2])
            inflight.pop(f[1], None)
        elif f[0] in ("sent", "cut"):
            inflight[f[1]] = int(f[2])
    for rid in set(acked) | set(inflight):
        a = acked.get(rid)
        i = inflight.get(rid)
        want[rid] = (a, i if i is not None and (a is None or i > a) else None)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
good = bad = 0
for rid, (a, i) in sorted(want.items()):
    c.request("GET", "/v1/clients/" + rid, headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    body = r.read()
    if r.status == 404:
        ok = a is None
        got = None
    elif r.status == 200:
        d = json.loads(body)
        m = re.fullmatch(r"Kill (\S+) (\d+)", d["name"])
        v = int(m.group(2)) if m else -1
        got = v
        ok = (v == a or (i is not None and v == i)) and \
            d["notes"] == "version %d" % v and \
            d["phone"] == "+7903%03d%02d%02d" % (v % 1000, v % 97, v % 89)
    else:
        ok, got = False, r.status
    if ok:
        good += 1
    else:
        bad += 1
        print("bad", rid, a, i, got)
print("checked", good, bad)
EOF
KILL_OUT=$(cat "$E2E_TMP/kill.out")
assert_match "$KILL_OUT" "^checked [0-9]+ 0$" "kill: every acknowledged record reads back whole, with its last value"
[ "$(awk '/^checked/ { print $2 }' <<<"$KILL_OUT")" -ge 30 ] 2>/dev/null &&
    ok "kill: checked $(awk '/^checked/ { print $2 }' <<<"$KILL_OUT") records" ||
    { fail "kill: too few records checked"; _show "$KILL_OUT"; }
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" \
    -d "$(put_body alice 'After Kill' '+44 20 7946 0111' 'restarted')"
expect_status 200 "kill: the restarted server writes"
api GET /v1/clients/C900001 "$SALESFREE"
assert_eq "$(j 'd["name"]')" "After Kill" "kill: and reads"
verified=
for ((i = 0; i < 25; i++)); do
	run vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key"
	[ "$RC" -eq 0 ] && [[ "$OUT" == *"the same"* ]] && { verified=1; break; }
	sleep 0.2
done
[ -n "$verified" ] && ok "kill: compliance verify, the mirror caught up" ||
    { fail "kill: compliance verify (exit $RC)"; _show "$OUT$ERR"; }

# =====================================================================
# 9. malformed, oversized and slow requests (on the restarted server)
# =====================================================================
hdr() { python3 -c "print('x' * $1)"; }
api GET /v1/health "" -H "X-Pad: $(hdr 7000)"
expect_status 200 "7 KiB of headers: served"
api GET "/v1/clients/$A0" "$SALES" -H "X-Pad: $(hdr 20480)"
[[ "$HS" == 4?? ]] && ok "20 KiB of headers: refused ($HS)" ||
    fail "20 KiB of headers: HTTP $HS, want 4xx"
assert_not_contains "$OUT" "$A0_E164" "20 KiB of headers: no record"
api GET /v1/health "" -H "X-Pad: $(hdr 9000)"
[[ "$HS" == 4?? ]] && ok "9 KiB of headers (over the documented 8 KiB): refused ($HS)" ||
    fail "9 KiB of headers (over the documented 8 KiB): HTTP $HS, want 4xx"
api GET /v1/health "" -H "X-Pad: $(hdr 40000)"
[[ "$HS" == 4?? ]] && ok "40 KiB of headers: refused ($HS)" || fail "40 KiB of headers: HTTP $HS"
api GET /v1/health ""
expect_status 200 "after big headers: still serving"
python3 - "$PORT" "$SYNC" >"$E2E_TMP/slow.out" 2>&1 <<'EOF'
import socket, subprocess, sys, time
port, tok = int(sys.argv[1]), sys.argv[2]
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(10)
    return s
# a body that never comes, and headers that never end
slow = conn()
slow.sendall(("PUT /v1/clients/C900009 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
              "Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"" % tok).encode())
loris = conn()
loris.sendall(b"GET /v1/health HTTP/1.1\r\nHost: t\r\nX-A: ")
time.sleep(0.3)
for i in range(5):
    t = time.time()
    s = conn()
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    print("meanwhile", data.split(b"\r\n")[0].decode(), "%.1f" % (time.time() - t))
for name, junk in (("garbage", b"\x16\x03\x01\x02\x00\x01\x00\xff\xff garbage\r\n\r\n"),
                   ("nothttp", b"HELLO THERE\r\n\r\n"),
                   ("badversion", b"GET /v1/health HTTP/9.9\r\n\r\n"),
                   ("nul", b"GET /v1/cli\x00ents HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")):
    s = conn()
    s.sendall(junk)
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except (socket.timeout, ConnectionResetError):
        pass
    line = data.split(b"\r\n")[0].decode("latin-1")
    print(name, line.split()[1] if line.startswith("HTTP/") else "closed")
slow.sendall(b"}")       # 2 of 10 bytes: still waiting
print("slow-still-open", slow.fileno() >= 0)
slow.close()
loris.close()
EOF
SLOW=$(cat "$E2E_TMP/slow.out")
assert_eq "$(grep -cE '^meanwhile HTTP/1.1 200 OK (0|1)\.[0-9]$' <<<"$SLOW")" 5 \
    "a stalled body and stalled headers do not hold up other requests"
for n in garbage nothttp badversion nul; do
	assert_match "$SLOW" "^$n (4[0-9][0-9]|505|closed)$" "$n: 4xx (505 for a version) or closed"
done
api GET "/v1/clients/$A0" "$SALES"
expect_status 200 "after malformed requests: still serving"
api GET /v1/clients/C900009 "$SALESFREE"
expect_error 404 not_found "the PUT whose body never came wrote nothing"
stop_server "$KILL2"
assert_eq "$SRV_RC" 0 "restarted server: SIGTERM, exit 0"
check_access_log "$E2E_TMP/kill2.log" 20 "access log after the restart"

# =====================================================================
# 10. TLS
# =====================================================================
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$K/tls.key" -out "$K/tls.crt"
[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "openssl: a self-signed certificate"; }
expect_exit 1 vvr serve --listen 127.0.0.1:0 --tls-cert "$K/tls.crt"
start_server tls --tls-cert "$K/tls.crt" --tls-key "$K/tls.key"
TLS=$SRV
URL=https://127.0.0.1:$PORT
api GET /v1/health "" --cacert "$K/tls.crt"
expect_status 200 "TLS: health"
assert_eq "$(j 'd["status"]')" ok "TLS: status ok"
api GET "/v1/clients/$A0" "$SALES" --cacert "$K/tls.crt"
expect_status 200 "TLS: a record"
assert_eq "$(j 'd["phone"]')" "$A0_E164" "TLS: the record's phone"
api GET /v1/health "" 
[ "$HS" = 000 ] && ok "TLS: a certificate nobody vouches for is refused by curl" ||
    fail "TLS: without --cacert: HTTP $HS"
URL=http://127.0.0.1:$PORT
api GET /v1/health ""
[ "$HS" = 000 ] && ok "TLS: plain HTTP gets no answer" || fail "TLS: plain HTTP: HTTP $HS"
URL=https://127.0.0.1:$PORT
api GET /v1/health "" --cacert "$K/tls.crt"
expect_status 200 "TLS: still serving after the plain-HTTP attempt"
stop_server "$TLS"
assert_eq "$SRV_RC" 0 "TLS server: SIGTERM, exit 0"

expect_exit 0 vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key"
assert_contains "$OUT" "the same" "in the end: the mirror and the vault agree"
for t in "${ALL_TOKENS[@]}"; do
	assert_not_contains "$(cat "$E2E_TMP"/*.err)" "${t:20}" "server stderr: no token secret"
done
assert_not_contains "$(cat "$E2E_FAILED_STDERR")" "$VIP_E164" \
    "no error message quotes a VIP phone"
finish
