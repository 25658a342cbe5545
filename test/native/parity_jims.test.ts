/**
 * Parity with the official 2025 (JIMS) code: the maps and logits of test/fixtures/jims, made by
 * test/fixtures/jims/make_fixtures.py from the official model (commit 98ab4d5) with the golden resnet18
 * backbone and heads of ../shared/golden, on raw RGB images at 128x192. Also: the variant survives save and
 * load, `ssn import --variant jims` builds the same model, and the ICPR variant of the same weights differs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { type RawImage, SuperSimpleNet } from '../../lib';
import { readNpy } from '../../lib/npy';
import { runSsn } from '../helpers/cli';
import { goldenOrSkip, skippedGoldenTest } from '../helpers/golden';

const GOLDEN = goldenOrSkip();
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'jims');
const TOLERANCE = 1e-3;

interface Expected {
  image_size: [number, number];
  samples: Array<{ image: string; map: string; score_logit: number }>;
}

const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
const [H, W] = expected.image_size;

function rawImage(file: string): RawImage {
  return { data: new Uint8Array(readFileSync(path.join(FIXTURES, file))), width: W, height: H, channels: 3 };
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

if (GOLDEN === undefined) {
  skippedGoldenTest('JIMS parity suite');
} else {
  const golden = path.join(GOLDEN, 'resnet18-256x256');
  const create = (variant: 'icpr' | 'jims') =>
    SuperSimpleNet.create({
      backbone: { arch: 'resnet18', weights: path.join(golden, 'backbone.pth') },
      heads: { weights: path.join(golden, 'weights.pt'), format: 'official', variant },
      imageSize: [H, W],
      device: 'cpu',
      logger: () => {},
    });

  /** Checks every fixture sample against `model`; returns the largest logit difference. */
  async function compare(model: SuperSimpleNet): Promise<number> {
    let worstLogit = 0;
    for (const sample of expected.samples) {
      const p = await model.predict(rawImage(sample.image));
      const map = await readNpy(path.join(FIXTURES, sample.map));
      expect([p.height, p.width]).toEqual([H, W]);
      expect(maxAbs(p.map, map.data as Float32Array)).toBeLessThanOrEqual(TOLERANCE);
      worstLogit = Math.max(worstLogit, Math.abs(p.logit - sample.score_logit));
    }
    return worstLogit;
  }

  describe('the jims variant against the official 2025 code', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-jims-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('matches every map and logit, and keeps its variant through save and load', async () => {
      const model = await create('jims');
      try {
        expect((await model.info()).variant).toBe('jims');
        expect(await compare(model)).toBeLessThanOrEqual(TOLERANCE);
        const file = path.join(dir, 'jims.safetensors');
        await model.save(file);
        const loaded = await SuperSimpleNet.load(file, { device: 'cpu', logger: () => {} });
        try {
          expect((await loaded.info()).variant).toBe('jims');
          expect(await compare(loaded)).toBeLessThanOrEqual(TOLERANCE);
        } finally {
          loaded.dispose();
        }
      } finally {
        model.dispose();
      }
    });

    it('differs from the icpr variant of the same weights in the score only (the map reads the same input)', async () => {
      const model = await create('icpr');
      try {
        expect((await model.info()).variant).toBe('icpr');
        expect(await compare(model)).toBeGreaterThan(0.01);
      } finally {
        model.dispose();
      }
    });

    it('is built by ssn import --variant jims', async () => {
      const out = path.join(dir, 'imported.safetensors');
      const args = ['import', '--arch', 'resnet18', '--backbone', path.join(golden, 'backbone.pth')];
      const run = await runSsn([
        ...args,
        '--weights',
        path.join(golden, 'weights.pt'),
        '--format',
        'official',
        '--variant',
        'jims',
        '--size',
        `${H}x${W}`,
        '--device',
        'cpu',
        '-o',
        out,
      ]);
      expect(run.stderr).toContain('jims model');
      expect(run.code).toBe(0);
      const noWeights = await runSsn([...args, '--variant', 'jims', '-o', path.join(dir, 'x.safetensors')]);
      expect(noWeights.code).not.toBe(0);
      expect(noWeights.stderr).toContain('--variant jims describes --weights');
      const model = await SuperSimpleNet.load(out, { device: 'cpu', logger: () => {} });
      try {
        expect(await compare(model)).toBeLessThanOrEqual(TOLERANCE);
      } finally {
        model.dispose();
      }
    });
  });
}
