#!/usr/bin/env bash
# Installs the Debian packages pipebench builds and runs with. Idempotent: when every package is
# already installed it returns in well under a second without touching apt.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap        # Bazel 4.2.3, the only Bazel in bookworm's archive
  libtorch-dev           # LibTorch 1.13 (CPU) with c10d
  libgloo-dev            # headers for c10d's Gloo backend
  libabsl-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libopenblas0-pthread   # LibTorch is ~40x slower on the reference BLAS
  python3-matplotlib     # report plots
  nlohmann-json3-dev    # JSON for configs, cost files and reports
  clang                 # --config=fuzz: libFuzzer targets (clang only)
  libclang-rt-14-dev    # libFuzzer, ASan and UBSan runtimes for clang
  git
  iproute2              # ip (two_host_test's namespaces), ss (launch_cli_test)
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "pipebench: installing Debian packages: ${missing[*]}" >&2
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || {
    echo "pipebench: error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get update -qq >/dev/null; then
  echo "pipebench: error: 'apt-get update' failed; check access to the Debian archive." >&2
  exit 1
fi
for pkg in "${missing[@]}"; do
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    echo "pipebench: error: Debian package '$pkg' is not available from the configured archive" \
         "(pipebench needs Debian bookworm 'main')." >&2
    exit 1
  fi
done
if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "pipebench: error: 'apt-get install ${missing[*]}' failed; run it by hand to see why." >&2
  exit 1
fi
