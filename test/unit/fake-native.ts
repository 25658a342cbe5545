/** A NativeModule stand-in for unit tests: deterministic outputs, records calls and concurrency. */
import { EXPECTED_NATIVE_CONSTANTS, type NativeConstants } from '../../lib/constants';
import type { Device } from '../../lib/types';
import type {
  NativeBenchmarkResult,
  NativeCreateOptions,
  NativeImage,
  NativeModel,
  NativeModule,
  NativePlanDescription,
  NativePrediction,
  NativeTrainSummary,
} from '../../lib/binding';

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class FakeModel implements NativeModel {
  readonly batches: number[] = [];
  readonly saved: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  disposeCalls = 0;
  failNext: Error | null = null;
  /** The stored calibration JSON, as the addon keeps it (null: not calibrated). */
  calibrationJson: string | null = null;

  constructor(
    readonly height = 4,
    readonly width = 5,
    readonly delayMs = 5,
  ) {}

  /** Map value at (y, x) for an image whose first byte is v: v + y * 0.5 + x * 0.25; logit v / 10 - 1. */
  async predict(images: NativeImage[]): Promise<NativePrediction> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await delay(this.delayMs);
      if (this.failNext) {
        const e = this.failNext;
        this.failNext = null;
        throw e;
      }
      this.batches.push(images.length);
      const size = this.height * this.width;
      const maps = new Float32Array(images.length * size);
      const logits = new Float32Array(images.length);
      images.forEach((image, i) => {
        const v = image.data[0];
        for (let y = 0; y < this.height; y++) {
          for (let x = 0; x < this.width; x++) maps[i * size + y * this.width + x] = v + y * 0.5 + x * 0.25;
        }
        logits[i] = v / 10 - 1;
      });
      return { batch: images.length, height: this.height, width: this.width, maps, logits };
    } finally {
      this.inFlight -= 1;
    }
  }

  async save(path: string): Promise<void> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await delay(this.delayMs);
    this.saved.push(path);
    this.inFlight -= 1;
  }

  // Training and timing are not faked: the native tests cover them.
  train(): Promise<NativeTrainSummary> {
    return Promise.reject(new Error('FakeModel.train: not in the fake'));
  }

  predictTensor(): Promise<NativePrediction> {
    return Promise.reject(new Error('FakeModel.predictTensor: not in the fake'));
  }

  benchmark(): Promise<NativeBenchmarkResult> {
    return Promise.reject(new Error('FakeModel.benchmark: not in the fake'));
  }

  describePlan(): Promise<NativePlanDescription> {
    return Promise.reject(new Error('FakeModel.describePlan: not in the fake'));
  }

  setCalibration(json: string | null): void {
    this.calibrationJson = json;
  }

  info(): string {
    const calibration = this.calibrationJson === null ? null : (JSON.parse(this.calibrationJson) as unknown);
    return JSON.stringify({ imageSize: [this.height, this.width], device: 'cpu', calibration });
  }

  deviceReason(): string {
    return 'cpu: fake addon';
  }

  dispose(): void {
    this.disposeCalls += 1;
  }
}

export class FakeModule implements NativeModule {
  readonly created: NativeCreateOptions[] = [];
  readonly loaded: Array<{ path: string; device: Device }> = [];
  createError: Error | null = null;

  constructor(readonly model = new FakeModel()) {}

  libraryInfo(): string {
    return JSON.stringify({ package: 'fake' });
  }

  readonly constants: NativeConstants = EXPECTED_NATIVE_CONSTANTS;

  buildInfo(): { torch: string; cxx11Abi: boolean; cuda: boolean; runtimeTorch: string | null; napi: number } {
    return { torch: '1.13.1', cxx11Abi: true, cuda: false, runtimeTorch: '1.13.1', napi: 8 };
  }

  readonly TrainSet = class {
    constructor() {
      throw new Error('FakeModule.TrainSet: not in the fake');
    }
  } as unknown as NativeModule['TrainSet'];

  readonly AbortHandle = class {
    abort(): void {}
  } as unknown as NativeModule['AbortHandle'];

  readPickleJson(): Promise<string> {
    return Promise.reject(new Error('FakeModule.readPickleJson: not in the fake'));
  }

  resizeImage(): Promise<NativeImage> {
    return Promise.reject(new Error('FakeModule.resizeImage: not in the fake'));
  }

  async createModel(options: NativeCreateOptions): Promise<NativeModel> {
    if (this.createError) throw this.createError;
    this.created.push(options);
    return this.model;
  }

  async loadModel(path: string, device: Device): Promise<NativeModel> {
    this.loaded.push({ path, device });
    return this.model;
  }

  readonly classified: Array<{ modelJson: string; batch: number; k: number }> = [];

  /** Class j of an image whose first byte is v: index (v + j) % 1000, probability 0.5 / (j + 1). */
  async imagenetTopK(modelJson: string, images: NativeImage[], k: number): Promise<Array<Array<{ index: number; probability: number }>>> {
    this.classified.push({ modelJson, batch: images.length, k });
    return images.map((image) => Array.from({ length: k }, (_, j) => ({ index: (image.data[0] + j) % 1000, probability: 0.5 / (j + 1) })));
  }
}

/** An Error shaped like the addon's: code and hint properties. */
export function nativeError(code: string, message: string, hint?: string): Error {
  return Object.assign(new Error(message), { code, hint });
}

/** A raw 1-channel image whose every byte is `value`. */
export function rawImage(value: number, width = 8, height = 6, channels: 1 | 3 | 4 = 1) {
  return { data: new Uint8Array(width * height * channels).fill(value), width, height, channels };
}
