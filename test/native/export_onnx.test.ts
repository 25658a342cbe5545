/**
 * The ONNX export (lib/export/onnx.ts) run by onnxruntime-node must reproduce predict(): the map and the score
 * logit within 1e-3, at batch 1 and 3, on the official golden models (both ICPR sizes) and a JIMS model, with
 * float input and with the preprocessing inside the graph, folded and plain (BatchNorms and adaptor as their own
 * nodes). The fp16 graph gets a looser tolerance, FP16_TOLERANCE.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { onnx } from 'onnx-proto';
import sharp from 'sharp';

import { SuperSimpleNet } from '../../lib';
import type { RawImage } from '../../lib/types';
import { runSsn } from '../helpers/cli';
import { goldenOrSkip, skippedGoldenTest } from '../helpers/golden';
import { tinyModel } from '../helpers/tinyModel';

const TOLERANCE = 1e-3;
/**
 * fp16 graphs (float16 weights and body): measured on the golden models, folded at most 2.0e-3 on the map and
 * 1.7e-3 on the logit, hence 1e-2; plain at most 3.9e-3 and 7.1e-3 (float16 BatchNorm statistics: the running
 * mean is subtracted after rounding, where folding does it in double), hence 2e-2. onnxruntime-node on an x64
 * CPU has no float16 kernels for these operators: it inserts Casts and computes them in float32 on the float16
 * weights, so this bounds the weights' rounding, not float16 arithmetic, whose error (on a GPU runtime) is
 * larger; see the README.
 */
const FP16_TOLERANCE = 1e-2;
const FP16_PLAIN_TOLERANCE = 2e-2;
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

interface OrtOutput {
  dims: number[];
  data: Float32Array | Uint8Array;
}

/** Runs `model` on one input in onnxruntime-node (test/helpers/ortRun.js, a plain Node process). */
function runOnnx(model: string, name: string, type: 'uint8' | 'float32', dims: number[], data: Uint8Array | Float32Array) {
  const file = `${model}.${name}.${dims[0]}.bin`;
  writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const job = JSON.stringify({ model, name, type, dims, file });
  const out = JSON.parse(
    execFileSync(process.execPath, [path.join(__dirname, '..', 'helpers', 'ortRun.js'), job], { encoding: 'utf8' }),
  ) as Record<string, { dims: number[]; type: string; file: string }>;
  const outputs: Record<string, OrtOutput> = {};
  for (const [key, o] of Object.entries(out)) {
    const bytes = readFileSync(o.file);
    const data =
      o.type === 'float32'
        ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    outputs[key] = { dims: o.dims, data };
  }
  return outputs;
}

interface ExportCase {
  preprocess: boolean;
  precision: 'fp32' | 'fp16';
  fold: boolean;
}

const CASES: ExportCase[] = [
  { preprocess: false, precision: 'fp32', fold: true },
  { preprocess: true, precision: 'fp32', fold: true },
  { preprocess: false, precision: 'fp16', fold: true },
  { preprocess: false, precision: 'fp32', fold: false },
  { preprocess: true, precision: 'fp16', fold: false },
];

/** Exports `model` in each of CASES and checks each graph against predict() on `images`, at batch 1 and all of them. */
async function checkExport(model: SuperSimpleNet, images: Array<RawImage & { data: Uint8Array }>, dir: string): Promise<void> {
  const expected = await model.predictBatch(images);
  const { width: w, height: h } = images[0];
  for (const { preprocess, precision, fold } of CASES) {
    const file = path.join(dir, `model-${preprocess ? 'pixels' : 'float'}-${precision}-${fold ? 'fold' : 'plain'}.onnx`);
    await model.exportOnnx(file, { preprocess, precision, fold });
    const tolerance = precision === 'fp32' ? TOLERANCE : fold ? FP16_TOLERANCE : FP16_PLAIN_TOLERANCE;
    const graph = onnx.ModelProto.decode(readFileSync(file)).graph as onnx.IGraphProto;
    const nodes = graph.node ?? [];
    // Plain: the trainable model's BatchNorms and adaptor are nodes of their own; folded, neither exists.
    expect(nodes.filter((n) => n.opType === 'BatchNormalization').length > 0).toBe(!fold);
    expect(nodes.some((n) => n.name === 'adaptor' && n.opType === 'Conv')).toBe(!fold);
    if (precision === 'fp16') {
      // Really a float16 graph: float16 convolution weights, float32 linear layer, blur and inputs.
      const types = new Map((graph.initializer ?? []).map((t) => [t.name, t.dataType]));
      expect(types.get('backbone.stem.weight')).toBe(onnx.TensorProto.DataType.FLOAT16);
      expect(types.get('heads.dec.weight')).toBe(onnx.TensorProto.DataType.FLOAT16);
      expect(types.get('heads.fc.weight')).toBe(onnx.TensorProto.DataType.FLOAT);
      expect(graph.input?.[0].type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType[preprocess ? 'UINT8' : 'FLOAT']);
      expect(graph.output?.map((o) => o.type?.tensorType?.elemType)).toEqual(Array(3).fill(onnx.TensorProto.DataType.FLOAT));
    }
    for (const count of [1, images.length]) {
      const batch = images.slice(0, count);
      const out = preprocess
        ? runOnnx(file, 'pixels', 'uint8', [count, h, w, 3], Uint8Array.from(batch.flatMap((i) => Array.from(i.data))))
        : runOnnx(file, 'images', 'float32', [count, 3, h, w], normalised(batch));
      expect(Object.keys(out).sort()).toEqual(['map', 'score', 'score_logit']); // not calibrated: no verdict
      expect(out.map.dims).toEqual([count, 1, h, w]);
      const maps = out.map.data;
      const logits = out.score_logit.data;
      const scores = out.score.data;
      for (let n = 0; n < count; n++) {
        expect(maxAbs(maps.subarray(n * h * w, (n + 1) * h * w), expected[n].map)).toBeLessThanOrEqual(tolerance);
        expect(Math.abs(logits[n] - expected[n].logit)).toBeLessThanOrEqual(tolerance);
        expect(Math.abs(scores[n] - expected[n].score)).toBeLessThanOrEqual(tolerance);
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
    // External data: the weights beside the graph, the same outputs.
    const external = path.join(dir, 'external.onnx');
    const ext = await runSsn(['export', file, '-o', external, '--preprocess', '--external-data']);
    expect(ext.code).toBe(0);
    expect(ext.stdout).toContain(`its weights ${external}.data`);
    expect(statSync(external).size).toBeLessThan(statSync(`${external}.data`).size / 10);
    const fromExternal = runOnnx(external, 'pixels', 'uint8', [2, 32, 32, 3], new Uint8Array(2 * 32 * 32 * 3).fill(128));
    expect(Array.from(fromExternal.map.data)).toEqual(Array.from(result.map.data));
    expect(Array.from(fromExternal.score.data)).toEqual(Array.from(result.score.data));
    const half = await runSsn(['export', file, '-o', out, '--precision', 'fp16']);
    expect(half.code).toBe(0);
    expect(half.stdout).toContain('(fp16, folded): input images float32 [N,3,32,32]');
    const plain = await runSsn(['export', file, '-o', out, '--plain']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('(fp32, plain)');
    const both = await runSsn(['export', file, '-o', out, '--plain', '--fold']);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/--plain.*--fold|--fold.*--plain/);
    const sized = await runSsn(['export', file, '-o', out, '--size', '32x32']);
    expect(sized.code).toBe(0);
    // The model's size is fixed at creation: another is refused, with what to do instead.
    const resized = await runSsn(['export', file, '-o', path.join(dir, 'resized.onnx'), '--size', '64x48']);
    expect(resized.code).not.toBe(0);
    expect(resized.stderr).toContain('ERR_SSN_SHAPE');
    expect(resized.stderr).toMatch(/64x48 .* 32x32/);
    expect(resized.stderr).toMatch(/resize images to it/);
    expect(existsSync(path.join(dir, 'resized.onnx'))).toBe(false);
    const help = await runSsn(['export', '--help']);
    expect(help.stdout).toMatch(/onnxruntime-web[\s\S]*trtexec --onnx=model.onnx --fp16[\s\S]*within 1e-2/);
    const bad = await runSsn(['export', file, '-o', out, '--precision', 'fp64']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/fp64/);
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

  // Calibrated on the four golden images with q = 0.5: each threshold falls midway between two of their values
  // (scores, map maxima), so two images are anomalous and two have a defect mask.
  test('a calibrated model: the graph also outputs predict()’s verdict and defect mask', async () => {
    const folder = 'resnet18-256x256';
    const expected = JSON.parse(readFileSync(path.join(golden, folder, 'expected.json'), 'utf8')) as { samples: Array<{ image: string }> };
    const images = await Promise.all(expected.samples.map((s) => rgb(path.join(golden, folder, s.image))));
    const model = await create(folder, [256, 256]);
    try {
      const calibration = await model.calibrate(
        images.map((image, i) => ({ id: `golden-${i}`, image, label: 0 as const })),
        { quantile: 0.5 },
      );
      const predicted = await model.predictBatch(images, { mask: true });
      expect(predicted.filter((p) => p.anomalous).length).toBe(2);
      for (const precision of ['fp32', 'fp16'] as const) {
        const tolerance = precision === 'fp16' ? FP16_TOLERANCE : TOLERANCE;
        const file = path.join(dir, `calibrated-${precision}.onnx`);
        await model.exportOnnx(file, { preprocess: true, precision });
        const { width: w, height: h } = images[0];
        const out = runOnnx(file, 'pixels', 'uint8', [images.length, h, w, 3], Uint8Array.from(images.flatMap((i) => Array.from(i.data))));
        expect(out.anomalous.dims).toEqual([images.length]);
        expect(out.mask.dims).toEqual([images.length, 1, h, w]);
        const anomalous = out.anomalous.data;
        const mask = out.mask.data;
        const maps = out.map.data;
        const scores = out.score.data;
        let defects = 0;
        predicted.forEach((p, n) => {
          // The graph applies predict()'s rule to its own outputs, exactly.
          expect(anomalous[n]).toBe(scores[n] >= calibration.imageThreshold ? 1 : 0);
          // And decides as predict() does wherever its outputs are not within the tolerance of the threshold.
          if (Math.abs(p.score - calibration.imageThreshold) > tolerance) expect(anomalous[n]).toBe(p.anomalous ? 1 : 0);
          const pMask = p.mask as Uint8Array;
          let mismatched = 0;
          for (let i = 0; i < h * w; i++) {
            const v = maps[n * h * w + i];
            if (mask[n * h * w + i] !== (v >= calibration.pixelThreshold ? 1 : 0)) mismatched++;
            if (Math.abs(p.map[i] - calibration.pixelThreshold) > tolerance && mask[n * h * w + i] !== pMask[i]) mismatched++;
            defects += pMask[i];
          }
          expect(mismatched).toBe(0);
        });
        expect(defects).toBeGreaterThan(0);
      }
    } finally {
      model.dispose();
    }
  }, 180_000);

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
