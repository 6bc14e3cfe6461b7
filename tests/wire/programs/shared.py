#!/usr/bin/python3
"""A shared program for the wire tests: it speaks the JSON envelope, and
writes a few lines that are not envelopes, which the server must ignore."""

import json
import os
import sys


def send(**kw):
    print(json.dumps(kw), flush=True)


for line in sys.stdin:
    event = json.loads(line)
    cid = event["connection"]
    if event["event"] == "open":
        print("this is not JSON", flush=True)
        print("[1, 2, 3]", flush=True)
        send(connection="999999", text="for no one")
        send(connection=cid, text=json.dumps({"welcome": cid, "pid": os.getpid(),
                                              "role": event["role"], "peer": event["peer"],
                                              "session": event["session"]}))
    elif event["event"] == "message":
        text = event["text"]
        if text.startswith("all "):
            send(connection="*", text=text[4:])
        elif text == "bye":
            send(connection=cid, text="closing you", close=4000, reason="asked to")
        elif text == "die":
            sys.exit(5)
        else:
            send(connection=cid, text="echo " + text)
    elif event["event"] == "close":
        send(connection="*", text="left %s %d" % (cid, event["code"]))
