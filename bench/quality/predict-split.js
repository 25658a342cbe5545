#!/usr/bin/env node
'use strict';
/**
 * Our package's predictions on an exported test split, in the files score.js reads (the same as the
 * official driver's): maps.npy float32 [N,H,W] (the blurred map at model size), logits.npy and scores.npy
 * float32 [N], result.json.
 *
 *   node bench/quality/predict-split.js --model model.safetensors --data /tmp/mt-unsup-256 --out /tmp/ours \
 *        [--limit N] [--batch-size 16] [--threads 2] [--precision fp32|bf16]
 *
 * The exported pixels are already at the model size, so predict's resize is the identity: the model sees
 * exactly what the official driver feeds its preprocessing.
 */
const fs = require('node:fs');
const path = require('node:path');

const { pkg, parseArgs, requireArg } = require('./common');

/** Predicts the split's test images (at most `limit`) with `model` and writes the npy files into `out`. */
async function predictSplit(model, data, split, out, { limit = Infinity, batchSize = 16 } = {}) {
  const { readNpy, writeNpy } = pkg('npy');
  const [height, width] = split.imageSize;
  const images = await readNpy(path.join(data, 'test_images.npy'));
  const n = Math.min(images.shape[0], limit);
  const per = height * width * 3;
  const maps = new Float32Array(n * height * width);
  const logits = new Float32Array(n);
  const scores = new Float32Array(n);
  const t0 = Date.now();
  for (let start = 0; start < n; start += batchSize) {
    const raws = [];
    for (let k = start; k < Math.min(n, start + batchSize); k++) {
      raws.push({ data: images.data.subarray(k * per, (k + 1) * per), width, height, channels: 3 });
    }
    const preds = await model.predictBatch(raws, { batchSize });
    preds.forEach((p, j) => {
      maps.set(p.map, (start + j) * height * width);
      logits[start + j] = p.logit;
      scores[start + j] = p.score;
    });
  }
  const seconds = (Date.now() - t0) / 1000;
  fs.mkdirSync(out, { recursive: true });
  await writeNpy(path.join(out, 'maps.npy'), maps, [n, height, width]);
  await writeNpy(path.join(out, 'logits.npy'), logits, [n]);
  await writeNpy(path.join(out, 'scores.npy'), scores, [n]);
  return { n, seconds };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const modelFile = requireArg(args, 'model');
  const data = requireArg(args, 'data');
  const out = requireArg(args, 'out');
  const { SuperSimpleNet } = pkg();
  const split = JSON.parse(fs.readFileSync(path.join(data, 'split.json'), 'utf8'));
  const [height, width] = split.imageSize;
  const options = { device: 'cpu' };
  if (args.threads !== undefined) options.threads = Number(args.threads);
  if (args.precision !== undefined) options.precision = args.precision;
  const model = await SuperSimpleNet.load(modelFile, options);
  const info = model.info();
  if (info.imageSize[0] !== height || info.imageSize[1] !== width) {
    throw new Error(`${modelFile} is for ${info.imageSize.join('x')} images, the split ${height}x${width}`);
  }
  const { n, seconds } = await predictSplit(model, data, split, out, {
    limit: args.limit === undefined ? Infinity : Number(args.limit),
    batchSize: Number(args['batch-size'] ?? 16),
  });
  await model.dispose();
  const record = {
    implementation: 'supersimplenet (ours) via bench/quality/predict-split.js',
    model: path.resolve(modelFile),
    data: path.resolve(data),
    dataset: split.dataset,
    imageSize: [height, width],
    test: n,
    info,
    seconds: { test: seconds },
  };
  fs.writeFileSync(path.join(out, 'result.json'), JSON.stringify(record, null, 1));
  console.log(`wrote ${out}: ${n} test images in ${seconds.toFixed(1)} s`);
}

module.exports = { predictSplit };

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
