#!/usr/bin/python3
"""count.py: a program-backed subprotocol, one process per connection.

    switchyard --headless --subprotocol "count.v1=python3 $PWD/examples/programs/count.py"

Switchyard starts this program for every connection that negotiates
count.v1. Each text message arrives as one line on stdin; each line printed
on stdout goes back as one text message. The client and the program count
to ten in turns: the client says a number, the program answers with the
next one. When ten is reached the program says so and exits with status 0,
and Switchyard closes the connection with 1000 (any other status: 1011).

Switchyard sets PYTHONUNBUFFERED=1, so print() needs no flush. The
connection's details are in SWITCHYARD_* environment variables.
"""

import os
import sys

peer = os.environ.get("SWITCHYARD_PEER", "someone")
print("hello %s: say 1, I say 2, up to ten" % peer)

expected = 1
for line in sys.stdin:
    word = line.strip()
    try:
        number = int(word)
    except ValueError:
        print("error: %r is not a number; say %d" % (word, expected))
        continue
    if number != expected:
        print("error: say %d, not %d" % (expected, number))
        continue
    if number + 1 >= 10:
        print("10")
        print("ten! bye")
        sys.exit(0)
    print(number + 1)
    expected = number + 2

# The client closed before ten: stdin ended.
print("counting stopped at %d" % (expected - 1), file=sys.stderr)
