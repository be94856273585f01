#!/usr/bin/env bash
# test_api.sh - the HTTP API (vipvault serve, docs/api.md) through curl
# against a real server: every endpoint with its status codes and bodies,
# unseal requests approved by key managers, routes, methods and tokens,
# segmentation, and the access log.  Budgets, freezes and canaries are in
# test_api_budgets.sh; stops, kill -9, malformed requests and TLS in
# test_api_ops.sh; the helpers they share in api_lib.sh.
. "$(dirname "$0")/api_lib.sh"

# =====================================================================
# 1. the vault: key managers (for unseal requests), the sample, roles
# =====================================================================
K=$E2E_TMP/keys
mkdir -m 700 "$K"
for m in kate leo mia; do
	run "$VIPVAULT" softkey create "$K/$m"
	[ "$RC" -eq 0 ] || fatal "softkey create $m (exit $RC)"
done
api_vault --managers kate,leo,mia --threshold 2 \
    --devices "soft:$K/kate,soft:$K/leo,soft:$K/mia"
api_roles sales analyst sync salesfree
api_token SALES sales alice
api_token SALES_BOB sales bob
api_token ANALYST analyst nora
api_token SYNC sync crm
api_token SALESFREE salesfree alice
api_token DOOMED analyst rita

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
assert_eq "${J[7]:-}" "$RECORD_KEYS" "GET: the record's members"
api GET "/v1/clients/$E0" "$ANALYST"
expect_status 200 "GET another owner's basic/standard record (analyst)"
mapfile -t J < <(j 'd["owner"]' 'd["phone"]' 'd["email"]' 'd["masked"]')
assert_eq "${J[0]:-}|${J[1]:-}|${J[2]:-}|${J[3]:-}" \
    "elena|$E0_E164|$E0_EMAIL|[]" "analyst: elena's record in full"

# ---- a page of alice's VIP records, followed to the end
all_pages "$E2E_TMP/vip-pages.jsonl" 50 "tier=vip&limit=20" "$SALES"
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
assert_eq "$(j 'len(d["clients"])')" 10 "analyst: a page of 10 records"

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
# 4. the access log
# =====================================================================
stop_server "$MAIN"
assert_eq "$SRV_RC" 0 "main server: SIGTERM, exit 0"
PHONE_DIGITS="${A0_E164#+} ${E0_E164#+} ${VIP_E164#+} 442079460958 442079460999"
check_access_log "$E2E_TMP/main.log" 70 "access log"
assert_eq "${J[5]:-}" 9 "access log: every route seen"
grep -q '"token_id":"'"$(tid "$SALES")"'","user":"alice","role":"sales"' \
    "$E2E_TMP/main.log" && ok "access log: token id, user and role" ||
    fail "access log: no line names alice's sales token"

expect_exit 0 vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key"
assert_contains "$OUT" "the same" "in the end: the mirror and the vault agree"
assert_not_contains "$(cat "$E2E_FAILED_STDERR")" "$VIP_E164" \
    "no error message quotes a VIP phone"
api_finish
