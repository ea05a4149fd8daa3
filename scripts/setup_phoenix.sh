#!/usr/bin/env bash
# Idempotent set-up of the test-only Phoenix environment (.venv-phoenix, git-ignored, about 850 MB) from the
# pinned requirements-phoenix.txt. ./test calls it; tests/test_phoenix_traces.py skips if it is missing.
# Rebuilt from scratch when the pinned list changed or a previous build did not finish (no stamp).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
mkdir -p .venv-phoenix
# A worktree may symlink another checkout's .venv-phoenix: build where it points (venv refuses a symlink),
# so the scripts' shebangs name the real place.
VENV=$(readlink -f .venv-phoenix)
stamp="$VENV/.requirements.sha"
want=$(sha256sum requirements-phoenix.txt | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
echo "setting up $VENV (test-only, for the Phoenix trace test) from requirements-phoenix.txt" >&2
"$PY" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-phoenix.txt \
  2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
"$VENV/bin/python" -c "import phoenix.server.main" || { echo "$VENV: phoenix does not import" >&2; exit 1; }
echo "$want" > "$stamp"
