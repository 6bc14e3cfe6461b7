#!/bin/bash
# switchyard-client from a shell, as a script would use it: its output in a
# pipeline and every exit status (docs/client.md), against a real
# `switchyard --headless` on loopback. TAP output.
set -u

client=${SWITCHYARD_CLIENT_BIN:?SWITCHYARD_CLIENT_BIN is not set}
server=${SWITCHYARD_BIN:?SWITCHYARD_BIN is not set}

work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

n=0
failed=0
check() {  # check DESCRIPTION EXPECTED-STATUS ACTUAL-STATUS [CONDITION-RESULT]
    n=$((n + 1))
    if [ "$2" = "$3" ] && [ "${4:-0}" = 0 ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1 (status $3, expected $2)"
        sed 's/^/# /' "$work/err" 2>/dev/null | head -5
        failed=$((failed + 1))
    fi
}

# A server whose limit on message size makes a peer close easy to provoke.
"$server" --headless --port 0 --state-dir "$work/state" --max-message-size 64 \
    >"$work/urls" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
    grep -q '^control-url:' "$work/urls" && break
    sleep 0.1
done
page=$(sed -n 's/^control-url: //p' "$work/urls")
if [ -z "$page" ]; then
    echo "Bail out! the server printed no control-url"
    cat "$work/server.log" >&2
    exit 1
fi
# http://HOST:PORT/?token=T → ws://HOST:PORT/ws and T
hostport=${page#http://}
hostport=${hostport%%/*}
token=${page##*token=}
url="ws://$hostport/ws"

echo "1..9"

# 0: the echo, through a pipeline.
out=$(printf 'one\ntwo\n' | "$client" "$url" -p switchyard.echo.v1 2>"$work/err")
status=$?
[ "$out" = $'one\ntwo' ]
check "lines from stdin come back from the echo" 0 "$status" $?

# 0: --send/--expect/--json, the relay snapshot read by a JSON tool.
"$client" "$url?token=$token" -p switchyard.relay.v1 --expect 2 --json >"$work/json" 2>"$work/err"
status=$?
/usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
data = [json.loads(l["data"]) for l in lines if "data" in l]
assert data[0]["type"] == "hello" and data[0]["role"] == "control", data[0]
assert data[1]["type"] == "relays" and len(data[1]["relays"]) == 8, data[1]
' "$work/json" 2>>"$work/err"
check "--expect 2 --json: the hello and the relay snapshot, as JSON" 0 "$status" $?

# 0: a command with an id, and its ack.
out=$("$client" "$url" -t "$token" -p switchyard.relay.v1 --expect 5 \
      --send '{"type":"set","id":"sh-1","relay":"lamp","on":true}' 2>"$work/err")
status=$?
echo "$out" | grep -q '"type":"ack","id":"sh-1"'
check "a relay command is acknowledged" 0 "$status" $?

# 1: nobody listens there.
closed_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$client" "ws://127.0.0.1:$closed_port/ws" -p switchyard.echo.v1 --send x </dev/null >/dev/null 2>"$work/err"
status=$?
grep -q "Could not connect to 127.0.0.1:$closed_port" "$work/err"
check "a refused connection is status 1 and says so" 1 "$status" $?

# 1: the handshake is refused, with the server's status and reason.
"$client" "$url" -p switchyard.log.v1 </dev/null >/dev/null 2>"$work/err"
status=$?
grep -q "401" "$work/err"
check "a refused handshake (log needs a control token) is status 1 with the 401" 1 "$status" $?

# 2: usage.
"$client" "$url" </dev/null >/dev/null 2>"$work/err"
status=$?
grep -q -- "--protocol" "$work/err"
check "no --protocol is status 2" 2 "$status" $?

"$client" "http://$hostport/ws" -p switchyard.echo.v1 </dev/null >/dev/null 2>"$work/err"
check "an http:// URL is status 2" 2 $?

# 3: nothing comes in time.
"$client" "$url" -p switchyard.echo.v1 --expect 2 --send only-one --timeout 1 >/dev/null 2>"$work/err"
status=$?
grep -q "timeout" "$work/err"
check "--timeout without the expected messages is status 3" 3 "$status" $?

# 4: the server closes with 1009 (the message is over --max-message-size).
long=$(printf 'x%.0s' $(seq 100))
"$client" "$url" -p switchyard.echo.v1 --send "$long" --timeout 5 </dev/null >/dev/null 2>"$work/err"
status=$?
grep -q "1009" "$work/err"
check "a close with 1009 by the server is status 4 and names the code" 4 "$status" $?

[ "$failed" = 0 ]
