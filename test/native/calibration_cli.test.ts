/**
 * `ssn calibrate`, then `ssn predict` and `ssn eval` on the calibrated model, as a user runs them
 * (node dist/cli/ssn.js; needs `npm run build:ts`), on a tiny random-backbone model at 64x64.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { SuperSimpleNet } from '../../lib/model';
import type { Calibration } from '../../lib/types';
import { CLI, runSsn, type Run } from '../helpers/cli';
import { tinyModel } from '../helpers/tinyModel';

async function ssn(...args: string[]): Promise<Run> {
  return runSsn(args, { env: { ...process.env, OMP_NUM_THREADS: '2' } });
}

/** A 48x40 RGB PNG of seed `seed`, with a white 12x12 square at (x, y) when given (and its 0/255 mask). */
async function writeImage(file: string, seed: number, square?: { x: number; y: number; mask: string }): Promise<void> {
  const [w, h] = [48, 40];
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 97 + ((i / w) | 0) * 7) % 256;
  const mask = Buffer.alloc(w * h);
  if (square) {
    for (let r = square.y; r < square.y + 12; r++) {
      for (let c = square.x; c < square.x + 12; c++) {
        mask[r * w + c] = 255;
        data.fill(255, (r * w + c) * 3, (r * w + c) * 3 + 3);
      }
    }
    await sharp(mask, { raw: { width: w, height: h, channels: 1 } })
      .png()
      .toFile(square.mask);
  }
  await sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
}

/** DIR/good (n normal images) and, with `defects`, DIR/defect + DIR/masks. */
async function writeFolder(dir: string, seed: number, normal: number, defects: number): Promise<void> {
  for (const sub of ['good', ...(defects > 0 ? ['defect', 'masks'] : [])]) mkdirSync(path.join(dir, sub), { recursive: true });
  for (let i = 0; i < normal; i++) await writeImage(path.join(dir, 'good', `${i}.png`), seed + i);
  for (let i = 0; i < defects; i++) {
    await writeImage(path.join(dir, 'defect', `${i}.png`), seed + 50 + i, {
      x: 4 + 10 * i,
      y: 6 + 8 * i,
      mask: path.join(dir, 'masks', `${i}.png`),
    });
  }
}

let tmp: string;
let plain: string;
let calibrated: string;
let calibration: Calibration;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:ts\` first`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-calibrate-cli-'));
  await writeFolder(path.join(tmp, 'val'), 0, 5, 3);
  await writeFolder(path.join(tmp, 'normals'), 0, 5, 0);
  await writeFolder(path.join(tmp, 'bench', 'train'), 100, 2, 0);
  await writeFolder(path.join(tmp, 'bench', 'test'), 200, 4, 3);
  const model = await tinyModel(64, 3);
  plain = path.join(tmp, 'plain.safetensors');
  await model.save(plain);
  await model.dispose();
  calibrated = path.join(tmp, 'calibrated.safetensors');
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('ssn calibrate writes the thresholds into the model and says how they were chosen', async () => {
  const run = await ssn('calibrate', plain, '--data', path.join(tmp, 'val'), '-o', calibrated, '--device', 'cpu');
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('F1-max of the scores of 5 normal and 3 defective images');
  expect(run.stdout).toContain('F1-max over the pixels of 5 normal and 3 masked defective images');
  expect(run.stdout).toContain('anomalous when score >= threshold');
  expect(run.stdout).toContain(`model written to ${calibrated}`);
  const model = await SuperSimpleNet.load(calibrated, { device: 'cpu', logger: () => undefined });
  calibration = model.info().calibration!;
  expect(calibration).toMatchObject({ method: 'f1', pixelMethod: 'f1', counts: { normal: 5, anomalous: 3, masked: 3 } });
  expect(run.stdout).toContain(calibration.imageThreshold.toPrecision(6));
  await model.dispose();
  // -o left the input model as it was.
  const input = await SuperSimpleNet.load(plain, { device: 'cpu', logger: () => undefined });
  expect(input.info().calibration).toBeNull();
  await input.dispose();
});

test('ssn calibrate on normal images only, in place, with --quantile and --json', async () => {
  const copy = path.join(tmp, 'in-place.safetensors');
  copyFileSync(plain, copy);
  const run = await ssn('calibrate', copy, '--data', path.join(tmp, 'normals'), '--quantile', '0.9', '--json', '--device', 'cpu');
  expect(run.code).toBe(0);
  const printed = JSON.parse(run.stdout) as Calibration;
  expect(printed).toMatchObject({ method: 'quantile', pixelMethod: 'quantile', quantile: 0.9, counts: { normal: 5, anomalous: 0 } });
  const model = await SuperSimpleNet.load(copy, { device: 'cpu', logger: () => undefined });
  expect(model.info().calibration).toEqual(printed);
  await model.dispose();
  expect(await ssn('calibrate', copy, '--data', path.join(tmp, 'normals'), '--quantile', '1.5')).toMatchObject({ code: 2 });
});

test('ssn calibrate on the checkpoint of an interrupted run keeps what the resume needs', async () => {
  const model = await tinyModel(64, 3);
  const items = [0, 1, 2, 3].map((i) => ({ id: `${i}`, image: path.join(tmp, 'val', 'good', `${i}.png`), label: 0 as const }));
  const options = { epochs: 6, batchSize: 2 };
  const ckpt = path.join(tmp, 'run.ckpt.safetensors');
  const controller = new AbortController();
  await expect(
    model.train(items, {
      ...options,
      checkpoint: { path: ckpt },
      signal: controller.signal,
      onProgress: (p) => {
        if (p.epoch >= 1) controller.abort(); // the epoch-1 checkpoint is on disk, the run unfinished
      },
    }),
  ).rejects.toMatchObject({ code: 'ERR_SSN_ABORTED' });
  await model.dispose();
  const out = path.join(tmp, 'run.calibrated.safetensors');
  expect((await ssn('calibrate', ckpt, '--data', path.join(tmp, 'val'), '-o', out, '--device', 'cpu')).code).toBe(0);
  const resumed = await SuperSimpleNet.load(out, { device: 'cpu', logger: () => undefined });
  expect(resumed.info().calibration).not.toBeNull();
  expect(await resumed.train(items, options)).toMatchObject({ resumed: true, epochs: 6 });
  expect(resumed.info().calibration).toBeNull();
  await resumed.dispose();
});

test('ssn predict prints verdicts and writes binary masks of the image size', async () => {
  const images = [path.join(tmp, 'val', 'good', '0.png'), path.join(tmp, 'val', 'defect', '1.png')];
  const masks = path.join(tmp, 'masks-out');
  const overlays = path.join(tmp, 'overlays');
  const run = await ssn('predict', calibrated, ...images, '--json', '--masks-dir', masks, '--overlay-dir', overlays, '--device', 'cpu');
  expect(run.code).toBe(0);
  expect(run.stderr).toContain(`anomalous when score >= ${calibration.imageThreshold.toPrecision(6)}`);
  const records = JSON.parse(run.stdout) as Array<{ file: string; score: number; anomalous: boolean; mask: string; overlay: string }>;
  expect(records).toHaveLength(2);
  for (const r of records) {
    expect(r.anomalous).toBe(r.score >= calibration.imageThreshold);
    const meta = await sharp(r.mask).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 48, 40, 1]);
    const data = await sharp(r.mask).extractChannel(0).raw().toBuffer();
    expect(data.every((v) => v === 0 || v === 255)).toBe(true);
    expect(existsSync(r.overlay)).toBe(true);
  }
  const table = await ssn('predict', calibrated, ...images, '--device', 'cpu');
  expect(table.stdout.split('\n')[0]).toMatch(/file\s+score\s+logit\s+verdict/);
  expect(table.stdout).toMatch(/0\.png .* (normal|anomalous)/);

  const refused = await ssn('predict', plain, images[0], '--masks-dir', masks, '--device', 'cpu');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^error \[ERR_SSN_CONFIG\]: The model is not calibrated/);
  expect(refused.stderr).toContain(`hint: Calibrate it first: ssn calibrate ${plain}`);
  const uncalibrated = await ssn('predict', plain, images[0], '--json', '--device', 'cpu');
  expect(JSON.parse(uncalibrated.stdout)[0].anomalous).toBeUndefined();
});

test('ssn eval reports the accuracy at the stored threshold beside the F1-max figures', async () => {
  const out = path.join(tmp, 'eval');
  const run = await ssn('eval', calibrated, '--dataset', 'folder', '--root', path.join(tmp, 'bench'), '--out', out, '--device', 'cpu');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('I-AUROC');
  expect(run.stdout).toMatch(
    /At the model's stored threshold [\d.]+ on the raw image score: accuracy [\d.]+% \(TP \d, FP \d, TN \d, FN \d/,
  );
  const result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'));
  const { tp, fp, tn, fn } = result.calibrated.confusion;
  expect([tp + fn, fp + tn]).toEqual([3, 4]);
  expect(result.calibrated.imageThreshold).toBe(calibration.imageThreshold);
  expect(result.calibrated.accuracy).toBe((tp + tn) / 7);
});
