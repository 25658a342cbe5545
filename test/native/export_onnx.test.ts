/**
 * The ONNX export (lib/export/onnx.ts) run by onnxruntime-node must reproduce predict(): the map and the score
 * logit within 1e-3, at batch 1 and 3, on the official golden models (both ICPR sizes) and a JIMS model, with
 * float input and with the preprocessing inside the graph.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { SuperSimpleNet } from '../../lib';
import type { RawImage } from '../../lib/types';
import { runSsn } from '../helpers/cli';
import { goldenOrSkip, skippedGoldenTest } from '../helpers/golden';
import { tinyModel } from '../helpers/tinyModel';

const TOLERANCE = 1e-3;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

async function rgb(file: string): Promise<RawImage & { data: Uint8Array }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** NHWC uint8 -> NCHW float32 with the official ImageNet normalisation (the golden backbones' preprocessing). */
function normalised(images: Array<RawImage & { data: Uint8Array }>): Float32Array {
  const { width: w, height: h } = images[0];
  const out = new Float32Array(images.length * 3 * h * w);
  images.forEach((img, n) => {
    for (let c = 0; c < 3; c++) {
      const mean = Math.fround(Math.fround(MEAN[c]) * 255);
      const inv = Math.fround(1 / Math.fround(Math.fround(STD[c]) * 255));
      for (let i = 0; i < h * w; i++) out[(n * 3 + c) * h * w + i] = Math.fround((img.data[i * 3 + c] - mean) * inv);
    }
  });
  return out;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs `model` on one input in onnxruntime-node (test/helpers/ortRun.js, a plain Node process). */
function runOnnx(model: string, name: string, type: 'uint8' | 'float32', dims: number[], data: Uint8Array | Float32Array) {
  const file = `${model}.${name}.${dims[0]}.bin`;
  writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const job = JSON.stringify({ model, name, type, dims, file });
  const out = JSON.parse(
    execFileSync(process.execPath, [path.join(__dirname, '..', 'helpers', 'ortRun.js'), job], { encoding: 'utf8' }),
  ) as Record<string, { dims: number[]; file: string }>;
  const read = (key: string) => {
    const bytes = readFileSync(out[key].file);
    return { dims: out[key].dims, data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  };
  return { map: read('map'), score_logit: read('score_logit'), score: read('score') };
}

/** Exports `model` both ways and checks each graph against predict() on `images`, at batch 1 and all of them. */
async function checkExport(model: SuperSimpleNet, images: Array<RawImage & { data: Uint8Array }>, dir: string): Promise<void> {
  const expected = await model.predictBatch(images);
  const { width: w, height: h } = images[0];
  for (const preprocess of [false, true]) {
    const file = path.join(dir, `model-${preprocess ? 'pixels' : 'float'}.onnx`);
    await model.exportOnnx(file, { preprocess });
    for (const count of [1, images.length]) {
      const batch = images.slice(0, count);
      const out = preprocess
        ? runOnnx(file, 'pixels', 'uint8', [count, h, w, 3], Uint8Array.from(batch.flatMap((i) => Array.from(i.data))))
        : runOnnx(file, 'images', 'float32', [count, 3, h, w], normalised(batch));
      expect(out.map.dims).toEqual([count, 1, h, w]);
      const maps = out.map.data;
      const logits = out.score_logit.data;
      const scores = out.score.data;
      for (let n = 0; n < count; n++) {
        expect(maxAbs(maps.subarray(n * h * w, (n + 1) * h * w), expected[n].map)).toBeLessThanOrEqual(TOLERANCE);
        expect(Math.abs(logits[n] - expected[n].logit)).toBeLessThanOrEqual(TOLERANCE);
        expect(Math.abs(scores[n] - expected[n].score)).toBeLessThanOrEqual(TOLERANCE);
      }
    }
  }
}

test('ssn export writes the graph of a model file, and names what is wrong with a bad one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-onnx-cli-'));
  try {
    const model = await tinyModel(32, 2);
    const file = path.join(dir, 'tiny.safetensors');
    await model.save(file);
    model.dispose();
    const out = path.join(dir, 'tiny.onnx');
    const run = await runSsn(['export', file, '-o', out, '--preprocess']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('pixels uint8 [N,32,32,3]');
    const result = runOnnx(out, 'pixels', 'uint8', [2, 32, 32, 3], new Uint8Array(2 * 32 * 32 * 3).fill(128));
    expect(result.map.dims).toEqual([2, 1, 32, 32]);
    expect(Array.from(result.score.data).every((v) => v > 0 && v < 1)).toBe(true);
    const missing = await runSsn(['export', path.join(dir, 'none.safetensors'), '-o', out]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ERR_SSN_IO');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

const golden = goldenOrSkip();
if (!golden) {
  skippedGoldenTest('ONNX export against predict() on the golden models');
} else {
  const backbone = path.join(golden, 'resnet18-256x256', 'backbone.pth');
  const create = (folder: string, size: [number, number], variant: 'icpr' | 'jims' = 'icpr') =>
    SuperSimpleNet.create({
      backbone: { arch: 'resnet18', weights: backbone },
      heads: { weights: path.join(golden, folder, 'weights.pt'), variant },
      imageSize: size,
      device: 'cpu',
      logger: () => undefined,
    });
  const goldenImages = (folder: string) => {
    const expected = JSON.parse(readFileSync(path.join(golden, folder, 'expected.json'), 'utf8')) as { samples?: Array<{ image: string }> };
    const names = expected.samples?.map((s) => s.image) ?? [];
    return Promise.all(names.slice(0, 3).map((n) => rgb(path.join(golden, folder, n))));
  };

  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-onnx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['resnet18-256x256', [256, 256] as [number, number]],
    ['resnet18-192x320', [192, 320] as [number, number]],
  ])(
    'the official %s model: ONNX equals predict()',
    async (folder, size) => {
      const images = await goldenImages(folder);
      expect(images.length).toBe(3);
      const model = await create(folder, size);
      try {
        await checkExport(model, images, dir);
      } finally {
        model.dispose();
      }
    },
    120_000,
  );

  test('a jims model (its classification head reads the non-adapted features): ONNX equals predict()', async () => {
    const images = await goldenImages('resnet18-192x320');
    const model = await create('resnet18-192x320', [192, 320], 'jims');
    try {
      await checkExport(model, images, dir);
    } finally {
      model.dispose();
    }
  }, 120_000);
}
