#!/usr/bin/python3
"""Ignores SIGTERM and never reads: only SIGKILL ends it."""

import os
import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
print(os.getpid(), flush=True)
while True:
    time.sleep(600)
