#!/bin/sh
# Runs one display test in its own Xvfb server and session bus.
#
# The session bus's helpers may print on stdout, which would corrupt TAP:
# the test's stdout travels on fd 3 and everything else's goes to /dev/null.
#
# Display tests keep the system's data directories (sy_test_init reads
# SY_TEST_DISPLAY): icon themes and the shared MIME database live there, and
# without the MIME database GTK cannot even load its own SVG icons.
export SY_TEST_DISPLAY=1
exec 3>&1
exec xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
  dbus-run-session -- sh -c 'exec "$@" 1>&3 3>&-' x "$@" >/dev/null
