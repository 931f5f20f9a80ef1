#!/usr/bin/env bash
# Regenerates origin/fixtures/geoip/*.mmdb. Installs nothing: it only tells you what is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
outdir="${1:-$root/origin/fixtures/geoip}"

if ! perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null; then
  echo "The Perl module MaxMind::DB::Writer::Tree is missing. On Debian/Ubuntu install it with:" >&2
  echo "  apt-get install -y --no-install-recommends libmaxmind-db-writer-perl" >&2
  exit 1
fi

mkdir -p "$outdir"
exec perl "$root/scripts/make-geoip-fixture.pl" "$outdir"
