#!/usr/bin/env bash
# Parity of the official driver's model with our package: the official forward (official_driver.py, the
# Keras ResNet50 written in torch, heads loaded from our model file) against our predict on the same
# exported pixels, for heads as initialised and after one epoch of our supervised training.
#   bash bench/quality/parity.sh /tmp/official /work/shared/data/magnetic-tile [64] [8]
set -euo pipefail
OFFICIAL=${1:?official folder}; ROOT=${2:?Magnetic Tile root}; SIZE=${3:-64}; N=${4:-8}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/ssn-parity.XXXXXX)
node "$HERE/export-split.js" --root "$ROOT" --size "$SIZE" --supervised --limit 40 --out "$TMP/data" --check-resize 4
for EPOCHS in 0 1; do
  node "$HERE/make-model.js" --data "$TMP/data" --out "$TMP/model$EPOCHS.safetensors" --epochs "$EPOCHS" --threads 2 >/dev/null
  node "$HERE/predict-split.js" --model "$TMP/model$EPOCHS.safetensors" --data "$TMP/data" --out "$TMP/ours$EPOCHS" --limit "$N" --threads 2
  /usr/bin/python3 -W ignore::UserWarning "$HERE/official_driver.py" --official "$OFFICIAL" --data "$TMP/data" \
    --backbone-from "$TMP/model$EPOCHS.safetensors" --heads-from "$TMP/model$EPOCHS.safetensors" --epochs 0 \
    --test-limit "$N" --compare "$TMP/ours$EPOCHS" --out "$TMP/official$EPOCHS" | grep compare
done
echo "files in $TMP"
