/**
 * The core's names and limits, one list each: the public types derive from these, and the loader checks that
 * the addon it loads exports the same (its `constants`, from cpp/common/limits.h and the core's enums), so
 * TypeScript and C++ cannot drift apart unnoticed.
 */

/** Backbones the core implements, truncated after layer3 (cpp/model/backbone_arch.cpp). */
export const BACKBONE_ARCHS = ['resnet18', 'resnet34', 'resnet50', 'wide_resnet50_2', 'wide_resnet101_2', 'resnet50-keras'] as const;

/** Numeric precisions of inference and training (cpp/common/precision.h). */
export const PRECISIONS = ['fp32', 'fp16', 'bf16'] as const;

/** Which published model the heads are: ICPR 2024, or the 2025 extension (JIMS, "No Label Left Behind"). */
export const MODEL_VARIANTS = ['icpr', 'jims'] as const;

/**
 * Supervision regimes of training (the 2025 extension's four, cpp/train/supervision.h): normal images only;
 * defect images with image labels only; with masks for some; with masks for all.
 */
export const TRAIN_SETTINGS = ['unsupervised', 'weak', 'mixed', 'supervised'] as const;

/** Where inference and training run. */
export const DEVICES = ['auto', 'cpu', 'cuda'] as const;

/** The model's smallest side: the anomaly map's 25x25 blur reflect-pads by 12 pixels. */
export const MIN_MODEL_SIDE = 13;
/** The model's largest side: catches corrupt sizes early. */
export const MAX_MODEL_SIDE = 16384;
/** The largest side of an input image: bounds width * height * channels. */
export const MAX_INPUT_SIDE = 2 ** 24;
/**
 * The most pixels an encoded input may declare (64 MP): a small file can declare a huge image (a decoding bomb),
 * and every input is resized to the model size anyway. Larger inputs are refused before they are decoded.
 */
export const MAX_INPUT_PIXELS = 64_000_000;
/**
 * The encoded formats predict and train accept (sharp's names): rasters only. sharp would also render SVG, which
 * loads files the SVG references from its own folder, and GIF: an app scoring uploads wants neither.
 */
export const INPUT_FORMATS = ['png', 'jpeg', 'tiff', 'webp'] as const;
/** libtorch intra-op threads a model may ask for (0: libtorch's choice). */
export const MAX_THREADS = 1024;

/** What the addon exports as `constants`; checked against the lists above when it loads. */
export interface NativeConstants {
  backbones: readonly string[];
  precisions: readonly string[];
  variants: readonly string[];
  settings: readonly string[];
  minModelSide: number;
  maxModelSide: number;
  maxInputSide: number;
  maxThreads: number;
  /** c10d backends of this build ('gloo', 'nccl'): depends on the build, so not among the expected values. */
  distributedBackends?: readonly string[];
}

export const EXPECTED_NATIVE_CONSTANTS: NativeConstants = {
  backbones: BACKBONE_ARCHS,
  precisions: PRECISIONS,
  variants: MODEL_VARIANTS,
  settings: TRAIN_SETTINGS,
  minModelSide: MIN_MODEL_SIDE,
  maxModelSide: MAX_MODEL_SIDE,
  maxInputSide: MAX_INPUT_SIDE,
  maxThreads: MAX_THREADS,
};

/** The first difference between an addon's constants and ours, or undefined when they agree. */
export function constantsMismatch(native: unknown): string | undefined {
  if (typeof native !== 'object' || native === null) return 'it exports no constants';
  const got = native as Record<string, unknown>;
  for (const [key, want] of Object.entries(EXPECTED_NATIVE_CONSTANTS)) {
    if (JSON.stringify(got[key]) !== JSON.stringify(want)) {
      return `constants.${key} is ${JSON.stringify(got[key])}, this package expects ${JSON.stringify(want)}`;
    }
  }
  return undefined;
}
