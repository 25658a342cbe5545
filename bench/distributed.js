#!/usr/bin/env node
/**
 * Data-parallel training speed: images/s of `ssn train` with 1, 2, ... processes on the same data, the same
 * global batch and the same schedule, back to back (gloo on the CPU, nccl on CUDA).
 *
 *   node bench/distributed.js [--procs 1,2] [--device cpu|cuda] [--size 128] [--images 64] [--batch-size 16]
 *                             [--epochs 3] [--precision fp32] [--json] [--out FILE]
 *
 * The data are procedural PNG surfaces written to a temporary folder (normal images only: the unsupervised
 * recipe). Each run writes its steps to a --metrics file; the rate counts the images of every epoch after the
 * first (allocations, the feature cache and the rendezvous fall in the first) over their wall time. The
 * launcher shares the cores among the workers (OMP_NUM_THREADS = cores / processes). The report gives the
 * CPU, the load average before and after, and the scaling efficiency against one process.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'ssn.js');

function parseArgs(argv) {
  const defaults = { procs: '1,2', device: 'cpu', size: '128', images: '64', 'batch-size': '16', epochs: '3', precision: 'fp32' };
  const { values } = util.parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries([...Object.keys(defaults), 'out'].map((k) => [k, { type: 'string' }])),
      json: { type: 'boolean' },
    },
    strict: true,
  });
  return { ...defaults, ...values };
}

async function writeImages(dir, count, size) {
  const sharp = require('sharp');
  fs.mkdirSync(path.join(dir, 'good'), { recursive: true });
  for (let i = 0; i < count; i++) {
    const data = Buffer.alloc(size * size * 3);
    for (let k = 0; k < data.length; k++) data[k] = (128 + 60 * Math.sin((k % (size * 3)) * 0.05 + i) + ((k * 2654435761 + i) % 23)) & 255;
    await sharp(data, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(path.join(dir, 'good', `${i}.png`));
  }
}

/** Images per second over the epochs after the first, from a --metrics file. */
function steadyRate(steps) {
  const firstEpochEnd = steps.filter((s) => s.epoch === 0).pop();
  const later = steps.filter((s) => s.epoch > 0);
  if (!firstEpochEnd || later.length === 0) return undefined;
  const images = later.reduce((sum, s) => sum + s.batch, 0);
  return images / (later[later.length - 1].time - firstEpochEnd.time);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssn-dist-bench-'));
  const loadBefore = os.loadavg();
  const rows = [];
  try {
    await writeImages(path.join(work, 'data'), Number(args.images), Number(args.size));
    for (const procs of args.procs.split(',').map(Number)) {
      const metrics = path.join(work, `steps-${procs}.jsonl`);
      const cmd = [CLI, 'train', '--data', path.join(work, 'data'), '--size', args.size, '--batch-size', args['batch-size']];
      cmd.push('--epochs', args.epochs, '--precision', args.precision, '--device', args.device, '--seed', '1');
      cmd.push('--metrics', metrics, '-o', path.join(work, `model-${procs}.safetensors`));
      if (procs > 1) cmd.push('--nproc-per-node', String(procs));
      const run = spawnSync(process.execPath, cmd, { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`ssn train with ${procs} process(es) failed:\n${run.stderr}`);
      const steps = fs
        .readFileSync(metrics, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      rows.push({ procs, imagesPerSecond: steadyRate(steps), steps: steps.length, lastLoss: steps[steps.length - 1].loss });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const base = rows.find((r) => r.procs === 1)?.imagesPerSecond;
  for (const r of rows) r.efficiency = base && r.imagesPerSecond ? r.imagesPerSecond / (base * r.procs) : undefined;
  const result = {
    cpu: os.cpus()[0]?.model,
    cores: os.availableParallelism(),
    device: args.device,
    size: Number(args.size),
    images: Number(args.images),
    batchSize: Number(args['batch-size']),
    epochs: Number(args.epochs),
    precision: args.precision,
    loadBefore,
    loadAfter: os.loadavg(),
    rows,
  };
  if (args.out) fs.writeFileSync(args.out, `${JSON.stringify(result, null, 1)}\n`);
  if (args.json) {
    console.log(JSON.stringify(result, null, 1));
    return;
  }
  console.log(
    `${result.cpu} (${result.cores} cores), ${args.device}, ${args.size}px, ${args.images} images, batch ${args['batch-size']}, ${args.precision}`,
  );
  console.log(`load before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${result.loadAfter.map((l) => l.toFixed(2)).join(' ')}`);
  console.log('| processes | images/s | scaling efficiency |');
  console.log('|---|---|---|');
  for (const r of rows) console.log(`| ${r.procs} | ${r.imagesPerSecond?.toFixed(2) ?? '-'} | ${r.efficiency?.toFixed(2) ?? '-'} |`);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
