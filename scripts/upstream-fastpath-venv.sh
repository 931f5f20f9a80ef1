#!/usr/bin/env bash
# A Python virtualenv, outside the clone, with what OONI's own fastpath (ooni/backend
# `fastpath.core`) needs to be imported unchanged by test/support/upstream-fastpath/harness.py:
# the conformance test (test/origin/fastpath-upstream/) and bench/fastpath compare our rows and
# speed with it. Everything comes from PyPI (pinned); the upstream code itself is never installed
# here, it is read from a snapshot (see test/support/upstream-fastpath/locate.ts).
#
#   scripts/upstream-fastpath-venv.sh            # prints the venv's python; ~5 s the first time
#
# Not needed: boto3/lz4 (S3 feeder) and gunicorn (HTTP feeder), which the harness stubs.
set -euo pipefail
VENV="${OONI_FASTPATH_VENV:-$HOME/.cache/ooni-edge/fastpath-upstream-venv-v1}"
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    ujson==5.10.0 PyYAML==6.0.2 packaging==24.2 statsd==4.0.1 clickhouse-driver==0.2.9 >&2
  touch "$VENV/.complete"
fi
echo "$VENV/bin/python"
