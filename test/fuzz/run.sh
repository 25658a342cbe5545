#!/usr/bin/env bash
# Builds the fuzz targets and runs each for SECONDS (default 15: the CI's short bounded run), from the seeds in
# test/fuzz/seeds/<target>. A crash, an escaped non-ssn exception, a hang over 10 s or an allocation over 2 GB
# fails the run and leaves the input as build/fuzz/<target>/crash-* (or timeout-*, oom-*).
# Longer runs: bash test/fuzz/run.sh 3600, or one target by hand:
#   build/fuzz/fuzz_pickle -rss_limit_mb=2048 -timeout=10 build/fuzz/corpus/pickle test/fuzz/seeds/pickle
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-15}"
bash test/fuzz/build.sh build/fuzz
# Leaks are findings, except libtorch's own (lsan.supp says which and why).
export LSAN_OPTIONS="suppressions=$PWD/test/fuzz/lsan.supp:print_suppressions=0"
for target in pickle safetensors torch_checkpoint tfjs; do
  corpus="build/fuzz/corpus/$target"
  mkdir -p "$corpus" "build/fuzz/$target"
  echo "fuzz: $target for ${seconds} s"
  (cd "build/fuzz/$target" && ../fuzz_$target -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
    -print_final_stats=1 "../corpus/$target" "../../../test/fuzz/seeds/$target" 2>&1 | tail -n 12)
  # libFuzzer exits non-zero on a finding; with pipefail the line above fails the script then.
done
echo "fuzz: no findings"
