#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine: system packages (libtorch-dev, nlohmann-json3-dev, libgloo-dev, cmake, g++) when
# missing, the npm dependencies, and the build (native addon + TypeScript). Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v clang-format >/dev/null 2>&1 || need+=(clang-format)  # npm test checks the C++ format
[ -f /usr/include/nlohmann/json.hpp ] || need+=(nlohmann-json3-dev)  # the JSON parser of the core
# gloo's headers, for distributed training on the CPU (Debian's libtorch links gloo but ships no headers for it)
if [ -z "${LIBTORCH:-}" ] && [ -z "${Torch_DIR:-}" ] && [ ! -f /usr/include/gloo/algorithm.h ]; then need+=(libgloo-dev); fi
if [ -z "${LIBTORCH:-}" ] && [ -z "${Torch_DIR:-}" ] && ! dpkg -s libtorch-dev >/dev/null 2>&1 \
   && ! python3 -c "import torch" >/dev/null 2>&1; then
  need+=(libtorch-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need[*]} with apt-get"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# onnxruntime-node (a devDependency, for the ONNX export tests) runs on its bundled CPU binaries: its install
# script would download CUDA providers from outside the npm registry.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
