/**
 * Every error code a user can meet, through the public API: a clear SsnError with a stable code and a hint,
 * never a crash.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { SsnError, SuperSimpleNet } from '../../lib';
import { goldenDir } from '../helpers/golden';

const GOLDEN = goldenDir();
const quiet = { logger: () => {} };
let tmp: string;
let model: SuperSimpleNet;

async function failure(p: Promise<unknown>): Promise<SsnError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SsnError);
  return e as SsnError;
}

/** A safetensors file written by hand: header JSON + data. */
function writeSafetensors(file: string, metadata: Record<string, string>): void {
  const header = Buffer.from(JSON.stringify({ __metadata__: metadata, x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(file, Buffer.concat([len, header, Buffer.alloc(4)]));
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-errors-'));
  model = await SuperSimpleNet.create({ backbone: { arch: 'resnet18', random: true }, imageSize: 64, device: 'cpu', ...quiet });
});
afterAll(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('ERR_SSN_INPUT: corrupt, empty and truncated images, bad raw pixels', async () => {
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  for (const bad of [Buffer.from('definitely not an image'), Buffer.alloc(0), png.subarray(0, png.length >> 1)]) {
    const e = await failure(model.predict(bad));
    expect(e.code).toBe('ERR_SSN_INPUT');
    expect(e.hint).toBeTruthy();
  }
  const raw = await failure(model.predict({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 }));
  expect(raw.code).toBe('ERR_SSN_INPUT');
  expect(raw.message).toMatch(/48/);
  expect((await failure(model.predict(path.join(tmp, 'no-such.png')))).code).toBe('ERR_SSN_INPUT');
});

test('ERR_SSN_IO: a model file that does not exist', async () => {
  const e = await failure(SuperSimpleNet.load(path.join(tmp, 'missing.safetensors'), quiet));
  expect(e.code).toBe('ERR_SSN_IO');
  expect(e.message).toContain('missing.safetensors');
});

test('ERR_SSN_CHECKPOINT: a truncated backbone and a foreign safetensors file', async () => {
  const half = path.join(tmp, 'half.pth');
  const full = readFileSync(path.join(GOLDEN, 'resnet18-256x256', 'backbone.pth'));
  writeFileSync(half, full.subarray(0, full.length >> 1));
  const e = await failure(SuperSimpleNet.create({ backbone: { arch: 'resnet18', weights: half }, imageSize: 64, ...quiet }));
  expect(e.code).toBe('ERR_SSN_CHECKPOINT');
  expect(e.message).toContain('half.pth');

  const foreign = path.join(tmp, 'foreign.safetensors');
  writeSafetensors(foreign, {});
  expect((await failure(SuperSimpleNet.load(foreign, quiet))).code).toBe('ERR_SSN_CHECKPOINT');
});

test('ERR_SSN_SHAPE: heads made for another backbone width', async () => {
  // The golden heads have 384 feature channels (resnet18); resnet50 gives 1536.
  const e = await failure(
    SuperSimpleNet.create({
      backbone: { arch: 'resnet50', random: true },
      heads: { weights: path.join(GOLDEN, 'resnet18-256x256', 'weights.pt') },
      imageSize: 64,
      ...quiet,
    }),
  );
  expect(e.code).toBe('ERR_SSN_SHAPE');
  expect(e.message).toContain('feature_adaptor.projection.weight');
});

test('ERR_SSN_CONFIG: a model file from a future format version', async () => {
  const future = path.join(tmp, 'future.safetensors');
  writeSafetensors(future, { format: 'supersimplenet', ssn_config: JSON.stringify({ format_version: 99 }) });
  const e = await failure(SuperSimpleNet.load(future, quiet));
  expect(e.code).toBe('ERR_SSN_CONFIG');
  expect(e.message).toMatch(/format_version|version/);
});

test('ERR_SSN_CUDA_UNAVAILABLE: CUDA asked for on a machine without it', async () => {
  const e = await failure(SuperSimpleNet.create({ backbone: { arch: 'resnet18', random: true }, imageSize: 64, device: 'cuda', ...quiet }));
  expect(e.code).toBe('ERR_SSN_CUDA_UNAVAILABLE');
  expect(e.hint).toMatch(/cpu/);
});

test('ERR_SSN_DISPOSED: every call after dispose', async () => {
  const m = await SuperSimpleNet.create({ backbone: { arch: 'resnet18', random: true }, imageSize: 64, ...quiet });
  await m.dispose();
  expect((await failure(m.predict({ data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 }))).code).toBe(
    'ERR_SSN_DISPOSED',
  );
  expect((await failure(m.save(path.join(tmp, 'x.safetensors')))).code).toBe('ERR_SSN_DISPOSED');
});
