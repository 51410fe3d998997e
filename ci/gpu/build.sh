#!/usr/bin/env bash
# Builds the engine, train, launch and the GPU tests with CMake against a LibTorch found by
# Python's torch (the GPU machine's CUDA LibTorch 2.x), or the one named by TORCH_CMAKE_PREFIX
# (Debian's 1.13 for a dry run on a CPU machine: everything but the GPU itself). Each step is one
# line. Usage: ci/gpu/build.sh [build folder, default build-gpu]
set -euo pipefail
[[ -d /usr/local/cuda && -z "${CUDA_HOME:-}" ]] && export CUDA_HOME=/usr/local/cuda
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(mkdir -p "${1:-$root/build-gpu}" && cd "${1:-$root/build-gpu}" && pwd)
prefix="$build/debs"
python=${PYTHON:-python3}

# 1. LibTorch: its CMake config, and the C++ ABI it was built with (Debian's libraries use the new).
torch_prefix=${TORCH_CMAKE_PREFIX:-$("$python" -c "import torch; print(torch.utils.cmake_prefix_path)")}
[[ -n "${TORCH_CMAKE_PREFIX:-}" ]] || "$python" -c "import torch, sys; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cxx11 abi', torch._C._GLIBCXX_USE_CXX11_ABI); sys.exit(0 if torch._C._GLIBCXX_USE_CXX11_ABI else 'this LibTorch uses the old C++ ABI; the carried Debian libraries need the new one')"
# 2. Headers LibTorch's CUDA build includes but its CMake config leaves out: NCCL's and the CUDA
#    runtime's, from the pip nvidia-* wheels beside torch (none with Debian's LibTorch).
extra=$([[ -n "${TORCH_CMAKE_PREFIX:-}" ]] || "$python" -c "import glob, os, torch; print(';'.join(sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(torch.__file__)), 'nvidia', '**', 'include'), recursive=True))))")
# 3. The carried Debian packages, unpacked into the build's own prefix (never into /).
for deb in "$root"/ci/gpu/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
# 4. Configure and build (the CUDA toolkit where the machine has it: Torch's config looks for it).
cmake -S "$root/ci/gpu" -B "$build" -G Ninja -DCMAKE_PREFIX_PATH="$torch_prefix" -DPIPEBENCH_DEBS_PREFIX="$prefix" -DPIPEBENCH_EXTRA_INCLUDES="$extra" ${CUDA_HOME:+-DCUDAToolkit_ROOT=$CUDA_HOME}
cmake --build "$build" --parallel "$(nproc)"
echo "built in $build: train launch $(cd "$build" && ls *_test | tr '\n' ' ')"
