/**
 * Calibrated verdicts on the CPU addon, tiny (a random resnet18 backbone at 64x64): calibrate() chooses and
 * stores the thresholds, info() and save()/load() keep them, predictions carry verdicts and masks that follow
 * them, and a train() that changes the weights clears them.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { quantile } from '../../lib/calibration';
import type { DatasetItem } from '../../lib/data/dataset';
import { f1Max } from '../../lib/metrics';
import { SuperSimpleNet } from '../../lib/model';
import type { Calibration, Prediction, RawImage } from '../../lib/types';
import { testImage } from '../helpers/images';
import { tinyModel as tinyModelOf } from '../helpers/tinyModel';

const SIZE = 64;
let dir: string;

function image(seed: number, width = 80, height = 72): RawImage {
  return testImage(seed, width, height);
}

/** The image of `seed` with a white square at (x, y), and its mask (255 in the square). */
function defect(seed: number, x: number, y: number): { image: RawImage; mask: RawImage } {
  const base = image(seed);
  const mask = new Uint8Array(base.width * base.height);
  for (let r = y; r < y + 16; r++) {
    for (let c = x; c < x + 16; c++) {
      mask[r * base.width + c] = 255;
      base.data.fill(255, (r * base.width + c) * 3, (r * base.width + c) * 3 + 3);
    }
  }
  return { image: base, mask: { data: mask, width: base.width, height: base.height, channels: 1 } };
}

const NORMAL: DatasetItem[] = Array.from({ length: 6 }, (_, i) => ({ id: `n${i}`, image: image(i), label: 0 }));
const DEFECTIVE: DatasetItem[] = [
  { id: 'd0', ...defect(20, 10, 10), label: 1 },
  { id: 'd1', ...defect(21, 50, 40), label: 1 },
  { id: 'd2', ...defect(22, 30, 20), label: 1 },
  { id: 'd3', image: defect(23, 5, 50).image, label: 1 }, // no mask: image-level label only
];
const ALL = [...NORMAL, ...DEFECTIVE];

function tinyModel(): Promise<SuperSimpleNet> {
  return tinyModelOf(SIZE, 5);
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await promise;
  } catch (e) {
    return { code: String((e as { code?: unknown }).code), message: String((e as Error).message), hint: (e as { hint?: string }).hint };
  }
  throw new Error('expected a rejection');
}

function expectVerdicts(p: Prediction, c: Calibration): void {
  expect(p.anomalous).toBe(p.score >= c.imageThreshold);
  expect(p.thresholds).toEqual({ image: c.imageThreshold, pixel: c.pixelThreshold });
}

let model: SuperSimpleNet;
let calibration: Calibration;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ssn-calibration-'));
  model = await tinyModel();
  calibration = await model.calibrate(ALL, { batchSize: 4 });
});

afterAll(async () => {
  await model.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

test('with defective images: F1-max thresholds of the set, stored and reported by info()', async () => {
  expect(calibration).toMatchObject({ method: 'f1', pixelMethod: 'f1', counts: { normal: 6, anomalous: 4, masked: 3 } });
  expect(calibration.quantile).toBeUndefined();
  expect(model.info().calibration).toEqual(calibration);
  // The same thresholds, recomputed from the model's own predictions of the set.
  const predictions = await model.predictBatch(ALL.map((item) => item.image));
  const f1 = f1Max(
    predictions.map((p) => p.score),
    ALL.map((item) => item.label),
  );
  expect(calibration.imageThreshold).toBe(f1.threshold);
  const values = predictions.flatMap((p) => Array.from(p.map));
  expect(calibration.mapRange).toEqual({ low: Math.min(...values), high: Math.max(...values) });
  expect(values).toContain(calibration.pixelThreshold); // an F1-max threshold is one of the pixel values
});

test('predictions carry verdicts, and masks of the pixels at or above the pixel threshold', async () => {
  const predictions = await model.predictBatch(
    ALL.map((item) => item.image),
    { mask: true, batchSize: 3 },
  );
  for (const p of predictions) {
    expectVerdicts(p, calibration);
    expect(p.mask).toHaveLength(SIZE * SIZE);
    expect(Array.from(p.mask!)).toEqual(Array.from(p.map, (v) => (v >= calibration.pixelThreshold ? 1 : 0)));
  }
  // At the F1-max threshold some image of the set is called anomalous and some pixel is a defect.
  expect(predictions.some((p) => p.anomalous)).toBe(true);
  expect(predictions.some((p) => p.mask!.includes(1))).toBe(true);

  const one = await model.predict(ALL[6].image, { mask: true, resizeToInput: true });
  expect(one.inputMask).toMatchObject({ width: 80, height: 72 });
  expect(Array.from(one.inputMask!.mask)).toEqual(Array.from(one.inputMap!.map, (v) => (v >= calibration.pixelThreshold ? 1 : 0)));
  expect((await model.predict(ALL[0].image)).mask).toBeUndefined();
});

test('save and load keep the calibration and the verdicts', async () => {
  const file = path.join(dir, 'calibrated.safetensors');
  await model.save(file);
  const loaded = await SuperSimpleNet.load(file, { device: 'cpu', logger: () => undefined });
  expect(loaded.info().calibration).toEqual(calibration);
  const [a, b] = await Promise.all([model.predictBatch(ALL.map((i) => i.image)), loaded.predictBatch(ALL.map((i) => i.image))]);
  expect(b.map((p) => p.anomalous)).toEqual(a.map((p) => p.anomalous));
  await loaded.dispose();
});

test('normal images only: the q-quantiles of their scores and map maxima', async () => {
  const other = await tinyModel();
  const c = await other.calibrate(NORMAL, { quantile: 0.5 });
  const predictions = await other.predictBatch(NORMAL.map((item) => item.image));
  expect(c).toMatchObject({ method: 'quantile', pixelMethod: 'quantile', quantile: 0.5, counts: { normal: 6, anomalous: 0, masked: 0 } });
  // Six scores: the median lies between the third and fourth, so three images are anomalous.
  const scores = predictions.map((p) => p.score).sort((x, y) => x - y);
  expect(c.imageThreshold).toBeCloseTo((scores[2] + scores[3]) / 2, 12);
  expect(predictions.filter((p) => p.anomalous).length).toBe(3);
  expect(c.pixelThreshold).toBeCloseTo(
    quantile(
      predictions.map((p) => Math.max(...p.map)),
      0.5,
    ),
    12,
  );
  // A normal image whose map maximum is below the threshold gets an empty mask.
  const masked = await other.predictBatch(
    NORMAL.map((item) => item.image),
    { mask: true },
  );
  for (const p of masked) expect(p.mask!.includes(1)).toBe(Math.max(...p.map) >= c.pixelThreshold);
  expect((await other.calibrate(NORMAL)).quantile).toBe(0.995);
  await other.dispose();
});

test('train() clears a calibration (the weights it was chosen for are gone); a train() that fails first keeps it', async () => {
  const other = await tinyModel();
  const c = await other.calibrate(ALL);
  expect(await codeOf(other.train(NORMAL, { epochs: 1, batchSize: 4, resume: path.join(dir, 'missing.safetensors') }))).toMatchObject({
    code: 'ERR_SSN_IO',
  });
  expect(other.info().calibration).toEqual(c);

  await other.train(NORMAL, { epochs: 1, batchSize: 4 });
  expect(other.info().calibration).toBeNull();
  const p = await other.predict(ALL[0].image);
  expect(p.anomalous).toBeUndefined();
  expect(p.thresholds).toBeUndefined();
  const error = await codeOf(other.predict(ALL[0].image, { mask: true }));
  expect(error).toMatchObject({ code: 'ERR_SSN_CONFIG', message: expect.stringContaining('not calibrated') });
  expect(error.hint).toContain('calibrate');
  const file = path.join(dir, 'trained.safetensors');
  await other.save(file);
  const loaded = await SuperSimpleNet.load(file, { device: 'cpu', logger: () => undefined });
  expect(loaded.info().calibration).toBeNull();
  await Promise.all([loaded.dispose(), other.dispose(), fs.rm(file)]);
});

test('train() with validation images calibrates on them after training; the summary carries it', async () => {
  const other = await tinyModel();
  const summary = await other.train(NORMAL, { epochs: 1, batchSize: 4, validation: ALL, calibrationQuantile: 0.9 });
  expect(summary.calibration).toMatchObject({ method: 'f1', pixelMethod: 'f1', counts: { normal: 6, anomalous: 4, masked: 3 } });
  expect(other.info().calibration).toEqual(summary.calibration);
  // Chosen for the trained weights: the same as calibrating the trained model afterwards.
  expect(await other.calibrate(ALL, { quantile: 0.9 })).toEqual(summary.calibration);
  const normalOnly = await other.train(NORMAL, { epochs: 1, batchSize: 4, validation: NORMAL, calibrationQuantile: 0.9 });
  expect(normalOnly.calibration).toMatchObject({ method: 'quantile', quantile: 0.9 });
  expect((await other.train(NORMAL, { epochs: 1, batchSize: 4 })).calibration).toBeUndefined();
  expect(other.info().calibration).toBeNull();
  await other.dispose();
});
