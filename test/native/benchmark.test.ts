/**
 * `runBenchmark` with real training: a tiny random resnet18 at 64x64 for one epoch on a Magnetic-Tile-shaped
 * fixture; an interrupted benchmark resumes without redoing its finished run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { runBenchmark, type BenchModel } from '../../lib/eval/benchmark';
import type { Recipe } from '../../lib/eval/paper';
import { SuperSimpleNet } from '../../lib/model';
import { square, writePng } from '../helpers/datasetTree';

describe('benchmark with model.train', () => {
  let tmp: string;
  let root: string;
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-bench-native-'));
    root = path.join(tmp, 'magnetic-tile');
    for (let i = 0; i < 6; i++) await writePng(path.join(root, 'MT_Free', 'Imgs', `f${i}.jpg`), 24, 20, (x, y) => 100 + ((x + y + i) % 9));
    for (let i = 0; i < 3; i++) {
      await writePng(path.join(root, 'MT_Crack', 'Imgs', `c${i}.jpg`), 24, 20, (x, y) => (square(6, 5, 6)(x, y) ? 10 : 100));
      await writePng(path.join(root, 'MT_Crack', 'Imgs', `c${i}.png`), 24, 20, square(6, 5, 6), 1);
    }
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('trains, evaluates, and resumes after a failure', async () => {
    const out = path.join(tmp, 'out');
    const sizes: Array<[number, number]> = [];
    let fail = true;
    const createModel = async (recipe: Recipe, seed: number): Promise<BenchModel> => {
      sizes.push(recipe.imageSize);
      if (seed === 43 && fail) throw new Error('interrupted');
      return (await SuperSimpleNet.create({
        backbone: { arch: 'resnet18', random: true },
        imageSize: recipe.imageSize,
        device: 'cpu',
        seed,
        logger: () => undefined,
      })) as unknown as BenchModel;
    };
    const options = {
      kind: 'mt' as const,
      root,
      seeds: 2,
      epochs: 1,
      batchSize: 4,
      imageSize: [64, 64] as [number, number],
      out,
      createModel,
    };
    await expect(runBenchmark(options)).rejects.toThrow('interrupted');
    expect(readdirSync(path.join(out, 'runs'))).toEqual(['mt-seed0.json']);
    const first = JSON.parse(readFileSync(path.join(out, 'runs', 'mt-seed0.json'), 'utf8'));
    expect(first).toMatchObject({ seed: 42, counts: { train: 5, test: 4 } });
    expect(first.metrics.imageAuroc).toBeGreaterThanOrEqual(0);

    fail = false;
    const summary = await runBenchmark(options);
    expect(summary.runs).toEqual({ done: 1, skipped: 1, total: 2 });
    expect(summary.rows.mt.imageAuroc?.n).toBe(2);
    expect(sizes.every(([h, w]) => h === 64 && w === 64)).toBe(true);
    expect(readdirSync(path.join(out, 'work'))).toEqual([]); // checkpoints are removed once a run is recorded
  });
});
