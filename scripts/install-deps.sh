#!/usr/bin/env bash
# Installs the Debian packages that dshal's build, tests and benchmarks need; skips what is present.
# Idempotent and non-interactive: safe to run on every build.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libtbb-dev libfmt-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenblas-dev libclblast-dev                    # benchmark peers only
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
  libvulkan-dev glslc mesa-vulkan-drivers vulkan-validationlayers
  chromium                                          # headless check of report.html (tests only)
  libopenmpi-dev openmpi-bin                        # expert parallelism across processes
  procps                                            # pgrep in the rank-death test
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
