#!/usr/bin/env bash
# Render every sample (or those named), install it, run the smoke client against
# its running server, then its own `make quality`. Stops at the first failure,
# naming the sample and the step.
#
#   scripts/render-samples.sh [NAME ...]
#   RENDER_ROOT=/tmp/x scripts/render-samples.sh   # render into /tmp/x/NAME instead
#                                                  # of samples/NAME/render
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
UV=${UV:-uv}
export UV

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for dir in "$root"/samples/*/; do names+=("$(basename "$dir")"); done
fi

fail() {
  echo "render-samples: FAILED: sample '$1', step '$2'" >&2
  exit 1
}

for name in "${names[@]}"; do
  if [ -n "${RENDER_ROOT:-}" ]; then dest=$RENDER_ROOT/$name; else dest=$root/samples/$name/render; fi
  echo "== $name: render and install"
  "$root/scripts/render-sample.sh" "$name" "$dest" || fail "$name" "render and install"
  echo "== $name: smoke test"
  python "$root/scripts/automation/render_client.py" "$dest" || fail "$name" "smoke test"
  echo "== $name: make quality"
  make -C "$dest" --no-print-directory quality UV="$UV" || fail "$name" "make quality"
  echo "== $name: ok"
done
