#!/usr/bin/env bash
# On a CPU machine (with Debian's archive): download the Debian packages the GPU machine lacks
# - Abseil, nlohmann-json, GoogleTest, and Gloo's headers (pip wheels of torch leave them out;
# the build searches them only after LibTorch's own) - into ci/gpu/debs/ (git-ignored), to travel there with the
# device tool's `carry`. They are unpacked there with dpkg -x into a prefix of the build's own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p debs && cd debs
apt-get download libabsl-dev libabsl20220623 nlohmann-json3-dev libgtest-dev libgmock-dev \
  libgloo-dev
size=$(du -sb . | cut -f1)
echo "ci/gpu/debs: $(ls | wc -l) packages, $((size / 1024)) KiB"
(( size < 64 * 1024 * 1024 )) || { echo "more than the 64 MiB a carry may take" >&2; exit 1; }
