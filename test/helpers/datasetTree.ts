/**
 * Tiny fixture trees of the benchmark layouts: PNGs written with sharp and pickles written by a minimal
 * protocol-2 pickle writer (lists, tuples, ints, strings, bools), as Python's pickle.dump would.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import sharp from 'sharp';

/** A gray (1 channel) or RGB PNG of w x h whose pixel (x, y) is value(x, y). */
export async function writePng(
  file: string,
  w: number,
  h: number,
  value: (x: number, y: number) => number,
  channels: 1 | 3 = 3,
): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const data = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(value(x, y), (y * w + x) * channels, (y * w + x + 1) * channels);
  await sharp(data, { raw: { width: w, height: h, channels } })
    .png()
    .toFile(file);
}

/** A defect square [x0, x0 + s) x [y0, y0 + s) of value 255 on 0, as a gray mask. */
export function square(x0: number, y0: number, s: number): (x: number, y: number) => number {
  return (x, y) => (x >= x0 && x < x0 + s && y >= y0 && y < y0 + s ? 255 : 0);
}

export type Py = number | string | boolean | null | Py[] | { tuple: Py[] };

function encode(v: Py, out: number[]): void {
  if (v === null) out.push(0x4e);
  else if (v === true) out.push(0x88);
  else if (v === false) out.push(0x89);
  else if (typeof v === 'number') {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    out.push(0x4a, ...b);
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(s.length);
    out.push(0x58, ...n, ...s);
  } else if (Array.isArray(v)) {
    out.push(0x5d); // EMPTY_LIST
    if (v.length > 0) {
      out.push(0x28); // MARK
      for (const x of v) encode(x, out);
      out.push(0x65); // APPENDS
    }
  } else {
    out.push(0x28);
    for (const x of v.tuple) encode(x, out);
    out.push(0x74); // TUPLE
  }
}

export function pickleBytes(v: Py): Buffer {
  const out = [0x80, 0x02];
  encode(v, out);
  out.push(0x2e);
  return Buffer.from(out);
}

export function writePickle(file: string, v: Py): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, pickleBytes(v));
}

/** (sample_id, is_segmented) */
export function entry(id: number | string, segmented = true): Py {
  return { tuple: [id, segmented] };
}
