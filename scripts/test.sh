#!/usr/bin/env bash
# The whole test suite: set-up, type-check and build, then every jest suite
# (unit, kernel, lab scenarios), serially because lab scenarios share one lab.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

results=$(mktemp /tmp/trellis-jest-XXXXXX.json)
npx jest --runInBand --json --outputFile="$results" "$@"
status=$?
node scripts/jest-summary.js "$results" || status=1
rm -f "$results"
exit $status
