/**
 * SuperSimpleNet: the public model class. Native work runs on the libuv pool; per model, native calls go
 * through a serial queue, so that concurrent callers are safe and each gets its own result. dispose()
 * refuses new calls, waits for the accepted ones to finish, then frees the native model.
 */
import { expectBoolean, expectInteger, expectObject, expectString, fromNative, invalidOption, SsnError } from './errors';
import { decodeImage } from './image';
import { loadNative } from './native';
import { checkDevice, checkLogger, checkRuntimeOptions, resolveCreateOptions } from './options';
import { toPredictions } from './prediction';
import { SerialQueue } from './queue';
import { fillTrainSet, resolveTraining, runTraining, toSummary } from './train';
import type {
  BatchOptions,
  CreateOptions,
  Device,
  ImageInput,
  LoadOptions,
  Logger,
  ModelInfo,
  NativeImage,
  NativeModel,
  Prediction,
  PredictOptions,
  SaveOptions,
  TrainOptions,
  TrainSummary,
} from './types';
import type { DatasetItem, DatasetSplit } from './data/dataset';

const DEFAULT_BATCH_SIZE = 8;

// Node 20 defines Symbol.asyncDispose as the registered Symbol.for('nodejs.asyncDispose'), in the main realm
// only: fall back to the same symbol in other realms (vm contexts, jest).
const asyncDispose: typeof Symbol.asyncDispose =
  Symbol.asyncDispose ?? (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

export class SuperSimpleNet {
  #native: NativeModel | null;
  readonly #queue = new SerialQueue();
  #active = 0; // accepted calls not yet settled
  #onIdle: Array<() => void> = [];
  #disposing: Promise<void> | null = null;

  private constructor(native: NativeModel) {
    this.#native = native;
  }

  /** A new model: a backbone (the default Keras ResNet50/ImageNet, or a spec) and heads (imported or new). */
  static async create(options: CreateOptions = {}): Promise<SuperSimpleNet> {
    const { native: nativeOptions, logger } = await resolveCreateOptions(options);
    const native = await callNative(() => loadNative().createModel(nativeOptions));
    return SuperSimpleNet.#adopt(native, nativeOptions.device, logger);
  }

  /** A model saved with save() (our .safetensors bundle). */
  static async load(file: string, options: LoadOptions = {}): Promise<SuperSimpleNet> {
    expectString(file, 'file');
    expectObject(options, 'options');
    const device = checkDevice(options.device);
    const logger = checkLogger(options.logger);
    const runtime = checkRuntimeOptions(options);
    const native = await callNative(() => loadNative().loadModel(file, device, runtime));
    return SuperSimpleNet.#adopt(native, device, logger);
  }

  static #adopt(native: NativeModel, device: Device, logger: Logger): SuperSimpleNet {
    if (device === 'auto') logger(`supersimplenet: ${native.deviceReason()}`);
    return new SuperSimpleNet(native);
  }

  /** Anomaly score and map of one image. */
  async predict(input: ImageInput, options: PredictOptions = {}): Promise<Prediction> {
    const resizeToInput = checkPredictOptions(options);
    return this.#accept(async (native) => {
      const image = await decodeImage(input, 'input');
      return (await this.#predictImages(native, [image], resizeToInput))[0];
    });
  }

  /** Predictions in input order; images go to the addon `batchSize` at a time. */
  async predictBatch(inputs: ImageInput[], options: BatchOptions = {}): Promise<Prediction[]> {
    if (!Array.isArray(inputs)) throw invalidOption('an array of images', 'inputs', inputs);
    const resizeToInput = checkPredictOptions(options);
    const batchSize = options.batchSize === undefined ? DEFAULT_BATCH_SIZE : expectInteger(options.batchSize, 'batchSize', 1);
    return this.#accept(async (native) => {
      const decodeChunk = (start: number): Promise<NativeImage[]> =>
        Promise.all(inputs.slice(start, start + batchSize).map((input, j) => decodeImage(input, `inputs[${start + j}]`)));
      const results: Prediction[] = [];
      let next = inputs.length > 0 ? decodeChunk(0) : undefined;
      for (let start = 0; next; start += batchSize) {
        const images = await next;
        // Decode the next chunk while this one runs; its failure surfaces when it is awaited.
        next = start + batchSize < inputs.length ? decodeChunk(start + batchSize) : undefined;
        next?.catch(() => undefined);
        results.push(...(await this.#predictImages(native, images, resizeToInput)));
      }
      return results;
    });
  }

  /**
   * Writes the model (config, backbone and heads) as one .safetensors bundle. `trainingState` adds what a
   * resume needs (optimizer moments, RNG states, position): a checkpoint rather than a final model.
   */
  async save(file: string, options: SaveOptions = {}): Promise<void> {
    expectString(file, 'file');
    expectObject(options, 'options');
    const withState = options.trainingState === undefined ? false : expectBoolean(options.trainingState, 'options.trainingState');
    return this.#accept((native) => this.#queue.run(() => callNative(() => native.save(file, withState))));
  }

  /**
   * Trains the heads on `dataset` (its train part for a DatasetSplit); the backbone stays frozen. Images are
   * decoded a chunk at a time and kept natively at the model size only. Predict and save calls wait until
   * training ends. An aborted run (options.signal) rejects with ERR_SSN_ABORTED and a later train() with the
   * same options continues it exactly.
   */
  async train(dataset: DatasetItem[] | DatasetSplit, options: TrainOptions = {}): Promise<TrainSummary> {
    const resolved = resolveTraining(dataset, options);
    return this.#accept((native) =>
      this.#queue.run(async () => {
        const addon = loadNative();
        if (!addon.TrainSet || !native.train) {
          throw new SsnError('ERR_SSN_NATIVE_LOAD', 'This build of the addon cannot train (it predates training).',
            'Rebuild it: npx ssn build.');
        }
        const [height, width] = (JSON.parse(native.info()) as ModelInfo).imageSize;
        const set = new addon.TrainSet(height, width);
        await fillTrainSet(set, resolved.items, resolved.signal);
        const train = native.train.bind(native);
        const summary = await runTraining(addon, (...args) => callNative(() => train(...args)), set, resolved);
        return toSummary(summary);
      }),
    );
  }

  /** Configuration, parameter counts and device. */
  info(): ModelInfo {
    return JSON.parse(this.#live().info()) as ModelInfo;
  }

  /** Why the model runs on the device it runs on, in one line. */
  deviceReason(): string {
    return this.#live().deviceReason();
  }

  get disposed(): boolean {
    return this.#disposing !== null;
  }

  /** Refuses new calls, waits for accepted ones, then frees the native model. Safe to call again. */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      while (this.#active > 0) await new Promise<void>((resolve) => this.#onIdle.push(resolve));
      this.#native?.dispose();
      this.#native = null;
    })();
    return this.#disposing;
  }

  [asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #live(): NativeModel {
    if (this.#disposing !== null || this.#native === null) throw disposedError();
    return this.#native;
  }

  async #accept<T>(call: (native: NativeModel) => Promise<T>): Promise<T> {
    const native = this.#live();
    this.#active += 1;
    try {
      return await call(native);
    } finally {
      this.#active -= 1;
      if (this.#active === 0) for (const resolve of this.#onIdle.splice(0)) resolve();
    }
  }

  async #predictImages(native: NativeModel, images: NativeImage[], resizeToInput: boolean): Promise<Prediction[]> {
    const out = await this.#queue.run(() => callNative(() => native.predict(images)));
    return toPredictions(out, images, resizeToInput);
  }
}

function checkPredictOptions(options: PredictOptions): boolean {
  expectObject(options, 'options');
  return options.resizeToInput === undefined ? false : expectBoolean(options.resizeToInput, 'resizeToInput');
}

function disposedError(): SsnError {
  return new SsnError('ERR_SSN_DISPOSED', 'The model was disposed.', 'Create or load a new model.');
}

/** Runs a native call; whatever it throws or rejects with becomes an SsnError. */
async function callNative<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw fromNative(e);
  }
}
