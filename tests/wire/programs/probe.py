#!/usr/bin/python3
"""A per-connection program for the wire tests: it says what it was given,
then does what each line asks."""

import json
import os
import subprocess
import sys
import time

print(json.dumps({"pid": os.getpid(), "env": dict(os.environ)}))

for line in sys.stdin:
    line = line.rstrip("\n")
    if line == "crash":
        sys.exit(3)
    elif line == "exit":
        print("bye")
        sys.exit(0)
    elif line.startswith("stderr "):
        print(line[len("stderr "):], file=sys.stderr)
        print("ok")
    elif line.startswith("big "):
        print("x" * int(line[len("big "):]))
    elif line == "spawn":
        # A grandchild in the same process group, that would outlive us.
        child = subprocess.Popen(["sleep", "600"])
        print(child.pid)
    elif line == "flood":
        for i in range(20000):
            print("line %d %s" % (i, "y" * 200))
    elif line == "stall":
        time.sleep(600)
    else:
        print(line)
