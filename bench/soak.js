#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Soak: resident memory (RSS) over many predictions on one model, and over many create/dispose cycles, plus the
 * concurrency check (N concurrent predict() calls equal the sequential results). Figures, not a timed test.
 *
 *   node bench/soak.js [--predictions 10000] [--cycles 100] [--warmup 200] [--size 64] [--json]
 *
 * A random resnet18 model (no weights needed) at --size on the CPU, one raw image per call. RSS is read after a
 * warm-up (the allocator and libtorch's caches settle first), then every 10 % of the run; growth is reported
 * against the post-warm-up figure. Needs the addon and `npm run build:ts` (dist/).
 */
const path = require('node:path');
const util = require('node:util');

const { SuperSimpleNet } = require(path.join(__dirname, '..', 'dist'));

const { values: args } = util.parseArgs({
  options: {
    predictions: { type: 'string', default: '10000' },
    cycles: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '200' },
    size: { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const predictions = Number(args.predictions);
const cycles = Number(args.cycles);
const warmup = Number(args.warmup);
const size = Number(args.size);

const mb = () => process.memoryUsage.rss() / 2 ** 20;
/** @param {number} seed */
const image = (seed) => {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 17) % 251;
  return { data, width: size, height: size, channels: /** @type {3} */ (3) };
};
/** @param {number} seed */
const create = (seed) =>
  SuperSimpleNet.create({ backbone: { arch: 'resnet18', random: true }, imageSize: size, device: 'cpu', seed, logger: () => {} });

/** RSS samples of `n` calls of `step` after `w` warm-up calls: [after warm-up, ..., end]. */
async function track(/** @type {number} */ w, /** @type {number} */ n, /** @type {(i: number) => Promise<void>} */ step) {
  for (let i = 0; i < w; i++) await step(i);
  const samples = [mb()];
  for (let i = 0; i < n; i++) {
    await step(w + i);
    if ((i + 1) % Math.max(1, Math.floor(n / 10)) === 0) samples.push(mb());
  }
  return samples;
}

async function main() {
  const model = await create(1);
  const inputs = [image(1), image(2), image(3), image(4)];
  const predict = await track(warmup, predictions, async (i) => {
    await model.predict(inputs[i % inputs.length]);
  });
  // Concurrency: 32 calls at once equal the same calls one by one.
  const sequential = [];
  for (let i = 0; i < 32; i++) sequential.push((await model.predict(inputs[i % 4])).logit);
  const concurrent = (await Promise.all(Array.from({ length: 32 }, (_, i) => model.predict(inputs[i % 4])))).map((p) => p.logit);
  const concurrencyMaxDiff = Math.max(...sequential.map((l, i) => Math.abs(l - concurrent[i])));
  model.dispose();

  const lifecycle = await track(Math.min(10, cycles), cycles, async (i) => {
    const m = await create(i);
    await m.predict(inputs[0]);
    m.dispose();
  });
  const growth = (/** @type {number[]} */ s) => (100 * (s[s.length - 1] - s[0])) / s[0];
  const result = {
    tool: 'bench/soak.js',
    model: `resnet18 (random) ${size}x${size}, CPU`,
    predictions: { warmup, count: predictions, rssMb: predict.map((x) => +x.toFixed(1)), growthPercent: +growth(predict).toFixed(2) },
    createDispose: {
      warmup: Math.min(10, cycles),
      count: cycles,
      rssMb: lifecycle.map((x) => +x.toFixed(1)),
      growthPercent: +growth(lifecycle).toFixed(2),
    },
    concurrencyMaxDiff,
    node: process.version,
  };
  if (args.json) console.log(JSON.stringify(result, null, 1));
  else {
    console.log(`soak: ${result.model}`);
    console.log(
      `  ${predictions} predictions after ${warmup}: RSS ${predict[0].toFixed(1)} -> ${predict[predict.length - 1].toFixed(1)} MB (${result.predictions.growthPercent} %)`,
    );
    console.log(
      `  ${cycles} create/dispose cycles: RSS ${lifecycle[0].toFixed(1)} -> ${lifecycle[lifecycle.length - 1].toFixed(1)} MB (${result.createDispose.growthPercent} %)`,
    );
    console.log(`  32 concurrent predict() calls vs sequential: max |logit diff| ${concurrencyMaxDiff}`);
  }
}

main().catch((e) => {
  console.error(`soak: ${e?.message ?? e}`);
  process.exitCode = 1;
});
