#!/usr/bin/env bash
# The tests, from a fresh machine: install, build, ctest. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DSHAL_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure --timeout 1200 "$@"
