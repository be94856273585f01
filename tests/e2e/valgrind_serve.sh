#!/usr/bin/env bash
# valgrind_serve.sh - vipvault serve under valgrind: every endpoint, a
# group commit of concurrent reads, a write, a freeze and the errors,
# then SIGTERM.  Any leak or memory error fails (make valgrind runs it,
# with VALGRIND_CMD set; it is not one of the e2e tests, which run the
# server at full speed).
. "$(dirname "$0")/lib.sh"

if [ -z "${VALGRIND_CMD:-}" ]; then
	echo "valgrind_serve.sh: run by 'make valgrind' (VALGRIND_CMD)"
	E2E_FINISHED=1
	exit 0
fi
sample_vault
expect_exit 0 vvr role add sales --tiers basic,standard,vip --own-clients-only
expect_exit 0 vvr role add sync --tiers basic,standard --write \
    --reads-per-minute 0 --records-per-hour 0 --pages-per-hour 0 --burst 0
expect_exit 0 vvr role add tight --tiers basic,standard --reads-per-minute 3 \
    --burst 0
SALES=$(vvr token issue sales --user alice)
SYNC=$(vvr token issue sync --user crm)
TIGHT=$(vvr token issue tight --user bob)

# shellcheck disable=SC2086
$VALGRIND_CMD "$VIPVAULT" --vault "$V" serve --listen 127.0.0.1:0 \
    --port-file "$E2E_TMP/port" --access-log "$E2E_TMP/access.log" \
    2>"$E2E_TMP/valgrind.log" &
SERVER=$!
for _ in $(seq 600); do [ -s "$E2E_TMP/port" ] && break; sleep 0.1; done
[ -s "$E2E_TMP/port" ] || fatal "the server did not start under valgrind"
U=http://127.0.0.1:$(cat "$E2E_TMP/port")

# code TOKEN METHOD PATH [BODY]: the HTTP status.
code() {
	local tok=$1 m=$2 p=$3 body=${4-}
	local h
	# One header file per token, written once and renamed into place:
	# the calls below run in parallel too.
	h=$E2E_TMP/auth.$(printf '%s' "$tok" | sha256sum | cut -c1-12)
	if [ ! -e "$h" ]; then
		(umask 077; printf 'Authorization: Bearer %s\n' "$tok" \
		    >"$h.$BASHPID" && mv "$h.$BASHPID" "$h")
	fi
	if [ -n "$body" ]; then
		curl -s -o /dev/null -w '%{http_code}' -X "$m" -H "@$h" \
		    -H 'Content-Type: application/json' --data-binary "$body" \
		    "$U$p"
	else
		curl -s -o /dev/null -w '%{http_code}' -X "$m" -H "@$h" "$U$p"
	fi
}
(umask 077; printf 'Authorization: Bearer %s\n' "$SALES" >"$E2E_TMP/auth")
one=$(curl -s -H "@$E2E_TMP/auth" "$U/v1/clients?tier=standard&limit=1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["clients"][0]["external_id"])')
[ -n "$one" ] || fatal "no standard record of alice's"
assert_eq "$(code "$SALES" GET /v1/health)" 200 "health"
assert_eq "$(code "$SALES" GET /metrics)" 200 "metrics"
assert_eq "$(code "$SALES" GET "/v1/clients/$one")" 200 "get"
assert_eq "$(code "$SALES" GET "/v1/clients?limit=2")" 200 "list"
assert_eq "$(code "$SALES" GET "/v1/clients/lookup?email=nobody@example.org")" 404 \
    "lookup, no match"
assert_eq "$(code "$SYNC" PUT /v1/clients/VG-1 \
    '{"owner":"crm","name":"Val Grind","phone":"+14155550123","annual_spend":"10.00","client_since":"2020-01-01"}')" \
    201 "put"
assert_eq "$(code "$SYNC" PUT /v1/clients/VG-1 '{"owner":')" 400 "bad JSON"
assert_eq "$(code "$SYNC" POST /v1/clients/VG-1)" 405 "wrong method"
assert_eq "$(code nope GET "/v1/clients/$one")" 401 "bad token"
assert_eq "$(code "$SALES" GET /v1/nothing)" 404 "no such path"
for i in 1 2 3 4 5 6 7 8; do
	code "$SYNC" GET "/v1/clients/$one" >"$E2E_TMP/par.$i" &
done
wait $(jobs -p | grep -v "^$SERVER\$") 2>/dev/null
n=$(cat "$E2E_TMP"/par.* | grep -o 200 | wc -l)
assert_eq "$n" 8 "concurrent reads, group-committed"
for _ in 1 2 3; do code "$TIGHT" GET "/v1/clients/$one" >/dev/null; done
assert_eq "$(code "$TIGHT" GET "/v1/clients/$one")" 423 "over budget: frozen"

kill -TERM "$SERVER"
wait "$SERVER"
rc=$?
assert_eq "$rc" 0 "the server exits 0 under valgrind (no leak, no error)"
if [ "$rc" -ne 0 ]; then
	_show "$(cat "$E2E_TMP/valgrind.log")" 40
fi
assert_not_contains "$(cat "$E2E_TMP/valgrind.log")" "definitely lost" \
    "valgrind: nothing definitely lost"
finish
