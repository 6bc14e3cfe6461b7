#!/usr/bin/python3
"""chat.py: a shared program-backed subprotocol, one process for everyone.

    switchyard --headless --subprotocol "chat.v1;shared;view=python3 $PWD/examples/programs/chat.py"

In shared mode Switchyard starts one long-running process and speaks to it
in JSON lines (docs/protocol.md, "The shared envelope"). On stdin:

    {"connection":"7","event":"open","peer":"127.0.0.1:5312","origin":null,"role":"view","session":"…-7"}
    {"connection":"7","event":"message","text":"hi"}
    {"connection":"7","event":"close","code":1000}

On stdout, one object per line: "connection" is an id or "*" (everyone),
"text" the message to send; "close" (1000 or 4000-4999) and "reason" close
that connection. Lines that are not such objects are logged and ignored.
"""

import json
import sys

names = {}


def send(connection, text, **extra):
    print(json.dumps(dict(connection=connection, text=text, **extra)), flush=True)


for line in sys.stdin:
    event = json.loads(line)
    cid = event["connection"]
    kind = event["event"]
    if kind == "open":
        names[cid] = "guest-" + cid
        send(cid, "welcome %s; /nick NAME to change your name, /quit to leave" % names[cid])
        send("*", "* %s joined" % names[cid])
    elif kind == "message":
        text = event["text"].strip()
        if text.startswith("/nick "):
            old, names[cid] = names[cid], text[len("/nick "):].strip()[:32] or names[cid]
            send("*", "* %s is now %s" % (old, names[cid]))
        elif text == "/quit":
            send(cid, "bye", close=1000, reason="left the chat")
        elif text:
            send("*", "<%s> %s" % (names[cid], text))
    elif kind == "close":
        send("*", "* %s left" % names.pop(cid, "guest-" + cid))
