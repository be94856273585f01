# tests/e2e/api_lib.sh - helpers for the HTTP API tests (tests/e2e/test_api*.sh):
# a vault with the sample, roles and tokens, servers, curl wrappers and the
# access-log check.  A test sources this file instead of lib.sh (it sources
# lib.sh) and ends with api_finish or finish.
#
#   api_vault [INIT OPTIONS...]  V: a dev vault, the sample imported; the
#                                sample's rows (see below)
#   api_roles NAME...            the roles several tests use: sales,
#                                analyst, sync, salesfree
#   api_role_add NAME OPTIONS... any other role
#   api_token VAR ROLE USER      a token in $VAR, added to ALL_TOKENS
#   start_server NAME [OPTS...]  vipvault serve on $V: SRV, PORT, URL
#                                (through "${SERVE_WRAP[@]}" if set)
#   stop_server PID              SIGTERM; the exit status in SRV_RC
#   forget_server PID            a server killed and waited for here
#   api METHOD PATH TOKEN [CURL ARGS...]   one request: HS, OUT, HDRS
#   j EXPR..., expect_status, expect_error, header NAME, tid TOKEN
#   all_pages FILE MAX QUERY TOKEN   every page of GET /v1/clients?QUERY
#   put_body OWNER NAME PHONE NOTES, PUTH: a PUT's JSON body and header
#   check_access_log FILE MIN LABEL        no client data, no secrets
#   api_finish                   no server's stderr holds a token secret;
#                                then finish
#
# Servers are killed at exit whatever happens: the EXIT trap here kills
# them, then runs lib.sh's.
#
# The Makefile's e2e loop runs only tests/e2e/test_*.sh: run directly,
# this file does nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "api_lib.sh: helpers for tests/e2e/test_api*.sh; nothing to run"
	exit 0
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

# ---- the vault, roles and tokens
ALL_TOKENS=()

# The members of a record as GET /v1/clients/{id} shows them (JSON, sorted).
RECORD_KEYS='["address", "annual_spend", "client_since", "email", "external_id", "masked", "name", "notes", "owner", "phone", "pinned", "preferences", "tier"]'

# row ID: the sample's line for ID (see sample_rows) with fields split by
# \037 (a tab is IFS white space: an empty field would vanish).
row() { awk -F'\t' -v id="$1" '$1 == id' "$E2E_TMP/rows.tsv" | tr '\t' '\037'; }

# api_vault [INIT OPTIONS...]: V becomes $E2E_TMP/v, a fresh dev vault
# (init --dev INIT OPTIONS...) with the sample imported.  The sample as
# the API shows it is in $E2E_TMP/rows.tsv (sample_rows --all);
# ALICE_IDS and ELENA_IDS are the ids of alice's and elena's records,
# sorted; A0 is alice's first, with A0_NAME, A0_PHONE, A0_EMAIL and
# A0_E164; E0 is elena's first, with E0_PHONE, E0_EMAIL and E0_E164.
api_vault() {
	V=$E2E_TMP/v
	run "$VIPVAULT" --vault "$V" init --dev "$@"
	[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "init --dev $* (exit $RC)"; }
	import_sample "$V"
	sample_rows --all >"$E2E_TMP/rows.tsv"
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
}

# api_role_add NAME OPTIONS...: role add; the test cannot go on without it.
api_role_add() {
	run vvr role add "$@"
	[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "role add $* (exit $RC)"; }
}

# api_roles NAME...: the roles several tests use.  The burst limit is
# tested with a role of its own; these have none, so a fast machine does
# not get 429s from checks made in a row.
#   sales      every tier, alice's (own) clients only
#   analyst    basic and standard, every owner
#   sync       basic and standard, writes
#   salesfree  sales without any budget
api_roles() {
	local name
	for name in "$@"; do
		case $name in
		sales) api_role_add sales --tiers basic,standard,vip \
		    --own-clients-only --burst 0 ;;
		analyst) api_role_add analyst --tiers basic,standard --burst 0 ;;
		sync) api_role_add sync --tiers basic,standard --write --burst 0 ;;
		salesfree) api_role_add salesfree --tiers basic,standard,vip \
		    --own-clients-only --reads-per-minute 0 --records-per-hour 0 \
		    --pages-per-hour 0 --burst 0 ;;
		*) fatal "api_roles: no role '$name' here" ;;
		esac
	done
}

# api_token VAR ROLE USER: issues a token of ROLE for USER into $VAR and
# ALL_TOKENS; the test cannot go on without it.
api_token() {
	local t
	t=$(issue_token "$V" "$2" "$3")
	[[ "$t" =~ ^vv_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$ ]] ||
	    fatal "token issue $2 --user $3"
	printf -v "$1" '%s' "$t"
	ALL_TOKENS+=("$t")
}

# ---- servers

# start_server NAME [SERVE OPTIONS...]: serves $V on a free port; SRV is
# its pid, PORT its port, URL http://127.0.0.1:PORT; its access log is
# $E2E_TMP/NAME.log, its stderr $E2E_TMP/NAME.err.  A command in the
# array SERVE_WRAP, if set, runs the server (it must exec it, so that SRV
# is the server's pid).
start_server() {
	local name=$1 i
	shift
	rm -f "$E2E_TMP/$name.port"
	"${SERVE_WRAP[@]}" "$VIPVAULT" --vault "$V" serve --listen 127.0.0.1:0 \
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

# ---- requests

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

# all_pages FILE MAX QUERY TOKEN: GET /v1/clients?QUERY, then each next
# page by its cursor, at most MAX pages, one JSON body per line of FILE;
# stops at the last page or the first status other than 200 (HS is it).
all_pages() {
	local file=$1 max=$2 query=$3 token=$4 cursor= pages
	: >"$file"
	for ((pages = 1; pages <= max; pages++)); do
		api GET "/v1/clients?$query${cursor:+&cursor=$cursor}" "$token"
		[ "$HS" = 200 ] || break
		printf '%s\n' "$OUT" >>"$file"
		cursor=$(j 'd["next_cursor"] or ""')
		[ -n "$cursor" ] || break
	done
}

# put_body OWNER NAME PHONE NOTES: a PUT's body with every member; PUTH
# its Content-Type header for api.
put_body() {
	printf '{"owner":"%s","name":"%s","phone":"%s","email":"jane.roe@example.com","address":"1 Market St, London","notes":"%s","preferences":"email first","annual_spend":"12345.67","client_since":"2019-04-01"}' \
	    "$1" "$2" "$3" "$4"
}
PUTH=(-H 'Content-Type: application/json')

# ---- what the servers wrote

# check_access_log FILE MIN_LINES LABEL: at least MIN_LINES lines, each
# JSON with the documented members and a route template; no client id, no
# phone number (nor any digits in PHONE_DIGITS, space-separated), no
# e-mail address, no secret of a token in ALL_TOKENS.  J[5] is the number
# of distinct routes.
check_access_log() {
	local secrets=() t
	for t in "${ALL_TOKENS[@]}"; do
		secrets+=("${t:20}")
	done
	mapfile -t J < <(python3 - "$1" "$2" "${PHONE_DIGITS:-}" "${secrets[@]}" <<'EOF'
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

# api_finish: no server's stderr ($E2E_TMP/*.err) holds the secret of a
# token in ALL_TOKENS; then finish.
api_finish() {
	local t errs
	errs=$(cat "$E2E_TMP"/*.err 2>/dev/null)
	for t in "${ALL_TOKENS[@]}"; do
		assert_not_contains "$errs" "${t:20}" "server stderr: no token secret"
	done
	finish
}
