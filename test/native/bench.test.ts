/**
 * ssn-bench end to end (node bench/ssn-bench.js, as a user runs it) on a tiny model, with sharp made
 * unloadable: the bench must run where only the native addon exists. Also the runtime options of the
 * fast path through the public API. Needs the built addon and `npm run build:ts`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { SuperSimpleNet } from '../../lib';

const execFileAsync = promisify(execFile);
const repo = path.resolve(__dirname, '..', '..');
const SSN_BENCH = path.join(repo, 'bench', 'ssn-bench.js');

/** ssn-bench on a random resnet18 at 32x32 on the CPU, with these loop sizes. */
function tinyBenchArgs(loop: { warmup: number; reps: number; cycles: number; batch: number }): string[] {
  return ['--device', 'cpu', '--backbone', 'resnet18', '--size', '32', ...Object.entries(loop).flatMap(([k, v]) => [`--${k}`, String(v)])];
}

describe('ssn-bench', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-bench-'));
    // Any attempt to load sharp fails the run.
    writeFileSync(
      path.join(dir, 'no-sharp.js'),
      "const Module = require('module'); const load = Module._load;\n" +
        "Module._load = function (request, ...rest) { if (request === 'sharp') throw new Error('sharp was loaded'); return load.call(this, request, ...rest); };\n",
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the protocol, per-cycle figures and FLOPs as JSON without loading sharp', async () => {
    const out = path.join(dir, 'bench.json');
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--require',
        path.join(dir, 'no-sharp.js'),
        SSN_BENCH,
        ...tinyBenchArgs({ warmup: 1, reps: 2, cycles: 2, batch: 2 }),
        '--threads',
        '1',
        '--json',
        '--out',
        out,
      ],
      { cwd: repo, maxBuffer: 16 << 20 },
    );
    const r = JSON.parse(stdout);
    expect(r.protocol).toMatchObject({
      device: 'cpu',
      precision: 'fp32',
      warmup: 1,
      reps: 2,
      cycles: 2,
      droppedCycles: 1,
      path: 'inference plan',
    });
    expect(r.protocol.latency).toMatch(/batch 1/);
    expect(r.threads).toBe(1);
    expect(r.versions.library.libtorch.version).toEqual(expect.any(String));
    expect(r.cycles).toHaveLength(2);
    expect(r.cycles[0].dropped).toBe(true);
    expect(r.cycles[1].dropped).toBe(false);
    for (const c of r.cycles) {
      expect(c.latencyMs).toBeGreaterThan(0);
      expect(c.jsLatencyMs).toBeGreaterThan(0);
      expect(c.throughput).toBeGreaterThan(0);
      expect(c.jsThroughput).toBeGreaterThan(0);
      expect(c.gflops).toBeGreaterThan(0);
      expect(c.gflopsAnalyticTotal).toBeGreaterThan(c.gflops);
      expect(c.path).toBe('plan');
    }
    expect(r.summary.latencyMs.n).toBe(1);
    expect(r.summary.latencyMs.mean).toBe(r.cycles[1].latencyMs);
    expect(typeof r.summary.bindingOverheadMs).toBe('number');
  });

  it('--onnx times an exported model in onnxruntime-node on the same protocol, and says how to install it when missing', async () => {
    const model = await SuperSimpleNet.create({
      backbone: { arch: 'resnet18', random: true },
      imageSize: [32, 48],
      device: 'cpu',
      logger: () => {},
    });
    const onnxFile = path.join(dir, 'tiny.onnx');
    try {
      await model.exportOnnx(onnxFile, { preprocess: true });
    } finally {
      model.dispose();
    }
    // --backbone and --size left out: they come from the exported model.
    const args = [
      SSN_BENCH,
      '--device',
      'cpu',
      '--onnx',
      onnxFile,
      '--warmup',
      '1',
      '--reps',
      '2',
      '--cycles',
      '2',
      '--batch',
      '2',
      '--threads',
      '1',
    ];
    const { stdout } = await execFileAsync(process.execPath, [...args, '--json'], { cwd: repo, maxBuffer: 16 << 20 });
    const r = JSON.parse(stdout);
    expect(r.protocol.model).toMatch(/^resnet18, random init .*32x48$/);
    expect(r.protocol.onnx).toMatchObject({ file: onnxFile, executionProvider: 'cpu', precision: 'fp32', folded: 'true', input: 'pixels' });
    expect(r.versions.onnxruntime).toEqual(expect.any(String));
    for (const c of r.cycles) {
      expect(c.onnxLatencyMs).toBeGreaterThan(0);
      expect(c.onnxLatencyMsMedian).toBeGreaterThan(0);
      expect(c.onnxThroughput).toBeGreaterThan(0);
      expect(c.latencyMs).toBeGreaterThan(0);
    }
    expect(r.summary.onnxLatencyMs.n).toBe(1);
    expect(r.summary.onnxThroughput.n).toBe(1);

    const table = await execFileAsync(
      process.execPath,
      [SSN_BENCH, '--device', 'cpu', '--onnx', onnxFile, '--warmup', '0', '--reps', '1', '--cycles', '1', '--batch', '0', '--threads', '1'],
      { cwd: repo },
    );
    expect(table.stdout).toMatch(/\| latency ms \(ONNX\) \|/);

    await expect(execFileAsync(process.execPath, [...args, '--size', '64'], { cwd: repo })).rejects.toMatchObject({
      stderr: expect.stringMatching(/--size 64x64 differs from .*32x48/),
    });
    // Without onnxruntime-node: the message says how to install it.
    writeFileSync(
      path.join(dir, 'no-ort.js'),
      "const Module = require('module'); const resolve = Module._resolveFilename;\n" +
        "Module._resolveFilename = function (request, ...rest) { if (request === 'onnxruntime-node') { const e = new Error('not found'); e.code = 'MODULE_NOT_FOUND'; throw e; } return resolve.call(this, request, ...rest); };\n",
    );
    await expect(execFileAsync(process.execPath, ['--require', path.join(dir, 'no-ort.js'), ...args], { cwd: repo })).rejects.toMatchObject(
      {
        stderr: expect.stringMatching(/onnxruntime-node, which is not installed[\s\S]*npm i onnxruntime-node --ignore-scripts/),
      },
    );
  }, 180_000);

  it('prints a table for people and rejects bad arguments', async () => {
    const { stdout } = await execFileAsync(
      process.execPath,
      [SSN_BENCH, ...tinyBenchArgs({ warmup: 0, reps: 1, cycles: 1, batch: 0 }), '--reference'],
      { cwd: repo },
    );
    expect(stdout).toMatch(/\| cycle \| latency ms \(native\)/);
    expect(stdout).toMatch(/reference/);
    await expect(execFileAsync(process.execPath, [SSN_BENCH, '--precision', 'fp64', '--device', 'cpu'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/precision/),
    });
  });
});

describe('runtime options of the fast path', () => {
  it('rejects fp16 on the CPU and bad thread counts, accepts fp32 with threads', async () => {
    const base = { backbone: { arch: 'resnet18' as const, random: true }, imageSize: 32, device: 'cpu' as const, logger: () => {} };
    await expect(SuperSimpleNet.create({ ...base, precision: 'fp16' })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
    await expect(SuperSimpleNet.create({ ...base, threads: -1 })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
    await expect(SuperSimpleNet.create({ ...base, precision: 'fp64' as never })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
    const model = await SuperSimpleNet.create({ ...base, precision: 'fp32', threads: 1, cudaGraphs: false });
    const p = await model.predict({ data: new Uint8Array(32 * 32 * 3).fill(100), width: 32, height: 32, channels: 3 });
    expect(p.map).toHaveLength(32 * 32);
    expect(Number.isFinite(p.logit)).toBe(true);
    model.dispose();
  });
});
