#!/bin/sh
# The official node image's entrypoint contract: a command that is not a program (an option, or a script
# file) runs under node; anything else is exec'd as given, so it stays PID 1.
set -e
if [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1 || { [ -f "$1" ] && [ ! -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
