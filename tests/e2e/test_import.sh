#!/usr/bin/env bash
# test_import.sh - the 10k sample in, re-imported, and malformed files
# refused with their line and column while the vault stays as it was.
. "$(dirname "$0")/lib.sh"
need_sample

V=$E2E_TMP/v
new_vault "$V"

# ---- the sample, with --json
expect_exit 0 "$VIPVAULT" --vault "$V" --json import "$SAMPLE"
mapfile -t J < <(json 'd["records"]' 'd["inserted"]' 'd["updated"]' \
    'sum(d["tiers"].values())' 'sorted(d["tiers"])' \
    'd["tiers"]["vip"] > 0 and d["tiers"]["vip"] < d["tiers"]["standard"] < d["tiers"]["basic"]' \
    '" ".join(str(d["tiers"][t]) for t in ("vip", "standard", "basic"))')
assert_eq "${J[0]:-}" 10000 "import --json: 10000 records"
assert_eq "${J[1]:-}" 10000 "import --json: 10000 new"
assert_eq "${J[2]:-}" 0 "import --json: 0 updated"
assert_eq "${J[3]:-}" 10000 "import --json: tiers sum to 10000"
assert_eq "${J[4]:-}" '["basic", "standard", "vip"]' "import --json: the three tiers"
assert_eq "${J[5]:-}" true "import: 0 < vip < standard < basic"
per_tier=${J[6]:-}
assert_eq "$(tier_counts "$V")" "$per_tier" "tiers --json agrees with the import summary"

# ---- re-import: everything is an update, nothing changes tier
expect_exit 0 "$VIPVAULT" --vault "$V" import "$SAMPLE"
assert_contains "$OUT" "imported 10000 records (0 new, 10000 updated)" \
    "re-import: 0 new, 10000 updated"
set -- $per_tier
assert_match "$OUT" "vip +$1\$" "re-import text summary: vip $1"
assert_match "$OUT" "standard +$2\$" "re-import text summary: standard $2"
assert_match "$OUT" "basic +$3\$" "re-import text summary: basic $3"
assert_eq "$(tier_counts "$V")" "$per_tier" "re-import: counts unchanged"

# ---- malformed files: exit 4, line and column named, nothing changed
HDR=external_id,name,phone,email,address,annual_spend,client_since,owner,notes
R1='N1,Ann Example,+7 900 111 22 33,ann@example.org,addr,100.00,2020-01-01,alice,n'
R2A='N2,Bob Example'
R2B='b@example.org,addr,1.00,2020-01-01,bob,n'

state=$(vault_state "$V")
n=0
# bad_csv LABEL EXPECTED_MESSAGE CONTENT(printf format)
bad_csv() {
	n=$((n + 1))
	local f=$E2E_TMP/bad$n.csv
	printf "$3" >"$f"
	expect_exit 4 "$VIPVAULT" --vault "$V" import "$f"
	assert_contains "$ERR" "$2" "$1: message names '$2'"
	assert_contains "$ERR" "nothing was imported" "$1: says nothing was imported"
	assert_not_contains "$ERR" "Bob Example" "$1: message quotes no client data"
	assert_empty "$OUT" "$1: nothing on stdout"
	assert_eq "$(vault_state "$V")" "$state" "$1: vault.db and counts unchanged"
}

bad_csv "bad phone" "line 3, column phone" \
    "$HDR\n$R1\n$R2A,12345,$R2B\n"
bad_csv "phone with letters" "line 3, column phone" \
    "$HDR\n$R1\n$R2A,+7 900 CALL ME,$R2B\n"
bad_csv "bad e-mail" "line 3, column email" \
    "$HDR\n$R1\nN2,Bob Example,+79001112233,bob.example.org,addr,1.00,2020-01-01,bob,n\n"
bad_csv "unknown header column" "line 1, column 4: unknown column" \
    "external_id,name,phone,fax,annual_spend,client_since,owner\n"
bad_csv "repeated header column" "line 1, column 3: column name appears twice" \
    "external_id,name,name,annual_spend,client_since,owner\n"
bad_csv "missing required column" "required column client_since is missing" \
    "external_id,name,annual_spend,owner\nN1,A,1,alice\n"
bad_csv "too few fields" "line 3: 3 fields, the header has 9" \
    "$HDR\n$R1\n$R2A,+79001112233\n"
bad_csv "too many fields" "line 3: 10 fields, the header has 9" \
    "$HDR\n$R1\n$R2A,+79001112233,$R2B,extra\n"
bad_csv "unterminated quote" "line 3, column 2: unterminated quoted field" \
    "$HDR\n$R1\nN2,\"Bob Example,+79001112233,$R2B\n"
bad_csv "quote inside unquoted field" "line 3, column 2: quote in unquoted field" \
    "$HDR\n$R1\nN2,Bob \"Example\",+79001112233,$R2B\n"
bad_csv "bad amount" "line 3, column annual_spend" \
    "$HDR\n$R1\n$R2A,+79001112233,b@example.org,addr,12a.00,2020-01-01,bob,n\n"
bad_csv "negative amount" "line 3, column annual_spend" \
    "$HDR\n$R1\n$R2A,+79001112233,b@example.org,addr,-5.00,2020-01-01,bob,n\n"
bad_csv "three decimals" "line 3, column annual_spend" \
    "$HDR\n$R1\n$R2A,+79001112233,b@example.org,addr,5.001,2020-01-01,bob,n\n"
bad_csv "bad date" "line 3, column client_since" \
    "$HDR\n$R1\n$R2A,+79001112233,b@example.org,addr,1.00,2020-13-01,bob,n\n"
bad_csv "29 February of a common year" "line 3, column client_since" \
    "$HDR\n$R1\n$R2A,+79001112233,b@example.org,addr,1.00,2021-02-29,bob,n\n"
bad_csv "date not ISO" "line 3, column client_since" \
    "$HDR\n$R1\n$R2A,+79001112233,b@example.org,addr,1.00,01/02/2020,bob,n\n"
bad_csv "duplicate external id" "line 3, column external_id: appears earlier" \
    "$HDR\n$R1\n$R1\n"
bad_csv "empty name" "line 3, column name" \
    "$HDR\n$R1\nN2,,+79001112233,$R2B\n"
bad_csv "bad owner" "line 3, column owner" \
    "$HDR\n$R1\n$R2A,+79001112233,b@example.org,addr,1.00,2020-01-01,bob smith,n\n"
bad_csv "invalid UTF-8" "line 3, column 2: invalid UTF-8" \
    "$HDR\n$R1\nN2,Bob \xff\xfeExample,+79001112233,$R2B\n"
bad_csv "NUL byte" "line 3, column 2: NUL byte" \
    "$HDR\n$R1\nN2,Bob \0Example,+79001112233,$R2B\n"
bad_csv "empty file" "line 1: the file is empty" ""
# a multi-line quoted field: the line is the one the bad record starts on
bad_csv "line after a multi-line field" "line 5, column phone" \
    "$HDR\nN1,Ann,+79001112233,a@example.org,addr,1.00,2020-01-01,alice,\"one\ntwo\nthree\"\n$R2A,555,$R2B\n"

# ---- all or nothing at scale: the sample with new ids plus one bad row
# at the end (beyond the first 1024-record chunks)
python3 - "$SAMPLE" "$E2E_TMP/big.csv" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f, \
     open(sys.argv[2], "w", newline="", encoding="utf-8") as g:
    r = csv.reader(f)
    w = csv.writer(g, lineterminator="\n")
    w.writerow(next(r))
    for row in r:
        row[0] = "NEW" + row[0]
        w.writerow(row)
    w.writerow(["LAST1", "Bob Example", "+7 900 111 22 33", "b@example.org",
                "addr", "1.00", "2020-02-30", "bob", "n"])
EOF
expect_exit 4 "$VIPVAULT" --vault "$V" import "$E2E_TMP/big.csv"
assert_contains "$ERR" ", column client_since" "bad last row: column named"
assert_match "$ERR" "line 1[0-9]{4}, column" "bad last row: its line named"
assert_eq "$(vault_state "$V")" "$state" "bad last row of 10001: nothing imported"

# ---- a missing file: not found, nothing changed
expect_exit 3 "$VIPVAULT" --vault "$V" import "$E2E_TMP/no-such.csv"
assert_eq "$(vault_state "$V")" "$state" "missing file: nothing changed"

# ---- accepted variants: CRLF, BOM-less, no final newline, any column order
printf 'owner,client_since,annual_spend,name,external_id\r\nbob,2020-01-01,12.5,Crlf Example,V1\r\n' \
    >"$E2E_TMP/crlf.csv"
expect_exit 0 "$VIPVAULT" --vault "$V" --json import "$E2E_TMP/crlf.csv"
assert_eq "$(json 'd["inserted"]')" 1 "CRLF, reordered columns, optional ones left out"
printf '%s\n%s' "$HDR" 'V2,Last Line,+1 212 555 0100,x@example.org,a,1,2020-01-01,bob,n' \
    >"$E2E_TMP/nonl.csv"
expect_exit 0 "$VIPVAULT" --vault "$V" --json import "$E2E_TMP/nonl.csv"
assert_eq "$(json 'd["inserted"]')" 1 "no newline after the last row"

finish
