# tests/e2e/lib.sh - helpers for the end-to-end tests (tests/e2e/test_*.sh).
#
# A test sources this file, then calls the helpers below and ends with
# `finish`.  Every test gets its own temporary directory ($E2E_TMP), removed
# at exit; it makes its own vaults there with `init --dev`.
#
#   expect_exit CODE CMD...   run CMD, record its stdout/stderr in $OUT/$ERR
#                             and its status in $RC; a check fails when the
#                             status is not CODE (the message shows stderr)
#   run CMD...                the same without a check
#   assert_contains TEXT NEEDLE [LABEL]      / assert_not_contains
#   assert_eq GOT WANT LABEL, assert_match TEXT ERE LABEL
#   ok LABEL, fail LABEL      count a check by hand
#   finish                    print the summary; exit 1 if a check failed
#
# E2E_KEEP=1 keeps the temporary directory; E2E_VERBOSE=1 lists every
# check that passed.
#
# The stderr of every command that exited non-zero is appended to
# $E2E_FAILED_STDERR, so a test can check that no failure message quotes
# client data.
#
# The Makefile's e2e loop runs tests/e2e/test_*.sh only; run directly,
# this file does nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "lib.sh: helpers for tests/e2e/test_*.sh; nothing to run"
	exit 0
fi

set -u

if [ -z "${VIPVAULT:-}" ] || [ ! -x "$VIPVAULT" ]; then
	echo "e2e: VIPVAULT must be the absolute path of build/vipvault" \
	    "(got '${VIPVAULT:-}'); use 'make e2e'" >&2
	exit 1
fi
if ! command -v python3 >/dev/null; then
	echo "e2e: python3 is needed (JSON and CSV checks): apt-get install python3" >&2
	exit 1
fi
case $VIPVAULT in
/*) ;;
*) VIPVAULT=$(cd "$(dirname "$VIPVAULT")" && pwd)/$(basename "$VIPVAULT") ;;
esac

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_NAME=$(basename "$0" .sh)
# The 10k sample (a copy of ../shared/data/clients-10k.csv) is in tests/data.
SAMPLE=${VIPVAULT_SAMPLE:-$E2E_DIR/../data/clients-10k.csv}
SOFTHSM_MODULE=
for _m in /usr/lib/softhsm/libsofthsm2.so \
    /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
	if [ -f "$_m" ]; then SOFTHSM_MODULE=$_m; break; fi
done

# Nothing from the caller's environment may steer the CLI.
unset VIPVAULT_DIR VIPVAULT_TOKEN SOFTHSM2_CONF
export LC_ALL=C.UTF-8

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vv-e2e-$E2E_NAME.XXXXXX") || exit 1
E2E_FAILED_STDERR=$E2E_TMP/failed-stderr.log
: >"$E2E_FAILED_STDERR"
E2E_PASS=0
E2E_FAIL=0
E2E_FINISHED=0
E2E_START=$SECONDS
OUT=
ERR=
RC=0

_e2e_exit() {
	local status=$?
	if [ "$E2E_FINISHED" -ne 1 ]; then
		echo "FAIL: $E2E_NAME stopped early (status $status) after" \
		    "$E2E_PASS passed, $E2E_FAIL failed checks" >&2
		[ "$status" -eq 0 ] && status=1
	fi
	if [ -n "${E2E_KEEP:-}" ]; then
		echo "  (E2E_KEEP: kept $E2E_TMP)" >&2
	else
		chmod -R u+rwX "$E2E_TMP" 2>/dev/null
		rm -rf "$E2E_TMP"
	fi
	exit "$status"
}
trap _e2e_exit EXIT
trap 'exit 130' INT TERM

ok() {
	E2E_PASS=$((E2E_PASS + 1))
	[ -n "${E2E_VERBOSE:-}" ] && echo "  ok   $1"
	return 0
}

fail() {
	E2E_FAIL=$((E2E_FAIL + 1))
	echo "  FAIL $1" >&2
	return 1
}

# Stops the test: what follows depends on what just failed.
fatal() {
	fail "$1"
	echo "  (aborting $E2E_NAME)" >&2
	exit 1
}

# Indents and truncates a text for a failure message.
_show() {
	printf '%s\n' "$1" | head -n "${2:-8}" | sed 's/^/        | /' >&2
}

# run CMD...: $OUT, $ERR, $RC.
run() {
	"$@" >"$E2E_TMP/.out" 2>"$E2E_TMP/.err" </dev/null
	RC=$?
	OUT=$(cat "$E2E_TMP/.out")
	ERR=$(cat "$E2E_TMP/.err")
	if [ "$RC" -ne 0 ]; then
		cat "$E2E_TMP/.err" >>"$E2E_FAILED_STDERR"
	fi
	return 0
}

# A printable form of a command line for messages.
_cmdline() {
	local s="" a
	for a in "$@"; do
		[ "$a" = "$VIPVAULT" ] && a=vipvault
		s="$s ${a:0:80}"
	done
	printf '%s' "${s# }"
}

# expect_exit CODE CMD...
expect_exit() {
	local want=$1
	shift
	run "$@"
	if [ "$RC" -eq "$want" ]; then
		ok "exit $want: $(_cmdline "$@")"
		return 0
	fi
	fail "expected exit $want, got $RC: $(_cmdline "$@")"
	[ -n "$ERR" ] && { echo "      stderr:" >&2; _show "$ERR"; }
	[ -n "$OUT" ] && { echo "      stdout:" >&2; _show "$OUT" 4; }
	return 1
}

# assert_contains TEXT NEEDLE [LABEL]: fixed-string search.
assert_contains() {
	local label=${3:-"output contains '$2'"}
	if [[ "$1" == *"$2"* ]]; then
		ok "$label"
		return 0
	fi
	fail "$label: '$2' not found in:"
	_show "$1"
	return 1
}

# assert_not_contains TEXT NEEDLE [LABEL]; the needle is not echoed (it
# may be client data).
assert_not_contains() {
	local label=${3:-"output does not contain the value"}
	if [[ "$1" != *"$2"* ]]; then
		ok "$label"
		return 0
	fi
	fail "$label"
	return 1
}

# assert_eq GOT WANT LABEL
assert_eq() {
	if [ "$1" = "$2" ]; then
		ok "$3"
		return 0
	fi
	fail "$3: got '$1', want '$2'"
	return 1
}

# assert_match TEXT ERE LABEL
assert_match() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok "$3"
		return 0
	fi
	fail "$3: no match for /$2/ in:"
	_show "$1"
	return 1
}

assert_empty() {
	if [ -z "$1" ]; then
		ok "$2"
		return 0
	fi
	fail "$2: not empty:"
	_show "$1"
	return 1
}

# assert_mode PATH OCTAL
assert_mode() {
	local m
	m=$(stat -c %a "$1" 2>/dev/null)
	assert_eq "$m" "$2" "mode of ${1#"$E2E_TMP"/} is $2"
}

# json EXPR...: evaluates each Python expression with d = the JSON document
# in $OUT and prints the results one a line (lists, dicts, booleans as
# JSON).  Python starts slowly here: ask for several values at once,
# e.g. mapfile -t J < <(json 'd["a"]' 'd["b"]').
json() {
	printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for e in sys.argv[1:]:
    r = eval(e)
    print(json.dumps(r, ensure_ascii=False)
          if isinstance(r, (list, dict, bool)) or r is None else r)' "$@"
}

# vv DIR ARGS...: the CLI on vault DIR.
vv() {
	local dir=$1
	shift
	"$VIPVAULT" --vault "$dir" "$@"
}

# new_vault DIR: a fresh dev vault; the test cannot go on without one.
new_vault() {
	run "$VIPVAULT" --vault "$1" init --dev
	[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "init --dev $1 (exit $RC)"; }
}

need_sample() {
	[ -r "$SAMPLE" ] || fatal "sample data not found at $SAMPLE (set VIPVAULT_SAMPLE)"
}

# import_sample DIR
import_sample() {
	need_sample
	run "$VIPVAULT" --vault "$1" import "$SAMPLE"
	[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "importing the sample (exit $RC)"; }
}

# issue_token DIR ROLE USER: prints the token.
issue_token() {
	"$VIPVAULT" --vault "$1" token issue "$2" --user "$3" 2>>"$E2E_FAILED_STDERR"
}

# vvr ARGS...: the CLI on the vault sample_vault made.
vvr() {
	"$VIPVAULT" --vault "$V" "$@"
}

# sample_vault: the start of the tests that read the sample.  V becomes
# $E2E_TMP/v, a fresh dev vault with the sample imported, holding roles
# desk (every tier) and crm (basic, standard) with tokens $DESK (user
# vdesk) and $CRM (user bob).  The test cannot go on without them.
sample_vault() {
	need_sample
	V=$E2E_TMP/v
	new_vault "$V"
	import_sample "$V"
	run vvr role add desk --tiers basic,standard,vip
	[ "$RC" -eq 0 ] || fatal "role add desk (exit $RC)"
	run vvr role add crm --tiers basic,standard
	[ "$RC" -eq 0 ] || fatal "role add crm (exit $RC)"
	DESK=$(issue_token "$V" desk vdesk)
	CRM=$(issue_token "$V" crm bob)
	[ -n "$DESK" ] && [ -n "$CRM" ] || fatal "roles and tokens"
}

# tier_counts DIR: "vip standard basic" from tiers --json (sed, not
# python: this runs after every refused command and python starts slowly).
tier_counts() {
	"$VIPVAULT" --vault "$1" --json tiers 2>/dev/null | sed -nE \
	    's/.*"records":\{"vip":([0-9]+),"standard":([0-9]+),"basic":([0-9]+)\}.*/\1 \2 \3/p'
}

# vault_state DIR: checksums of the vault's database and key files and
# the tier counts: equal before and after means nothing changed.
vault_state() {
	(cd "$1" && sha256sum vault.conf vault.key vault.db vault.db-wal \
	    2>/dev/null)
	tier_counts "$1" 2>/dev/null
}

# sample_rows ID...: for each id found in the sample, one tab-separated
# line: id, name, phone, email, address, owner, phone in E.164;
# sample_rows --all: the same for every row, in the sample's order.  E.164
# the way vipvault spells it: '+' and the digits; without a '+', a leading
# 00 is the international prefix and 8 with ten more digits is Russian +7.
sample_rows() {
	python3 - "$SAMPLE" "$@" <<'EOF'
import csv, re, sys

def e164(s):
    s = s.strip()
    d = re.sub(r"\D", "", s)
    if not s.startswith("+"):
        if d.startswith("00"):
            d = d[2:]
        elif len(d) == 11 and d[0] == "8":
            d = "7" + d[1:]
    return "+" + d

want = sys.argv[2:]
every = want == ["--all"]
rows = {}
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        if every or r["external_id"] in want:
            rows[r["external_id"]] = r
for i in rows if every else want:
    r = rows.get(i)
    if r is not None:
        print("\t".join(x.replace("\t", " ").replace("\n", " ") for x in
              (i, r["name"], r["phone"], r["email"], r["address"],
               r["owner"], e164(r["phone"]))))
EOF
}

finish() {
	E2E_FINISHED=1
	local t=$((SECONDS - E2E_START))
	if [ "$E2E_FAIL" -ne 0 ]; then
		echo "$E2E_NAME: $E2E_PASS passed, $E2E_FAIL FAILED (${t}s)"
		exit 1
	fi
	echo "$E2E_NAME: $E2E_PASS passed (${t}s)"
	exit 0
}
