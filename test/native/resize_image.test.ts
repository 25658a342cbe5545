/**
 * resizeImage: the pixels the model sees, from JavaScript. The RGB cases of the OpenCV 4.10 fixtures
 * (test/fixtures/resize, made with opencv.js) must come out byte for byte; gray input is made RGB first.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { resizeImage } from '../../lib/image';

const DIR = path.join(__dirname, '..', 'fixtures', 'resize');
const cases = (
  JSON.parse(readFileSync(path.join(DIR, 'cases.json'), 'utf8')) as {
    cases: Array<{ h: number; w: number; c: number; H: number; W: number; file: string }>;
  }
).cases;

/** The fixtures' deterministic source image (pixel() in make_fixtures.js). */
function source(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Number((BigInt(i) * 2654435761n) >> 13n) & 255;
  return out;
}

test.each(cases.filter((c) => c.c === 3))('$file equals OpenCV INTER_LINEAR', async ({ h, w, H, W, file }) => {
  const out = await resizeImage({ data: source(h * w * 3), width: w, height: h, channels: 3 }, H, W);
  expect(out).toMatchObject({ width: W, height: H, channels: 3 });
  expect(Buffer.from(out.data).equals(readFileSync(path.join(DIR, file)))).toBe(true);
});

test('gray input is replicated to RGB, then resized per channel', async () => {
  const gray = { data: source(15 * 17), width: 17, height: 15, channels: 1 as const };
  const out = await resizeImage(gray, 40, 40);
  const expected = readFileSync(path.join(DIR, '15x17x1-to-40x40.bin'));
  for (let i = 0; i < 40 * 40; i++) {
    for (let c = 0; c < 3; c++) expect(out.data[i * 3 + c]).toBe(expected[i]);
  }
});

test('bad sizes are refused with ERR_SSN_INPUT', async () => {
  const image = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 as const };
  await expect(resizeImage(image, 0, 4)).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  await expect(resizeImage(image, 4, 1.5)).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
});
