/** Reads the float32 tensors of a .safetensors file (8-byte header length, JSON header, raw little-endian data). */
import { readFileSync } from 'node:fs';

export function readFloatTensors(file: string): Map<string, Float32Array> {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const out = new Map<string, Float32Array>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__' || entry.dtype !== 'F32') continue;
    const [begin, end] = entry.data_offsets;
    const copy = Uint8Array.from(bytes.subarray(base + begin, base + end));
    out.set(name, new Float32Array(copy.buffer));
  }
  return out;
}

/** ||a - b|| / max(||b||, 1e-12): the relative difference of two tensors. */
export function relativeDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
}
