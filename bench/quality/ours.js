#!/usr/bin/env node
'use strict';
/**
 * Our package on an exported split (export-split.js), the counterpart of official_driver.py: trains a new
 * model (default Keras ResNet50 backbone) with the split's recipe and predicts the test images into the files
 * score.js reads (maps.npy, logits.npy, scores.npy, result.json), keeping the model (model.safetensors).
 *
 *   node bench/quality/ours.js --data DIR --out DIR (--epochs E | --max-minutes M) [--precision fp32|bf16|auto]
 *        [--seed S] [--noise-std SIGMA] [--threads 2] [--measure-only]
 *        [--variant icpr|jims] [--setting unsupervised|weak|mixed|supervised] [--mask-fraction F]
 *
 * --mask-fraction F keeps the masks of round(F * D) of the D defect training images (a fixed choice: the first
 * of a seeded shuffle, seed 42) and drops the others' (image labels only): 0 gives the weak regime, 0.25 mixed.
 * Without --setting the split's recipe is used (supervised or unsupervised).
 *
 * --epochs E uses the milestones a budget would choose, [round(0.8E), round(0.9E)], as official_driver.py does;
 * --max-minutes M lets train() size the schedule from its warm-up; with --measure-only the run stops at the
 * first step and result.json records the epochs the budget gave (the quality runs size every configuration
 * this way on a quiet machine, then train with --epochs, so that later load cannot change the schedule).
 */
const fs = require('node:fs');
const path = require('node:path');

const { pkg, parseArgs, requireArg } = require('./common');
const { splitItems } = require('./split');

async function main() {
  const args = parseArgs(process.argv.slice(2), ['measure-only']);
  const data = requireArg(args, 'data');
  const out = requireArg(args, 'out');
  if ((args.epochs === undefined) === (args['max-minutes'] === undefined)) throw new Error('give --epochs E or --max-minutes M');
  if (args['measure-only'] && args['max-minutes'] === undefined) throw new Error('--measure-only needs --max-minutes');
  const { SuperSimpleNet } = pkg();
  const split = JSON.parse(fs.readFileSync(path.join(data, 'split.json'), 'utf8'));
  const [height, width] = split.imageSize;
  const t0 = Date.now();
  const model = await SuperSimpleNet.create({
    imageSize: [height, width],
    variant: args.variant ?? 'icpr',
    seed: Number(args.seed ?? 0),
    device: 'cpu',
    threads: Number(args.threads ?? 2),
    logger: () => undefined,
  });
  const items = await splitItems(data, split, 'train');
  if (args['mask-fraction'] !== undefined) keepMasks(items, Number(args['mask-fraction']));
  const options = { setting: args.setting ?? (split.supervised ? 'supervised' : 'unsupervised'), precision: args.precision ?? 'auto' };
  if (args.seed !== undefined) options.seed = Number(args.seed);
  if (args['noise-std'] !== undefined) options.noiseStd = Number(args['noise-std']);
  if (args.epochs !== undefined) {
    const e = Number(args.epochs);
    Object.assign(options, { epochs: e, milestones: [Math.round(0.8 * e), Math.round(0.9 * e)] });
  } else {
    options.maxMinutes = Number(args['max-minutes']);
  }
  const controller = new AbortController();
  let first;
  let lastLog = 0;
  options.signal = controller.signal;
  options.onProgress = (p) => {
    first ??= { epochs: p.epochs, stepsPerEpoch: p.stepsPerEpoch, precision: p.precision };
    if (args['measure-only']) controller.abort();
    if (Date.now() - lastLog > 30000 || p.step === p.stepsPerEpoch) {
      lastLog = Date.now();
      console.log(
        `epoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)} ${p.imagesPerSecond.toFixed(2)} img/s`,
      );
    }
  };
  const record = {
    implementation: 'supersimplenet (ours) via bench/quality/ours.js',
    data: path.resolve(data),
    dataset: split.dataset,
    imageSize: [height, width],
    train: items.length,
    args,
  };
  fs.mkdirSync(out, { recursive: true });
  let summary;
  try {
    summary = await model.train(items, options);
  } catch (e) {
    if (!(args['measure-only'] && e.code === 'ERR_SSN_ABORTED')) throw e;
    await model.dispose();
    Object.assign(record, { measured: first, epochs: first.epochs, seconds: { measure: (Date.now() - t0) / 1000 } });
    fs.writeFileSync(path.join(out, 'result.json'), JSON.stringify(record, null, 1));
    console.log(`measured: ${first.epochs} epochs (${first.precision}) fit the budget; wrote ${out}/result.json`);
    return;
  }
  const trainSeconds = (Date.now() - t0) / 1000;
  const { predictSplit } = require('./predict-split');
  const predicted = await predictSplit(model, data, split, out);
  // Kept for predict-split.js --precision bf16: the quality cost of bf16 inference on the same weights.
  await model.save(path.join(out, 'model.safetensors'));
  await model.dispose();
  Object.assign(record, {
    epochs: summary.epochs,
    milestones: summary.config.milestones,
    precision: summary.precision,
    precisionReason: summary.precisionReason,
    budget: summary.budget ?? null,
    variant: args.variant ?? 'icpr',
    setting: summary.setting,
    settingReason: summary.settingReason,
    masked: items.filter((i) => i.label === 1 && i.mask).length,
    defects: items.filter((i) => i.label === 1).length,
    config: summary.config,
    seconds: { total: trainSeconds, train: summary.seconds, cache: summary.cacheSeconds, test: predicted.seconds },
  });
  fs.writeFileSync(path.join(out, 'result.json'), JSON.stringify(record, null, 1));
  console.log(`trained ${summary.epochs} epochs (${summary.precision}) in ${summary.seconds.toFixed(0)} s; wrote ${out}`);
}

/** Keeps the masks of round(fraction * D) defect images, the first of a seeded shuffle; the rest lose theirs. */
function keepMasks(items, fraction) {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`--mask-fraction must lie in [0, 1], got ${fraction}`);
  const defects = items.filter((i) => i.label === 1);
  let state = 42;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0; // mulberry32
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = defects.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [defects[i], defects[j]] = [defects[j], defects[i]];
  }
  for (const item of defects.slice(Math.round(fraction * defects.length))) delete item.mask;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
