#!/usr/bin/python3
"""A length-prefixed program: each frame comes back with its payload
reversed, and a text frame "binary" comes back as binary bytes 0..255."""

import struct
import sys

inp = sys.stdin.buffer
out = sys.stdout.buffer


def send(kind, payload):
    out.write(struct.pack(">BI", kind, len(payload)) + payload)
    out.flush()


while True:
    head = inp.read(5)
    if len(head) < 5:
        break
    kind, length = struct.unpack(">BI", head)
    payload = inp.read(length)
    if kind == 1 and payload == b"binary":
        send(2, bytes(range(256)))
    else:
        send(kind, payload[::-1])
