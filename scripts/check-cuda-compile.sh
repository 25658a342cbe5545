#!/usr/bin/env bash
# Compiles every torch-free CUDA source (cpp/**/*.cu) for the oldest and the newest target
# (sm_70 and sm_90; sm_75 where nvcc no longer knows sm_70, as CUDA 13), links the standalone
# device tests (test/cuda/*.cu), and syntax-checks the C++ that only a CUDA libtorch compiles. With --run, also runs those tests (needs a GPU).
# Without nvcc it says so and succeeds: CPU-only machines have nothing to check.
set -euo pipefail
cd "$(dirname "$0")/.."

NVCC="${NVCC:-$(command -v nvcc || true)}"
if [[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]]; then NVCC=/usr/local/cuda/bin/nvcc; fi
if [[ -z "$NVCC" ]]; then
  echo "check-cuda-compile: nvcc not found, skipped"
  exit 0
fi
RUN=0
[[ "${1:-}" == "--run" ]] && RUN=1

supported="$("$NVCC" --list-gpu-arch 2>/dev/null || true)"
archs=()
if grep -qx compute_70 <<<"$supported"; then archs+=(70); else
  echo "check-cuda-compile: nvcc $("$NVCC" --version | grep -o "release [0-9.]*") has no sm_70, using sm_75 instead"
  archs+=(75)
fi
archs+=(90)

mapfile -t kernels < <(find cpp -name '*.cu' | sort)
mapfile -t tests < <(find test/cuda -name '*.cu' 2>/dev/null | sort)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0
for arch in "${archs[@]}"; do
  for src in "${kernels[@]}"; do
    obj="$out/$(echo "$src" | tr '/' '_')_$arch.o"
    if "$NVCC" -std=c++17 -arch="sm_$arch" -I cpp -c "$src" -o "$obj"; then
      echo "ok   sm_$arch $src"
    else
      echo "FAIL sm_$arch $src"
      status=1
    fi
  done
  for t in "${tests[@]}"; do
    exe="$out/$(basename "$t" .cu)_$arch"
    if "$NVCC" -std=c++17 -arch="sm_$arch" -I cpp "$t" "${kernels[@]}" -o "$exe"; then
      echo "ok   sm_$arch $t (linked)"
    else
      echo "FAIL sm_$arch $t"
      status=1
    fi
  done
done

# The C++ that only a CUDA libtorch compiles (SSN_WITH_CUDA / SSN_CUDA_GRAPHS branches): syntax-checked against
# this machine's libtorch headers, which include ATen/cuda and c10/cuda, with the one generated header a CPU
# libtorch lacks supplied by test/cuda/include. Catches API drift before a GPU machine sees the code.
TORCH_INC=""
for d in "${LIBTORCH:+$LIBTORCH/include}" /usr/include; do
  if [[ -n "$d" && -f "$d/torch/csrc/api/include/torch/torch.h" ]]; then TORCH_INC="$d"; break; fi
done
# nvcc may be a wrapper script on the PATH: ask it where its own headers are.
CUDA_INC="$("$NVCC" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ INCLUDES="-I\([^"]*\)".*/\1/p' | head -1)"
[[ -f "$CUDA_INC/cuda_runtime_api.h" ]] || CUDA_INC="${CUDA_HOME:-/usr/local/cuda}/include"
if [[ -n "$TORCH_INC" && -f "$CUDA_INC/cuda_runtime_api.h" ]]; then
  mapfile -t cuda_cpp < <(grep -rlE 'SSN_WITH_CUDA|SSN_CUDA_GRAPHS' cpp test/cuda --include='*.cpp' | sort)
  # Distributed training's NCCL path too (test/cuda/include stands in for nccl.h), and its gloo path where
  # gloo's headers are installed.
  extra=(-DUSE_C10D_NCCL=1)
  [[ -f /usr/include/gloo/algorithm.h ]] && extra+=(-DSSN_WITH_GLOO=1)
  for src in "${cuda_cpp[@]}"; do
    if "${CXX:-g++}" -std=c++17 -fsyntax-only -DSSN_WITH_CUDA=1 -DSSN_CUDA_GRAPHS=1 "${extra[@]}" -I cpp -I test/cpp -I test/cuda/include \
        -I "$TORCH_INC" -I "$TORCH_INC/torch/csrc/api/include" -I "$CUDA_INC" "$src"; then
      echo "ok   syntax (CUDA build) $src"
    else
      echo "FAIL syntax (CUDA build) $src"
      status=1
    fi
  done
else
  echo "check-cuda-compile: no libtorch headers or CUDA headers for the CUDA-only C++: its syntax check skipped"
fi

if [[ $RUN == 1 && $status == 0 ]]; then
  for t in "${tests[@]}"; do
    exe="$out/$(basename "$t" .cu)_${archs[-1]}"
    if "$exe"; then echo "ok   run $t"; else echo "FAIL run $t"; status=1; fi
  done
fi
exit $status
