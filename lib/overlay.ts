/**
 * Anomaly-map overlays: the input image with a jet-coloured map blended over it, as PNG.
 * The map is stretched to the image's own size (the model resizes the whole image to its input size,
 * so the map covers the whole image), so the overlay keeps the image's resolution.
 *
 * Colours come from one of two scales. By default each map is stretched over its own [min, max], so a good
 * surface looks as hot as a defective one. With a calibration every map shares one scale: the calibration
 * set's map range, with the pixel threshold at the middle of the colormap (low -> 0, threshold -> 0.5,
 * high -> 1), so whatever is below the threshold is blue to cyan and only defect pixels turn yellow to red.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import sharp, { type OutputInfo, type Sharp } from 'sharp';

import { SsnError } from './errors';
import type { Calibration, ImageInput } from './types';

export interface OverlayOptions {
  /** Map values mapped to the two ends of the colormap. Default: the map's own [min, max]. */
  range?: [number, number];
  /** The model's calibration: the shared scale of its map range, the pixel threshold at the middle. Not with `range`. */
  calibration?: Pick<Calibration, 'pixelThreshold' | 'mapRange'>;
  /** Weight of the colormap in the blend, 0..1. Default 0.5. */
  alpha?: number;
}

/** The classic jet colormap at t in [0, 1]: blue, cyan, yellow, red. */
export function jet(t: number): [number, number, number] {
  const channel = (centre: number): number => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - centre))));
  return [channel(3), channel(2), channel(1)];
}

/** Map values to 0..255 over `range` (non-finite values go to 0). */
export function normaliseMap(map: Float32Array, range?: [number, number]): Uint8Array {
  let [lo, hi] = range ?? [Infinity, -Infinity];
  if (!range) {
    for (const v of map) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    out[i] = Number.isFinite(v) ? Math.round(Math.min(255, Math.max(0, (v - lo) * scale))) : 0;
  }
  return out;
}

/** A shared colour scale: `threshold` sits at the middle of the colormap. */
export interface ThresholdScale {
  low: number;
  threshold: number;
  high: number;
}

export function calibrationScale(c: Pick<Calibration, 'pixelThreshold' | 'mapRange'>): ThresholdScale {
  return { low: c.mapRange.low, threshold: c.pixelThreshold, high: c.mapRange.high };
}

/** Position on the colormap, 0..1: piecewise linear, low -> 0, threshold -> 0.5, high -> 1, clamped outside. */
export function scalePosition(v: number, { low, threshold, high }: ThresholdScale): number {
  if (v < threshold) return threshold > low ? Math.max(0, (0.5 * (v - low)) / (threshold - low)) : 0;
  if (high > threshold) return Math.min(1, 0.5 + (0.5 * (v - threshold)) / (high - threshold));
  return v > threshold ? 1 : 0.5;
}

/** Map values to 0..255 on a threshold scale (non-finite values go to 0). */
export function scaleMap(map: Float32Array, scale: ThresholdScale): Uint8Array {
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    out[i] = Number.isFinite(v) ? Math.round(255 * scalePosition(v, scale)) : 0;
  }
  return out;
}

function sharpOf(input: ImageInput): Sharp {
  if (typeof input === 'string' || Buffer.isBuffer(input)) return sharp(input);
  const { data, width, height, channels } = input;
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
}

function checkOptions(map: Float32Array, mapW: number, mapH: number, opts: OverlayOptions): void {
  if (!Number.isInteger(mapW) || !Number.isInteger(mapH) || mapW < 1 || mapH < 1 || map.length !== mapW * mapH) {
    throw new SsnError(
      'ERR_SSN_SHAPE',
      `Expected a map of mapW x mapH = ${mapW} x ${mapH} values but received ${map.length}.`,
      'Pass prediction.map with prediction.width and prediction.height.',
    );
  }
  const { range, alpha, calibration } = opts;
  if (range !== undefined && !(Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && range[0] < range[1])) {
    throw new SsnError('ERR_SSN_INPUT', `Expected range [min, max] with min < max but received ${JSON.stringify(range)}.`);
  }
  if (calibration !== undefined) {
    if (range !== undefined) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        'Both range and calibration were given for the overlay.',
        'Give one: each sets the colour scale.',
      );
    }
    const { low, threshold, high } = calibrationScale(calibration);
    if (![low, threshold, high].every(Number.isFinite) || !(low <= threshold && threshold <= high)) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        `Expected a calibration with mapRange.low <= pixelThreshold <= mapRange.high but received ${low}, ${threshold}, ${high}.`,
        'Pass model.info().calibration.',
      );
    }
  }
  if (alpha !== undefined && !(alpha >= 0 && alpha <= 1)) {
    throw new SsnError('ERR_SSN_INPUT', `Expected alpha in [0, 1] but received ${alpha}.`);
  }
}

/** Writes `outPath` (PNG): the image blended with the jet-coloured map, at the image's size. */
export async function writeOverlay(
  image: ImageInput,
  map: Float32Array,
  mapW: number,
  mapH: number,
  outPath: string,
  opts: OverlayOptions = {},
): Promise<void> {
  const png = await overlayPng(image, map, mapW, mapH, opts);
  try {
    await fs.mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
    await fs.writeFile(outPath, png);
  } catch (e) {
    throw new SsnError('ERR_SSN_IO', `Cannot write ${outPath}: ${(e as Error).message}.`, 'Check that the folder is writable.');
  }
}

/** The overlay as PNG bytes (for reports that embed it); `maxSide` shrinks large images first. */
export async function overlayPng(
  image: ImageInput,
  map: Float32Array,
  mapW: number,
  mapH: number,
  opts: OverlayOptions & { maxSide?: number } = {},
): Promise<Buffer> {
  checkOptions(map, mapW, mapH, opts);
  const alpha = opts.alpha ?? 0.5;
  let pixels: { data: Buffer; info: OutputInfo };
  try {
    const source = sharpOf(image);
    if (opts.maxSide !== undefined) source.resize(opts.maxSide, opts.maxSide, { fit: 'inside', withoutEnlargement: true });
    pixels = await source.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const what = typeof image === 'string' ? image : 'the image';
    throw new SsnError(
      'ERR_SSN_INPUT',
      `Cannot decode ${what}: ${(e as Error).message}.`,
      'Use a PNG, JPEG, TIFF or WebP file, or raw pixels.',
    );
  }
  const { width, height, channels } = pixels.info;
  // Normalise before resizing: 8-bit levels are all the colormap can show anyway.
  const scaled = opts.calibration ? scaleMap(map, calibrationScale(opts.calibration)) : normaliseMap(map, opts.range);
  const levels = await sharp(scaled, { raw: { width: mapW, height: mapH, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  const lut = Array.from({ length: 256 }, (_, i) => jet(i / 255));
  const out = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const colour = lut[levels[p]];
    for (let c = 0; c < 3; c++) {
      const base = pixels.data[p * channels + (channels >= 3 ? c : 0)];
      out[p * 3 + c] = Math.round((1 - alpha) * base + alpha * colour[c]);
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
