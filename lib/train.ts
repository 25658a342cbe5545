/**
 * Training from JS: checks the dataset and the options, decodes the images a chunk at a time into a native
 * TrainSet (which keeps them at the model size only), and runs the native trainer with progress and abort.
 */
import { calibrationItems, checkQuantile, DEFAULT_CALIBRATION_QUANTILE } from './calibration';
import { TRAIN_SETTINGS } from './constants';
import type { DatasetItem, DatasetSplit } from './data/dataset';
import { resolveDistributed } from './distributed';
import { expectBoolean, expectFunction, fromNative, expectInteger, expectObject, expectString, invalidOption, SsnError } from './errors';
import { decodeImage } from './image';
import type { Precision, TrainOptions, TrainProgress, TrainSetting, TrainSummary } from './types';
import type {
  NativeAbortHandle,
  NativeImage,
  NativeModel,
  NativeModule,
  NativeTrainOptions,
  NativeTrainProgress,
  NativeTrainSet,
  NativeTrainSummary,
} from './binding';

/** Images decoded and handed to the addon at a time: bounds the memory held by full-size pixels. */
export const DECODE_CHUNK = 16;

/** TrainOptions keys that map onto TrainConfig keys (spec section 8). */
/** `min`: the smallest integer allowed (default 1). */
const CONFIG_KEYS: Record<string, { key: string; kind: 'int' | 'number' | 'boolean'; min?: number }> = {
  epochs: { key: 'epochs', kind: 'int' },
  batchSize: { key: 'batch_size', kind: 'int' },
  adaptLr: { key: 'adapt_lr', kind: 'number' },
  segLr: { key: 'seg_lr', kind: 'number' },
  decLr: { key: 'dec_lr', kind: 'number' },
  adaptWeightDecay: { key: 'adapt_wd', kind: 'number' },
  segWeightDecay: { key: 'seg_wd', kind: 'number' },
  decWeightDecay: { key: 'dec_wd', kind: 'number' },
  gamma: { key: 'gamma', kind: 'number' },
  perlinThreshold: { key: 'perlin_thr', kind: 'number' },
  overlap: { key: 'overlap', kind: 'boolean' },
  noiseStd: { key: 'noise_std', kind: 'number' },
  stopGrad: { key: 'stop_grad', kind: 'boolean' },
  clipGradNorm: { key: 'clip_grad_norm', kind: 'number' },
  flips: { key: 'flips', kind: 'boolean' },
  seed: { key: 'seed', kind: 'int', min: 0 },
  dilate: { key: 'dilate', kind: 'int', min: 0 },
  dtWeight: { key: 'dt_weight', kind: 'number' },
  dtPower: { key: 'dt_power', kind: 'number' },
  maskAlignCorners: { key: 'mask_align_corners', kind: 'boolean' },
};
const OTHER_KEYS = [
  'setting',
  'onProgress',
  'signal',
  'checkpoint',
  'resume',
  'cacheFeatures',
  'cacheBudgetMB',
  'precision',
  'maxMinutes',
  'milestones',
  'validation',
  'calibrationQuantile',
  'gradAccumulation',
  'distributed',
];
const TRAIN_PRECISIONS = ['auto', 'fp32', 'bf16', 'fp16'];

export interface ResolvedTraining {
  items: DatasetItem[];
  native: NativeTrainOptions;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
  /** With options.validation: calibrate on these items after training. */
  calibration?: { items: DatasetItem[]; quantile: number };
}

/** The items of a DatasetItem[] or of a DatasetSplit's train part, checked. */
export function trainItems(dataset: unknown): DatasetItem[] {
  const items = Array.isArray(dataset)
    ? dataset
    : typeof dataset === 'object' && dataset !== null && Array.isArray((dataset as DatasetSplit).train)
      ? (dataset as DatasetSplit).train
      : undefined;
  if (!items) throw invalidOption('an array of DatasetItem {id, image, label, mask?} or a DatasetSplit', 'dataset', dataset);
  items.forEach((item: unknown, i) => {
    const name = `dataset[${i}]`;
    expectObject(item, name);
    const { label, image } = item as Partial<DatasetItem>;
    if (label !== 0 && label !== 1) throw invalidOption('0 (normal) or 1 (anomalous)', `${name}.label`, label);
    if (image === undefined || image === null) throw invalidOption('an image (path, Buffer or RawImage)', `${name}.image`, image);
  });
  if (items.length === 0) {
    throw new SsnError('ERR_SSN_INPUT', 'No training images: the dataset is empty.', 'Pass normal (label 0) images to learn from.');
  }
  if (!items.some((item: DatasetItem) => item.label === 0)) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `No normal images among the ${items.length} training items (all have label 1).`,
      'SuperSimpleNet learns what normal looks like: add images labelled 0.',
    );
  }
  return items as DatasetItem[];
}

/** Checks the options and turns them into the addon's JSON. */
export function resolveTraining(dataset: unknown, options: TrainOptions): ResolvedTraining {
  const items = trainItems(dataset);
  expectObject(options, 'options');
  for (const key of Object.keys(options)) {
    if (!(key in CONFIG_KEYS) && !OTHER_KEYS.includes(key)) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        `Unknown training option '${key}'.`,
        `Known options: ${[...Object.keys(CONFIG_KEYS), ...OTHER_KEYS].join(', ')}.`,
      );
    }
  }
  // Left out, the core chooses the setting from the data and says why (TrainSummary.settingReason).
  const config: Record<string, unknown> = {};
  if (options.setting !== undefined) {
    if (!(TRAIN_SETTINGS as readonly unknown[]).includes(options.setting)) {
      throw invalidOption(TRAIN_SETTINGS.map((s) => `'${s}'`).join(', '), 'options.setting', options.setting);
    }
    config.setting = options.setting;
  }
  for (const [name, { key, kind, min }] of Object.entries(CONFIG_KEYS)) {
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const option = `options.${name}`;
    if (kind === 'boolean') config[key] = expectBoolean(value, option);
    else if (kind === 'int') config[key] = expectInteger(value, option, min ?? 1);
    else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalidOption('a finite number >= 0', option, value);
    else config[key] = value;
  }
  if (options.precision !== undefined) {
    if (!TRAIN_PRECISIONS.includes(options.precision as string)) {
      throw invalidOption("'auto', 'fp32', 'bf16' or 'fp16'", 'options.precision', options.precision);
    }
    config.precision = options.precision;
  }
  if (options.milestones !== undefined) {
    const m = options.milestones;
    if (!Array.isArray(m) || !m.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw invalidOption('an array of epochs >= 0', 'options.milestones', m);
    }
    config.milestones = m;
  }
  const native: NativeTrainOptions = { config };
  if (options.maxMinutes !== undefined) {
    const m = options.maxMinutes;
    if (typeof m !== 'number' || !Number.isFinite(m) || m <= 0) throw invalidOption('a number of minutes > 0', 'options.maxMinutes', m);
    if (options.epochs !== undefined || options.milestones !== undefined) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        `Both options.${options.epochs !== undefined ? 'epochs' : 'milestones'} and options.maxMinutes were given.`,
        'Give one: maxMinutes sizes the epochs and the milestones to the budget.',
      );
    }
    native.maxSeconds = m * 60;
  }
  if (options.checkpoint !== undefined) {
    expectObject(options.checkpoint, 'options.checkpoint');
    native.checkpointPath = expectString(options.checkpoint.path, 'options.checkpoint.path');
    native.checkpointEvery =
      options.checkpoint.everyEpochs === undefined ? 1 : expectInteger(options.checkpoint.everyEpochs, 'options.checkpoint.everyEpochs', 1);
  }
  if (options.resume !== undefined) native.resumePath = expectString(options.resume, 'options.resume');
  if (options.cacheFeatures !== undefined) {
    const c = options.cacheFeatures;
    if (c !== true && c !== false && c !== 'auto') throw invalidOption("true, false or 'auto'", 'options.cacheFeatures', c);
    native.cacheFeatures = c === 'auto' ? 'auto' : c ? 'on' : 'off';
  }
  if (options.cacheBudgetMB !== undefined) {
    native.cacheBudgetBytes = expectInteger(options.cacheBudgetMB, 'options.cacheBudgetMB', 0, 1 << 30) * 1024 * 1024;
  }
  if (options.gradAccumulation !== undefined) {
    native.gradAccumulation = expectInteger(options.gradAccumulation, 'options.gradAccumulation', 1);
  }
  if (options.distributed !== undefined) native.distributed = resolveDistributed(options.distributed);
  const onProgress =
    options.onProgress === undefined ? undefined : expectFunction<(p: TrainProgress) => void>(options.onProgress, 'options.onProgress');
  const signal = options.signal;
  if (signal !== undefined && !isAbortSignal(signal)) throw invalidOption('an AbortSignal', 'options.signal', signal);
  return { items, native, onProgress, signal, ...resolveCalibration(options) };
}

function resolveCalibration(options: TrainOptions): Pick<ResolvedTraining, 'calibration'> {
  if (options.validation === undefined) {
    if (options.calibrationQuantile !== undefined) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        'options.calibrationQuantile was given without options.validation.',
        'Pass the labelled images to calibrate on as options.validation.',
      );
    }
    return {};
  }
  const items = calibrationItems(options.validation, 'options.validation');
  const quantile =
    options.calibrationQuantile === undefined
      ? DEFAULT_CALIBRATION_QUANTILE
      : checkQuantile(options.calibrationQuantile, 'options.calibrationQuantile');
  return { calibration: { items, quantile } };
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

export function abortedError(when: string): SsnError {
  return new SsnError(
    'ERR_SSN_ABORTED',
    `Training was aborted ${when}.`,
    'Call train() again to continue: the model keeps its training state.',
  );
}

/** Decodes the items `DECODE_CHUNK` at a time into a native TrainSet; errors name the item. */
export async function fillTrainSet(set: NativeTrainSet, items: DatasetItem[], signal?: AbortSignal): Promise<void> {
  for (let start = 0; start < items.length; start += DECODE_CHUNK) {
    if (signal?.aborted) throw abortedError('while the images were read');
    const chunk = items.slice(start, start + DECODE_CHUNK);
    const decoded = await Promise.all(chunk.map((item, j) => decodeItem(item, start + j)));
    try {
      await set.add(
        decoded.map((d) => d.image),
        decoded.map((d) => d.mask),
        chunk.map((item) => item.label),
      );
    } catch (e) {
      // The core names the item by its index ("training item 17"): add the id.
      const error = fromNative(e);
      const index = /training item (\d+)/.exec(error.message)?.[1];
      throw nameItem(error, index === undefined ? undefined : items[Number(index)]?.id);
    }
  }
}

async function decodeItem(item: DatasetItem, index: number): Promise<{ image: NativeImage; mask: NativeImage | null }> {
  const id = typeof item.id === 'string' && item.id.length > 0 ? item.id : `dataset[${index}]`;
  let image: NativeImage;
  let mask: NativeImage | null = null;
  try {
    image = await decodeImage(item.image, `${id} image`);
    if (item.mask !== undefined && item.mask !== null) mask = await decodeImage(item.mask, `${id} mask`);
  } catch (e) {
    throw nameItem(e, id);
  }
  if (mask && (mask.width !== image.width || mask.height !== image.height)) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `Mask size mismatch for training item '${id}': the image is ${image.width}x${image.height}, its mask ${mask.width}x${mask.height}.`,
      "A mask must have its image's width and height (a pixel >= 128 is defective).",
    );
  }
  return { image, mask };
}

function nameItem(e: unknown, id: string | undefined): unknown {
  if (!(e instanceof SsnError) || id === undefined || e.message.includes(id)) return e;
  return new SsnError(e.code, `Training item '${id}': ${e.message}`, e.hint, { cause: e });
}

export function toProgress(p: NativeTrainProgress): TrainProgress {
  return {
    epoch: p.epoch,
    epochs: p.epochs,
    step: p.step,
    stepsPerEpoch: p.stepsPerEpoch,
    batch: p.batch,
    loss: p.loss,
    truncatedL1: p.truncatedL1,
    focalMap: p.focalMap,
    focalScore: p.focalScore,
    gradNorm: p.gradNorm,
    lr: { adaptor: p.lrAdaptor, seg: p.lrSeg, cls: p.lrCls },
    imagesPerSecond: p.imagesPerSecond,
    etaSeconds: p.etaSeconds,
    precision: p.precision,
  };
}

export function toSummary(s: NativeTrainSummary): TrainSummary {
  const config = JSON.parse(s.config) as Record<string, unknown>;
  return {
    epochs: s.epochs,
    steps: s.steps,
    images: s.images,
    seconds: s.seconds,
    cacheSeconds: s.cacheSeconds,
    cachedFeatures: s.cachedFeatures,
    resumed: s.resumed,
    loss: s.loss,
    truncatedL1: s.truncatedL1,
    focalMap: s.focalMap,
    focalScore: s.focalScore,
    config,
    precision: config.precision as Precision,
    precisionReason: s.precisionReason,
    setting: config.setting as TrainSetting,
    settingReason: s.settingReason,
    ...(s.budgetSeconds > 0 ? { budget: { seconds: s.budgetSeconds, secondsPerStep: s.secondsPerStep } } : {}),
    ...(s.worldSize > 1 ? { distributed: { rank: s.rank, worldSize: s.worldSize, backend: s.backend } } : {}),
  };
}

/**
 * Runs the native trainer: the signal sets the native abort flag; an error thrown by onProgress aborts the
 * run and is what the call rejects with.
 */
export async function runTraining(
  addon: NativeModule,
  train: NonNullable<NativeModel['train']>,
  set: NativeTrainSet,
  resolved: ResolvedTraining,
): Promise<NativeTrainSummary> {
  const abort: NativeAbortHandle = new addon.AbortHandle();
  const { signal, onProgress } = resolved;
  const onAbort = (): void => abort.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let callbackError: { error: unknown } | undefined;
  const report = onProgress
    ? (p: NativeTrainProgress): void => {
        if (callbackError) return;
        try {
          onProgress(toProgress(p));
        } catch (e) {
          callbackError = { error: e };
          abort.abort();
        }
      }
    : undefined;
  try {
    if (signal?.aborted) throw abortedError('before it started');
    return await train(set, JSON.stringify(resolved.native), report, abort);
  } catch (e) {
    if (callbackError) throw callbackError.error;
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
