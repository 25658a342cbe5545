/**
 * ssn-bench --onnx: the same timings of an exported model (ssn export) in onnxruntime-node, beside the addon's.
 * Each cycle opens a fresh session (as each addon measurement builds a fresh model) with the addon's thread
 * count; latency is session.run at batch 1 awaited from JavaScript (input from and outputs back to JavaScript
 * memory), throughput the same at the throughput batch. onnxruntime-node is a devDependency of supersimplenet,
 * loaded only here.
 */
// @ts-check: type-checked by `npm run test:types` (bench/tsconfig.json).
'use strict';
/** @typedef {import('onnxruntime-node').InferenceSession} Session */
const fs = require('node:fs');

/**
 * onnxruntime-node, or an error that says how to install it.
 * @returns {typeof import('onnxruntime-node')}
 */
function loadOnnxRuntime() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    const err = /** @type {NodeJS.ErrnoException} */ (e);
    if (err?.code !== 'MODULE_NOT_FOUND') throw e;
    throw Object.assign(new Error('--onnx needs onnxruntime-node, which is not installed (it is only a devDependency of supersimplenet)'), {
      hint:
        'install its CPU build without the CUDA download of its install script: npm i onnxruntime-node --ignore-scripts ' +
        '(or ONNXRUNTIME_NODE_INSTALL=skip npm i onnxruntime-node)',
    });
  }
}

/**
 * What `ssn export` wrote into the model's metadata (supersimplenet.arch, .image_size, .precision, ...).
 * @param {string} file
 * @returns {Record<string, string>}
 */
function readExportMetadata(file) {
  const { onnx } = require('onnx-proto');
  const model = onnx.ModelProto.decode(fs.readFileSync(file));
  /** @type {Record<string, string>} */
  const out = {};
  for (const p of model.metadataProps ?? []) {
    if (p.key?.startsWith('supersimplenet.')) out[p.key.slice('supersimplenet.'.length)] = p.value ?? '';
  }
  return out;
}

/**
 * A session on `device`'s execution provider with `threads` intra-op threads (onnxruntime's choice if undefined).
 * @param {typeof import('onnxruntime-node')} ort
 * @param {string} file
 * @param {{ device: 'cpu' | 'cuda', threads?: number }} options
 */
async function openSession(ort, file, { device, threads }) {
  try {
    return await ort.InferenceSession.create(file, {
      executionProviders: [device],
      ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    });
  } catch (e) {
    const hint =
      device === 'cuda'
        ? 'onnxruntime-node runs on CUDA only when installed with its CUDA providers (npm i onnxruntime-node, without ONNXRUNTIME_NODE_INSTALL=skip)'
        : undefined;
    throw Object.assign(new Error(`onnxruntime-node cannot open ${file}: ${e instanceof Error ? e.message : e}`), { hint });
  }
}

/**
 * The session's input at `batch`, filled with the bench's pseudo-random values (uint8 pixels or float32 images).
 * @param {typeof import('onnxruntime-node')} ort
 * @param {Session} session
 * @param {number} batch
 */
function randomInput(ort, session, batch) {
  const meta = session.inputMetadata[0];
  if (!meta?.isTensor || (meta.type !== 'float32' && meta.type !== 'uint8')) {
    throw new Error(`${session.inputNames[0]}: expected a float32 or uint8 tensor input, as ssn export writes`);
  }
  const dims = meta.shape.map((d, i) => (i === 0 ? batch : Number(d)));
  const n = dims.reduce((a, b) => a * b, 1);
  const data = meta.type === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  let seed = 1;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = meta.type === 'uint8' ? seed >>> 24 : seed / 2 ** 31 - 1;
  }
  return { [meta.name]: new ort.Tensor(meta.type, data, dims) };
}

/**
 * ms of each of `reps` session runs at `batch`, after `warmup` untimed ones.
 * @param {typeof import('onnxruntime-node')} ort
 * @param {Session} session
 * @param {number} batch
 * @param {number} warmup
 * @param {number} reps
 */
async function onnxTimes(ort, session, batch, warmup, reps) {
  const feeds = randomInput(ort, session, batch);
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms;
}

module.exports = { loadOnnxRuntime, readExportMetadata, openSession, onnxTimes };
