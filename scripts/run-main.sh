#!/usr/bin/env bash
# The main job, from a fresh machine: install, build, list the devices, run the conformance suite on
# every local device (the built plugins of build/adapters.d included: template, npu-sim) and write
# its porting report to reports/<device>/. Idempotent.
# Exits non-zero when any device fails conformance.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DSHAL_BUILD_DIR:-$root/build}
reports=${DSHAL_REPORTS_DIR:-$root/reports}
bash "$root/scripts/build.sh"

dshal="$build/bin/dshal"
export DSHAL_ADAPTER_PATH=${DSHAL_ADAPTER_PATH:-$build/adapters.d}
"$dshal" devices
ids=$("$dshal" devices --json | grep -o '"id": "[^"]*"' | cut -d'"' -f4)
status=0
for id in $ids; do
  out="$reports/${id//:/_}"
  echo "== conformance on $id -> $out"
  "$dshal" conform --device "$id" --tier all --report "$out" || status=1
done
# Backends without a device here (cuda on a machine without a GPU): a report saying why.
absent=$("$dshal" devices --json | sed -n '/"unavailable"/,$p' | grep -o '"backend": "[^"]*"' | cut -d'"' -f4 || true)
for b in $absent; do
  "$dshal" conform --device "$b" --report "$reports/$b" || true  # exit 2: no device, reports written
done
echo "reports: $reports"
exit $status
