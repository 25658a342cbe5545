#!/usr/bin/env bash
# Builds the libFuzzer targets of the four file parsers (pickle, safetensors, torch zip/legacy, TF.js manifest)
# with clang: the parsers (cpp/io, cpp/common) compiled with coverage and AddressSanitizer, linked against
# libtorch. Needs Debian's clang and libclang-rt-dev (libFuzzer), installed here when missing.
#   bash test/fuzz/build.sh [OUT]      # default build/fuzz
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-build/fuzz}"
mkdir -p "$out/obj"

if ! command -v clang++ >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz: installing clang and libFuzzer with apt-get"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # Debian 12's clang is clang-14; its libFuzzer comes in libclang-rt-14-dev.
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi

torch_inc=(-isystem /usr/include/torch/csrc/api/include)
flags=(-std=c++17 -g -O1 -fPIC -D_GLIBCXX_USE_CXX11_ABI=1 -Icpp -Itest/fuzz "${torch_inc[@]}")
libs=(-Wl,-rpath,/usr/lib/x86_64-linux-gnu -L/usr/lib/x86_64-linux-gnu -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed -lpthread)

objs=()
for src in cpp/io/*.cpp cpp/common/*.cpp; do
  obj="$out/obj/$(echo "$src" | tr '/' '_').o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
    clang++ "${flags[@]}" -fsanitize=fuzzer-no-link,address -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done
for target in test/fuzz/fuzz_*.cpp; do
  name="$(basename "$target" .cpp)"
  clang++ "${flags[@]}" -fsanitize=fuzzer,address "$target" "${objs[@]}" "${libs[@]}" -o "$out/$name"
  echo "fuzz: built $out/$name"
done
