#!/usr/bin/env bash
# test_api_ops.sh - the HTTP API server under operations through real
# servers: a graceful stop with requests in flight, a kill -9 in the
# middle of writes and the restart, malformed, oversized and slow
# requests, and TLS.  The helpers are in api_lib.sh.
. "$(dirname "$0")/api_lib.sh"

# =====================================================================
# 1. the vault: a writer and two readers
# =====================================================================
api_vault
api_roles sales sync salesfree
api_token SALES sales alice
api_token SYNC sync crm
api_token SALESFREE salesfree alice

# =====================================================================
# 2. graceful stop
# =====================================================================
# a) Requests pinned in flight: each sends its headers with "Expect:
# 100-continue" and waits for "100 Continue" (the server has begun it)
# before SIGTERM; then the bodies follow.  Every one must be answered in
# full; a health check on an open connection says "stopping"; new
# connections are refused.
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
	elif [ "$rc" = 0 ] && [ "$code" = 503 ] &&
	    grep -q '"code":"unavailable"' "$E2E_TMP/c$i.body"; then
		# read only after SIGTERM: not a request under way
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
[ "$(grep -vEc '"status":(200|503)' "$E2E_TMP/stop2.log")" -eq 0 ] &&
    ok "stop (curls): no request logged as cut (499)" ||
    fail "stop (curls): $(grep -vE '"status":(200|503)' "$E2E_TMP/stop2.log" | head -3)"

# c) keep-alive clients reading as fast as they can when SIGTERM comes:
# reads wait suspended for the group commit, and libmicrohttpd aborts if
# stopped with one suspended.  The server must still exit 0.
if command -v wrk >/dev/null; then
	(umask 077; cat >"$E2E_TMP/load.lua" <<EOF2
wrk.headers["Authorization"] = "Bearer $SALESFREE"
request = function() return wrk.format("GET", "/v1/clients/$A0") end
EOF2
	)
	for round in 1 2 3; do
		start_server "stop3.$round"
		wrk -t1 -c16 -d4s -s "$E2E_TMP/load.lua" "$URL" \
		    >"$E2E_TMP/wrk.$round" 2>&1 &
		WRK=$!
		sleep 1
		stop_server "$SRV"
		wait "$WRK" 2>/dev/null
		assert_eq "$SRV_RC" 0 "stop under keep-alive load ($round): exit 0"
		assert_not_contains "$(cat "$E2E_TMP/stop3.$round.err")" "Fatal" \
		    "stop under keep-alive load ($round): no libmicrohttpd abort"
		grep -q '"status":200' "$E2E_TMP/stop3.$round.log" &&
		    ok "stop under load ($round): reads were served" ||
		    fail "stop under load ($round): no read served"
	done
else
	fail "wrk is missing (make deps installs it)"
fi
expect_exit 0 vvr compliance verify --mirror "$V/mirror" --key "$V/compliance.key"
assert_contains "$OUT" "the same" "after the stops: the mirror and the vault agree"

# =====================================================================
# 3. kill -9 in the middle of writes
# =====================================================================
start_server kill1
KILL1=$SRV
api PUT /v1/clients/C900001 "$SYNC" "${PUTH[@]}" \
    -d "$(put_body alice 'Jane Roe' '+44 20 7946 0958' 'call before noon')"
expect_status 201 "kill: a record to update after the restart"
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
# 4. malformed, oversized and slow requests (on the restarted server)
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
PHONE_DIGITS="${A0_E164#+} ${E0_E164#+} 442079460958 442079460111"
assert_eq "$SRV_RC" 0 "restarted server: SIGTERM, exit 0"
check_access_log "$E2E_TMP/kill2.log" 20 "access log after the restart"

# =====================================================================
# 5. TLS
# =====================================================================
K=$E2E_TMP/keys
mkdir -m 700 "$K"
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$K/tls.key" -out "$K/tls.crt"
[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "openssl: a self-signed certificate"; }
expect_exit 1 vvr serve --listen 127.0.0.1:0 --tls-cert "$K/tls.crt"
# Files that are not a certificate and its key: refused before anything
# listens, naming the file and the problem, never quoting the key.
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 1 -subj /CN=other -keyout "$K/other.key" -out "$K/other.crt"
[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "openssl: a second certificate"; }
run openssl pkey -in "$K/tls.key" -aes256 -passout pass:secret \
    -out "$K/locked.key"
[ "$RC" -eq 0 ] || { _show "$ERR"; fatal "openssl: an encrypted key"; }
printf 'not a key\n' >"$K/plain.key"
sed '2s/./X/; 3s/./Y/' "$K/tls.key" >"$K/broken.key"
KEYTEXT=$(sed -n 2p "$K/tls.key")
tls_refused() {	# LABEL EXIT MESSAGE CERT KEY
	expect_exit "$2" vvr serve --listen 127.0.0.1:0 --tls-cert "$4" \
	    --tls-key "$5"
	assert_contains "$ERR" "$3" "TLS refused: $1: says why"
	assert_not_contains "$ERR" "${KEYTEXT:0:24}" "TLS refused: $1: no key text"
	assert_not_contains "$ERR" "listening" "TLS refused: $1: never listened"
}
tls_refused "key not PEM" 4 "plain.key: not a PEM file" "$K/tls.crt" "$K/plain.key"
tls_refused "damaged key" 4 "broken.key: no private key in it" "$K/tls.crt" "$K/broken.key"
tls_refused "encrypted key" 4 "locked.key: the key has a passphrase" "$K/tls.crt" "$K/locked.key"
tls_refused "the key of another certificate" 4 \
    "other.key: the key does not go with the certificate" "$K/tls.crt" "$K/other.key"
tls_refused "the key given as certificate" 4 "tls.key: no X.509 certificate" \
    "$K/tls.key" "$K/tls.key"
tls_refused "a missing certificate" 3 "nothere.crt: No such file" \
    "$K/nothere.crt" "$K/tls.key"
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
api_finish
