/**
 * SuperSimpleNet: the public model class. Native work runs on the libuv pool; per model, native calls go
 * through a serial queue, so that concurrent callers are safe and each gets its own result. dispose()
 * refuses new calls, waits for the accepted ones to finish, then frees the native model.
 */
import * as path from 'node:path';

import {
  calibrationItems,
  checkQuantile,
  computeCalibration,
  DEFAULT_CALIBRATION_QUANTILE,
  fromStoredCalibration,
  notCalibratedError,
  predictCalibrationSet,
  toStoredCalibration,
  type StoredCalibration,
} from './calibration';
import { expectBoolean, expectInteger, expectObject, expectOneOf, expectString, fromNative, invalidOption, SsnError } from './errors';
import { writeAtomic } from './atomic_write';
import type { OnnxExportOptions } from './export/onnx';
import { decodeImage } from './image';
import { loadNative } from './native';
import { checkDevice, checkImageSize, checkLogger, checkRuntimeOptions, resolveCreateOptions } from './options';
import { toPredictions, type PredictionOptions } from './prediction';
import { SerialQueue } from './queue';
import { fillTrainSet, resolveTraining, runTraining, toSummary } from './train';
import type {
  BatchOptions,
  CalibrateOptions,
  Calibration,
  CreateOptions,
  Device,
  ImageInput,
  LoadOptions,
  Logger,
  ModelInfo,
  Prediction,
  PredictOptions,
  SaveOptions,
  TrainOptions,
  TrainSummary,
} from './types';
import type { NativeImage, NativeModel } from './binding';
import type { DatasetItem, DatasetSplit } from './data/dataset';

const DEFAULT_BATCH_SIZE = 8;

// Node 20 defines Symbol.asyncDispose as the registered Symbol.for('nodejs.asyncDispose'), in the main realm
// only: fall back to the same symbol in other realms (vm contexts, jest).
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

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

  /** Anomaly score and map of one image, and the verdict of a calibrated model. */
  async predict(input: ImageInput, options: PredictOptions = {}): Promise<Prediction> {
    const asked = checkPredictOptions(options);
    return this.#accept(async (native) => {
      const image = await decodeImage(input, 'input');
      return (await this.#predictImages(native, [image], asked))[0];
    });
  }

  /** Predictions in input order; images go to the addon `batchSize` at a time. */
  async predictBatch(inputs: ImageInput[], options: BatchOptions = {}): Promise<Prediction[]> {
    if (!Array.isArray(inputs)) throw invalidOption('an array of images', 'inputs', inputs);
    const asked = checkPredictOptions(options);
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
        results.push(...(await this.#predictImages(native, images, asked)));
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
   * Writes the model's inference as an ONNX graph (opset 17, see lib/export/onnx.ts) for
   * onnxruntime, TensorRT or OpenVINO, atomically. `preprocess`: uint8 NHWC RGB pixels in, normalised in the graph.
   * `precision` 'fp16': float16 weights and compute inside, float32 inputs and outputs. `fold` false: the
   * trainable model's layers (BatchNormalization nodes, the adaptor's 1x1 conv) instead of the folded plan.
   * A calibrated model's graph also outputs its verdicts (`anomalous`, `mask`) with predict()'s thresholds.
   * `imageSize` may only confirm the model's size (ERR_SSN_SHAPE otherwise; see checkExportSize).
   */
  async exportOnnx(file: string, options: OnnxExportOptions = {}): Promise<void> {
    expectString(file, 'file');
    expectObject(options, 'options');
    const known = ['preprocess', 'precision', 'fold', 'imageSize', 'externalData'];
    for (const key of Object.keys(options)) {
      if (!known.includes(key))
        throw new SsnError('ERR_SSN_INPUT', `Unknown export option '${key}'.`, `Known options: ${known.join(', ')}.`);
    }
    const preprocess = options.preprocess === undefined ? false : expectBoolean(options.preprocess, 'options.preprocess');
    const precision =
      options.precision === undefined ? 'fp32' : expectOneOf(options.precision, 'options.precision', ['fp32', 'fp16'] as const);
    const fold = options.fold === undefined ? true : expectBoolean(options.fold, 'options.fold');
    const size = options.imageSize === undefined ? undefined : checkImageSize(options.imageSize, 'options.imageSize');
    const external = options.externalData === undefined ? false : expectBoolean(options.externalData, 'options.externalData');
    return this.#accept((native) => {
      if (size) checkExportSize(size, parseInfo(native).imageSize);
      return this.#queue.run(async () => {
        const description = await callNative(() => native.describePlan(fold));
        // Read in the same job: a train() queued before it clears the calibration.
        const calibration = parseInfo(native).calibration;
        const verdict = calibration
          ? { imageThreshold: calibration.imageThreshold, pixelThreshold: calibration.pixelThreshold }
          : undefined;
        // Loaded here, not with the package: the ONNX schema (protobufjs) is only needed to export.
        const { planToOnnx } = require('./export/onnx') as typeof import('./export/onnx');
        // External data is named after the graph (runtimes look for it in the graph's folder); written first, so
        // that a graph on disk always finds its weights.
        const { graph, data } = planToOnnx(description, {
          preprocess,
          precision,
          verdict,
          externalData: { location: `${path.basename(file)}.data`, always: external },
        });
        if (data) await writeAtomic(path.join(path.dirname(file), data.location), data.bytes);
        await writeAtomic(file, Buffer.from(graph.buffer, graph.byteOffset, graph.byteLength));
      });
    });
  }

  /**
   * Trains the heads on `dataset` (its train part for a DatasetSplit); the backbone stays frozen. Images are
   * decoded a chunk at a time and kept natively at the model size only. Predict and save calls wait until
   * training ends. An aborted run (options.signal) rejects with ERR_SSN_ABORTED and a later train() with the
   * same options continues it exactly. New weights clear the model's calibration; with options.validation the
   * model is calibrated on those images afterwards, in the same queued job.
   */
  async train(dataset: DatasetItem[] | DatasetSplit, options: TrainOptions = {}): Promise<TrainSummary> {
    const resolved = resolveTraining(dataset, options);
    return this.#accept((native) =>
      this.#queue.run(async () => {
        const addon = loadNative();
        const [height, width] = (JSON.parse(native.info()) as ModelInfo).imageSize;
        const set = new addon.TrainSet(height, width);
        await fillTrainSet(set, resolved.items, resolved.signal);
        const train = native.train.bind(native);
        const summary = toSummary(await runTraining(addon, (...args) => callNative(() => train(...args)), set, resolved));
        if (resolved.calibration) {
          const { items, quantile } = resolved.calibration;
          summary.calibration = await this.#calibrate(native, items, quantile, DEFAULT_BATCH_SIZE);
        }
        return summary;
      }),
    );
  }

  /**
   * Chooses the verdict thresholds from labelled images held out from training (lib/calibration.ts has the
   * rules) and stores them in the model: predictions then carry `anomalous` (score >= imageThreshold), and
   * masks can be asked for. save() writes the calibration; train() clears it, as new weights make it stale.
   */
  async calibrate(dataset: DatasetItem[], options: CalibrateOptions = {}): Promise<Calibration> {
    const items = calibrationItems(dataset, 'dataset');
    expectObject(options, 'options');
    for (const key of Object.keys(options)) {
      if (key !== 'quantile' && key !== 'batchSize') {
        throw new SsnError('ERR_SSN_INPUT', `Unknown calibration option '${key}'.`, 'Known options: quantile, batchSize.');
      }
    }
    const quantile = options.quantile === undefined ? DEFAULT_CALIBRATION_QUANTILE : checkQuantile(options.quantile, 'options.quantile');
    const batchSize = options.batchSize === undefined ? DEFAULT_BATCH_SIZE : expectInteger(options.batchSize, 'options.batchSize', 1);
    // One queued job from the first prediction to the stored result, so that no train() runs in between.
    return this.#accept((native) => this.#queue.run(() => this.#calibrate(native, items, quantile, batchSize)));
  }

  /** Configuration, parameter counts, device and calibration. */
  info(): ModelInfo {
    return parseInfo(this.#live());
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

  async #predictImages(native: NativeModel, images: NativeImage[], asked: AskedOutputs): Promise<Prediction[]> {
    // The calibration is read in the same job as the prediction: a train() queued before it clears it.
    const [out, calibration] = await this.#queue.run(async () => {
      const current = parseInfo(native).calibration;
      if (asked.mask && !current) throw notCalibratedError('a defect mask');
      return [await callNative(() => native.predict(images)), current] as const;
    });
    return toPredictions(out, images, { ...asked, calibration });
  }

  /** Predicts `items`, computes the calibration and stores it; runs inside a queued job. */
  async #calibrate(native: NativeModel, items: DatasetItem[], quantile: number, batchSize: number): Promise<Calibration> {
    const plain: PredictionOptions = { resizeToInput: false, mask: false, calibration: null };
    const set = await predictCalibrationSet(
      items,
      async (images) => toPredictions(await callNative(() => native.predict(images)), images, plain),
      batchSize,
    );
    const calibration = computeCalibration(set, quantile);
    const json = JSON.stringify(toStoredCalibration(calibration));
    try {
      native.setCalibration(json);
    } catch (e) {
      throw fromNative(e);
    }
    return calibration;
  }
}

type AskedOutputs = Omit<PredictionOptions, 'calibration'>;

function checkPredictOptions(options: PredictOptions): AskedOutputs {
  expectObject(options, 'options');
  return {
    resizeToInput: options.resizeToInput === undefined ? false : expectBoolean(options.resizeToInput, 'resizeToInput'),
    mask: options.mask === undefined ? false : expectBoolean(options.mask, 'mask'),
  };
}

/** The addon's info() with the calibration in the API's form. */
/**
 * An exported graph computes at the model's size, fixed when it was created: predict() resizes every image to
 * it, and the calibration's thresholds were chosen there. A graph at another size would compute what predict
 * never does, so it is refused rather than re-planned.
 */
function checkExportSize([h, w]: [number, number], [modelH, modelW]: [number, number]): void {
  if (h === modelH && w === modelW) return;
  throw new SsnError(
    'ERR_SSN_SHAPE',
    `An ONNX graph at ${h}x${w} was asked for, but the model computes at ${modelH}x${modelW}: its size is fixed when it is created.`,
    `Export at ${modelH}x${modelW} (leave the size out) and resize images to it before the graph, as predict() does; ` +
      `for ${h}x${w} inputs, train a model created at that size.`,
  );
}

function parseInfo(native: NativeModel): ModelInfo {
  const info = JSON.parse(native.info()) as Omit<ModelInfo, 'calibration'> & { calibration?: StoredCalibration | null };
  return { ...info, calibration: fromStoredCalibration(info.calibration) };
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
