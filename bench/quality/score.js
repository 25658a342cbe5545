#!/usr/bin/env node
'use strict';
/**
 * Scores test predictions stored as .npy (the official driver's or predict-split.js's) with our package's
 * evaluation: evaluateSplit (lib/eval/evaluate.ts) fed by a stand-in model that returns the stored logits and
 * maps, and the exported masks as raw pixels. So both implementations go through the same code: sigmoid of
 * the logit (float32), min-max normalisation over the test set, I-AUROC, AP-det, P-AUROC, AP-loc, AUPRO@0.3,
 * the seg-score variants, per defect type and the F1-max threshold.
 *
 *   node bench/quality/score.js --data /tmp/mt-unsup-256 --pred /tmp/official-unsup-256 [--out scores.json]
 *
 * --pred holds maps.npy float32 [N,H,W] and logits.npy float32 [N] (or only scores.npy, sigmoid scores,
 * turned back into logits in float64: the same order, but ties at a saturated 1.0 stay ties). N may be less
 * than the exported test set (a --test-limit run): the first N items are scored.
 */
const fs = require('node:fs');
const path = require('node:path');

const { pkg, parseArgs, requireArg } = require('./common');

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const data = requireArg(args, 'data');
  const pred = requireArg(args, 'pred');
  const { readNpy } = pkg('npy');
  const { evaluateSplit } = pkg('eval/evaluate');

  const split = JSON.parse(fs.readFileSync(path.join(data, 'split.json'), 'utf8'));
  const [height, width] = split.imageSize;
  const maps = await readNpy(path.join(pred, 'maps.npy'));
  const n = maps.shape[0];
  if (maps.shape.length !== 3 || maps.shape[1] !== height || maps.shape[2] !== width) {
    throw new Error(`maps.npy is [${maps.shape}], expected [N,${height},${width}]`);
  }
  if (n > split.test.count) throw new Error(`maps.npy has ${n} maps for ${split.test.count} test images`);
  let logits;
  let logitSource = 'logits.npy';
  if (fs.existsSync(path.join(pred, 'logits.npy'))) logits = (await readNpy(path.join(pred, 'logits.npy'))).data;
  else {
    logitSource = 'scores.npy (inverse sigmoid)';
    const s = (await readNpy(path.join(pred, 'scores.npy'))).data;
    logits = Float32Array.from(s, (v) => Math.log(v / (1 - v)));
  }
  if (logits.length !== n) throw new Error(`${logitSource} holds ${logits.length} values for ${n} maps`);

  const masks = await readNpy(path.join(data, 'test_masks.npy'));
  const per = height * width;
  const items = [];
  for (let k = 0; k < n; k++) {
    const item = { id: split.test.ids[k], image: k, label: split.test.labels[k], type: split.test.types[k] };
    if (split.test.hasMask[k]) {
      const m = new Uint8Array(per);
      for (let i = 0; i < per; i++) m[i] = masks.data[k * per + i] * 255; // loadMask thresholds at 128 again
      item.mask = { data: m, width, height, channels: 1 };
    }
    items.push(item);
  }
  const stored = {
    async predictBatch(inputs) {
      return inputs.map((k) => {
        const map = maps.data.subarray(k * per, (k + 1) * per);
        return { logit: logits[k], score: NaN, map, width, height };
      });
    },
  };
  const run = await evaluateSplit(stored, { name: split.dataset, train: [], test: items, maskThreshold: 128 }, { batchSize: 64 });
  const { items: perItem, curves, seconds, ...result } = run.result;
  let implementation;
  try {
    implementation = JSON.parse(fs.readFileSync(path.join(pred, 'result.json'), 'utf8')).implementation;
  } catch {
    implementation = undefined;
  }
  const record = { pred: path.resolve(pred), data: path.resolve(data), implementation, logitSource, scored: n, ...result };
  const m = result.metrics;
  const pct = (v) => (v === null || v === undefined ? '  n/a' : (100 * v).toFixed(2));
  console.log(
    `${split.dataset} ${height}x${width}, ${n} test images (${result.counts.anomalous} defective, ${result.counts.regions} regions)`,
  );
  console.log(
    `I-AUROC ${pct(m.imageAuroc)}  AP-det ${pct(m.imageAp)}  P-AUROC ${pct(m.pixelAuroc)}  AP-loc ${pct(m.pixelAp)}  ` +
      `AUPRO ${pct(m.aupro)}  seg-I-AUROC ${pct(m.segImageAuroc)}  seg-AP-det ${pct(m.segImageAp)}`,
  );
  for (const note of result.notes) console.log(`note: ${note}`);
  if (args.out) {
    fs.writeFileSync(args.out, JSON.stringify({ ...record, items: perItem, curves }, null, 1));
    console.log(`wrote ${args.out}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
