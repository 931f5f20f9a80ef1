#!/usr/bin/env bash
# Installs ooniauth-py (the reference anonymous-credentials implementation, a prebuilt wheel from
# PyPI) into a venv outside the clone, where the origin looks for it by default
# (docs/anonymous-credentials.md). Idempotent: a venv that already has the pinned version is left
# as it is. Needs python3 (3.9+) with the venv module; nothing else.
set -euo pipefail
VERSION=0.3.3
VENV="${ANONC_VENV:-$HOME/.cache/ooni-edge/anoncred-venv}"
PY="$VENV/bin/python"
if [ -x "$PY" ] && "$PY" -c "import ooniauth_py, sys; sys.exit(0 if ooniauth_py.__version__ == '$VERSION' else 1)" 2>/dev/null; then
  echo "anoncred: ooniauth-py $VERSION already in $VENV"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "anoncred: python3 is needed (e.g. apt-get install python3 python3-venv)" >&2
  exit 1
fi
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "ooniauth-py==$VERSION"
"$PY" -c "import ooniauth_py; print('anoncred: ooniauth-py', ooniauth_py.__version__, 'protocol', ooniauth_py.get_protocol_version(), 'in $VENV')"
