/**
 * NumPy .npy files (format 1.0, C order) of float32 ('<f4') or uint8 ('|u1') arrays: anomaly maps for
 * Python tools (`numpy.load`). The writer produces the same bytes as `numpy.save` for these dtypes.
 */
import { promises as fs } from 'node:fs';

import { SsnError } from './errors';

export type NpyDtype = '<f4' | '|u1';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** Row-major (C order) values. */
  data: Float32Array | Uint8Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
/** numpy pads the header so that the data starts on a multiple of 64 bytes. */
const ALIGN = 64;

function dtypeOf(data: Float32Array | Uint8Array): NpyDtype {
  return data instanceof Float32Array ? '<f4' : '|u1';
}

function checkShape(shape: readonly number[], length: number, what: string): void {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SsnError('ERR_SSN_SHAPE', `${what}: expected a shape of non-negative integers, received [${shape.join(', ')}].`);
  }
  const count = shape.reduce((a, d) => a * d, 1);
  if (count !== length) {
    throw new SsnError(
      'ERR_SSN_SHAPE',
      `${what}: shape [${shape.join(', ')}] holds ${count} values but the data has ${length}.`,
      'Pass the shape of the array, e.g. [height, width] for a map.',
    );
  }
}

/** The Python tuple literal numpy writes: `()`, `(5,)`, `(192, 320)`. */
function shapeLiteral(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Encodes an array as .npy bytes. */
export function encodeNpy(data: Float32Array | Uint8Array, shape: readonly number[]): Buffer {
  if (!(data instanceof Float32Array) && !(data instanceof Uint8Array)) {
    throw new SsnError('ERR_SSN_INPUT', 'npy: expected a Float32Array or a Uint8Array.');
  }
  checkShape(shape, data.length, 'npy');
  const dict = `{'descr': '${dtypeOf(data)}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const unpadded = MAGIC.length + 4 + dict.length + 1; // magic, version, u16 length, dict, '\n'
  const padding = (ALIGN - (unpadded % ALIGN)) % ALIGN;
  const header = `${dict + ' '.repeat(padding)}\n`;
  if (header.length > 0xffff) {
    throw new SsnError('ERR_SSN_SHAPE', `npy: a shape of ${shape.length} dimensions does not fit a version 1.0 header.`);
  }
  const out = Buffer.alloc(MAGIC.length + 4 + header.length + data.byteLength);
  MAGIC.copy(out, 0);
  out[6] = 1; // major
  out[7] = 0; // minor
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  const start = 10 + header.length;
  if (data instanceof Float32Array) {
    // DataView writes little-endian whatever the host's byte order.
    const view = new DataView(out.buffer, out.byteOffset + start, data.byteLength);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  } else {
    out.set(data, start);
  }
  return out;
}

/** Decodes .npy bytes (versions 1.0 to 3.0, C order, '<f4' or '|u1'). `source` names the file in errors. */
export function decodeNpy(bytes: Buffer, source = 'npy data'): NpyArray {
  const bad = (why: string): SsnError =>
    new SsnError('ERR_SSN_INPUT', `${source} is not a readable .npy file: ${why}.`, 'Write it with numpy.save() or writeNpy().');
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC)) throw bad('the magic string \\x93NUMPY is missing');
  const major = bytes[6];
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = bytes.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('the header is truncated');
    headerLength = bytes.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw bad(`format version ${major}.${bytes[7]} is not supported (1.0 to 3.0 are)`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw bad('the header is truncated');
  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart);

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw bad(`the header dictionary lacks descr, fortran_order or shape: ${header.trim()}`);
  }
  if (fortran === 'True') throw bad('Fortran-ordered arrays are not supported (save a C-contiguous array)');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`the shape (${shapeText}) is not a tuple of integers`);
  const count = shape.reduce((a, d) => a * d, 1);

  let itemSize: number;
  let dtype: NpyDtype;
  if (descr === '<f4') {
    dtype = '<f4';
    itemSize = 4;
  } else if (descr === '|u1' || descr === '<u1' || descr === 'u1') {
    dtype = '|u1';
    itemSize = 1;
  } else {
    throw bad(`dtype '${descr}' is not supported ('<f4' float32 and '|u1' uint8 are)`);
  }
  const expected = count * itemSize;
  if (bytes.length - dataStart !== expected) {
    throw bad(`shape (${shape.join(', ')}) needs ${expected} data bytes but the file holds ${bytes.length - dataStart}`);
  }
  if (dtype === '|u1') {
    return { dtype, shape, data: Uint8Array.from(bytes.subarray(dataStart)) };
  }
  // A DataView copy: the data offset inside a pooled Buffer need not be 4-byte aligned, nor the host little-endian.
  const data = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, expected);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
  return { dtype, shape, data };
}

/** Writes `data` (row-major, C order) with `shape` as a .npy file. */
export async function writeNpy(file: string, data: Float32Array | Uint8Array, shape: readonly number[]): Promise<void> {
  const bytes = encodeNpy(data, shape);
  try {
    await fs.writeFile(file, bytes);
  } catch (e) {
    throw new SsnError('ERR_SSN_IO', `Cannot write ${file}: ${(e as Error).message}.`, 'Check that the folder exists and is writable.');
  }
}

/** Reads a .npy file of float32 or uint8 values. */
export async function readNpy(file: string): Promise<NpyArray> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new SsnError('ERR_SSN_IO', `Cannot read ${file}: ${(e as Error).message}.`, 'Check the path.');
  }
  return decodeNpy(bytes, file);
}
