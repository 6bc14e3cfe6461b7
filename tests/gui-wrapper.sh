#!/bin/sh
# Runs one display test in its own Xvfb server and session bus.
#
# The session bus's helpers may print on stdout, which would corrupt TAP:
# the test's stdout travels on fd 3 and everything else's goes to /dev/null.
exec 3>&1
exec xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
  dbus-run-session -- sh -c 'exec "$@" 1>&3 3>&-' x "$@" >/dev/null
