/**
 * Parity with the official implementation: the golden maps and logits of ../shared/golden (SSN_GOLDEN_DIR),
 * made by the official Python code from fixed weights and images, through both backbone file formats.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { type Prediction, SuperSimpleNet } from '../../lib';
import { readNpy } from '../../lib/npy';
import { goldenOrSkip, skippedGoldenTest } from '../helpers/golden';

const GOLDEN = goldenOrSkip();
const TOLERANCE = 1e-3;

interface Expected {
  image_size: [number, number];
  samples: Array<{ image: string; map: string; score_logit: number; score: number }>;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const cases = [
  { set: 'resnet18-256x256', backbone: 'resnet18-256x256/backbone.pth' },
  { set: 'resnet18-256x256', backbone: 'resnet18-256x256/backbone-legacy.pth' },
  // Its backbone is byte-identical to the 256x256 one (golden README).
  { set: 'resnet18-192x320', backbone: 'resnet18-256x256/backbone.pth' },
  { set: 'resnet18-192x320', backbone: 'resnet18-256x256/backbone-legacy.pth' },
];

if (GOLDEN === undefined) {
  skippedGoldenTest('golden parity suite');
} else {
  describe.each(cases)('parity on $set with $backbone', ({ set, backbone }) => {
    const dir = path.join(GOLDEN, set);
    const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
    let model: SuperSimpleNet;

    beforeAll(async () => {
      model = await SuperSimpleNet.create({
        backbone: { arch: 'resnet18', weights: path.join(GOLDEN, backbone) },
        heads: { weights: path.join(dir, 'weights.pt'), format: 'official' },
        imageSize: expected.image_size,
        device: 'cpu',
        logger: () => {},
      });
    });
    afterAll(() => model.dispose());

    const singles: Prediction[] = [];

    it('matches every map and logit one image at a time', async () => {
      for (const sample of expected.samples) {
        const p = await model.predict(path.join(dir, sample.image));
        singles.push(p);
        const map = await readNpy(path.join(dir, sample.map));
        expect([p.height, p.width]).toEqual(expected.image_size);
        expect(maxAbs(p.map, map.data as Float32Array)).toBeLessThanOrEqual(TOLERANCE);
        expect(Math.abs(p.logit - sample.score_logit)).toBeLessThanOrEqual(TOLERANCE);
        expect(Math.abs(p.score - sample.score)).toBeLessThanOrEqual(TOLERANCE);
      }
    });

    it('gives the same results for a batch as for single images', async () => {
      const files = expected.samples.map((s) => path.join(dir, s.image));
      const batch = await model.predictBatch(files, { batchSize: files.length });
      const odd = await model.predictBatch(files.slice(0, 3), { batchSize: 3 });
      expect(singles).toHaveLength(files.length);
      for (let i = 0; i < files.length; i++) {
        const single = singles[i];
        expect(maxAbs(batch[i].map, single.map)).toBeLessThanOrEqual(1e-5);
        expect(Math.abs(batch[i].logit - single.logit)).toBeLessThanOrEqual(1e-5);
        if (i < 3) expect(maxAbs(odd[i].map, single.map)).toBeLessThanOrEqual(1e-5);
      }
    });

    it('survives a save and load of our model file unchanged', async () => {
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-parity-'));
      try {
        const file = path.join(tmp, 'model.safetensors');
        await model.save(file);
        const loaded = await SuperSimpleNet.load(file, { device: 'cpu', logger: () => {} });
        const image = path.join(dir, expected.samples[0].image);
        const [a, b] = [await model.predict(image), await loaded.predict(image)];
        expect(b.map).toEqual(a.map);
        expect(b.logit).toBe(a.logit);
        const info = await loaded.info();
        expect(info.backbone.arch).toBe('resnet18');
        expect(info.headsTrained).toBe(true);
        expect(info.imageSize).toEqual(expected.image_size);
        await loaded.dispose();
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });
}
