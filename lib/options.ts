/** Checks of the public options and their translation into the addon's NativeCreateOptions. */
import { defaultBackbonePath } from './weights';
import { expectBoolean, expectFunction, expectInteger, expectObject, expectOneOf, expectString, invalidOption } from './errors';
import { BACKBONE_ARCHS, DEVICES, MAX_MODEL_SIDE, MAX_THREADS, MIN_MODEL_SIDE, MODEL_VARIANTS, PRECISIONS } from './constants';
import { DEFAULT_BACKBONE, type BackboneArch, type Device, type Logger, type ModelVariant, type RuntimeOptions } from './types';
import type { NativeCreateOptions } from './binding';

const HEAD_FORMATS = ['official', 'anomalib', 'auto'] as const;
const DEFAULT_IMAGE_SIZE = 256;

export const defaultLogger: Logger = (line) => console.error(line);

export interface ResolvedCreateOptions {
  native: NativeCreateOptions;
  logger: Logger;
}

export function checkDevice(value: unknown, option = 'device'): Device {
  return value === undefined ? 'auto' : expectOneOf(value, option, DEVICES);
}

export function checkLogger(value: unknown, option = 'logger'): Logger {
  return value === undefined ? defaultLogger : expectFunction<Logger>(value, option);
}

/** precision, threads and cudaGraphs of create and load options; absent fields stay absent (native defaults). */
export function checkRuntimeOptions(opts: Record<string, unknown>): RuntimeOptions {
  const out: RuntimeOptions = {};
  if (opts.precision !== undefined) out.precision = expectOneOf(opts.precision, 'precision', PRECISIONS);
  if (opts.threads !== undefined) out.threads = expectInteger(opts.threads, 'threads', 0, MAX_THREADS);
  if (opts.cudaGraphs !== undefined) out.cudaGraphs = expectBoolean(opts.cudaGraphs, 'cudaGraphs');
  return out;
}

/** [height, width] from a number or a pair, each an integer from MIN_MODEL_SIDE to MAX_MODEL_SIDE. */
export function checkImageSize(value: unknown, option = 'imageSize'): [number, number] {
  if (value === undefined) return [DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE];
  if (typeof value === 'number') {
    const side = expectInteger(value, option, MIN_MODEL_SIDE, MAX_MODEL_SIDE);
    return [side, side];
  }
  if (Array.isArray(value) && value.length === 2) {
    return [
      expectInteger(value[0], `${option}[0] (height)`, MIN_MODEL_SIDE, MAX_MODEL_SIDE),
      expectInteger(value[1], `${option}[1] (width)`, MIN_MODEL_SIDE, MAX_MODEL_SIDE),
    ];
  }
  throw invalidOption(`an integer from ${MIN_MODEL_SIDE} to ${MAX_MODEL_SIDE} or a [height, width] pair of them`, option, value);
}

interface BackboneChoice {
  arch: BackboneArch;
  weights: string; // empty with `random` or with the default backbone (resolved later)
  random: boolean;
  isDefault: boolean;
}

function checkBackbone(value: unknown): BackboneChoice {
  if (value === undefined || typeof value === 'string') {
    expectOneOf(value ?? DEFAULT_BACKBONE, 'backbone', [DEFAULT_BACKBONE]);
    return { arch: 'resnet50-keras', weights: '', random: false, isDefault: true };
  }
  expectObject(value, 'backbone');
  const arch = expectOneOf(value.arch, 'backbone.arch', BACKBONE_ARCHS);
  const weights = value.weights === undefined ? '' : expectString(value.weights, 'backbone.weights');
  const random = value.random === undefined ? false : expectBoolean(value.random, 'backbone.random');
  if (weights && random) {
    throw invalidOption('either backbone.weights or backbone.random: true, not both', 'backbone', value);
  }
  if (!weights && !random) {
    throw invalidOption(
      'backbone.weights (a weights file) or backbone.random: true',
      'backbone',
      value,
      'A random backbone is only for timing and tests, so it has to be asked for.',
    );
  }
  return { arch, weights, random, isDefault: false };
}

/** Checks every option first, then finds the default backbone's weights if they are needed. */
export async function resolveCreateOptions(options: unknown): Promise<ResolvedCreateOptions> {
  const opts = options === undefined ? {} : options;
  expectObject(opts, 'options');
  const backbone = checkBackbone(opts.backbone);
  let headWeights = '';
  let headFormat: NativeCreateOptions['headFormat'] = 'auto';
  let variant: ModelVariant = opts.variant === undefined ? 'icpr' : expectOneOf(opts.variant, 'variant', MODEL_VARIANTS);
  if (opts.heads !== undefined) {
    expectObject(opts.heads, 'heads');
    headWeights = expectString(opts.heads.weights, 'heads.weights');
    if (opts.heads.format !== undefined) headFormat = expectOneOf(opts.heads.format, 'heads.format', HEAD_FORMATS);
    if (opts.heads.variant !== undefined) {
      const named = expectOneOf(opts.heads.variant, 'heads.variant', MODEL_VARIANTS);
      if (opts.variant !== undefined && named !== variant) {
        throw invalidOption(`'${variant}', as options.variant says`, 'heads.variant', named, 'Give the variant once, in heads.variant.');
      }
      variant = named;
    }
  }
  const [imageH, imageW] = checkImageSize(opts.imageSize);
  const device = checkDevice(opts.device);
  const seed = opts.seed === undefined ? 0 : expectInteger(opts.seed, 'seed', 0);
  const logger = checkLogger(opts.logger);
  const runtime = checkRuntimeOptions(opts);

  const backboneWeights = backbone.isDefault ? await defaultBackbonePath({ logger }) : backbone.weights;
  return {
    native: {
      arch: backbone.arch,
      backboneWeights,
      randomBackbone: backbone.random,
      headWeights,
      headFormat,
      variant,
      imageH,
      imageW,
      device,
      seed,
      ...runtime,
    },
    logger,
  };
}
