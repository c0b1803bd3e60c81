#!/usr/bin/env bash
# Render samples/default, serve it, and load-test it: scripts/loadtest.sh [loadtest options]
#
# The server runs on CPU 0 and the load-test client on CPU 1 (taskset, when
# there are two CPUs or more), so that they do not share a core. Everything
# targets 127.0.0.1. Options go to python/scripts/loadtest.py, e.g.
# `-n 10000 -k 20 --interval 0.5`; N and K default to 1,000 and 100.
# LOADTEST_SERVER=floor serves the same load with scripts/broadcast_floor.py (a
# bare `websockets` server calling websockets.broadcast()) instead: the floor.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${LOADTEST_DIR:-$root/samples/default/render}
port=${LOADTEST_PORT:-8765}
UV=${UV:-uv}

"$root/scripts/render-sample.sh" default "$dest"
cd "$dest/python"

pin_server=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 0) pin_client=(taskset -c 1)
fi

export AUTH_SECRET_KEY=${AUTH_SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')}
# Room for the 10,000-connection run; everything else keeps its default.
export WS_MAX_CONNECTIONS=${WS_MAX_CONNECTIONS:-20000}
export HOST=127.0.0.1 PORT=$port LOG_LEVEL=${LOG_LEVEL:-warning}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# The venv's python itself (taskset execs it), so that $server is the server's pid.
if [ "${LOADTEST_SERVER:-module}" = floor ]; then
  "${pin_server[@]}" .venv/bin/python "$root/scripts/broadcast_floor.py" --port "$port" &
else
  "${pin_server[@]}" .venv/bin/python -m "$(sed -n 's/^package_name: //p' ../.copier-answers.yml)" &
fi
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT

.venv/bin/python - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the server did not start")
PY

"${pin_client[@]}" .venv/bin/python scripts/loadtest.py \
  --url "ws://127.0.0.1:$port/ws" --server-pid "$server" "$@"
