/**
 * The native addon's contract (binding/): what lib/ calls and what the loader checks at load time. Internal:
 * users see the typed facade of types.ts, never these.
 */
import type { NativeConstants } from './constants';
import type { BackboneArch, Device, ModelVariant, Precision, RuntimeOptions, TrainProgress, TrainSummary } from './types';
import type { NativeDistributedOptions } from './distributed';

export interface NativeCreateOptions {
  arch: BackboneArch;
  backboneWeights: string;
  randomBackbone: boolean;
  headWeights: string;
  headFormat: 'official' | 'anomalib' | 'auto';
  variant?: ModelVariant;
  imageH: number;
  imageW: number;
  device: Device;
  seed: number;
  precision?: Precision;
  threads?: number;
  cudaGraphs?: boolean;
}

export interface NativeBenchmarkOptions {
  batch?: number;
  warmup?: number;
  reps?: number;
  /** CUDA peak-reserved samples (batch 1, input on the device). */
  memoryReps?: number;
  /** Time the trainable module's eager forward instead of the inference plan. */
  reference?: boolean;
}

export interface NativeBenchmarkResult {
  batch: number;
  /** Each timed iteration: copy in, forward, copy of map and score out. */
  iterationMs: Float64Array;
  /** Analytic GFLOPs of one image (blur counted as the official 25x25 convolution). */
  gflops: number;
  /** The same as torch.profiler counts it, i.e. the paper's 56.3 G (no formula for the padding="same" 5x5 conv). */
  gflopsProfiler: number;
  /** CUDA caching allocator peak reserved bytes (mean); -1 on the CPU. */
  peakReservedBytes: number;
  precision: Precision;
  path: 'plan' | 'plan+cuda-graph' | 'reference';
  threads: number;
}

export interface NativeImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface NativePrediction {
  batch: number;
  height: number;
  width: number;
  maps: Float32Array;
  logits: Float32Array;
}

/** TrainProgress with the learning rates flat (lrAdaptor, lrSeg, lrCls); lib/train.ts nests them as `lr`. */
export type NativeTrainProgress = Omit<TrainProgress, 'lr'> & { lrAdaptor: number; lrSeg: number; lrCls: number };

/**
 * What the addon resolves train() with: TrainSummary's counters and losses as they are, the config as JSON (the
 * resolved TrainConfig), the budget flattened (budgetSeconds 0: no budget sized the schedule), plus the last step's
 * gradient norm. lib/train.ts turns it into a TrainSummary.
 */
export type NativeTrainSummary = Pick<
  TrainSummary,
  | 'epochs'
  | 'steps'
  | 'images'
  | 'seconds'
  | 'cacheSeconds'
  | 'cachedFeatures'
  | 'resumed'
  | 'loss'
  | 'truncatedL1'
  | 'focalMap'
  | 'focalScore'
  | 'precisionReason'
  | 'settingReason'
> & {
  gradNorm: number;
  config: string;
  budgetSeconds: number;
  secondsPerStep: number;
  worldSize: number;
  rank: number;
  backend: string;
};

/** 8-bit training samples held natively at the model size (each added image is resized at once). */
export interface NativeTrainSet {
  /** Resolves with the new size. `masks[i]` null: no pixel mask. Labels 0 or 1. */
  add(images: NativeImage[], masks: Array<NativeImage | null>, labels: number[]): Promise<number>;
  size(): number;
}

/** A native cancel flag, read by the trainer before every step. */
export interface NativeAbortHandle {
  abort(): void;
  aborted(): boolean;
}

/**
 * Options of NativeModel.train, as JSON: `config` holds TrainConfig keys (snake_case, spec section 8);
 * cacheFeatures is 'auto' | 'on' | 'off'.
 */
export interface NativeTrainOptions {
  config: Record<string, unknown>;
  resumePath?: string;
  checkpointPath?: string;
  checkpointEvery?: number;
  cacheFeatures?: 'auto' | 'on' | 'off';
  cacheBudgetBytes?: number;
  maxSeconds?: number;
  gradAccumulation?: number;
  distributed?: NativeDistributedOptions;
}

/**
 * The folded inference plan as data (cpp/model/plan_description.cpp): `spec` is JSON of its geometry and layers,
 * naming tensors of `tensors` (float32, row-major).
 */
export interface NativePlanDescription {
  spec: string;
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
}

/** One native model. All Promise-returning calls run on the libuv pool (AsyncWorker). */
export interface NativeModel {
  predict(images: NativeImage[]): Promise<NativePrediction>;
  /** withTrainingState: also the train.* entries a resume needs (optimizer moments, RNG, position). */
  save(path: string, withTrainingState?: boolean): Promise<void>;
  /** Progress reports arrive on the JS thread, coalesced; the last one before the promise settles. */
  train(
    set: NativeTrainSet,
    optionsJson: string,
    onProgress?: (p: NativeTrainProgress) => void,
    abort?: NativeAbortHandle,
  ): Promise<NativeTrainSummary>;
  /** Inference on preprocessed channel-first float32 images of the model size ([batch,3,H,W]). */
  predictTensor(data: Float32Array, batch: number): Promise<NativePrediction>;
  /** The native timed inference loop (spec section 11). */
  benchmark(options?: NativeBenchmarkOptions): Promise<NativeBenchmarkResult>;
  /**
   * The fp32 CPU inference plan of the current weights, described for exporters (lib/export); with fold false,
   * its BatchNorms and adaptor stay layers of their own (the trainable model's structure). Default true.
   */
  describePlan(fold?: boolean): Promise<NativePlanDescription>;
  /**
   * Stores a calibration, as the JSON of its stored form (lib/calibration.ts), or clears it with null.
   * Synchronous: it only swaps the config's entry.
   */
  setCalibration(json: string | null): void;
  /** JSON of ModelInfo, with `calibration` in its stored form (snake_case keys) or null. */
  info(): string;
  /** Why 'auto' chose the device it did, in one line. */
  deviceReason(): string;
  dispose(): void;
}

/** What the loader requires of an addon before it uses it: every member of NativeModule. */
export const NATIVE_EXPORTS = [
  'libraryInfo',
  'buildInfo',
  'createModel',
  'loadModel',
  'imagenetTopK',
  'TrainSet',
  'AbortHandle',
  'readPickleJson',
  'resizeImage',
] as const satisfies ReadonlyArray<keyof NativeModule>;

/** Native errors are Error objects with `code` (ERR_SSN_*) and `hint` properties. */
export interface NativeModule {
  /** JSON: package, libtorch, CUDA, devices, threads. */
  libraryInfo(): string;
  /** The core's names and limits; the loader checks them against lib/constants.ts. */
  constants: NativeConstants;
  /** What the addon was compiled against and the libtorch it runs with. */
  buildInfo(): { torch: string; cxx11Abi: boolean; cuda: boolean; runtimeTorch: string | null; napi: number };
  createModel(options: NativeCreateOptions): Promise<NativeModel>;
  loadModel(path: string, device: Device, runtime?: RuntimeOptions): Promise<NativeModel>;
  /**
   * The full Keras ResNet50 ImageNet classifier of a TF.js model.json (the default backbone's package):
   * each image resized to 224x224, its top `k` classes (1..1000), most probable first.
   */
  imagenetTopK(modelJson: string, images: NativeImage[], k: number): Promise<Array<Array<{ index: number; probability: number }>>>;
  /** Training classes. */
  TrainSet: new (
    height: number,
    width: number,
  ) => NativeTrainSet;
  AbortHandle: new () => NativeAbortHandle;
  /** The plain data of a pickle file (dataset split lists) as JSON text, read by the core's pickle VM. */
  readPickleJson(path: string): Promise<string>;
  /** 8-bit pixels made RGB and resized as predict and train do it (the core's OpenCV INTER_LINEAR). */
  resizeImage(image: NativeImage, height: number, width: number): Promise<NativeImage>;
}
