#!/usr/bin/env bash
# The C++ format check of `npm run lint`: every tracked C++/CUDA file as clang-format (.clang-format) writes it.
# `bash scripts/check-format.sh --fix` rewrites them instead.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format not found (apt-get install clang-format)"; exit 1; }
mapfile -t files < <(git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' | grep -E '^(cpp|binding|test)/')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
status=0
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" 2>/dev/null || { echo "check-format: $f is not formatted (bash scripts/check-format.sh --fix)"; status=1; }
done
[[ $status == 0 ]] && echo "check-format: ${#files[@]} C++ files formatted"
exit $status
