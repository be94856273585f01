#!/usr/bin/env bash
# docs/demo.sh - the vipvault story on a throw-away development vault.
#
#   make demo                               (builds, then runs this)
#   VIPVAULT=build/vipvault bash docs/demo.sh
#
# Everything happens in a temporary directory that is removed at the end.
# The 10k sample is tests/data/clients-10k.csv (a copy of the shared
# synthetic sample), or VIPVAULT_SAMPLE.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VIPVAULT=${VIPVAULT:-$here/../build/vipvault}
SAMPLE=${VIPVAULT_SAMPLE:-$here/../tests/data/clients-10k.csv}
if [ ! -x "$VIPVAULT" ]; then
	echo "demo: no vipvault binary at $VIPVAULT (run 'make demo')" >&2
	exit 1
fi
if [ ! -r "$SAMPLE" ]; then
	echo "demo: no sample data at $SAMPLE (set VIPVAULT_SAMPLE)" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vipvault-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset VIPVAULT_TOKEN SOFTHSM2_CONF
export VIPVAULT_DIR=$work/vault

step() { printf '\n== %s\n' "$*"; }
# show CMD...: prints the command as typed, then runs it.
show() {
	local a line="\$ vipvault"
	for a in "$@"; do
		case $a in
		vv_*_*) a="\$$tokvar" ;;
		*' '* | '') a="'$a'" ;;
		esac
		line="$line $a"
	done
	echo "$line"
	"$VIPVAULT" "$@"
}
# expect_fail CODE CMD...: a command that must fail with exit CODE.
expect_fail() {
	local want=$1 rc=0
	shift
	show "$@" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "demo: expected exit $want, got $rc" >&2
		exit 1
	fi
	echo "(exit $rc, as expected)"
}
tokvar=TOKEN

step "Three key managers, each with a FIDO2 token (software tokens for the demo)"
keys=$work/tokens
mkdir -m 700 "$keys"
for m in kate leo mia; do
	show softkey create "$keys/$m"
done
echo "(With real tokens: --devices /dev/hidraw0,... or one token at a time.)"

step "A development vault in $VIPVAULT_DIR (removed when the demo ends)"
echo "VIPVAULT_DIR=$VIPVAULT_DIR"
show init --dev --managers kate,leo,mia --threshold 2 \
    --devices "soft:$keys/kate,soft:$keys/leo,soft:$keys/mia"
echo "Its files: $(cd "$VIPVAULT_DIR" && ls -A | tr '\n' ' ')"
echo "The SoftHSM2 token lives in hsm/; its PIN is hsm/user.pin (mode 0600)."
echo "The VIP contact key was split 2-of-3, each share sealed to a token, and wiped."
show manager list

step "Import a CRM export of 10,000 clients (all or nothing)"
show import "$SAMPLE"

step "The value policy and how many records each tier holds"
show tiers

step "Roles: what each may read.  Their keys never leave the HSM."
show role add crm-app --tiers basic,standard
show role add vip-desk --tiers basic,standard,vip
show role add sales-alice --tiers basic,standard,vip --own-clients-only
show role list

step "Bearer tokens: printed once, only a hash is kept"
CRM=$("$VIPVAULT" token issue crm-app --user crm)
DESK=$("$VIPVAULT" token issue vip-desk --user desk)
ALICE=$("$VIPVAULT" token issue sales-alice --user alice)
echo "\$ CRM=\$(vipvault token issue crm-app --user crm)          # ${CRM:0:20}..."
echo "\$ DESK=\$(vipvault token issue vip-desk --user desk)       # ${DESK:0:20}..."
echo "\$ ALICE=\$(vipvault token issue sales-alice --user alice)  # ${ALICE:0:20}..."
show token list

# Records to show, picked from what the VIP desk may list.
listing=$("$VIPVAULT" list --token "$DESK")
pick() {	# pick AWK-CONDITION: the first external id matching
	awk "NR > 1 && $1 { print \$1; exit }" <<<"$listing"
}
std=$(pick '$2 == "standard"')
vip=$(pick '$2 == "vip"')
other=$(pick '$2 == "standard" && $3 != "alice"')

step "crm-app reads a standard record in full (phone in E.164)"
tokvar=CRM
show get --token "$CRM" "$std"

step "vip-desk reads a VIP record: contacts masked"
tokvar=DESK
show get --token "$DESK" "$vip"

step "Find by phone, spelled the way a person types it"
phone=$("$VIPVAULT" --json get --token "$CRM" "$std" |
    sed -nE 's/.*"phone":"\+([0-9]+)".*/\1/p')
spelled="00 ${phone:0:1} ${phone:1:3} ${phone:4:3}-${phone:7}"
tokvar=CRM
show find --phone "$spelled" --token "$CRM"

step "Segmentation: alice sees only her own clients"
tokvar=ALICE
mine=$("$VIPVAULT" list --token "$ALICE")
echo "\$ vipvault list --token \$ALICE"
awk 'NR <= 4' <<<"$mine"
echo "... $(awk 'NR > 1' <<<"$mine" | wc -l) records, owners: $(awk 'NR > 1 { print $3 }' <<<"$mine" | sort -u | paste -sd ' ')"
echo "Another owner's client is simply not there:"
expect_fail 3 get --token "$ALICE" "$other"

step "A denial: crm-app may not read VIP records"
tokvar=CRM
expect_fail 2 get --token "$CRM" "$vip"

step "Dual control: the VIP desk asks for three VIP clients' contacts"
vips=$(awk 'NR > 1 && $2 == "vip" && n < 3 { print $1; n++ }' <<<"$listing" | paste -sd,)
tokvar=DESK
req=$("$VIPVAULT" --json unseal request --token "$DESK" --records "$vips" \
    --reason "renewal calls this week" --ttl 15m |
    sed -nE 's/.*"request":"([0-9a-f]+)".*/\1/p')
echo "\$ vipvault unseal request --token \$DESK --records $vips --reason 'renewal calls this week' --ttl 15m"
echo "request $req"

step "What a key manager sees before touching the token"
show unseal show "$req"

step "Kate approves with her token; one approval is not enough"
show unseal approve "$req" --manager kate --device "soft:$keys/kate"
expect_fail 2 unseal fetch "$req" --token "$DESK"

step "Leo approves: the key is rebuilt, the three contacts sealed to the requester, the key wiped"
show unseal approve "$req" --manager leo --device "soft:$keys/leo"

step "The VIP desk fetches the contacts, once"
show unseal fetch "$req" --token "$DESK"
expect_fail 2 unseal fetch "$req" --token "$DESK"

step "The CRM API: vipvault serve on a free loopback port"
"$VIPVAULT" serve --listen 127.0.0.1:0 --port-file "$work/port" \
    --access-log "$work/access.log" 2>"$work/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
echo "\$ vipvault serve --listen 127.0.0.1:0 --port-file port &    # port $port"
# api TOKEN-VAR PATH: a GET with the token in a header file (mode 0600),
# so that it never shows in a process list.
api() {
	local var=$1 path=$2 hdr=$work/auth.hdr
	(umask 077; printf 'Authorization: Bearer %s\n' "${!var}" >"$hdr")
	echo "\$ curl -H @auth.hdr http://127.0.0.1:$port$path     # \$$var"
	curl -sS -H "@$hdr" -w '\n(HTTP %{http_code})\n' \
	    "http://127.0.0.1:$port$path"
}
step "The CRM reads a standard record in full"
api CRM "/v1/clients/$std"
step "The VIP desk's CRM reads a VIP record: contacts masked"
api DESK "/v1/clients/$vip"
step "Alice's CRM session asks for another owner's client: it does not exist for her"
api ALICE "/v1/clients/$other"

step "A harvesting script on alice's token: her role allows 30 reads a minute"
show role budget sales-alice --reads-per-minute 30 --burst 0
(umask 077; printf 'Authorization: Bearer %s\n' "$ALICE" >"$work/auth.hdr")
n=0
for id in $(awk 'NR > 1 && $3 == "alice" { print $1 }' <<<"$mine"); do
	n=$((n + 1))
	code=$(curl -s -o "$work/last.json" -w '%{http_code}' -H "@$work/auth.hdr" \
	    "http://127.0.0.1:$port/v1/clients/$id")
	[ "$code" = 200 ] || break
done
echo "read $((n - 1)) records, then HTTP $code:"
cat "$work/last.json"
echo "Every later request is refused, whatever it asks for:"
api ALICE "/v1/clients/$std"
tokvar=ALICE
show token list
show compliance log --type freeze --mirror "$VIPVAULT_DIR/mirror" \
    --key "$VIPVAULT_DIR/compliance.key"

step "Stop the server: requests under way finish, then it exits"
kill -TERM "$server"
wait "$server" && echo "(vipvault serve exited 0)"
echo "The access log names routes and token ids, never clients or secrets:"
tail -n 2 "$work/access.log"

step "Compliance: the officer's view of that unseal, from the mirror"
echo "(A development vault keeps its mirror in mirror/ and a development"
echo " officer key in compliance.key; a real one points init at a directory"
echo " compliance owns and at the officer's public key.)"
M=$VIPVAULT_DIR/mirror
K=$VIPVAULT_DIR/compliance.key
show compliance show "$req" --mirror "$M" --key "$K"

step "The officer keeps a checkpoint, and verifies the log against it"
"$VIPVAULT" compliance checkpoint >"$work/checkpoint"
echo "\$ vipvault compliance checkpoint > checkpoint"
cut -c1-80 "$work/checkpoint" | sed 's/$/.../'
show compliance verify --mirror "$M" --key "$K" --since-head "$work/checkpoint"

step "Done"
echo "No role, no administrator and no single key manager can read VIP"
echo "contacts; two managers together released three clients, once, for a"
echo "stated reason, and compliance holds a record nobody can rewrite unseen."
