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

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const data = requireArg(args, 'data');
  const out = requireArg(args, 'out');
  const epochs = Number(args.epochs ?? 0);
  const { SuperSimpleNet } = pkg();
  const { readNpy } = pkg('npy');
  const split = JSON.parse(fs.readFileSync(path.join(data, 'split.json'), 'utf8'));
  const [height, width] = split.imageSize;
  const options = { imageSize: [height, width], seed: Number(args.seed ?? 1), device: 'cpu' };
  if (args.threads !== undefined) options.threads = Number(args.threads);
  const model = await SuperSimpleNet.create(options);
  if (epochs > 0) {
    const images = await readNpy(path.join(data, 'train_images.npy'));
    const masks = await readNpy(path.join(data, 'train_masks.npy'));
    const per = height * width;
    const items = split.train.ids.map((id, k) => {
      const item = { id, label: split.train.labels[k], image: { data: images.data.subarray(k * per * 3, (k + 1) * per * 3), width, height, channels: 3 } };
      if (split.train.hasMask[k]) {
        const m = new Uint8Array(per);
        for (let i = 0; i < per; i++) m[i] = masks.data[k * per + i] * 255;
        item.mask = { data: m, width, height, channels: 1 };
      }
      return item;
    });
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
