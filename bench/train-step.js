#!/usr/bin/env node
/**
 * Training-step timing: seconds per step of the heads' training (forward, losses, backward, AdamW) in each
 * precision, through the public train() API, back to back and interleaved (fp32, bf16, fp32, bf16, ...).
 *
 *   node bench/train-step.js [--size 128] [--batch 32] [--rounds 2] [--steps 3] [--precisions fp32,bf16]
 *                            [--backbone resnet50-keras] [--threads N (default: every core)] [--device cpu|cuda]
 *                            [--json] [--out FILE]
 *
 * Each round builds a fresh model (random-init backbone of the default architecture: the heads' shapes, and so
 * their cost, are those of the Keras ResNet50 / wide_resnet50_2: 1536 feature channels), trains unsupervised on
 * procedural surfaces with the backbone features cached (as train() does by default), and times every step
 * from the progress reports; the first step of each round (allocations, kernel selection) is dropped. The
 * report gives min / median / max seconds per step, the bf16 : fp32 ratio of medians, the CPU, whether it
 * has AMX-BF16 / AVX512-BF16, libtorch threads and the load average before and after.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');

const ROOT = path.join(__dirname, '..');
let proceduralDataset;

/** Strict: a misspelt option is an error, never silently ignored. */
function parseArgs(argv) {
  const defaults = {
    size: '128',
    batch: '32',
    rounds: '2',
    steps: '3',
    precisions: 'fp32,bf16',
    backbone: 'resnet50-keras',
    threads: String(os.cpus().length),
    device: 'cpu',
  };
  const options = {
    ...Object.fromEntries([...Object.keys(defaults), 'out'].map((k) => [k, { type: 'string' }])),
    json: { type: 'boolean' },
  };
  const { values } = util.parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  return { ...defaults, ...values };
}

function cpuInfo() {
  const text = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /model name\s*:\s*(.*)/.exec(text)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = new Set((/flags\s*:\s*(.*)/.exec(text)?.[1] ?? '').split(/\s+/));
  return { model, amxBf16: flags.has('amx_bf16'), avx512Bf16: flags.has('avx512_bf16'), cores: os.cpus().length };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function round(api, precision, args) {
  const size = Number(args.size);
  const batch = Number(args.batch);
  const steps = Number(args.steps) + 1;
  const model = await api.SuperSimpleNet.create({
    backbone: { arch: args.backbone, random: true },
    imageSize: size,
    device: args.device,
    seed: 1,
    threads: Number(args.threads),
    logger: () => undefined,
  });
  try {
    const surfaces = proceduralDataset({ width: size, height: size, count: batch, seed: 3, defectFraction: 0 });
    const items = surfaces.map((s, i) => ({ id: `s${i}`, image: s.image, label: 0 }));
    const stamps = [];
    const summary = await model.train(items, {
      epochs: steps,
      batchSize: batch,
      precision,
      onProgress: () => stamps.push(process.hrtime.bigint()),
    });
    // The cache is filled before the first step: time each step from the previous report.
    const start = stamps.shift();
    const seconds = stamps.map((t) => Number(t - start) / 1e9).map((t, i, all) => t - (i > 0 ? all[i - 1] : 0));
    return { seconds, reason: summary.precisionReason };
  } finally {
    await model.dispose();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const api = require(path.join(ROOT, 'dist'));
  ({ proceduralDataset } = require(path.join(ROOT, 'dist', 'data', 'procedural')));
  const precisions = args.precisions.split(',');
  const loadBefore = os.loadavg();
  const times = Object.fromEntries(precisions.map((p) => [p, []]));
  const reasons = {};
  for (let r = 0; r < Number(args.rounds); r++) {
    for (const p of precisions) {
      const { seconds, reason } = await round(api, p, args);
      times[p].push(...seconds);
      reasons[p] = reason;
      process.stderr.write(`round ${r + 1} ${p}: ${seconds.map((s) => s.toFixed(2)).join(' ')} s/step\n`);
    }
  }
  const loadAfter = os.loadavg();
  const result = {
    tool: 'bench/train-step.js',
    protocol: {
      device: args.device,
      size: Number(args.size),
      batch: Number(args.batch),
      backbone: `${args.backbone} (random init)`,
      stepsPerRound: Number(args.steps),
      rounds: Number(args.rounds),
      setting: 'unsupervised, features cached',
      timed: 'progress report to progress report, first step dropped',
    },
    cpu: cpuInfo(),
    threads: Number(args.threads),
    loadavg: { before: loadBefore.map((x) => +x.toFixed(2)), after: loadAfter.map((x) => +x.toFixed(2)) },
    precisions: Object.fromEntries(
      precisions.map((p) => [
        p,
        {
          min: Math.min(...times[p]),
          median: median(times[p]),
          max: Math.max(...times[p]),
          n: times[p].length,
          secondsPerImage: median(times[p]) / Number(args.batch),
          reason: reasons[p],
        },
      ]),
    ),
  };
  if (times.fp32?.length && times.bf16?.length) result.bf16OverFp32 = median(times.bf16) / median(times.fp32);
  const text = JSON.stringify(result, null, 2);
  if (args.out) fs.writeFileSync(args.out, `${text}\n`);
  if (args.json) {
    console.log(text);
    return;
  }
  console.log(
    `CPU ${result.cpu.model} (${result.cpu.cores} cores; AMX-BF16 ${result.cpu.amxBf16 ? 'yes' : 'no'}, AVX512-BF16 ${result.cpu.avx512Bf16 ? 'yes' : 'no'}), ` +
      `load ${result.loadavg.before[0]} -> ${result.loadavg.after[0]}`,
  );
  for (const p of precisions) {
    const s = result.precisions[p];
    console.log(
      `${p}: ${s.min.toFixed(2)} / ${s.median.toFixed(2)} / ${s.max.toFixed(2)} s per step of ${args.batch} (min/median/max, n=${s.n}), ` +
        `${s.secondsPerImage.toFixed(3)} s per image`,
    );
  }
  if (result.bf16OverFp32 !== undefined) console.log(`bf16 : fp32 = ${result.bf16OverFp32.toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
