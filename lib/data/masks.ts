/**
 * Ground-truth masks for evaluation (spec §9): decoded as grayscale, resized with OpenCV INTER_NEAREST
 * semantics to the model's size, then binarised (pixel >= threshold -> 1).
 */
import sharp, { type Sharp } from 'sharp';

import { SsnError } from '../errors';
import type { ImageInput } from '../types';

export const DEFAULT_MASK_THRESHOLD = 128;

/** Grayscale pixels of a mask (first channel; RGB masks are gray in practice). */
export async function decodeMask(mask: ImageInput, label: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  try {
    let input: Sharp;
    if (typeof mask === 'string' || Buffer.isBuffer(mask)) input = sharp(mask, { failOn: 'warning' });
    else {
      const { data, width, height, channels } = mask;
      input = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
    }
    const { data, info } = await input.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (e) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `Could not decode the mask ${label}: ${(e as Error).message}`,
      'Masks are 8-bit grayscale PNGs (0 = normal, 255 = defect).',
      { cause: e },
    );
  }
}

/**
 * cv2.resize(INTER_NEAREST): dst(x) = src(min(floor(x * (1 / (dstW / srcW))), srcW - 1)), computed in double
 * as OpenCV's resizeNN does (ifx = 1 / fx).
 */
export function resizeNearest(src: Uint8Array, srcH: number, srcW: number, dstH: number, dstW: number): Uint8Array {
  const ifx = 1 / (dstW / srcW);
  const ify = 1 / (dstH / srcH);
  const xs = new Int32Array(dstW);
  for (let x = 0; x < dstW; x++) xs[x] = Math.min(Math.floor(x * ifx), srcW - 1);
  const out = new Uint8Array(dstH * dstW);
  for (let y = 0; y < dstH; y++) {
    const row = Math.min(Math.floor(y * ify), srcH - 1) * srcW;
    for (let x = 0; x < dstW; x++) out[y * dstW + x] = src[row + xs[x]];
  }
  return out;
}

/** The 0/1 mask at height x width; all zeros without a mask (normal items). */
export async function loadMask(
  mask: ImageInput | undefined,
  height: number,
  width: number,
  threshold = DEFAULT_MASK_THRESHOLD,
  label = 'mask',
): Promise<Uint8Array> {
  const out = new Uint8Array(height * width);
  if (mask === undefined) return out;
  const m = await decodeMask(mask, label);
  const resized = resizeNearest(m.data, m.height, m.width, height, width);
  for (let i = 0; i < out.length; i++) out[i] = resized[i] >= threshold ? 1 : 0;
  return out;
}

/** Whether a mask file marks any pixel as defective (its maximum reaches the threshold). */
export async function maskHasDefect(mask: string, threshold: number): Promise<boolean> {
  const m = await decodeMask(mask, mask);
  for (let i = 0; i < m.data.length; i++) if (m.data[i] >= threshold) return true;
  return false;
}
