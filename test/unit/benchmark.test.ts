import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { DatasetItem } from '../../lib/data/dataset';
import { aggregate, limitItems, runBenchmark, summaryTable, type BenchModel, type RunRecord } from '../../lib/eval/benchmark';
import { recipeFor } from '../../lib/eval/paper';
import { square, writePng } from '../helpers/datasetTree';
import { fakeEvalModel } from '../helpers/fakeEvalModel';

/** What a fake model's train() reports: the epochs it was asked for, in fp32. */
function trainedSummary(options: Record<string, unknown>): { epochs: number; config: Record<string, unknown>; precisionReason: string } {
  return {
    epochs: Number(options.epochs),
    config: { epochs: options.epochs, milestones: [], precision: 'fp32' },
    precisionReason: 'fp32 (asked for)',
  };
}

async function mvtecCategory(root: string, category: string): Promise<void> {
  const c = path.join(root, category);
  for (let i = 0; i < 3; i++) await writePng(path.join(c, 'train', 'good', `00${i}.png`), 16, 16, () => 30);
  for (let i = 0; i < 2; i++) await writePng(path.join(c, 'test', 'good', `00${i}.png`), 16, 16, () => 30);
  await writePng(path.join(c, 'test', 'crack', '000.png'), 16, 16, (x, y) => (square(4, 4, 5)(x, y) ? 250 : 30));
  await writePng(path.join(c, 'ground_truth', 'crack', '000_mask.png'), 16, 16, square(4, 4, 5), 1);
}

describe('benchmark', () => {
  let tmp: string;
  let root: string;
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-bench-'));
    root = path.join(tmp, 'mvtec');
    await mvtecCategory(root, 'bottle');
    await mvtecCategory(root, 'grid');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('trains with the recipe, evaluates, and resumes after an interruption without redoing finished runs', async () => {
    const out = path.join(tmp, 'out');
    const trained: Array<{ items: number; options: Record<string, unknown> }> = [];
    let failAt = 2; // the third run dies, as a killed process would
    const createModel = async (_recipe: unknown, seed: number): Promise<BenchModel> => {
      if (trained.length === failAt) throw new Error(`killed before seed ${seed}`);
      return {
        ...fakeEvalModel(8),
        train: async (items: DatasetItem[], options: Record<string, unknown>) => {
          trained.push({ items: items.length, options });
          return trainedSummary(options);
        },
        save: async () => undefined,
        dispose: () => undefined,
      };
    };
    const options = { kind: 'mvtec' as const, root, categories: ['bottle', 'grid'], seeds: 2, epochs: 1, out, createModel };
    await expect(runBenchmark(options)).rejects.toThrow('killed before seed 42');
    expect(readdirSync(path.join(out, 'runs')).sort()).toEqual(['bottle-seed0.json', 'bottle-seed1.json']);
    expect(trained[0].options).toMatchObject({ setting: 'unsupervised', epochs: 1, perlinThreshold: 0.2, seed: 42, stopGrad: true });
    expect(trained[1].options.seed).toBe(43);

    failAt = -1;
    const lines: string[] = [];
    const summary = await runBenchmark({ ...options, log: (l) => lines.push(l) });
    expect(summary.runs).toEqual({ done: 2, skipped: 2, total: 4 });
    expect(trained).toHaveLength(4);
    expect(lines.filter((l) => l.includes('skipped'))).toHaveLength(2);
    expect(summary.rows.bottle.imageAuroc).toEqual({ mean: 1, std: 0, n: 2 });
    expect(summary.rows.mean.imageAuroc?.n).toBe(2);
    expect(summary.paper.bottle?.imageAuroc).toEqual([100, 0]);
    expect(existsSync(path.join(out, 'reports', 'grid-seed1', 'report.html'))).toBe(true);
    const md = readFileSync(path.join(out, 'summary.md'), 'utf8');
    expect(md).toContain('| bottle | 100.0±0.00 | 100.0±0.00 | +0.0 |');

    // Other settings in the same folder are refused instead of mixed in.
    await expect(runBenchmark({ ...options, epochs: 2 })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  });

  test('an interrupted run continues from its training checkpoint; an unreadable one starts again', async () => {
    const out = path.join(tmp, 'out-ckpt');
    const ckpt = path.join(out, 'work', 'bottle-seed0.checkpoint.safetensors');
    mkdirSync(path.dirname(ckpt), { recursive: true });
    writeFileSync(ckpt, 'state');
    const calls: string[] = [];
    const fake = (name: string): BenchModel => ({
      ...fakeEvalModel(8),
      train: async (_items: DatasetItem[], options: Record<string, unknown>) => {
        calls.push(`${name} train resume=${String(options.resume)}`);
        return trainedSummary(options);
      },
      save: async () => undefined,
      dispose: () => undefined,
    });
    const base = { kind: 'mvtec' as const, root, categories: ['bottle'], epochs: 1, createModel: async () => fake('new') };
    await runBenchmark({ ...base, out, loadModel: async (file: string) => fake(`loaded ${path.basename(file)}`) });
    expect(calls).toEqual([`loaded bottle-seed0.checkpoint.safetensors train resume=${ckpt}`]);
    expect(existsSync(ckpt)).toBe(false);

    const out2 = path.join(tmp, 'out-ckpt2');
    mkdirSync(path.join(out2, 'work'), { recursive: true });
    writeFileSync(path.join(out2, 'work', 'bottle-seed0.checkpoint.safetensors'), 'torn');
    calls.length = 0;
    const lines: string[] = [];
    await runBenchmark({
      ...base,
      out: out2,
      log: (l) => lines.push(l),
      loadModel: async () => {
        throw new Error('bad file');
      },
    });
    expect(calls).toEqual(['new train resume=undefined']);
    expect(lines.some((l) => l.includes('cannot continue') && l.includes('bad file'))).toBe(true);
  });

  test('limitItems keeps both classes in proportion and their order', () => {
    const items: DatasetItem[] = Array.from({ length: 20 }, (_, i) => ({ id: `${i}`, image: `${i}.png`, label: i >= 16 ? 1 : 0 }));
    const kept = limitItems(items, 5);
    expect(kept.map((i) => i.id)).toEqual(['0', '4', '8', '12', '16']);
    expect(limitItems(items, 2).map((i) => i.label)).toEqual([0, 1]);
    expect(limitItems(items, 50)).toBe(items);
  });

  test('Sensum: a category is the mean over folds per seed; the dataset mean is over categories per seed', () => {
    const rec = (category: string, seedIndex: number, fold: number, v: number): RunRecord => ({
      run: '',
      category,
      seedIndex,
      seed: 0,
      fold,
      dataset: '',
      metrics: { imageAuroc: v, imageAp: v, pixelAuroc: v, pixelAp: v, aupro: v, segImageAuroc: v, segImageAp: v },
      counts: { train: 0, test: 0 },
      threshold: null,
      seconds: { train: 0, eval: 0 },
    });
    const records = [
      rec('capsule', 0, 0, 0.9),
      rec('capsule', 0, 1, 0.8),
      rec('capsule', 0, 2, 0.7),
      rec('capsule', 1, 0, 1),
      rec('capsule', 1, 1, 1),
      rec('capsule', 1, 2, 1),
      rec('softgel', 0, 0, 0.6),
      rec('softgel', 0, 1, 0.6),
      rec('softgel', 0, 2, 0.6),
    ];
    const rows = aggregate('sensum', ['capsule', 'softgel'], 2, records);
    expect(rows.capsule.aupro?.mean).toBeCloseTo(0.9, 12);
    expect(rows.capsule.aupro?.std).toBeCloseTo(0.1, 12);
    // Only seed 0 has both categories: (0.8 + 0.6) / 2.
    expect(rows.mean.aupro).toEqual({ mean: expect.closeTo(0.7, 12), std: 0, n: 1 });
    const table = summaryTable(
      { dataset: 'sensum', rows, paper: { capsule: { aupro: [94, 1.01] } }, runs: { done: 0, skipped: 0, total: 0 }, seconds: 0 },
      ['aupro'],
    );
    expect(table.rows[0]).toEqual(['capsule', '90.0±10.00', '94.0±1.01', '-4.0']);
  });

  test('recipes follow the paper per dataset', () => {
    // Data with defects: the setting (supervised, mixed or weak) and its Perlin threshold come from the masks.
    const ksdd2 = recipeFor('ksdd2', '', false);
    expect(ksdd2).toMatchObject({ imageSize: [640, 232], seed: 456654, clipGradNorm: 1 });
    expect(ksdd2.setting).toBeUndefined();
    expect(ksdd2.perlinThreshold).toBeUndefined();
    expect(recipeFor('sensum', 'softgel', false).imageSize).toEqual([144, 144]);
    expect(recipeFor('visa', 'pcb1', false)).toMatchObject({ perlinThreshold: 0.6, overlap: true });
    expect(recipeFor('mt', '', true).setting).toBeUndefined();
    expect(recipeFor('mt', '', false).setting).toBe('unsupervised');
  });
});
