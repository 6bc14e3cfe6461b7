#!/bin/sh
# shout.sh: a program-backed subprotocol in shell, one process per connection.
#
#   switchyard --headless --subprotocol "shout.v1;view=sh $PWD/examples/programs/shout.sh"
#
# Greets the client with what Switchyard put in its environment, then sends
# every message back in capitals. `read` takes one message per line; each
# printf writes one line, which is one message back. Tools that buffer a
# pipe's output (tr, sed, grep, awk) must be told not to, or run once per
# line as here.

printf 'hello %s, your role is %s on %s\n' \
    "$SWITCHYARD_PEER" "$SWITCHYARD_ROLE" "$SWITCHYARD_SUBPROTOCOL"

while IFS= read -r line; do
    printf '%s\n' "$line" | tr '[:lower:]' '[:upper:]'
done
