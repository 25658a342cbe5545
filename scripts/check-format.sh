#!/usr/bin/env bash
# The C++ format check of `npm run lint`: every C++/CUDA file of the repository (tracked, or new and not ignored,
# so that a file is checked before its first commit) as clang-format (.clang-format) writes it.
# `bash scripts/check-format.sh --fix` rewrites them instead.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format not found (apt-get install clang-format)"; exit 1; }
mapfile -t listed < <(git ls-files --cached --others --exclude-standard '*.h' '*.cpp' '*.cu' '*.cuh' | grep -E '^(cpp|binding|test)/' | sort -u)
files=()
for f in "${listed[@]}"; do [[ -f "$f" ]] && files+=("$f"); done  # not a file deleted but still in the index
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
