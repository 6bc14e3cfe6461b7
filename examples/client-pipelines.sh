#!/bin/sh
# client-pipelines.sh: switchyard-client in shell pipelines.
#
#   sh examples/client-pipelines.sh 'http://127.0.0.1:8080/?token=v1.c.…'
#
# Give it the control-url the server printed. The last part needs the
# count.v1 program-backed subprotocol (examples/programs/count.py):
#
#   switchyard --headless --port 8080 \
#     --subprotocol "count.v1=python3 $PWD/examples/programs/count.py"
#
# SWITCHYARD_CLIENT names the client if it is not on PATH
# (e.g. SWITCHYARD_CLIENT=build/app/switchyard-client).
set -eu

client=${SWITCHYARD_CLIENT:-switchyard-client}
page=${1:?usage: $0 CONTROL-URL}

# http://HOST:PORT/?token=T  →  ws://HOST:PORT/ws and T
hostport=${page#*://}
hostport=${hostport%%/*}
token=${page##*token=}
case $page in
    https:*) ws="wss://$hostport/ws" ;;
    *) ws="ws://$hostport/ws" ;;
esac

echo "== three temperature readings (hello and the catalogue come first)"
"$client" "$ws" -p switchyard.sensor.v1 --token "$token" --expect 5 --timeout 10 </dev/null |
    grep '"type":"reading"' |
    sed -E 's/.*"temperature":(-?[0-9.e+-]+).*/temperature \1/'

echo "== the lamp on, and the device's confirmation"
"$client" "$ws" -p switchyard.relay.v1 --token "$token" --expect 5 --timeout 10 \
    --send '{"type":"set","id":1,"relay":"lamp","on":true}' </dev/null |
    grep '"type":"ack"' |
    sed -E 's/.*"id":"lamp".*"on":(true|false).*/lamp on: \1/'

echo "== a note on every display"
"$client" "$ws" -p switchyard.display.v1 --token "$token" --expect 4 --timeout 10 \
    --send '{"type":"post","id":1,"text":"posted from a shell pipeline"}' </dev/null |
    grep -c '"type":"note"' | sed 's/^/notes seen: /'

echo "== counting to ten with a program-backed subprotocol (count.v1)"
# Every line of input is one message; every message back is one line. The
# program exits after ten, the server closes with 1000, the client exits 0.
printf '%s\n' 1 3 5 7 9 | "$client" "$ws" -p count.v1 --token "$token" --timeout 10
echo "== done"
