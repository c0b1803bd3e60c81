#!/usr/bin/env bash
# Render one sample and install it: scripts/render-sample.sh NAME [DEST]
#
# NAME is a folder under samples/ holding copier-answers.yml; DEST defaults to
# samples/NAME/render (git-ignored). The template is rendered from this working
# tree, uncommitted changes included. Needs copier on PATH (`make install`
# provides it; run through `uv run`) and uv (UV=..., or on PATH).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: render-sample.sh NAME [DEST]}
dest=${2:-$root/samples/$name/render}
answers=$root/samples/$name/copier-answers.yml
UV=${UV:-uv}

[ -f "$answers" ] || { echo "render-sample: no sample '$name' ($answers is missing)" >&2; exit 2; }

# Keep the sample's virtual environment across renders: reinstalling from the
# uv cache is quick, but not creating it at all is quicker.
keep=""
if [ -d "$dest/python/.venv" ]; then
  keep=$(mktemp -d)
  mv "$dest/python/.venv" "$keep/.venv"
fi
rm -rf "$dest"
copier copy --quiet --defaults --vcs-ref HEAD --data-file "$answers" "$root" "$dest"
if [ -n "$keep" ]; then
  mv "$keep/.venv" "$dest/python/.venv"
  rmdir "$keep"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
make -C "$dest" --no-print-directory install UV="$UV" >"$log" 2>&1 || {
  cat "$log" >&2
  echo "render-sample: '$name': make install failed" >&2
  exit 1
}
echo "render-sample: '$name' rendered and installed in $dest"
