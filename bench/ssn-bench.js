#!/usr/bin/env node
/**
 * ssn-bench: inference timing with the protocol of the official perf script (spec section 11).
 *
 *   latency     batch 1: copy of a random float32 input host->device, forward (backbone, adaptor, both heads,
 *               upsampling, Gaussian blur), copy of map and score back (synchronised); mean ms per iteration
 *   throughput  the same loop at batch 16; images/s = 16 * reps / total time
 *   memory      CUDA only: batch 1, input already on the device, caching allocator emptied and its peak reset
 *               before each forward; mean peak reserved bytes / 1e6 ("MB")
 *   flops       analytic, batch 1, 2 x multiply-accumulates (blur counted as the official 25x25 convolution):
 *               as torch.profiler counts the official model (the paper's 56.3 G, which leaves out the padding="same"
 *               5x5 conv of the classification head) and the true total of every convolution and linear layer
 *   cycles      each measurement builds a fresh model (random init, no weights needed); the first cycle is
 *               dropped; mean and sample std over the rest
 *
 * Each figure is taken twice: by the native timed loop (benchmark_inference in cpp/tools/benchmark.cpp, no JavaScript inside) and from
 * JavaScript (predictTensor on a preprocessed Float32Array through the binding), so the binding's overhead shows.
 * Only the native addon is loaded (never sharp), so this runs wherever the addon does. With --onnx, an exported
 * model is timed the same way in onnxruntime-node too (bench/ssn-bench-onnx.js), beside the addon's figures.
 */
// @ts-check: type-checked by `npm run test:types` (bench/tsconfig.json) against the addon's contract in
// lib/binding.ts, yet plain JavaScript, so that it runs from a checkout without a TypeScript build (a device machine).
'use strict';
/** @typedef {import('../lib/binding').NativeModule} NativeModule */
/** @typedef {import('../lib/binding').NativeModel} NativeModel */
/** @typedef {import('../lib/types').Precision} Precision */
/** @typedef {{ mean: number, std: number, min: number, median: number, n: number }} Stats */
const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');
const util = require('node:util');

const onnxBench = require('./ssn-bench-onnx');

const ROOT = path.join(__dirname, '..');
const USAGE = `Usage: ssn-bench [options]
  --device cpu|cuda|auto     default auto
  --backbone ARCH            any backbone of the addon (default wide_resnet50_2, random init)
  --size N | HxW             model input size (default 256)
  --precision fp32|fp16|bf16 default fp16 on CUDA (as the paper), fp32 on the CPU
  --warmup N --reps N        per measurement (default 1000/1000 on CUDA, 2/5 on the CPU)
  --cycles N                 measurement cycles, the first is dropped (default 6 on CUDA, 2 on the CPU)
  --batch N                  throughput batch (default 16); 0 skips throughput
  --memory-reps N            CUDA peak-memory samples per cycle (default 100; 0 skips)
  --threads N                libtorch intra-op threads (default: libtorch's choice)
  --no-cuda-graphs           CUDA: run the plan eagerly instead of replaying CUDA graphs
  --reference                time the trainable module's eager forward (fp32) instead of the inference plan
  --no-js                    skip the timings seen from JavaScript
  --onnx FILE                also time FILE (written by ssn export) in onnxruntime-node on the same protocol
                             and threads; its backbone and size are the defaults of --backbone and --size
  --json                     print JSON instead of the table
  --out FILE                 also write the JSON to FILE
  --help`;

const TEXT_OPTIONS = [
  'device',
  'backbone',
  'size',
  'precision',
  'warmup',
  'reps',
  'cycles',
  'batch',
  'memory-reps',
  'threads',
  'out',
  'onnx',
];
const FLAGS = ['json', 'no-js', 'no-cuda-graphs', 'reference', 'help'];

/**
 * Strict: an unknown or misspelt option (say --devcie) is an error, not silently ignored.
 * @param {string[]} argv
 * @returns {Record<string, string | boolean | undefined>}
 */
function parseArgs(argv) {
  /** @type {Record<string, { type: 'string' | 'boolean' }>} */
  const options = {};
  for (const k of TEXT_OPTIONS) options[k] = { type: 'string' };
  for (const k of FLAGS) options[k] = { type: 'boolean' };
  try {
    return /** @type {Record<string, string | boolean | undefined>} */ (
      util.parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values
    );
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : e}\n${USAGE}`);
  }
}

/**
 * @param {unknown} value
 * @param {string} name
 * @param {number} min
 */
function int(value, name, min) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`Expected an integer >= ${min} for --${name} but received '${value}'`);
  return n;
}

/**
 * @param {unknown} value
 * @returns {[number, number]}
 */
function parseSize(value) {
  const m = /^(\d+)(?:x(\d+))?$/.exec(String(value));
  if (!m) throw new Error(`Expected N or HxW for --size but received '${value}'`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

/**
 * The addon through the package's loader (dist/native.js) when it is compiled, else straight from
 * SSN_NATIVE_BINDING (a checkout without dist/, as on a device machine). Never the package index: that
 * would load sharp.
 */
/** @returns {{ native: NativeModule, binding: string | undefined }} */
function loadAddon() {
  const loader = path.join(ROOT, 'dist', 'native.js');
  if (fs.existsSync(loader)) {
    const { loadNative, loadedBinding } = require(loader);
    const native = loadNative();
    return { native, binding: loadedBinding() };
  }
  const file = process.env.SSN_NATIVE_BINDING;
  if (!file) throw new Error('no dist/native.js (run npm run build:ts) and no SSN_NATIVE_BINDING addon path');
  return { native: require(path.resolve(file)), binding: `SSN_NATIVE_BINDING=${file}` };
}
/**
 * A model with a randomly initialised backbone (timing needs no weights); size = [height, width].
 * @param {NativeModule} native
 * @param {{ arch: string, size: [number, number], device: 'cpu' | 'cuda', seed: number, precision: Precision,
 *   cudaGraphs: boolean, threads?: number }} options
 */
function createRandomModel(native, { arch, size, device, seed, precision, cudaGraphs, threads }) {
  if (!native.constants.backbones.includes(arch)) {
    throw new Error(`Expected one of ${native.constants.backbones.join(', ')} for --backbone but received '${arch}'`);
  }
  return native.createModel({
    arch: /** @type {import('../lib/types').BackboneArch} */ (arch),
    backboneWeights: '',
    randomBackbone: true,
    headWeights: '',
    headFormat: 'auto',
    imageH: size[0],
    imageW: size[1],
    device,
    seed,
    precision,
    cudaGraphs,
    ...(threads === undefined ? {} : { threads }),
  });
}
module.exports = { loadAddon, createRandomModel };

/** @type {(xs: number[]) => number} */
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
/** @type {(xs: number[]) => number} */
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
/** @type {(xs: number[]) => number} */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** @type {(xs: number[]) => Stats} */
const stats = (xs) => ({ mean: mean(xs), std: std(xs), min: Math.min(...xs), median: median(xs), n: xs.length });

/**
 * Same loop as the native one, but each iteration is a predictTensor call awaited from JavaScript.
 * @param {NativeModel} model
 * @param {number} batch
 * @param {[number, number]} size
 * @param {number} warmup
 * @param {number} reps
 */
async function jsTimes(model, batch, size, warmup, reps) {
  const n = batch * 3 * size[0] * size[1];
  const data = new Float32Array(n);
  let seed = 1;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = seed / 2 ** 31 - 1;
  }
  for (let i = 0; i < warmup; i++) await model.predictTensor(data, batch);
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await model.predictTensor(data, batch);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms;
}

/**
 * @typedef {{ cycle: number, dropped: boolean, path?: string, gflops?: number, gflopsAnalyticTotal?: number,
 *   latencyMs: number, latencyMsMin?: number, latencyMsMedian?: number, jsLatencyMs?: number, jsLatencyMsMin?: number,
 *   jsLatencyMsMedian?: number, throughput?: number, jsThroughput?: number, peakReservedMB?: number | null,
 *   onnxLatencyMs?: number, onnxLatencyMsMin?: number, onnxLatencyMsMedian?: number, onnxThroughput?: number }} CycleRow
 */

/**
 * The exported model's backbone or size, unless the option names another: then the two timings would be of
 * different models.
 * @param {string | undefined} given
 * @param {string | undefined} exported
 * @param {string} option
 * @param {string} file
 */
function agreeWithExport(given, exported, option, file) {
  if (given !== undefined && exported !== undefined && given !== exported) {
    throw Object.assign(new Error(`--${option} ${given} differs from ${file}'s ${exported}`), {
      hint: `leave --${option} out: it defaults to the exported model's`,
    });
  }
  return given ?? exported;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  /** @type {(name: string) => string | undefined} */
  const text = (name) => /** @type {string | undefined} */ (args[name]);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const onnxFile = text('onnx');
  // Before any timing: a missing runtime or a wrong file fails at once.
  const ort = onnxFile === undefined ? undefined : onnxBench.loadOnnxRuntime();
  const exported = onnxFile === undefined ? {} : onnxBench.readExportMetadata(onnxFile);
  if (onnxFile !== undefined && !exported.arch) {
    throw Object.assign(new Error(`${onnxFile} has no supersimplenet metadata`), { hint: 'time a model written by ssn export' });
  }
  const { native, binding } = loadAddon();
  const library = JSON.parse(native.libraryInfo());
  const deviceArg = text('device') ?? 'auto';
  if (!['cpu', 'cuda', 'auto'].includes(deviceArg)) throw new Error(`Expected cpu, cuda or auto for --device but received '${deviceArg}'`);
  const cudaAvailable = Boolean(library.cuda && (library.cuda.available ?? library.cuda.deviceCount > 0));
  const onCuda = deviceArg === 'cuda' || (deviceArg === 'auto' && cudaAvailable);
  const device = onCuda ? 'cuda' : 'cpu';
  const arch = agreeWithExport(text('backbone'), exported.arch, 'backbone', String(onnxFile)) ?? 'wide_resnet50_2';
  const sizeText = text('size') === undefined ? undefined : parseSize(text('size')).join('x');
  const size = parseSize(agreeWithExport(sizeText, exported.image_size, 'size', String(onnxFile)) ?? 256);
  const precision = /** @type {Precision} */ (text('precision') ?? (onCuda ? 'fp16' : 'fp32'));
  if (!native.constants.precisions.includes(precision)) {
    throw new Error(`Expected one of ${native.constants.precisions.join(', ')} for --precision but received '${precision}'`);
  }
  // CPU defaults sized for a few minutes on an 8-core machine (a wide_resnet50_2 forward is ~0.5 s there).
  const warmup = int(args.warmup ?? (onCuda ? 1000 : 2), 'warmup', 0);
  const reps = int(args.reps ?? (onCuda ? 1000 : 5), 'reps', 1);
  const cycles = int(args.cycles ?? (onCuda ? 6 : 2), 'cycles', 1);
  const batch = int(args.batch ?? 16, 'batch', 0);
  const memoryReps = onCuda ? int(args['memory-reps'] ?? 100, 'memory-reps', 0) : 0;
  const threads = args.threads === undefined ? undefined : int(args.threads, 'threads', 1);
  const cudaGraphs = !args['no-cuda-graphs'];
  const reference = Boolean(args.reference);
  const withJs = !args['no-js'] && !reference;

  /** @type {(seed: number) => Promise<NativeModel>} */
  const create = (seed) => createRandomModel(native, { arch, size, device, seed, precision, cudaGraphs, threads });
  /** @type {CycleRow[]} */
  const rows = [];
  /** @type {Record<string, Stats>} */
  const summary = {};

  const result = {
    tool: 'ssn-bench',
    protocol: {
      spec: 'SUPERSIMPLENET.md section 11 (official perf/perf_main.py)',
      latency: 'batch 1: H->D copy of a random float32 input + forward + D->H copy of map and score, mean ms',
      throughput: `batch ${batch}: same loop, images/s = batch * reps / total time`,
      memory: 'CUDA: batch 1, input on device, empty cache + reset peak before each forward, mean peak reserved / 1e6',
      flops:
        "analytic, batch 1, 2 x MACs: gflops = as torch.profiler counts the official model (the paper's 56.3 G at 256x256: " +
        'no formula for the padding="same" 5x5 conv of the classification head); gflopsAnalyticTotal = every conv and linear layer',
      js: 'predictTensor(Float32Array) awaited from JavaScript, same warm-up and reps',
      model: `${arch}, random init (no weights), ${size[0]}x${size[1]}`,
      device,
      precision: reference ? 'fp32' : precision,
      path: reference ? 'reference (trainable module, eager)' : 'inference plan',
      cudaGraphs: onCuda && !reference && cudaGraphs,
      warmup,
      reps,
      cycles,
      droppedCycles: cycles > 1 ? 1 : 0,
      memoryReps,
      freshModelPerMeasurement: true,
      ...(onnxFile === undefined
        ? {}
        : {
            onnx: {
              file: onnxFile,
              timing:
                'session.run awaited from JavaScript (input from and outputs to JavaScript memory), fresh session per measurement, same warm-up, reps and threads',
              executionProvider: device,
              precision: exported.precision,
              folded: exported.folded,
              input: exported.input,
            },
          }),
    },
    versions: { node: process.version, binding, library, ...(ort ? { onnxruntime: ort.env.versions.common } : {}) },
    host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavg: os.loadavg(), platform: `${process.platform}-${process.arch}` },
    /** @type {number | null} */
    threads: null,
    cycles: rows,
    /** @type {Record<string, Stats | number>} */
    summary,
  };

  for (let c = 0; c < cycles; c++) {
    let model = await create(c);
    let r = await model.benchmark({ batch: 1, warmup, reps, memoryReps: 0, reference });
    result.threads = r.threads;
    const lat = Array.from(r.iterationMs);
    /** @type {CycleRow} */
    const row = { cycle: c + 1, dropped: cycles > 1 && c === 0, latencyMs: mean(lat) };
    row.path = r.path;
    row.gflops = r.gflopsProfiler;
    row.gflopsAnalyticTotal = r.gflops;
    row.latencyMsMin = Math.min(...lat);
    row.latencyMsMedian = median(lat);
    if (withJs) {
      const js = await jsTimes(model, 1, size, warmup, reps);
      row.jsLatencyMs = mean(js);
      row.jsLatencyMsMin = Math.min(...js);
      row.jsLatencyMsMedian = median(js);
    }
    model.dispose();
    if (batch > 0) {
      model = await create(c);
      r = await model.benchmark({ batch, warmup, reps, memoryReps: 0, reference });
      const total = Array.from(r.iterationMs).reduce((s, x) => s + x, 0);
      row.throughput = (batch * reps * 1000) / total;
      if (withJs) {
        const js = await jsTimes(model, batch, size, warmup, reps);
        row.jsThroughput = (batch * reps * 1000) / js.reduce((s, x) => s + x, 0);
      }
      model.dispose();
    }
    if (ort && onnxFile !== undefined) {
      const sessionOptions = { device: /** @type {'cpu' | 'cuda'} */ (device), threads: threads ?? result.threads ?? undefined };
      let session = await onnxBench.openSession(ort, onnxFile, sessionOptions);
      const onnxLat = await onnxBench.onnxTimes(ort, session, 1, warmup, reps);
      await session.release();
      row.onnxLatencyMs = mean(onnxLat);
      row.onnxLatencyMsMin = Math.min(...onnxLat);
      row.onnxLatencyMsMedian = median(onnxLat);
      if (batch > 0) {
        session = await onnxBench.openSession(ort, onnxFile, sessionOptions);
        const total = (await onnxBench.onnxTimes(ort, session, batch, warmup, reps)).reduce((s, x) => s + x, 0);
        await session.release();
        row.onnxThroughput = (batch * reps * 1000) / total;
      }
    }
    if (memoryReps > 0) {
      model = await create(c);
      r = await model.benchmark({ batch: 1, warmup: 0, reps: 1, memoryReps, reference });
      row.peakReservedMB = r.peakReservedBytes >= 0 ? r.peakReservedBytes / 1e6 : null;
      model.dispose();
    }
    rows.push(row);
    if (!args.json) process.stderr.write(`cycle ${c + 1}/${cycles}${row.dropped ? ' (dropped)' : ''}: ${row.latencyMs.toFixed(3)} ms\n`);
  }

  const kept = rows.filter((r) => !r.dropped);
  /** @type {Array<keyof CycleRow>} */
  const summarised = [
    'latencyMs',
    'latencyMsMin',
    'latencyMsMedian',
    'jsLatencyMs',
    'throughput',
    'jsThroughput',
    'peakReservedMB',
    'onnxLatencyMs',
    'onnxLatencyMsMin',
    'onnxLatencyMsMedian',
    'onnxThroughput',
    'gflops',
    'gflopsAnalyticTotal',
  ];
  for (const key of summarised) {
    const xs = /** @type {number[]} */ (kept.map((r) => r[key]).filter((x) => typeof x === 'number'));
    if (xs.length) summary[key] = stats(xs);
  }
  const bindingOverheadMs = summary.jsLatencyMs ? summary.jsLatencyMs.mean - summary.latencyMs.mean : undefined;
  if (bindingOverheadMs !== undefined) result.summary.bindingOverheadMs = bindingOverheadMs;

  const json = JSON.stringify(result, null, 2);
  const out = text('out');
  if (out) fs.writeFileSync(out, `${json}\n`);
  if (args.json) {
    console.log(json);
    return;
  }
  /** @type {(x: unknown, d?: number) => string} */
  const f = (x, d = 3) => (typeof x === 'number' ? x.toFixed(d) : '-');
  console.log(
    `ssn-bench: ${result.protocol.model} on ${device} (${result.protocol.precision}, ${result.protocol.path}` +
      `${result.protocol.cudaGraphs ? ', CUDA graphs' : ''}), ${result.threads} threads; warm-up ${warmup}, reps ${reps}, ` +
      `${cycles} cycles${cycles > 1 ? ' (first dropped)' : ''}`,
  );
  if (onnxFile !== undefined) {
    console.log(
      `ONNX: ${onnxFile} (${exported.precision}, ${exported.folded === 'false' ? 'plain' : 'folded'}, ${exported.input} input) ` +
        `in onnxruntime-node ${result.versions.onnxruntime} on its ${device} provider`,
    );
  }
  // The ONNX columns only with --onnx.
  const onnx = onnxFile !== undefined;
  const head = ['cycle', 'latency ms (native)', 'latency ms (JS)', ...(onnx ? ['latency ms (ONNX)'] : []), 'throughput img/s (native)'];
  head.push('throughput img/s (JS)', ...(onnx ? ['throughput img/s (ONNX)'] : []), 'peak reserved MB', 'GFLOPs');
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  /** @type {(cells: string[]) => void} */
  const line = ([name, lat, jsLat, onnxLat, tput, jsTput, onnxTput, mem, gflops]) =>
    console.log(
      `| ${[name, lat, jsLat, ...(onnx ? [onnxLat] : []), tput, jsTput, ...(onnx ? [onnxTput] : []), mem, gflops].join(' | ')} |`,
    );
  for (const r of rows) {
    line([
      `${r.cycle}${r.dropped ? ' (dropped)' : ''}`,
      f(r.latencyMs),
      f(r.jsLatencyMs),
      f(r.onnxLatencyMs),
      f(r.throughput, 2),
      f(r.jsThroughput, 2),
      f(r.onnxThroughput, 2),
      f(r.peakReservedMB, 1),
      f(r.gflops),
    ]);
  }
  /** @type {(k: string, d?: number) => string} */
  const ms = (k, d = 3) => (summary[k] ? `${f(summary[k].mean, d)} ± ${f(summary[k].std, d)}` : '-');
  line([
    'mean ± std',
    ms('latencyMs'),
    ms('jsLatencyMs'),
    ms('onnxLatencyMs'),
    ms('throughput', 2),
    ms('jsThroughput', 2),
    ms('onnxThroughput', 2),
    ms('peakReservedMB', 1),
    ms('gflops'),
  ]);
  if (bindingOverheadMs !== undefined) console.log(`binding overhead (JS - native latency): ${f(bindingOverheadMs)} ms`);
}

if (require.main === module)
  main().catch((e) => {
    console.error(`ssn-bench: ${e?.message ? e.message : e}${e?.hint ? `\n  hint: ${e.hint}` : ''}`);
    process.exitCode = 1;
  });
