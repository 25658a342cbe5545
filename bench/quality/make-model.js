#!/usr/bin/env node
'use strict';
/**
 * A model file of our package for the official driver and the parity check: the default backbone (Keras
 * ResNet50/ImageNet; `npx ssn weights fetch` first, or it is fetched here) at the split's size, heads
 * initialised with --seed, optionally trained by our package for --epochs on the exported train split.
 *
 *   node bench/quality/make-model.js --data /tmp/mt-unsup-64 --out /tmp/model64.safetensors [--epochs 1] [--seed 1]
 *
 * The driver reads the backbone from it (feature_extractor.*), and with --heads-from the heads too.
 */
const fs = require('node:fs');
const path = require('node:path');

const { pkg, parseArgs, requireArg } = require('./common');
const { splitItems } = require('./split');

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const data = requireArg(args, 'data');
  const out = requireArg(args, 'out');
  const epochs = Number(args.epochs ?? 0);
  const { SuperSimpleNet } = pkg();
  const split = JSON.parse(fs.readFileSync(path.join(data, 'split.json'), 'utf8'));
  const [height, width] = split.imageSize;
  const options = { imageSize: [height, width], seed: Number(args.seed ?? 1), device: 'cpu' };
  if (args.threads !== undefined) options.threads = Number(args.threads);
  const model = await SuperSimpleNet.create(options);
  if (epochs > 0) {
    const items = await splitItems(data, split, 'train');
    const summary = await model.train(items, { epochs, setting: split.supervised ? 'supervised' : 'unsupervised' });
    console.log(`trained ${epochs} epoch(s): ${JSON.stringify(summary).slice(0, 300)}`);
  }
  await model.save(out);
  await model.dispose();
  console.log(`wrote ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
