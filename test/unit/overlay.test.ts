import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { jet, normaliseMap, scaleMap, scalePosition, writeOverlay } from '../../lib/overlay';

/** A map of w x h, high (value 5) in the right half and low (value -2) elsewhere. */
function rightHalfMap(w: number, h: number): Float32Array {
  return Float32Array.from({ length: w * h }, (_, i) => (i % w >= w / 2 ? 5 : -2));
}

async function pixel(file: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + 3)];
}

describe('overlay', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-overlay-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('jet runs from blue through green to red', () => {
    const [r0, , b0] = jet(0);
    const [, g5] = jet(0.5);
    const [r1, , b1] = jet(1);
    expect(b0).toBeGreaterThan(100);
    expect(r0).toBe(0);
    expect(g5).toBe(255);
    expect(r1).toBeGreaterThan(100);
    expect(b1).toBe(0);
  });

  test('normaliseMap spans 0..255 over [min, max] or a fixed range, non-finite to 0', () => {
    expect([...normaliseMap(Float32Array.from([1, 2, 3]))]).toEqual([0, 128, 255]);
    expect([...normaliseMap(Float32Array.from([1, 2, 3, NaN]), [0, 2])]).toEqual([128, 255, 255, 0]);
    expect([...normaliseMap(Float32Array.from([4, 4]))]).toEqual([0, 0]);
  });

  test('a PNG at the image size, red where the map is high and blue where it is low', async () => {
    const image = path.join(tmp, 'gray.png');
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .png()
      .toFile(image);
    const out = path.join(tmp, 'out', 'overlay.png');
    await writeOverlay(image, rightHalfMap(16, 12), 16, 12, out);
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 48]);
    const [rHigh, , bHigh] = await pixel(out, 60, 24);
    const [rLow, , bLow] = await pixel(out, 4, 24);
    expect(rHigh).toBeGreaterThan(bHigh + 50);
    expect(bLow).toBeGreaterThan(rLow + 50);
  });

  test('raw grayscale pixels and a fixed range are accepted; a wrong map size is ERR_SSN_SHAPE', async () => {
    const raw = { data: new Uint8Array(20 * 10).fill(200), width: 20, height: 10, channels: 1 as const };
    const out = path.join(tmp, 'raw.png');
    await writeOverlay(raw, rightHalfMap(20, 10), 20, 10, out, { range: [-10, 10], alpha: 1 });
    expect((await sharp(out).metadata()).width).toBe(20);
    // alpha 1 shows the colormap alone: -2 and 5 in [-10, 10] are 0.4 and 0.75 of the way
    expect(await pixel(out, 2, 5)).toEqual(jet(Math.round(0.4 * 255) / 255));
    expect(await pixel(out, 18, 5)).toEqual(jet(Math.round(0.75 * 255) / 255));
    await expect(writeOverlay(raw, new Float32Array(5), 20, 10, out)).rejects.toMatchObject({ code: 'ERR_SSN_SHAPE' });
    await expect(writeOverlay(raw, rightHalfMap(20, 10), 20, 10, out, { alpha: 2 })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  });

  test('the threshold scale is piecewise linear: low 0, threshold the middle, high 1, clamped outside', () => {
    const scale = { low: -4, threshold: 0, high: 2 };
    expect([-10, -4, -2, 0, 1, 2, 9].map((v) => scalePosition(v, scale))).toEqual([0, 0, 0.25, 0.5, 0.75, 1, 1]);
    expect([...scaleMap(Float32Array.from([-4, -2, 0, 2, NaN]), scale)]).toEqual([0, 64, 128, 255, 0]);
    // A threshold at either end of the range: that side has no width.
    expect(scalePosition(-4, { low: -4, threshold: -4, high: 2 })).toBe(0.5);
    expect(scalePosition(-5, { low: -4, threshold: -4, high: 2 })).toBe(0);
    expect(scalePosition(2, { low: -4, threshold: 2, high: 2 })).toBe(0.5);
    expect(scalePosition(3, { low: -4, threshold: 2, high: 2 })).toBe(1);
  });

  test('with a calibration a map below the threshold stays cold, where its own range would paint it red', async () => {
    const raw = { data: new Uint8Array(20 * 10).fill(128), width: 20, height: 10, channels: 1 as const };
    const calm = Float32Array.from({ length: 200 }, (_, i) => (i % 20 >= 10 ? -1 : -2)); // all below the threshold 0
    const calibration = { pixelThreshold: 0, mapRange: { low: -3, high: 3 } };
    const shared = path.join(tmp, 'shared.png');
    await writeOverlay(raw, calm, 20, 10, shared, { calibration, alpha: 1 });
    // -1 is two thirds of the way from low to the threshold: a third of the colormap, blue to cyan.
    expect(await pixel(shared, 18, 5)).toEqual(jet(Math.round(255 / 3) / 255));
    const [r, , b] = await pixel(shared, 18, 5);
    expect(b).toBeGreaterThan(r + 100);
    const own = path.join(tmp, 'own.png');
    await writeOverlay(raw, calm, 20, 10, own, { alpha: 1 });
    const [rOwn, , bOwn] = await pixel(own, 18, 5);
    expect(rOwn).toBeGreaterThan(bOwn + 100);

    await expect(writeOverlay(raw, calm, 20, 10, shared, { calibration, range: [0, 1] })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
    await expect(
      writeOverlay(raw, calm, 20, 10, shared, { calibration: { pixelThreshold: 5, mapRange: { low: -3, high: 3 } } }),
    ).rejects.toMatchObject({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('pixelThreshold') });
  });

  test('an undecodable image is ERR_SSN_INPUT', async () => {
    await expect(writeOverlay(Buffer.from('not an image'), rightHalfMap(16, 16), 16, 16, path.join(tmp, 'x.png'))).rejects.toMatchObject({
      code: 'ERR_SSN_INPUT',
    });
  });
});
