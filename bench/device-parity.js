#!/usr/bin/env node
/**
 * CUDA parity through the binding (run by bench/device-check.sh; the golden files do not travel): the same
 * random-init model (same seed, so the same weights) on the CPU in fp32, whose path is proven against the
 * official golden outputs by test/native/parity.test.ts, and on CUDA in each precision and mode. Inputs:
 * a few deterministic images. Error = max |cuda - cpu| / range of the CPU values over all images, for the
 * maps and for the score logits (maps and scores are min-max normalised before any metric, so the error
 * relative to their range is what can change a result). Thresholds: fp32 1e-3, fp16 1e-2, bf16 5e-2.
 *
 *   node bench/device-parity.js [--backbone wide_resnet50_2] [--size 256] [--images 4] [--out file.json]
 * Without CUDA it checks the CPU path against itself (plan vs eager reference is not reachable from here)
 * and says that CUDA was skipped. Exit code 0 = all passed, 1 = a check failed.
 */
'use strict';
const _path = require('node:path');
const fs = require('node:fs');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const arch = opt('backbone', 'wide_resnet50_2');
const size = Number(opt('size', 256));
const images = Number(opt('images', 4));
const out = opt('out', '');

/** Deterministic images, already normalised: smooth ramps, a ring, noise from an LCG. */
function inputs() {
  const per = 3 * size * size;
  const data = new Float32Array(images * per);
  let seed = 7;
  for (let b = 0; b < images; b++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          const noise = seed / 2 ** 32 - 0.5;
          const r = Math.hypot(x - size / 2, y - size / 3) / size;
          const v = Math.sin((x * (b + 1)) / 17 + c) * 0.8 + (r < 0.2 + 0.05 * b ? 1.2 : -0.3) + noise * (0.2 + 0.3 * b);
          data[b * per + c * size * size + y * size + x] = v;
        }
      }
    }
  }
  return data;
}

function range(a) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo;
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function main() {
  const { loadAddon, createRandomModel } = require('./ssn-bench.js');
  const { native } = loadAddon();
  const library = JSON.parse(native.libraryInfo());
  const cuda = Boolean(library.cuda?.available);
  const create = (device, precision, cudaGraphs) =>
    createRandomModel(native, { arch, size: [size, size], device, seed: 42, precision, cudaGraphs });
  const x = inputs();
  const cpuModel = await create('cpu', 'fp32', false);
  const ref = await cpuModel.predictTensor(x, images);
  const again = await cpuModel.predictTensor(x, images);
  cpuModel.dispose();
  const mapRange = Math.max(range(ref.maps), 1e-12);
  const scoreScale = Math.max(range(ref.logits), ...Array.from(ref.logits, Math.abs), 1e-12);
  const result = {
    tool: 'device-parity',
    model: `${arch} random init (seed 42), ${size}x${size}, ${images} deterministic images`,
    metric: 'max |cuda - cpu fp32| / range of the cpu values (maps; scores: max of range and |value|)',
    reference: { mapRange, scoreScale },
    checks: [],
    cuda,
  };
  const check = (name, ok, fields) => {
    result.checks.push({ name, ok, ...fields });
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} ${JSON.stringify(fields)}`);
  };
  check('cpu_repeatable', maxAbsDiff(ref.maps, again.maps) === 0 && maxAbsDiff(ref.logits, again.logits) === 0, {});
  {
    // bf16 on the CPU (oneDNN; AMX where the processor has it) against fp32.
    const model = await create('cpu', 'bf16', false);
    const got = await model.predictTensor(x, images);
    model.dispose();
    const mapErr = maxAbsDiff(got.maps, ref.maps) / mapRange;
    const scoreErr = maxAbsDiff(got.logits, ref.logits) / scoreScale;
    check('cpu_bf16_vs_cpu_fp32', mapErr <= 5e-2 && scoreErr <= 5e-2, { mapErr, scoreErr, tolerance: 5e-2 });
  }
  if (cuda) {
    // Every precision with graphs; eager once (what --no-cuda-graphs and SSN_CUDA_GRAPHS=OFF run).
    const cases = [
      ['fp32', true, 1e-3],
      ['fp16', true, 1e-2],
      ['fp16', false, 1e-2],
      ['bf16', true, 5e-2],
    ];
    for (const [precision, graphs, tolerance] of cases) {
      const name = `cuda_${precision}_${graphs ? 'graph' : 'eager'}_vs_cpu_fp32`;
      try {
        const model = await create('cuda', precision, graphs);
        const got = await model.predictTensor(x, images);
        // A second call replays the captured graph (or reruns the eager plan): the same outputs as the first,
        // up to cuDNN's choice of algorithm being deterministic.
        const replay = await model.predictTensor(x, images);
        const single = await model.predictTensor(x.subarray(0, 3 * size * size), 1);
        model.dispose();
        const mapErr = maxAbsDiff(got.maps, ref.maps) / mapRange;
        const scoreErr = maxAbsDiff(got.logits, ref.logits) / scoreScale;
        const replayDiff = maxAbsDiff(got.maps, replay.maps) / mapRange;
        const batchVsSingle = maxAbsDiff(single.maps, got.maps.subarray(0, size * size)) / mapRange;
        check(name, mapErr <= tolerance && scoreErr <= tolerance && replayDiff <= tolerance / 10 && batchVsSingle <= tolerance, {
          mapErr,
          scoreErr,
          replayDiff,
          batchVsSingle,
          tolerance,
        });
      } catch (e) {
        check(name, false, { error: String(e?.message ? e.message : e) });
      }
    }
  } else {
    console.log('cuda: not available here, CUDA checks skipped');
  }
  result.ok = result.checks.every((c) => c.ok);
  if (out) fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

main().catch((e) => {
  console.error(`device-parity: ${e?.message ? e.message : e}`);
  process.exitCode = 1;
});
