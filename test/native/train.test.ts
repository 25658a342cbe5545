/**
 * model.train() end to end on the CPU addon, tiny: a random resnet18 backbone at 64x64, a few steps.
 * Progress, abort + resume (the same weights as a straight run), checkpoints, save with and without the
 * training state, the serial queue, and input errors.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import type { DatasetItem } from '../../lib/data/dataset';
import { SuperSimpleNet } from '../../lib/model';
import type { RawImage, TrainOptions, TrainProgress } from '../../lib/types';
import { testImage } from '../helpers/images';
import { tinyModel as tinyModelOf } from '../helpers/tinyModel';

const SIZE = 64;
let dir: string;

function image(seed: number, width = 80, height = 72): RawImage {
  return testImage(seed, width, height);
}

const NORMAL: DatasetItem[] = Array.from({ length: 6 }, (_, i) => ({ id: `n${i}`, image: image(i), label: 0 }));
const BASE: TrainOptions = { epochs: 3, batchSize: 4, segLr: 1e-3, decLr: 1e-3 };

function tinyModel(): Promise<SuperSimpleNet> {
  return tinyModelOf(SIZE, 5);
}

async function outputs(model: SuperSimpleNet): Promise<number[]> {
  const p = await model.predictBatch([image(100), image(101)]);
  return p.flatMap((x) => [x.logit, ...Array.from(x.map.subarray(0, 256))]);
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    return { code: String((e as { code?: unknown }).code), message: String((e as Error).message) };
  }
  throw new Error('expected a rejection');
}

let straight: number[];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ssn-train-'));
  const model = await tinyModel();
  const reports: TrainProgress[] = [];
  const summary = await model.train(NORMAL, { ...BASE, onProgress: (p) => reports.push(p) });
  expect(summary).toMatchObject({ epochs: 3, steps: 6, images: 18, resumed: false, cachedFeatures: true });
  expect(summary.config).toMatchObject({ setting: 'unsupervised', epochs: 3, batch_size: 4, seg_lr: 1e-3 });
  expect(reports.length).toBeGreaterThan(0);
  const last = reports[reports.length - 1];
  expect(last).toMatchObject({ epoch: 2, epochs: 3, step: 2, stepsPerEpoch: 2, batch: 2 });
  expect(last.lr.seg).toBeCloseTo(1e-3);
  expect(Number.isFinite(last.loss) && last.loss > 0).toBe(true);
  expect(model.info()).toMatchObject({ headsTrained: true, training: { epoch: 3, finished: true } });
  straight = await outputs(model);
  await model.dispose();
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('an aborted run rejects with ERR_SSN_ABORTED and resumes to the weights of a straight run', async () => {
  const model = await tinyModel();
  const controller = new AbortController();
  const aborted = await codeOf(
    model.train(NORMAL, {
      ...BASE,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.epoch === 1) controller.abort();
      },
    }),
  );
  expect(aborted.code).toBe('ERR_SSN_ABORTED');
  expect(model.info()).toMatchObject({ training: { finished: false } });
  const resumed = await model.train(NORMAL, BASE);
  expect(resumed.resumed).toBe(true);
  expect(await outputs(model)).toEqual(straight);
  await model.dispose();
});

test('checkpoints are written atomically, resume on a fresh model, and the final model has no optimizer state', async () => {
  const ckpt = path.join(dir, 'ckpt.safetensors');
  const model = await tinyModel();
  const controller = new AbortController();
  const aborted = await codeOf(
    model.train(NORMAL, {
      ...BASE,
      checkpoint: { path: ckpt, everyEpochs: 1 },
      signal: controller.signal,
      onProgress: (p) => {
        if (p.epoch >= 1) controller.abort(); // at least the epoch-1 checkpoint is on disk
      },
    }),
  );
  expect(aborted.code).toBe('ERR_SSN_ABORTED');
  // Atomic writes leave the checkpoint and nothing beside it.
  expect(await fs.readdir(dir)).toEqual(['ckpt.safetensors']);
  const remaining = ({ epoch, step }: { epoch: number; step: number }): number => (3 - epoch) * 2 - step;

  // A fresh model resumes from the checkpoint; so does a model loaded from a state saved after the abort.
  const saved = await SuperSimpleNet.load(ckpt, { device: 'cpu', logger: () => undefined });
  const ckptPosition = saved.info().training as { epoch: number; step: number };
  expect(ckptPosition.step).toBe(0);
  await saved.dispose();
  const fresh = await tinyModel();
  const fromCkpt = await fresh.train(NORMAL, { ...BASE, resume: ckpt });
  expect(fromCkpt).toMatchObject({ resumed: true, steps: remaining(ckptPosition) });
  expect(await outputs(fresh)).toEqual(straight);

  const state = path.join(dir, 'state.safetensors');
  await model.save(state, { trainingState: true });
  const loaded = await SuperSimpleNet.load(state, { device: 'cpu', logger: () => undefined });
  const position = loaded.info().training as { epoch: number; step: number };
  expect((await loaded.train(NORMAL, BASE)).steps).toBe(remaining(position));
  expect(await outputs(loaded)).toEqual(straight);

  const final = path.join(dir, 'final.safetensors');
  await fresh.save(final);
  const [finalSize, stateSize] = await Promise.all([fs.stat(final), fs.stat(state)]).then((s) => s.map((x) => x.size));
  expect(finalSize).toBeLessThan(stateSize);
  const reloaded = await SuperSimpleNet.load(final, { device: 'cpu', logger: () => undefined });
  expect(await outputs(reloaded)).toEqual(straight);
  for (const m of [model, fresh, loaded, reloaded]) await m.dispose();
  for (const f of [ckpt, state, final]) await fs.rm(f);
});

test('a process killed mid-training resumes from its last checkpoint to the weights of a straight run', async () => {
  const ckpt = path.join(dir, 'killed.ckpt.safetensors');
  // The child trains the same model on the same images (testImage of test/helpers/images.ts, inlined) and is
  // SIGKILLed in epoch 2, after the epoch-1 checkpoint was written.
  const script = `
    const { SuperSimpleNet } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'dist'))});
    const image = (seed) => {
      const data = new Uint8Array(80 * 72 * 3);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 97 + ((i / 80) | 0) * 7) % 256;
      return { data, width: 80, height: 72, channels: 3 };
    };
    (async () => {
      const m = await SuperSimpleNet.create({ backbone: { arch: 'resnet18', random: true }, imageSize: ${SIZE}, device: 'cpu', seed: 5, logger: () => {} });
      const items = Array.from({ length: 6 }, (_, i) => ({ id: 'n' + i, image: image(i), label: 0 }));
      await m.train(items, { ...${JSON.stringify(BASE)}, checkpoint: { path: ${JSON.stringify(ckpt)}, everyEpochs: 1 },
        onProgress: (p) => { if (p.epoch >= 1) { process.stdout.write('kill me\\n'); for (;;) {} } } });
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const fresh = await tinyModel();
  const resumed = await fresh.train(NORMAL, { ...BASE, resume: ckpt });
  expect(resumed.resumed).toBe(true);
  expect(await outputs(fresh)).toEqual(straight);
  await fresh.dispose();
  await fs.rm(ckpt);
});

test('predict waits for a running train() on the same model', async () => {
  const model = await tinyModel();
  const order: string[] = [];
  const training = model.train(NORMAL, { ...BASE, epochs: 1 }).then(() => order.push('train'));
  const predicting = model.predict(image(7)).then(() => order.push('predict'));
  await Promise.all([training, predicting]);
  expect(order).toEqual(['train', 'predict']);
  await model.dispose();
});

test('supervised training with masks from files; bad input is refused with clear errors', async () => {
  const model = await tinyModel();
  const defectFile = path.join(dir, 'defect.png');
  const maskFile = path.join(dir, 'defect_mask.png');
  const raw = image(9);
  await sharp(Buffer.from(raw.data), { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .png()
    .toFile(defectFile);
  const mask = Buffer.alloc(raw.width * raw.height);
  mask.fill(255, 0, raw.width * 10);
  await sharp(mask, { raw: { width: raw.width, height: raw.height, channels: 1 } })
    .png()
    .toFile(maskFile);
  const anomalous: DatasetItem = { id: 'd0', image: defectFile, mask: maskFile, label: 1 };
  const summary = await model.train({ name: 'tiny', train: [...NORMAL, anomalous], test: [] }, { epochs: 1, batchSize: 4 });
  expect(summary.config).toMatchObject({ setting: 'supervised', flips: true });
  expect(summary.cachedFeatures).toBe(false); // flipped positives cannot reuse cached features
  expect(summary.steps).toBe(2); // 8 x 1 positive per epoch

  expect(await codeOf(model.train([{ id: 'a', image: image(1), label: 1 }], BASE))).toMatchObject({
    code: 'ERR_SSN_INPUT',
    message: expect.stringContaining('No normal images'),
  });
  expect(await codeOf(model.train([], BASE))).toMatchObject({ code: 'ERR_SSN_INPUT' });
  const small = {
    id: 'small-mask',
    image: image(1),
    mask: { data: new Uint8Array(100), width: 10, height: 10, channels: 1 as const },
    label: 1 as const,
  };
  expect(await codeOf(model.train([...NORMAL, small], BASE))).toMatchObject({
    code: 'ERR_SSN_INPUT',
    message: expect.stringContaining("'small-mask'"),
  });
  const missing = path.join(dir, 'missing.png');
  expect(await codeOf(model.train([...NORMAL, { id: 'gone', image: missing, label: 0 }], BASE))).toMatchObject({
    code: 'ERR_SSN_INPUT',
    message: expect.stringContaining(missing),
  });
  expect(await codeOf(model.train(NORMAL, { epochs: 0 }))).toMatchObject({ code: 'ERR_SSN_INPUT' });
  expect(await codeOf(model.train(NORMAL, { epoch: 3 } as TrainOptions))).toMatchObject({
    code: 'ERR_SSN_INPUT',
    message: expect.stringContaining("'epoch'"),
  });
  expect(await codeOf(model.train(NORMAL, { ...BASE, perlinThreshold: Number.NaN }))).toMatchObject({ code: 'ERR_SSN_INPUT' });
  expect(await codeOf(model.train(NORMAL, { ...BASE, signal: AbortSignal.abort() }))).toMatchObject({ code: 'ERR_SSN_ABORTED' });
  // A throwing progress callback stops the run and is what train() rejects with.
  const boom = new Error('boom');
  await expect(
    model.train(NORMAL, {
      ...BASE,
      onProgress: () => {
        throw boom;
      },
    }),
  ).rejects.toBe(boom);
  await model.dispose();
  await fs.rm(defectFile);
  await fs.rm(maskFile);
});

test('the summary and progress say which precision ran and why; a budget sizes the epochs', async () => {
  const model = await tinyModel();
  const reports: TrainProgress[] = [];
  const summary = await model.train(NORMAL, { batchSize: 4, precision: 'bf16', maxMinutes: 0.05, onProgress: (p) => reports.push(p) });
  expect(summary.precision).toBe('bf16');
  expect(summary.precisionReason).toMatch(/^bf16 \(asked for\)/);
  expect(reports.every((p) => p.precision === 'bf16')).toBe(true);
  expect(summary.budget?.seconds).toBe(3);
  expect(summary.budget?.secondsPerStep).toBeGreaterThan(0);
  const epochs = summary.config.epochs as number;
  expect(summary.epochs).toBe(epochs);
  expect(summary.config.milestones).toEqual([Math.round(0.8 * epochs), Math.round(0.9 * epochs)]);
  const fp32 = await model.train(NORMAL, { ...BASE, epochs: 1, precision: 'fp32' });
  expect(fp32.precision).toBe('fp32');
  expect(fp32.budget).toBeUndefined();
  expect(await codeOf(model.train(NORMAL, { ...BASE, precision: 'fp16' }))).toMatchObject({ code: 'ERR_SSN_CONFIG' });
  await model.dispose();
});
