/**
 * Data-parallel training from the CLI, tiny (the default backbone at 32x32, eight images):
 * - `--nproc-per-node 2` (two gloo processes, four images each) equals one process with
 *   `--grad-accumulation 2`: the losses step by step and every weight to 1e-4 relative;
 * - killing one rank fails the job cleanly (its rank named, no worker left, the checkpoint intact), and the
 *   rerun resumes from that checkpoint with another world size, ending where the uninterrupted run ends.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import type { TrainProgress } from '../../lib/types';
import { readFloatTensors, relativeDifference } from '../helpers/safetensors';

const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'ssn.js');
const TOLERANCE = 1e-4;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ssn(args: string[], onStderr?: (text: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    // One libtorch thread per process, as the launcher gives each of its workers on two cores: the float sums inside
    // the kernels then run in the same order everywhere. (With other thread counts the weights differ by float
    // noise, which AdamW amplifies in the two conv biases that BatchNorm follows: their true gradient is zero.)
    const env = { ...process.env, OMP_NUM_THREADS: '1' };
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A --metrics line: the step's progress and its wall time. */
type StepLog = TrainProgress & { time: number };

function readMetrics(file: string): StepLog[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as StepLog);
}

function expectSameWeights(file: string, reference: string): void {
  const a = readFloatTensors(file);
  const b = readFloatTensors(reference);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  const worst = [...b.entries()]
    .map(([name, t]) => ({ name, rel: relativeDifference(a.get(name) as Float32Array, t) }))
    .sort((x, y) => y.rel - x.rel)[0];
  expect(worst.rel).toBeLessThanOrEqual(TOLERANCE);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a 2-worker job and sends `signal` to rank 1 once rank 0's progress matches `when`; resolves with the run,
 * the workers' pids (from the launcher's line) and whether the signal went.
 */
async function signalRank1(args: string[], when: RegExp, signal: NodeJS.Signals): Promise<Run & { pids: number[]; sent: boolean }> {
  let pids: number[] = [];
  let sent = false;
  const run = await ssn([...args, '--nproc-per-node', '2'], (text) => {
    const launched = /\(pids (\d+), (\d+)\)/.exec(text);
    if (launched) pids = [Number(launched[1]), Number(launched[2])];
    if (!sent && pids.length === 2 && when.test(text)) {
      sent = true;
      process.kill(pids[1], signal);
    }
  });
  return { ...run, pids, sent };
}

let dir: string;
let common: string[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-dist-'));
  mkdirSync(path.join(dir, 'data', 'good'), { recursive: true });
  for (let i = 0; i < 8; i++) {
    const data = Buffer.alloc(40 * 36 * 3, 0).map((_, k) => (k * (7 + i) + i * 29) % 256);
    await sharp(data, { raw: { width: 40, height: 36, channels: 3 } })
      .png()
      .toFile(path.join(dir, 'data', 'good', `${i}.png`));
  }
  common = [
    'train',
    '--data',
    path.join(dir, 'data'),
    '--size',
    '32',
    '--batch-size',
    '8',
    '--seed',
    '5',
    '--precision',
    'fp32',
    '--device',
    'cpu',
  ];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('2 gloo processes equal 1 process accumulating 2 micro-batches; a killed rank fails the job and the rerun resumes', async () => {
  const epochs = ['--epochs', '6'];
  const single = path.join(dir, 'single.safetensors');
  const one = await ssn([...common, ...epochs, '--grad-accumulation', '2', '--metrics', path.join(dir, 'single.jsonl'), '-o', single]);
  expect(one.code).toBe(0);

  const pair = path.join(dir, 'pair.safetensors');
  const two = await ssn([...common, ...epochs, '--nproc-per-node', '2', '--metrics', path.join(dir, 'pair.jsonl'), '-o', pair]);
  expect(two.stderr).toMatch(/launched 2 worker\(s\) of 2/);
  expect(two.code).toBe(0);
  expect(two.stdout).toContain('across 2 processes (gloo)');

  const a = readMetrics(path.join(dir, 'pair.jsonl'));
  const b = readMetrics(path.join(dir, 'single.jsonl'));
  expect(a.length).toBe(6);
  expect(a.map((s) => [s.epoch, s.step, s.batch])).toEqual(b.map((s) => [s.epoch, s.step, s.batch]));
  for (let i = 0; i < a.length; i++) {
    for (const key of ['loss', 'truncatedL1', 'focalMap', 'focalScore', 'gradNorm'] as const) {
      expect(Math.abs(a[i][key] - b[i][key])).toBeLessThanOrEqual(TOLERANCE * Math.max(1, Math.abs(b[i][key])));
    }
  }
  expectSameWeights(pair, single);

  // The same job, rank 1 killed once the checkpoint of epoch 2 is written.
  const ckpt = path.join(dir, 'killed.ckpt.safetensors');
  const failed = await signalRank1(
    [...common, ...epochs, '--checkpoint-every', '1', '--checkpoint', ckpt, '-o', path.join(dir, 'killed.safetensors')],
    /epoch 3\/6/,
    'SIGKILL',
  );
  expect(failed.sent).toBe(true);
  expect(failed.code).not.toBe(0);
  expect(failed.stderr).toContain('ERR_SSN_DISTRIBUTED');
  expect(failed.stderr).toContain('Rank 1 was killed by SIGKILL');
  expect(failed.stderr).toContain(`--resume ${ckpt}`);
  expect(failed.pids.some(alive)).toBe(false);
  expect(existsSync(path.join(dir, 'killed.safetensors'))).toBe(false);
  expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);

  // Resumed in one process: it keeps the run's two micro-batches per step and ends with the uninterrupted run.
  const resumed = path.join(dir, 'resumed.safetensors');
  const rerun = await ssn([...common, ...epochs, '--resume', ckpt, '-o', resumed]);
  expect(rerun.code).toBe(0);
  expect(rerun.stdout).toContain('resumed');
  expectSameWeights(resumed, single);
}, 600_000);

test('a rank that stops answering fails the job within the timeout, and no worker is left behind', async () => {
  const started = Date.now();
  const run = await signalRank1(
    [...common, '--epochs', '6', '--dist-timeout', '8', '-o', path.join(dir, 'hung.safetensors')],
    /epoch 2\/6/,
    'SIGSTOP',
  );
  expect(run.sent).toBe(true);
  expect(run.code).not.toBe(0);
  expect(run.stderr).toContain('ERR_SSN_DISTRIBUTED');
  expect(run.stderr).toMatch(/rank 0: step \d+ failed/);
  expect(run.stderr).toContain('rank 1');
  expect(run.pids.some(alive)).toBe(false);
  expect(Date.now() - started).toBeLessThan(120_000);
}, 180_000);

test('bad distributed options are refused with a hint', async () => {
  const noMaster = await ssn([...common, '--epochs', '1', '--nnodes', '2', '-o', path.join(dir, 'x.safetensors')]);
  expect(noMaster.code).not.toBe(0);
  expect(noMaster.stderr).toContain('--master-addr and --master-port');
  const tooMany = await ssn([...common, '--epochs', '1', '--grad-accumulation', '16', '-o', path.join(dir, 'y.safetensors')]);
  expect(tooMany.code).not.toBe(0);
  expect(tooMany.stderr).toContain('ERR_SSN_CONFIG');
  expect(tooMany.stderr).toContain('cannot be split into 16 micro-batches');
}, 120_000);
