/**
 * Every ImageInput becomes 8-bit raw pixels for the addon. Encoded images are decoded with sharp and keep
 * the channel count they have (gray 1, RGB 3, RGBA 4: the core converts them as OpenCV's imread does);
 * gray + alpha drops the alpha, 16-bit images are reduced to 8 bits (high byte) and EXIF orientation is
 * applied, as imread does.
 */
import { promises as fs, type Stats } from 'node:fs';
import sharp, { type OutputInfo } from 'sharp';

import { INPUT_FORMATS, MAX_INPUT_PIXELS, MAX_INPUT_SIDE } from './constants';
import { describe, expectInteger, expectObject, fromNative, invalidOption, SsnError } from './errors';
import { loadNative } from './native';
import type { RawImage } from './types';
import type { NativeImage } from './binding';

/** File extensions of the images sharp decodes for us (PNG, JPEG, TIFF, WebP); folders are listed by them. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp'];

const DECODE_HINT = 'Use a PNG, JPEG, TIFF or WebP image; the data may be truncated or corrupt.';

/** `label` names the input in messages, e.g. 'input' or 'inputs[3]'. */
export async function decodeImage(input: unknown, label = 'input'): Promise<NativeImage> {
  if (typeof input === 'string') return decodeFile(input, label);
  if (isBytes(input, 'Uint8Array')) return decodeEncoded(asBuffer(input), `${label} (${describe(input)})`);
  if (typeof input === 'object' && input !== null && !Array.isArray(input) && 'data' in input) {
    return checkRaw(input as RawImage, label);
  }
  throw invalidOption('a file path, an encoded image Buffer or a RawImage {data, width, height, channels}', label, input);
}

/** Checks raw pixels and passes them on without copying (the addon copies them before its job runs). */
export function checkRaw(image: RawImage, label = 'input'): NativeImage {
  const { data } = image;
  if (!isBytes(data, 'Uint8Array') && !isBytes(data, 'Uint8ClampedArray')) {
    throw invalidOption('a Uint8Array or Uint8ClampedArray', `${label}.data`, data);
  }
  const width = expectInteger(image.width, `${label}.width`, 1, MAX_INPUT_SIDE);
  const height = expectInteger(image.height, `${label}.height`, 1, MAX_INPUT_SIDE);
  const channels = image.channels as unknown;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw invalidOption('1, 3 or 4', `${label}.channels`, channels);
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `Expected ${expected} bytes (width ${width} x height ${height} x channels ${channels}) for ${label}.data ` +
        `but received ${data.length} bytes`,
      'Raw pixels are rows of width * channels bytes with no padding.',
    );
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, channels };
}

async function decodeFile(file: string, label: string): Promise<NativeImage> {
  if (file.length === 0) throw invalidOption('a file path, an encoded image Buffer or a RawImage', label, file);
  let stat: Stats;
  try {
    stat = await fs.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SsnError('ERR_SSN_INPUT', `Image file not found: ${file}`, `Check the path; relative paths start from ${process.cwd()}.`, {
        cause: e,
      });
    }
    throw new SsnError('ERR_SSN_IO', `Cannot read the image file ${file}: ${(e as Error).message}`, 'Check the file permissions.', {
      cause: e,
    });
  }
  if (!stat.isFile()) throw new SsnError('ERR_SSN_INPUT', `Not an image file: ${file} is a folder or a device.`);
  if (stat.size === 0) throw new SsnError('ERR_SSN_INPUT', `Could not decode image ${file}: the file is empty.`, DECODE_HINT);
  return decodeEncoded(file, file);
}

async function decodeEncoded(source: string | Buffer, name: string): Promise<NativeImage> {
  if (typeof source !== 'string' && source.length === 0) {
    throw new SsnError('ERR_SSN_INPUT', `Could not decode image ${name}: the buffer is empty.`, DECODE_HINT);
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // failOn 'warning' (sharp's default) rejects truncated and corrupt data instead of decoding part of it.
    const image = sharp(source, { autoOrient: true, failOn: 'warning' });
    const meta = await image.metadata();
    refuseFormatOrSize(meta.format, meta.width, meta.height, name);
    // Gray (+ alpha): its first band is the gray, already 8-bit after sharp's 16-bit reduction.
    const pipeline = (meta.channels ?? 3) <= 2 ? image.extractChannel(0) : image;
    decoded = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (e instanceof SsnError) throw e;
    throw new SsnError('ERR_SSN_INPUT', `Could not decode image ${name}: ${(e as Error).message}`, DECODE_HINT, {
      cause: e,
    });
  }
  const { data, info } = decoded;
  const { channels, width, height } = info;
  if ((channels !== 1 && channels !== 3 && channels !== 4) || data.length !== width * height * channels) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `Could not decode image ${name}: ${data.length} bytes of ${channels} channels are not 8-bit ${width}x${height} pixels.`,
      DECODE_HINT,
    );
  }
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width,
    height,
    channels,
  };
}

/** What encoded inputs predict, train and calibrate accept (process-wide; see setImageInputPolicy). */
export interface ImageInputPolicy {
  /** The most pixels an image may declare; larger ones are refused before decoding. Default MAX_INPUT_PIXELS. */
  maxPixels: number;
  /** sharp's format names. Default INPUT_FORMATS (png, jpeg, tiff, webp). */
  formats: readonly string[];
}

let policy: ImageInputPolicy = { maxPixels: MAX_INPUT_PIXELS, formats: INPUT_FORMATS };

/**
 * Widens or narrows what encoded inputs are accepted, for the whole process (every model, predict, train,
 * calibrate). E.g. `{ formats: [...INPUT_FORMATS, 'gif'] }` for GIF frames, `{ maxPixels: 200e6 }` for large
 * scans. SVG renders files referenced from its own folder: add it only for trusted inputs. Returns the policy now
 * in force; `setImageInputPolicy({})` leaves it unchanged, and the defaults come back with
 * `{ maxPixels: MAX_INPUT_PIXELS, formats: INPUT_FORMATS }`.
 */
export function setImageInputPolicy(update: Partial<ImageInputPolicy>): ImageInputPolicy {
  expectObject(update, 'policy');
  const next = { ...policy };
  if (update.maxPixels !== undefined) next.maxPixels = expectInteger(update.maxPixels, 'policy.maxPixels', 1);
  if (update.formats !== undefined) {
    if (
      !Array.isArray(update.formats) ||
      update.formats.length === 0 ||
      !update.formats.every((f) => typeof f === 'string' && f.length > 0)
    ) {
      throw invalidOption('a non-empty array of format names', 'policy.formats', update.formats);
    }
    next.formats = Object.freeze([...update.formats]);
  }
  policy = next;
  return { ...policy };
}

/** Before any pixel is decoded: only the accepted formats, and no more than the policy's pixels. */
function refuseFormatOrSize(format: string | undefined, width: number | undefined, height: number | undefined, name: string): void {
  if (!policy.formats.includes(format ?? '')) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `Refused image ${name}: its format is ${format ?? 'unknown'}, not one of ${policy.formats.join(', ')}.`,
      'Convert it to PNG, JPEG, TIFF or WebP (vector and animated formats are off by default: SVG can load other ' +
        'files), or widen setImageInputPolicy({ formats }) for trusted inputs.',
    );
  }
  if (width !== undefined && height !== undefined && width * height > policy.maxPixels) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `Refused image ${name}: ${width}x${height} is ${((width * height) / 1e6).toFixed(1)} MP, more than ${policy.maxPixels / 1e6} MP.`,
      'Downscale it first (every input is resized to the model size anyway), or raise setImageInputPolicy({ maxPixels }).',
    );
  }
}

/** Typed-array check by tag, which also holds across realms (jest, vm, workers). */
function isBytes(value: unknown, tag: 'Uint8Array' | 'Uint8ClampedArray'): value is Uint8Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === `[object ${tag}]`;
}

/** sharp treats a plain Uint8Array as raw pixels; a Buffer view over the same bytes is an encoded image. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * An image (path, encoded Buffer or raw pixels) decoded, made RGB (gray replicated, alpha dropped) and resized
 * to `height` x `width` exactly as predict and train do it (the core's OpenCV INTER_LINEAR on 8-bit pixels):
 * the pixels the model sees, as RGB.
 */
export async function resizeImage(input: unknown, height: number, width: number): Promise<RawImage & { channels: 3 }> {
  const image = await decodeImage(input);
  const h = expectInteger(height, 'height', 1, MAX_INPUT_SIDE);
  const w = expectInteger(width, 'width', 1, MAX_INPUT_SIDE);
  try {
    return (await loadNative().resizeImage(image, h, w)) as RawImage & { channels: 3 };
  } catch (e) {
    throw fromNative(e);
  }
}
