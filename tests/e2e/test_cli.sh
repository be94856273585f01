#!/usr/bin/env bash
# test_cli.sh - help, version, usage errors: exit codes and which stream.
. "$(dirname "$0")/lib.sh"

COMMANDS="init import add get find list tiers role token"

# ---- global help and version: stdout, exit 0, no vault needed
for h in --help -h; do
	expect_exit 0 "$VIPVAULT" "$h"
	assert_contains "$OUT" "usage: vipvault" "$h: usage on stdout"
	assert_empty "$ERR" "$h: nothing on stderr"
	for c in $COMMANDS; do
		assert_match "$OUT" "^  $c " "$h lists command $c"
	done
	assert_contains "$OUT" "4 bad input" "$h: exit codes listed"
done

expect_exit 0 "$VIPVAULT" --version
assert_match "$OUT" '^vipvault [0-9]+\.[0-9]+\.[0-9]+$' "--version prints 'vipvault X.Y.Z'"
assert_empty "$ERR" "--version: nothing on stderr"

# ---- every command's help, with or without a vault, -h or --help
for c in $COMMANDS; do
	for h in --help -h; do
		expect_exit 0 "$VIPVAULT" "$c" "$h"
		assert_contains "$OUT" "usage: vipvault" "$c $h: usage on stdout"
		assert_contains "$OUT" " $c" "$c $h: names the command"
		assert_empty "$ERR" "$c $h: nothing on stderr"
	done
	# help wins over a vault that does not exist
	expect_exit 0 "$VIPVAULT" --vault "$E2E_TMP/none" "$c" --help
	[ ! -e "$E2E_TMP/none" ] && ok "$c --help creates nothing" ||
	    fail "$c --help created $E2E_TMP/none"
done

# ---- usage errors: exit 1, message on stderr, nothing on stdout
usage_error() {
	local what=$1
	shift
	expect_exit 1 "$VIPVAULT" "$@"
	assert_empty "$OUT" "$what: nothing on stdout"
	if [ -n "$ERR" ]; then ok "$what: message on stderr"; else
		fail "$what: no message on stderr"; fi
}

usage_error "no command"
usage_error "unknown global option" --bogus
usage_error "--vault without a value" --vault
usage_error "unknown command" frob
assert_contains "$ERR" "unknown command 'frob'"
assert_contains "$ERR" "vipvault --help" "unknown command points at --help"

V=$E2E_TMP/v
new_vault "$V"
for c in init import add get find list tiers; do
	usage_error "$c --bogus" --vault "$V" "$c" --bogus
	assert_contains "$ERR" "vipvault $c:" "$c --bogus: message names the command"
done
usage_error "role add --bogus" --vault "$V" role add r1 --tiers basic --bogus
usage_error "token issue --bogus" --vault "$V" token issue r1 --user u --bogus
usage_error "role without subcommand" --vault "$V" role
usage_error "role unknown subcommand" --vault "$V" role frob
usage_error "token unknown subcommand" --vault "$V" token frob
usage_error "tiers unknown subcommand" --vault "$V" tiers frob
usage_error "import without a file" --vault "$V" import
usage_error "import with two files" --vault "$V" import a.csv b.csv
usage_error "get without an id" --vault "$V" get --token x
usage_error "find without --phone/--email" --vault "$V" find --token x
usage_error "find with both" --vault "$V" find --token x --phone +15551234567 --email a@b.c
usage_error "list --tier gold" --vault "$V" list --token x --tier gold
usage_error "add without required options" --vault "$V" add --id X1
usage_error "get without a token" --vault "$V" get C1
usage_error "tiers set without KEY=VALUE" --vault "$V" tiers set
# list subcommands must refuse what they do not understand, not ignore it
usage_error "role list --bogus" --vault "$V" role list --bogus
usage_error "token list --bogus" --vault "$V" token list --bogus
usage_error "token list extra argument" --vault "$V" token list extra

# ---- no vault at all: usage error, not a crash
usage_error "tiers without --vault or VIPVAULT_DIR" tiers
assert_contains "$ERR" "VIPVAULT_DIR" "names VIPVAULT_DIR"
expect_exit 0 env VIPVAULT_DIR="$V" "$VIPVAULT" tiers
assert_contains "$OUT" "TIER" "VIPVAULT_DIR selects the vault"
expect_exit 3 "$VIPVAULT" --vault "$E2E_TMP/absent" tiers
assert_contains "$ERR" "no vault here" "absent vault: not found"
[ ! -e "$E2E_TMP/absent" ] && ok "opening an absent vault creates nothing" ||
    fail "opening an absent vault created it"

# ---- --json is one JSON document on stdout, for every command that
# succeeds (global or per-command flag)
json_ok() {
	if printf '%s' "$OUT" | python3 -c 'import json,sys; json.load(sys.stdin)' \
	    2>/dev/null; then ok "$1: stdout is JSON"; else
		fail "$1: stdout is not one JSON document:"; _show "$OUT"; fi
}
expect_exit 0 "$VIPVAULT" --vault "$V" --json tiers; json_ok "--json tiers"
expect_exit 0 "$VIPVAULT" --vault "$V" tiers --json; json_ok "tiers --json"
expect_exit 0 "$VIPVAULT" --vault "$V" --json role list; json_ok "--json role list"
expect_exit 0 "$VIPVAULT" --vault "$V" --json token list; json_ok "--json token list"
expect_exit 0 "$VIPVAULT" --vault "$V" --json add --id J1 --name N \
    --owner bob --spend 1 --since 2020-01-01
json_ok "--json add"

finish
