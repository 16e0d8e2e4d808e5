#!/usr/bin/env bash
# Installs the dependencies and builds dshal into build/ (or $DSHAL_BUILD_DIR). Idempotent.
# DSHAL_SANITIZE=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DSHAL_BUILD_DIR:-$root/build}

bash "$root/scripts/install-deps.sh"

sanitize=OFF
[ "${DSHAL_SANITIZE:-0}" = 1 ] && sanitize=ON
echo "build: configuring $build (sanitizers $sanitize)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDSHAL_SANITIZE=$sanitize >/dev/null
echo "build: compiling"
cmake --build "$build" --parallel "$(nproc)"
