#!/usr/bin/env node
'use strict';
/**
 * The paper's unsupervised recipe (spec section 8: 256x256, batch 32, 300 epochs, AdamW, MultiStepLR) on Magnetic
 * Tile with our seeded split (80% of MT_Free train; the rest and every defective image test), on whatever device
 * 'auto' picks, stopped by a wall-time budget when the lease is shorter than the recipe. Then the official
 * evaluation of the test split. Writes one JSON with the epochs actually done, the wall time and the metrics.
 *
 *   node bench/device-train-mt.js --root DIR --backbone-weights FILE --budget-s 240 --out result.json
 *   (dry run: --size 64 --limit 8 --budget-s 5)
 */
const fs = require('node:fs');
const { SuperSimpleNet } = require('../dist');
const { loadMagneticTile } = require('../dist/data/magnetic_tile');
const { evaluateSplit } = require('../dist/eval/evaluate');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

async function main() {
  const root = arg('root');
  const out = arg('out', 'mt-result.json');
  const budgetS = Number(arg('budget-s', '240'));
  const epochs = Number(arg('epochs', '300'));
  const t0 = Date.now();
  const size = Number(arg('size', '256'));
  const split = await loadMagneticTile(root, { seed: 42 });
  // --limit N: a dry run on the first N train and N test items (keeps both classes in the test part).
  const limit = arg('limit');
  if (limit) {
    const n = Number(limit);
    split.train = split.train.slice(0, n);
    split.test = [...split.test.filter((i) => i.label === 0).slice(0, n / 2), ...split.test.filter((i) => i.label === 1).slice(0, n / 2)];
  }
  const model = await SuperSimpleNet.create({
    backbone: { arch: 'resnet50-keras', weights: arg('backbone-weights') },
    imageSize: size,
    seed: 42,
  });
  const record = {
    dataset: split.name,
    train: split.train.length,
    test: split.test.length,
    device: model.deviceReason(),
    recipe: { epochs, batchSize: 32, imageSize: size },
    budgetSeconds: budgetS,
    progress: [],
  };
  const write = () => fs.writeFileSync(out, JSON.stringify(record, null, 1));
  let last;
  const tTrain = Date.now();
  try {
    record.summary = await model.train(split.train, {
      epochs,
      signal: AbortSignal.timeout(budgetS * 1000),
      onProgress: (p) => {
        last = p;
        if (p.step === p.stepsPerEpoch) {
          record.progress.push({ epoch: p.epoch + 1, loss: p.loss, imagesPerSecond: p.imagesPerSecond, s: (Date.now() - tTrain) / 1000 });
          console.log(`epoch ${p.epoch + 1}/${p.epochs} loss ${p.loss.toFixed(4)} ${p.imagesPerSecond.toFixed(1)} img/s`);
          write();
        }
      },
    });
    record.stoppedBy = 'finished';
  } catch (e) {
    if (e.code !== 'ERR_SSN_ABORTED') throw e;
    record.stoppedBy = 'time budget';
  }
  record.trainSeconds = (Date.now() - tTrain) / 1000;
  record.lastProgress = last;
  write();
  const tEval = Date.now();
  const run = await evaluateSplit(model, split, { batchSize: 16 });
  const { items, curves, ...result } = run.result;
  record.eval = result;
  record.evalSeconds = (Date.now() - tEval) / 1000;
  record.totalSeconds = (Date.now() - t0) / 1000;
  write();
  console.log(JSON.stringify({ metrics: result.metrics, epochsDone: record.progress.length, trainSeconds: record.trainSeconds }));
  await model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
