/**
 * `ssn import` + `ssn predict` end to end, as a user runs them (node dist/cli/ssn.js), against the golden
 * outputs of the official implementation. Needs the built addon and `npm run build:ts`.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { readNpy } from '../../lib/npy';
import { CLI, runSsn, type Run } from '../helpers/cli';
import { goldenDir, goldenImportArgs } from '../helpers/golden';

const repo = path.resolve(__dirname, '..', '..');

async function ssn(...args: string[]): Promise<Run> {
  return runSsn(args, { cwd: repo });
}

interface Expected {
  image_size: [number, number];
  samples: Array<{ image: string; map: string; score_logit: number; score: number }>;
}

const golden = goldenDir();
const fixture = path.join(golden, 'resnet18-192x320');
const present = existsSync(fixture);

if (!present) {
  test(`golden fixtures ABSENT in ${golden}: the ssn end-to-end parity suite did not run`, () => {
    console.log(`no golden fixtures in ${golden} (set SSN_GOLDEN_DIR): ssn import/predict parity was NOT checked`);
    expect(existsSync(fixture)).toBe(false);
  });
} else {
  describe('ssn import + predict on the golden resnet18 192x320 fixture', () => {
    const expected = JSON.parse(readFileSync(path.join(fixture, 'expected.json'), 'utf8')) as Expected;
    const images = expected.samples.map((s) => path.join(fixture, s.image));
    let tmp: string;
    let model: string;

    beforeAll(async () => {
      if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:ts\` first`);
      tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-cli-native-'));
      model = path.join(tmp, 'model.safetensors');
      const run = await ssn(...goldenImportArgs(golden, model));
      if (run.code !== 0) throw new Error(`ssn import failed (exit ${run.code}):\n${run.stderr}`);
    });
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    test('import writes the model and prints its path', () => {
      expect(existsSync(model)).toBe(true);
    });

    test('predict --json --maps-dir: one JSON array on stdout; maps and logits match the official code', async () => {
      // --batch-size 2 over 3 images: a full and an odd, partial batch.
      const maps = path.join(tmp, 'maps');
      const run = await ssn('predict', model, ...images, '--json', '--maps-dir', maps, '--batch-size', '2', '--device', 'cpu');
      expect(run.stderr).not.toMatch(/^error/m);
      expect(run.code).toBe(0);
      const records = JSON.parse(run.stdout) as Array<{ file: string; score: number; logit: number; map: string }>;
      expect(records.map((r) => r.file)).toEqual(images);
      const [h, w] = expected.image_size;
      for (const [i, sample] of expected.samples.entries()) {
        const r = records[i];
        expect(Object.keys(r).sort()).toEqual(['file', 'logit', 'map', 'score']);
        expect(Math.abs(r.logit - sample.score_logit)).toBeLessThanOrEqual(1e-3);
        expect(Math.abs(r.score - sample.score)).toBeLessThanOrEqual(1e-3);
        expect(path.basename(r.map)).toBe(`${path.basename(sample.image, '.png')}.npy`);
        const ours = await readNpy(path.resolve(repo, r.map));
        const theirs = await readNpy(path.join(fixture, sample.map));
        expect(ours.shape).toEqual([h, w]);
        let maxAbs = 0;
        for (let k = 0; k < theirs.data.length; k++) maxAbs = Math.max(maxAbs, Math.abs(ours.data[k] - theirs.data[k]));
        expect(maxAbs).toBeLessThanOrEqual(1e-3);
      }
    });

    test('predict without --json prints a table; --overlay-dir writes PNGs at the image size', async () => {
      const overlays = path.join(tmp, 'overlays');
      const run = await ssn('predict', model, `${fixture}/images`, '--overlay-dir', overlays, '--device', 'cpu');
      expect(run.code).toBe(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^file\s+score\s+logit\s+overlay$/);
      expect(lines).toHaveLength(2 + images.length);
      expect(readdirSync(overlays).sort()).toEqual(expected.samples.map((s) => `${path.basename(s.image, '.png')}.png`));
      const meta = await sharp(path.join(overlays, readdirSync(overlays)[0])).metadata();
      expect([meta.width, meta.height]).toEqual([expected.image_size[1], expected.image_size[0]]);
    });

    test('an image that cannot be decoded: one coded error on stderr, no stack, exit 1', async () => {
      const bad = path.join(tmp, 'bad.png');
      writeFileSync(bad, 'not a png');
      const run = await ssn('predict', model, bad, '--json', '--device', 'cpu');
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^error \[ERR_SSN_[A-Z_]+\]: /m);
      expect(run.stderr).toMatch(/^hint: /m);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });
  });
}
