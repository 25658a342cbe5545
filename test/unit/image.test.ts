import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';

import { INPUT_FORMATS, MAX_INPUT_PIXELS } from '../../lib/constants';
import { checkRaw, decodeImage, setImageInputPolicy } from '../../lib/image';
import { SsnError } from '../../lib/errors';

const W = 7;
const H = 5;

function pattern(channels: number): Buffer {
  const bytes = Buffer.alloc(W * H * channels);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) % 256;
  return bytes;
}

async function encode(channels: 1 | 2 | 3 | 4, format: 'png' | 'jpeg' | 'tiff' | 'webp'): Promise<Buffer> {
  let image = sharp(pattern(channels), { raw: { width: W, height: H, channels } });
  if (channels <= 2) image = image.toColourspace('b-w');
  if (format === 'jpeg') return image.jpeg({ quality: 95 }).toBuffer();
  if (format === 'webp') return image.webp({ lossless: true }).toBuffer();
  return format === 'tiff' ? image.tiff().toBuffer() : image.png().toBuffer();
}

async function expectInputError(promise: Promise<unknown>, ...fragments: string[]): Promise<SsnError> {
  const e = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SsnError);
  const error = e as SsnError;
  expect(error.code).toBe('ERR_SSN_INPUT');
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ssn-image-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('decodeImage: encoded images', () => {
  it('decodes an RGB PNG buffer to its exact pixels', async () => {
    const image = await decodeImage(await encode(3, 'png'));
    expect(image).toMatchObject({ width: W, height: H, channels: 3 });
    expect(Buffer.from(image.data)).toEqual(pattern(3));
  });

  it('keeps gray as one channel and RGBA as four', async () => {
    const gray = await decodeImage(await encode(1, 'png'));
    expect(gray.channels).toBe(1);
    expect(Buffer.from(gray.data)).toEqual(pattern(1));
    const rgba = await decodeImage(await encode(4, 'png'));
    expect(rgba.channels).toBe(4);
    expect(Buffer.from(rgba.data)).toEqual(pattern(4));
  });

  it('drops the alpha of gray + alpha', async () => {
    const png = await sharp(pattern(2), { raw: { width: W, height: H, channels: 2 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(png).metadata()).channels).toBe(2);
    const image = await decodeImage(png);
    expect(image.channels).toBe(1);
    const gray = pattern(2).filter((_, i) => i % 2 === 0);
    expect(Buffer.from(image.data)).toEqual(Buffer.from(gray));
  });

  it('reduces 16-bit images to their high byte', async () => {
    const rgb16 = new Uint16Array(W * H * 3).map((_, i) => (i * 1021 + 300) % 65536);
    const png16 = await sharp(rgb16, { raw: { width: W, height: H, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const image = await decodeImage(png16);
    expect(image.channels).toBe(3);
    expect(Array.from(image.data)).toEqual(Array.from(rgb16, (v) => v >> 8));

    const gray16 = new Uint16Array(W * H).map((_, i) => i * 1800 + 255);
    const gpng = await sharp(gray16, { raw: { width: W, height: H, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const g = await decodeImage(gpng);
    expect(g.channels).toBe(1);
    expect(Array.from(g.data)).toEqual(Array.from(gray16, (v) => v >> 8));
  });

  it('decodes JPEG, TIFF and WebP', async () => {
    const jpeg = await decodeImage(await encode(3, 'jpeg'));
    expect(jpeg).toMatchObject({ width: W, height: H, channels: 3 });
    const tiff = await decodeImage(await encode(1, 'tiff'));
    expect(tiff).toMatchObject({ width: W, height: H, channels: 1 });
    const webp = await decodeImage(await encode(3, 'webp'));
    expect(Buffer.from(webp.data)).toEqual(pattern(3));
  });

  it('applies the EXIF orientation', async () => {
    // orientation 6: the stored W x H image is shown rotated by 90 degrees
    const jpeg = await sharp(pattern(3), { raw: { width: W, height: H, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(await decodeImage(jpeg)).toMatchObject({ width: H, height: W });
  });

  it('treats a plain Uint8Array as an encoded image', async () => {
    const png = await encode(3, 'png');
    const image = await decodeImage(new Uint8Array(png));
    expect(Buffer.from(image.data)).toEqual(pattern(3));
  });

  it('rejects truncated, garbage and empty data, naming the input', async () => {
    const png = await encode(3, 'png');
    const e = await expectInputError(decodeImage(png.subarray(0, png.length - 20), 'inputs[2]'), 'Could not decode image inputs[2]');
    expect(e.hint).toMatch(/PNG, JPEG, TIFF or WebP/);
    expect(e.cause).toBeInstanceOf(Error);
    await expectInputError(decodeImage(Buffer.from('definitely not an image')), 'Could not decode image input', 'unsupported image format');
    await expectInputError(decodeImage(Buffer.alloc(0)), 'the buffer is empty');
    const jpeg = await encode(3, 'jpeg');
    await expectInputError(decodeImage(jpeg.subarray(0, jpeg.length - 30)), 'Could not decode image');
  });

  it('refuses SVG and GIF before rendering them: an SVG may load files from its own folder', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="8" height="8">' +
        '<image xlink:href="secret.png" width="8" height="8"/></svg>',
    );
    const e = await expectInputError(decodeImage(svg, 'upload'), 'Refused image upload', 'its format is svg');
    expect(e.hint).toMatch(/PNG, JPEG, TIFF or WebP/);
    const gif = await sharp(pattern(3), { raw: { width: W, height: H, channels: 3 } })
      .gif()
      .toBuffer();
    await expectInputError(decodeImage(gif), 'its format is gif');
  });

  it('lets an app widen or narrow the accepted inputs for the whole process (setImageInputPolicy)', async () => {
    const gif = await sharp(pattern(3), { raw: { width: W, height: H, channels: 3 } })
      .gif()
      .toBuffer();
    try {
      expect(setImageInputPolicy({ formats: [...INPUT_FORMATS, 'gif'] }).formats).toContain('gif');
      expect((await decodeImage(gif)).width).toBe(W);
      setImageInputPolicy({ maxPixels: W * H - 1 });
      await expectInputError(decodeImage(await encode(3, 'png')), `${W}x${H}`, 'more than');
      expect(() => setImageInputPolicy({ formats: [] })).toThrow(/policy.formats/);
      expect(() => setImageInputPolicy({ maxPixels: 0 })).toThrow(/policy.maxPixels/);
    } finally {
      setImageInputPolicy({ maxPixels: MAX_INPUT_PIXELS, formats: INPUT_FORMATS });
    }
    await expectInputError(decodeImage(gif), 'its format is gif');
  });

  it('refuses a decoding bomb (more than 64 MP declared) before decoding it', async () => {
    // A 9000x9000 PNG of zeros compresses to a few tens of KB but would decode to 81 MP.
    const bomb = await sharp({ create: { width: 9000, height: 9000, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(bomb.length).toBeLessThan(1 << 20);
    const e = await expectInputError(decodeImage(bomb), '9000x9000 is 81.0 MP, more than 64 MP');
    expect(e.hint).toMatch(/Downscale/);
  });
});

describe('decodeImage: files', () => {
  it('decodes a file', async () => {
    const file = path.join(dir, 'ok.png');
    await fs.writeFile(file, await encode(3, 'png'));
    expect(Buffer.from((await decodeImage(file)).data)).toEqual(pattern(3));
  });

  it('names a missing file', async () => {
    const file = path.join(dir, 'missing.png');
    const e = await expectInputError(decodeImage(file), `Image file not found: ${file}`);
    expect(e.hint).toContain(process.cwd());
  });

  it('names a corrupt, an empty file and a folder', async () => {
    const bad = path.join(dir, 'bad.png');
    const png = await encode(3, 'png');
    await fs.writeFile(bad, png.subarray(0, 40));
    await expectInputError(decodeImage(bad), `Could not decode image ${bad}`);
    const empty = path.join(dir, 'empty.png');
    await fs.writeFile(empty, '');
    await expectInputError(decodeImage(empty), `Could not decode image ${empty}: the file is empty`);
    await expectInputError(decodeImage(dir), `Not an image file: ${dir}`);
  });
});

describe('decodeImage: raw pixels', () => {
  it('passes valid raw pixels through without copying', async () => {
    const data = new Uint8Array(W * H * 4).fill(3);
    const image = await decodeImage({ data, width: W, height: H, channels: 4 });
    expect(image).toMatchObject({ width: W, height: H, channels: 4 });
    expect(image.data.buffer).toBe(data.buffer);
  });

  it('accepts a Uint8ClampedArray as a Uint8Array view', () => {
    const data = new Uint8ClampedArray(W * H).fill(200);
    const image = checkRaw({ data, width: W, height: H, channels: 1 });
    expect(Object.prototype.toString.call(image.data)).toBe('[object Uint8Array]');
    expect(image.data[0]).toBe(200);
  });

  it('checks sizes, channels and the data length', () => {
    const data = new Uint8Array(W * H * 3);
    const raw = { data, width: W, height: H, channels: 3 as const };
    expect(() => checkRaw({ ...raw, width: 0 })).toThrow(
      'Expected an integer between 1 and 16777216 for input.width but received 0 (number)',
    );
    expect(() => checkRaw({ ...raw, height: 2.5 }, 'inputs[1]')).toThrow('for inputs[1].height but received 2.5 (number)');
    expect(() => checkRaw({ ...raw, channels: 2 as 3 })).toThrow('Expected 1, 3 or 4 for input.channels but received 2 (number)');
    expect(() => checkRaw({ ...raw, data: new Float32Array(W * H * 3) as unknown as Uint8Array })).toThrow(
      'Expected a Uint8Array or Uint8ClampedArray for input.data but received a Float32Array',
    );
    expect(() => checkRaw({ ...raw, data: new Uint8Array(10) })).toThrow(
      `Expected ${W * H * 3} bytes (width ${W} x height ${H} x channels 3) for input.data but received 10 bytes`,
    );
  });

  it('rejects values that are no image at all', async () => {
    await expectInputError(decodeImage(42), 'Expected a file path, an encoded image Buffer or a RawImage', 'but received 42 (number)');
    await expectInputError(decodeImage([1, 2]), 'received an array of length 2');
    await expectInputError(decodeImage(''), "received '' (string)");
  });
});
