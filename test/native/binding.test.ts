/**
 * The CPU addon end to end (needs the integrated build: `npx cmake-js compile --out build`, or
 * SSN_NATIVE_BINDING). Tiny models only: a random resnet18 backbone at 64x64.
 *
 * The addon lives in Node's main realm while jest runs this file in a vm realm, so values coming from it
 * are checked by tag and duck type, not with instanceof.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { EXPECTED_NATIVE_CONSTANTS, MAX_MODEL_SIDE, MIN_MODEL_SIDE } from '../../lib/constants';
import { SsnError } from '../../lib/errors';
import { SuperSimpleNet } from '../../lib/model';
import { loadNative, PACKAGE_ROOT } from '../../lib/native';
import type { RawImage } from '../../lib/types';
import type { NativeCreateOptions, NativeModel, NativeModule, NativePrediction } from '../../lib/binding';
import { testImage } from '../helpers/images';

const SIZE = 64;
const OPTIONS: NativeCreateOptions = {
  arch: 'resnet18',
  backboneWeights: '',
  randomBackbone: true,
  headWeights: '',
  headFormat: 'auto',
  imageH: SIZE,
  imageW: SIZE,
  device: 'cpu',
  seed: 3,
};

const ADDON = process.env.SSN_NATIVE_BINDING
  ? path.resolve(process.env.SSN_NATIVE_BINDING)
  : path.join(PACKAGE_ROOT, 'build', 'Release', 'supersimplenet.node');

let native: NativeModule;
let model: NativeModel;
let dir: string;

function image(seed: number, width = SIZE, height = SIZE, channels: 1 | 3 | 4 = 3): RawImage & { data: Uint8Array } {
  return testImage(seed, width, height, channels);
}

const tag = (value: unknown): string => Object.prototype.toString.call(value);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
  throw new Error('expected a rejection');
}

function expectShape(out: NativePrediction, batch: number): void {
  expect(out).toMatchObject({ batch, height: SIZE, width: SIZE });
  expect(tag(out.maps)).toBe('[object Float32Array]');
  expect(tag(out.logits)).toBe('[object Float32Array]');
  expect(out.maps.length).toBe(batch * SIZE * SIZE);
  expect(out.logits.length).toBe(batch);
  expect(out.maps.every(Number.isFinite)).toBe(true);
  expect(out.logits.every(Number.isFinite)).toBe(true);
}

beforeAll(async () => {
  native = loadNative();
  model = await native.createModel(OPTIONS);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ssn-native-'));
});

afterAll(async () => {
  model?.dispose();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('addon', () => {
  it('reports library versions as JSON', () => {
    expect(typeof JSON.parse(native.libraryInfo())).toBe('object');
  });

  it('reports what it was built against and the libtorch it runs with (buildInfo)', () => {
    const build = native.buildInfo?.();
    const library = JSON.parse(native.libraryInfo()) as { libtorch: { version: string; cxx11Abi: boolean; cuda: boolean } };
    expect(build).toMatchObject({ cxx11Abi: library.libtorch.cxx11Abi, cuda: library.libtorch.cuda, napi: 8 });
    expect(build?.torch).toMatch(/^\d+\.\d+\.\d+$/);
    expect(library.libtorch.version.startsWith(build?.torch.split('.').slice(0, 2).join('.') ?? '-')).toBe(true);
    // The loader accepted this addon, so the runtime libtorch is the one it was built for.
    expect(build?.runtimeTorch?.split('.').slice(0, 2)).toEqual(build?.torch.split('.').slice(0, 2));
  });

  it("exports the core's names and limits, equal to lib/constants.ts, and enforces them", async () => {
    // The distributed backends depend on the build (gloo's headers; NCCL in CUDA builds); the rest is fixed.
    const { distributedBackends, ...fixed } = native.constants;
    expect(fixed).toEqual(EXPECTED_NATIVE_CONSTANTS);
    expect(distributedBackends?.every((b) => b === 'gloo' || b === 'nccl')).toBe(true);
    expect(await codeOf(native.createModel({ ...OPTIONS, imageH: MIN_MODEL_SIDE - 1 }))).toBe('ERR_SSN_INPUT');
    expect(await codeOf(native.createModel({ ...OPTIONS, imageW: MAX_MODEL_SIDE + 1 }))).toBe('ERR_SSN_INPUT');
    const smallest = await native.createModel({ ...OPTIONS, imageH: MIN_MODEL_SIDE, imageW: MIN_MODEL_SIDE });
    expect(JSON.parse(smallest.info())).toMatchObject({ imageSize: [MIN_MODEL_SIDE, MIN_MODEL_SIDE] });
    smallest.dispose();
  });

  it('creates a model whose info is JSON with the model size', () => {
    const info = JSON.parse(model.info()) as { imageSize: number[] };
    expect(info.imageSize).toEqual([SIZE, SIZE]);
    expect(model.deviceReason().length).toBeGreaterThan(0);
  });

  it('predicts a raw image with the documented output shapes', async () => {
    expectShape(await model.predict([image(1)]), 1);
  });

  it('predicts a batch of gray, RGB and RGBA images of other sizes', async () => {
    const out = await model.predict([image(1, 80, 50, 1), image(2, 33, 90, 3), image(3, SIZE, SIZE, 4)]);
    expectShape(out, 3);
  });

  it('is deterministic and gives each concurrent caller its own result', async () => {
    const inputs = [image(1), image(2), image(3), image(4)];
    const sequential: NativePrediction[] = [];
    for (const input of inputs) sequential.push(await model.predict([input]));
    const concurrent = await Promise.all(inputs.map((input) => model.predict([input])));
    concurrent.forEach((out, i) => {
      expect(out.maps).toEqual(sequential[i].maps);
      expect(out.logits).toEqual(sequential[i].logits);
    });
    expect(sequential[0].maps).not.toEqual(sequential[1].maps);
  });

  it('keeps the event loop ticking while a batch of 8 runs', async () => {
    let ticks = 0;
    let running = true;
    const tick = (): void => {
      ticks += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const out = await model.predict(Array.from({ length: 8 }, (_, i) => image(i)));
    running = false;
    expectShape(out, 8);
    expect(ticks).toBeGreaterThan(2);
  });

  it('saves and loads a model that predicts the same', async () => {
    const file = path.join(dir, 'model.safetensors');
    await model.save(file);
    const loaded = await native.loadModel(file, 'cpu');
    try {
      const [a, b] = [await model.predict([image(5)]), await loaded.predict([image(5)])];
      expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
      let maxDiff = 0;
      for (let i = 0; i < a.maps.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.maps[i] - b.maps[i]));
      expect(maxDiff).toBeLessThanOrEqual(1e-6);
    } finally {
      loaded.dispose();
    }
  });
});

describe('addon lifecycle', () => {
  it('finishes a job in flight at dispose, then rejects with ERR_SSN_DISPOSED', async () => {
    const other = await native.createModel(OPTIONS);
    const inFlight = other.predict([image(1), image(2)]);
    other.dispose();
    other.dispose();
    expectShape(await inFlight, 2);
    expect(await codeOf(other.predict([image(1)]))).toBe('ERR_SSN_DISPOSED');
    expect(await codeOf(other.save(path.join(dir, 'x.safetensors')))).toBe('ERR_SSN_DISPOSED');
    expect(() => other.info()).toThrow(expect.objectContaining({ code: 'ERR_SSN_DISPOSED' }));
    expect(() => other.deviceReason()).toThrow(expect.objectContaining({ code: 'ERR_SSN_DISPOSED' }));
  });

  it('predicts in the main thread and two worker threads at once, with the same results (context-aware)', async () => {
    // Models are created one after the other: torch::manual_seed is process-wide, so two creations racing
    // would interleave their random draws. The predictions then all run at once.
    const code = `
      const { parentPort, workerData } = require('worker_threads');
      const addon = require(workerData.addon);
      (async () => {
        const model = await addon.createModel(workerData.options);
        parentPort.once('message', async () => {
          const data = new Uint8Array(64 * 64 * 3).fill(workerData.value);
          const out = await model.predict([{ data, width: 64, height: 64, channels: 3 }]);
          model.dispose();
          parentPort.postMessage({ batch: out.batch, maps: out.maps, logit: out.logits[0], info: typeof addon.libraryInfo() });
        });
        parentPort.postMessage('ready');
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
    type Result = { batch: number; maps: Float32Array; logit: number; info: string };
    const start = async (value: number) => {
      const worker = new Worker(code, { eval: true, workerData: { addon: ADDON, options: OPTIONS, value } });
      const next = () =>
        new Promise<unknown>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
      expect(await next()).toBe('ready');
      return {
        go: async (): Promise<Result> => {
          const result = next();
          worker.postMessage('go');
          const r = (await result) as Result;
          void worker.terminate();
          return r;
        },
      };
    };
    const workerA = await start(10);
    const workerB = await start(200);
    const filled = (value: number) => ({
      data: new Uint8Array(SIZE * SIZE * 3).fill(value),
      width: SIZE,
      height: SIZE,
      channels: 3 as const,
    });
    // The same seed gives every thread the same model: the four results are comparable.
    const [a, b, mainA, mainB] = await Promise.all([workerA.go(), workerB.go(), model.predict([filled(10)]), model.predict([filled(200)])]);
    for (const [worker, main] of [
      [a, mainA],
      [b, mainB],
    ] as const) {
      expect(worker).toMatchObject({ batch: 1, info: 'string' });
      expect(worker.maps.length).toBe(SIZE * SIZE);
      expect(worker.logit).toBeCloseTo(main.logits[0], 4);
      let maxAbs = 0;
      for (let i = 0; i < worker.maps.length; i++) maxAbs = Math.max(maxAbs, Math.abs(worker.maps[i] - main.maps[i]));
      expect(maxAbs).toBeLessThanOrEqual(1e-4);
    }
    expect(Math.abs(a.logit - b.logit)).toBeGreaterThan(0); // different inputs, different outputs
  });

  it('survives a worker thread terminated while its job runs', async () => {
    const code = `
      const { parentPort, workerData } = require('worker_threads');
      const addon = require(workerData.addon);
      addon.createModel(workerData.options).then((model) => {
        const data = new Uint8Array(64 * 64 * 3).fill(9);
        void model.predict(Array.from({ length: 8 }, () => ({ data, width: 64, height: 64, channels: 3 })));
        parentPort.postMessage('queued');
      });`;
    const worker = new Worker(code, { eval: true, workerData: { addon: ADDON, options: OPTIONS } });
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    // this process is still alive and the addon still works here
    expectShape(await model.predict([image(1)]), 1);
  });
});

describe('addon errors', () => {
  it('rejects wrong argument types with a TypeError-like ERR_SSN_INPUT', async () => {
    const e = (await model.predict('nope' as never).catch((err: unknown) => err)) as Error & { code: string };
    expect(e).toMatchObject({ name: 'TypeError', code: 'ERR_SSN_INPUT' });
    expect(e.message).toContain('Expected an array of images');
    expect(await codeOf(model.predict([{ ...image(1), data: new Uint8Array(10) }]))).toBe('ERR_SSN_INPUT');
    expect(await codeOf(model.predict([{ ...image(1), channels: 2 as 3 }]))).toBe('ERR_SSN_INPUT');
    expect(await codeOf(model.predict([]))).toBe('ERR_SSN_INPUT');
    expect(await codeOf(native.createModel(42 as never))).toBe('ERR_SSN_INPUT');
    expect(await codeOf(native.loadModel(undefined as never, 'cpu'))).toBe('ERR_SSN_INPUT');
    expect(await codeOf(model.save(7 as never))).toBe('ERR_SSN_INPUT');
  });

  it('rejects a bad checkpoint path and a corrupt checkpoint', async () => {
    expect(['ERR_SSN_IO', 'ERR_SSN_CHECKPOINT']).toContain(await codeOf(native.loadModel(path.join(dir, 'missing.safetensors'), 'cpu')));
    const corrupt = path.join(dir, 'corrupt.safetensors');
    await fs.writeFile(corrupt, Buffer.from('this is not a safetensors file at all'));
    expect(await codeOf(native.loadModel(corrupt, 'cpu'))).toBe('ERR_SSN_CHECKPOINT');
    const missingBackbone = { ...OPTIONS, randomBackbone: false, backboneWeights: path.join(dir, 'missing.pth') };
    expect(['ERR_SSN_IO', 'ERR_SSN_CHECKPOINT']).toContain(await codeOf(native.createModel(missingBackbone)));
  });

  it('rejects an invalid configuration', async () => {
    expect(await codeOf(native.createModel({ ...OPTIONS, imageH: 8 }))).toBe('ERR_SSN_INPUT');
    expect(await codeOf(native.createModel({ ...OPTIONS, arch: 'vgg16' as never }))).toBe('ERR_SSN_CONFIG');
  });
});

describe('SuperSimpleNet on the addon', () => {
  it('predicts, resizes to the input and disposes', async () => {
    const logger = jest.fn();
    const ssn = await SuperSimpleNet.create({ backbone: { arch: 'resnet18', random: true }, imageSize: SIZE, logger });
    expect(logger).toHaveBeenCalledTimes(1);
    const raw = image(7, 100, 80, 1);
    const [p, q] = await Promise.all([ssn.predict(raw, { resizeToInput: true }), ssn.predict(raw)]);
    expect(p.score).toBeGreaterThanOrEqual(0);
    expect(p.score).toBeLessThanOrEqual(1);
    expect(p.map.length).toBe(SIZE * SIZE);
    expect(p.map).toEqual(q.map);
    expect(p.inputMap).toMatchObject({ width: 100, height: 80 });
    expect(p.inputMap!.map.length).toBe(100 * 80);
    const batch = await ssn.predictBatch([raw, image(8), image(9)], { batchSize: 2 });
    // Batched convolutions may sum in another order: the same to float tolerance, not bit for bit.
    expect(batch[0].logit).toBeCloseTo(p.logit, 4);
    await ssn.dispose();
    const e = await ssn.predict(raw).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SsnError);
    expect((e as SsnError).code).toBe('ERR_SSN_DISPOSED');
  });

  it('turns native failures into SsnErrors', async () => {
    const e = await SuperSimpleNet.load(path.join(dir, 'missing.safetensors'), { device: 'cpu' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SsnError);
    expect(['ERR_SSN_IO', 'ERR_SSN_CHECKPOINT']).toContain((e as SsnError).code);
  });
});

describe('threads', () => {
  const threadsOf = (env: NodeJS.ProcessEnv): number => {
    const script = `process.stdout.write(String(require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'dist'))}).libraryInfo().libtorch.threads))`;
    return Number(execFileSync(process.execPath, ['-e', script], { env }).toString());
  };

  test('the library uses one libtorch thread per core by default, and OMP_NUM_THREADS overrides it', () => {
    const { OMP_NUM_THREADS: _, ...env } = process.env;
    expect(threadsOf(env)).toBe(os.availableParallelism());
    expect(threadsOf({ ...env, OMP_NUM_THREADS: '1' })).toBe(1);
  });
});
