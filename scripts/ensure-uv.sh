#!/usr/bin/env bash
# Prints the path of a uv binary, installing uv from PyPI into the user site when missing.
set -euo pipefail
if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
python3 -m pip install --quiet --user "uv>=0.5" >&2 || python3 -m pip install --quiet "uv>=0.5" >&2
if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
user_bin="$(python3 -m site --user-base)/bin/uv"
[ -x "$user_bin" ] && { echo "$user_bin"; exit 0; }
echo "uv could not be installed" >&2
exit 1
