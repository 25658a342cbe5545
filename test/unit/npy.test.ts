import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { decodeNpy, encodeNpy, readNpy, writeNpy } from '../../lib/npy';
import { goldenDir } from '../helpers/golden';

describe('npy', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-npy-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('float32 write-read round trip keeps shape and every value (signed zero, infinities, NaN)', async () => {
    const data = new Float32Array(3 * 5);
    for (let i = 0; i < data.length; i++) data[i] = Math.fround(Math.sin(i) * 10 ** ((i % 7) - 3));
    data[3] = -0;
    data[4] = Infinity;
    data[5] = NaN;
    const file = path.join(tmp, 'f.npy');
    await writeNpy(file, data, [3, 5]);
    const back = await readNpy(file);
    expect(back.dtype).toBe('<f4');
    expect(back.shape).toEqual([3, 5]);
    expect(back.data).toBeInstanceOf(Float32Array);
    expect(Buffer.from((back.data as Float32Array).buffer)).toEqual(Buffer.from(data.buffer));
  });

  test('uint8 round trip, 1-D and 3-D shapes', async () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256);
    for (const shape of [[24], [2, 3, 4]]) {
      const file = path.join(tmp, `u${shape.length}.npy`);
      await writeNpy(file, data, shape);
      const back = await readNpy(file);
      expect(back.dtype).toBe('|u1');
      expect(back.shape).toEqual(shape);
      expect([...back.data]).toEqual([...data]);
    }
  });

  test('the header is numpy’s: 64-byte aligned, Python tuple syntax', () => {
    const bytes = encodeNpy(new Float32Array(7), [7]);
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes.toString('latin1', 10, 10 + headerLength)).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(7,\), \} *\n$/);
    expect(bytes.length).toBe(10 + headerLength + 28);
  });

  test('rejects a shape that does not match the data', async () => {
    await expect(writeNpy(path.join(tmp, 'bad.npy'), new Float32Array(6), [4, 2])).rejects.toMatchObject({ code: 'ERR_SSN_SHAPE' });
  });

  test('rejects files that are not C-ordered float32/uint8 .npy', () => {
    const good = encodeNpy(new Float32Array(4), [2, 2]);
    const withHeader = (edit: (h: string) => string): Buffer => {
      const n = good.readUInt16LE(8);
      const header = `${edit(good.toString('latin1', 10, 10 + n))
        .padEnd(n - 1, ' ')
        .slice(0, n - 1)}\n`;
      return Buffer.concat([good.subarray(0, 10), Buffer.from(header, 'latin1'), good.subarray(10 + n)]);
    };
    expect(() => decodeNpy(Buffer.from('not numpy at all'), 'x.npy')).toThrow(expect.objectContaining({ code: 'ERR_SSN_INPUT' }));
    expect(() =>
      decodeNpy(
        withHeader((h) => h.replace('False', 'True')),
        'x.npy',
      ),
    ).toThrow(/Fortran/);
    expect(() =>
      decodeNpy(
        withHeader((h) => h.replace('<f4', '<f8')),
        'x.npy',
      ),
    ).toThrow(/'<f8' is not supported/);
    expect(() => decodeNpy(good.subarray(0, good.length - 1), 'x.npy')).toThrow(/needs 16 data bytes but the file holds 15/);
  });

  const golden = goldenDir();
  const mapsDir = path.join(golden, 'resnet18-192x320', 'maps');
  const present = existsSync(mapsDir);

  test(`golden maps in ${mapsDir}: ${present ? 'read, checked against expected.json, re-encoded byte for byte' : 'ABSENT, not checked'}`, async () => {
    if (!present) {
      console.log(`golden fixtures not found in ${golden} (set SSN_GOLDEN_DIR): the golden .npy check did not run`);
      expect(existsSync(mapsDir)).toBe(false);
      return;
    }
    const expected = JSON.parse(readFileSync(path.join(golden, 'resnet18-192x320', 'expected.json'), 'utf8')) as {
      image_size: [number, number];
      samples: Array<{ map: string; map_max: number; map_mean: number }>;
    };
    expect(readdirSync(mapsDir).filter((f) => f.endsWith('.npy'))).toHaveLength(expected.samples.length);
    for (const sample of expected.samples) {
      const file = path.join(golden, 'resnet18-192x320', sample.map);
      const map = await readNpy(file);
      expect(map.dtype).toBe('<f4');
      expect(map.shape).toEqual(expected.image_size);
      expect(map.data).toHaveLength(expected.image_size[0] * expected.image_size[1]);
      let max = -Infinity;
      let sum = 0;
      let nonFinite = 0;
      for (const v of map.data) {
        if (!Number.isFinite(v)) nonFinite++;
        max = Math.max(max, v);
        sum += v;
      }
      expect(nonFinite).toBe(0);
      expect(max).toBeCloseTo(sample.map_max, 5);
      expect(sum / map.data.length).toBeCloseTo(sample.map_mean, 4);
      // numpy.save and encodeNpy produce the same bytes, and a written copy reads back identically.
      expect(encodeNpy(map.data, map.shape).equals(readFileSync(file))).toBe(true);
      const copy = path.join(tmp, path.basename(file));
      await writeNpy(copy, map.data, map.shape);
      expect(readFileSync(copy).equals(readFileSync(file))).toBe(true);
    }
  });
});
