/**
 * The paper's protocol over a whole dataset: for every category (Sensum: every fold) and seed, train a new
 * model with the dataset's recipe (spec §8), evaluate its test split (spec §10), and compare mean ± std
 * with the paper (spec §11). Each finished run is one JSON file under <out>/runs, written atomically, so
 * an interrupted benchmark resumes where it stopped: finished runs are skipped, the unfinished one starts
 * again (from its last training checkpoint when the model wrote one).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { DatasetItem, DatasetSplit } from '../data/dataset';
import { categoriesOf, loadLayout, type DatasetKind, type LayoutOptions } from '../data/layouts';
import { SENSUM_FOLDS } from '../data/sensum';
import { SsnError } from '../errors';
import { evaluateSplit, type EvalMetrics, type EvalModel } from './evaluate';
import { headlineMetrics, paperRow, recipeFor, type PaperRow, type Recipe } from './paper';
import { writeAtomic } from '../atomic_write';
import { pct, writeReports } from './report';
import type { Precision, TrainSummary } from '../types';

/** What the benchmark needs of a model: SuperSimpleNet with train(). */
export interface BenchModel extends EvalModel {
  train(
    dataset: DatasetItem[],
    options: Record<string, unknown>,
  ): Promise<Pick<TrainSummary, 'epochs' | 'config' | 'precisionReason' | 'budget'>>;
  save(file: string): Promise<void>;
  dispose(): unknown;
}

export interface BenchmarkOptions {
  kind: DatasetKind;
  root: string;
  /** Default: every category of the dataset. */
  categories?: string[];
  /** Runs per category, seeds recipe.seed + 0 .. seeds - 1. Default 1. */
  seeds?: number;
  /** Overrides the recipe's 300 epochs (smoke runs). */
  epochs?: number;
  /** Overrides the recipe's batch size of 32. */
  batchSize?: number;
  /** Sizes each run's schedule to this many minutes (replaces epochs; see TrainOptions.maxMinutes). */
  maxMinutes?: number;
  /** Training precision (TrainOptions.precision). Default 'auto'. */
  precision?: 'auto' | Precision;
  /** Overrides the feature-noise standard deviation (TrainOptions.noiseStd; the paper tuned 0.015 for WRN50). */
  noiseStd?: number;
  /** Keeps at most this many train and this many test images per run (class shares kept): smoke runs. */
  limit?: number;
  /** Overrides the recipe's image size (e.g. a tiny smoke configuration). */
  imageSize?: [number, number];
  layout?: LayoutOptions;
  out: string;
  /** A new model for a run: the recipe's image size, the run's seed. */
  createModel(recipe: Recipe, seed: number): Promise<BenchModel>;
  /**
   * A model written by train()'s checkpoint (backbone, heads and training state), to continue an
   * interrupted run. Without it an interrupted run starts again from scratch.
   */
  loadModel?(file: string): Promise<BenchModel>;
  /** Also keep each trained model as <out>/models/<run>.safetensors. */
  saveModels?: boolean;
  /** Per-run HTML/markdown reports under <out>/reports/<run>. Default true. */
  reports?: boolean;
  evalBatchSize?: number;
  log?: (line: string) => void;
  /** Anything the caller wants recorded in benchmark.json (the backbone, device...). */
  describe?: Record<string, unknown>;
}

export interface RunRecord {
  run: string;
  category: string;
  seedIndex: number;
  seed: number;
  fold: number | null;
  dataset: string;
  metrics: EvalMetrics;
  counts: { train: number; test: number };
  threshold: number | null;
  seconds: { train: number; eval: number };
  /** What the run trained: epochs (as sized by a budget), precision and why, the warm-up measurement. */
  training?: { epochs: number; milestones: unknown; precision: unknown; precisionReason: string; budget?: TrainSummary['budget'] };
}

export type MetricStats = Partial<Record<keyof EvalMetrics, { mean: number; std: number; n: number }>>;

export interface BenchmarkSummary {
  dataset: DatasetKind;
  /** Per category, and 'mean' (over categories per seed, then over seeds). Values in [0, 1]. */
  rows: Record<string, MetricStats>;
  paper: Record<string, PaperRow | undefined>;
  runs: { done: number; skipped: number; total: number };
  seconds: number;
}

interface Unit {
  run: string;
  category: string;
  seedIndex: number;
  fold?: number;
}

export const SUMMARY_METRICS: Array<[keyof EvalMetrics, string]> = [
  ['imageAuroc', 'I-AUROC'],
  ['aupro', 'AUPRO'],
  ['imageAp', 'AP-det'],
  ['pixelAp', 'AP-loc'],
  ['pixelAuroc', 'P-AUROC'],
  ['segImageAuroc', 'seg-I-AUROC'],
  ['segImageAp', 'seg-AP-det'],
];

function units(kind: DatasetKind, categories: string[], seeds: number): Unit[] {
  const out: Unit[] = [];
  for (const category of categories) {
    for (let s = 0; s < seeds; s++) {
      const folds: Array<number | undefined> = kind === 'sensum' ? [...SENSUM_FOLDS] : [undefined];
      for (const fold of folds) {
        const name = `${category || kind}-seed${s}${fold === undefined ? '' : `-fold${fold}`}`;
        out.push({ run: name, category, seedIndex: s, fold });
      }
    }
  }
  return out;
}

/** At most n items, evenly spaced within each label so that both classes (and their order) survive. */
export function limitItems(items: DatasetItem[], n: number | undefined): DatasetItem[] {
  if (n === undefined || items.length <= n) return items;
  const byLabel = [items.filter((i) => i.label === 0), items.filter((i) => i.label === 1)];
  const present = byLabel.filter((g) => g.length > 0);
  let quota = present.map((g) => Math.max(1, Math.round((n * g.length) / items.length)));
  while (quota.reduce((a, b) => a + b, 0) > Math.max(n, present.length)) {
    const k = quota.indexOf(Math.max(...quota));
    quota[k]--;
  }
  quota = quota.map((q, k) => Math.min(q, present[k].length));
  const keep = new Set<DatasetItem>();
  present.forEach((g, k) => {
    for (let j = 0; j < quota[k]; j++) keep.add(g[Math.floor((j * g.length) / quota[k])]);
  });
  return items.filter((i) => keep.has(i));
}

async function readRecord(file: string): Promise<RunRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as RunRecord;
  } catch {
    return undefined; // absent (or, impossible with atomic writes, unreadable): the run is redone
  }
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkSummary> {
  const t0 = Date.now();
  const log = options.log ?? (() => undefined);
  const kind = options.kind;
  const all = categoriesOf(kind);
  const categories = options.categories ?? [...all];
  for (const c of categories) {
    if (!all.includes(c)) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        `Expected categories of ${kind} (${all.filter(Boolean).join(', ') || 'none'}) but received '${c}'`,
        'Use --categories all or a comma-separated list of categories.',
      );
    }
  }
  const seeds = options.seeds ?? 1;
  const plan = units(kind, categories, seeds);
  const out = options.out;
  const settings = {
    dataset: kind,
    root: path.resolve(options.root),
    layout: options.layout ?? {},
    epochs: options.epochs ?? null,
    batchSize: options.batchSize ?? null,
    ...(options.maxMinutes !== undefined ? { maxMinutes: options.maxMinutes } : {}),
    ...(options.precision !== undefined ? { precision: options.precision } : {}),
    ...(options.noiseStd !== undefined ? { noiseStd: options.noiseStd } : {}),
    limit: options.limit ?? null,
    imageSize: options.imageSize ?? null,
    ...options.describe,
  };
  await checkSettings(path.join(out, 'benchmark.json'), settings);

  let done = 0;
  let skipped = 0;
  const records: RunRecord[] = [];
  for (const [i, unit] of plan.entries()) {
    const file = path.join(out, 'runs', `${unit.run}.json`);
    const existing = await readRecord(file);
    if (existing) {
      skipped++;
      records.push(existing);
      log(`[${i + 1}/${plan.length}] ${unit.run}: done before, skipped`);
      continue;
    }
    log(`[${i + 1}/${plan.length}] ${unit.run}: training`);
    const record = await runUnit(unit, options, log);
    await writeAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
    records.push(record);
    done++;
    log(
      `[${i + 1}/${plan.length}] ${unit.run}: ${headlineMetrics(kind)
        .map((m) => `${m} ${pct(record.metrics[m])}`)
        .join(', ')} ` + `(train ${record.seconds.train.toFixed(1)} s, eval ${record.seconds.eval.toFixed(1)} s)`,
    );
  }

  const summary: BenchmarkSummary = {
    dataset: kind,
    rows: aggregate(kind, categories, seeds, records),
    paper: Object.fromEntries([...categories, 'mean'].map((c) => [c || kind, paperRow(kind, c || 'mean')])),
    runs: { done, skipped, total: plan.length },
    seconds: (Date.now() - t0) / 1000,
  };
  await writeAtomic(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeAtomic(
    path.join(out, 'summary.md'),
    summaryMarkdown(
      summary,
      SUMMARY_METRICS.map(([k]) => k),
    ),
  );
  return summary;
}

async function checkSettings(file: string, settings: Record<string, unknown>): Promise<void> {
  const text = JSON.stringify(settings, null, 2);
  const before = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (before !== undefined && before.trim() !== text.trim()) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `The output folder ${path.dirname(file)} holds a benchmark with other settings (${file}).`,
      'Resume with the same options, or choose another --out folder.',
    );
  }
  if (before === undefined) await writeAtomic(file, `${text}\n`);
}

async function runUnit(unit: Unit, options: BenchmarkOptions, log: (line: string) => void): Promise<RunRecord> {
  const full: DatasetSplit = await loadLayout(options.kind, options.root, {
    ...options.layout,
    category: unit.category || undefined,
    fold: unit.fold,
  });
  const split: DatasetSplit = { ...full, train: limitItems(full.train, options.limit), test: limitItems(full.test, options.limit) };
  const recipe = recipeFor(options.kind, unit.category, options.layout?.supervised ?? false);
  if (options.imageSize) recipe.imageSize = options.imageSize;
  const seed = recipe.seed + unit.seedIndex;
  const checkpoint = path.join(options.out, 'work', `${unit.run}.checkpoint.safetensors`);
  const found = options.loadModel
    ? await fs.stat(checkpoint).then(
        () => true,
        () => false,
      )
    : false;
  let resume: string | undefined;
  let model: BenchModel | undefined;
  if (found && options.loadModel) {
    try {
      model = await options.loadModel(checkpoint);
      resume = checkpoint;
      log(`${unit.run}: continuing from ${checkpoint}`);
    } catch (e) {
      log(`${unit.run}: cannot continue from ${checkpoint} (${(e as Error).message}); starting again`);
    }
  }
  model ??= await options.createModel(recipe, seed);
  try {
    await fs.mkdir(path.dirname(checkpoint), { recursive: true });
    const t0 = Date.now();
    let lastLog = 0;
    const trained = await model.train(split.train, {
      ...(recipe.setting !== undefined ? { setting: recipe.setting } : {}),
      ...(recipe.perlinThreshold !== undefined ? { perlinThreshold: recipe.perlinThreshold } : {}),
      ...(options.maxMinutes !== undefined ? { maxMinutes: options.maxMinutes } : { epochs: options.epochs ?? recipe.epochs }),
      ...(options.precision !== undefined ? { precision: options.precision } : {}),
      ...(options.noiseStd !== undefined ? { noiseStd: options.noiseStd } : {}),
      batchSize: options.batchSize ?? recipe.batchSize,
      overlap: recipe.overlap,
      stopGrad: recipe.stopGrad,
      clipGradNorm: recipe.clipGradNorm,
      flips: recipe.flips,
      seed,
      checkpoint: { path: checkpoint },
      ...(resume ? { resume } : {}),
      onProgress: (p: { epoch: number; epochs: number; step: number; stepsPerEpoch: number; loss: number }) => {
        if (Date.now() - lastLog > 10000) {
          lastLog = Date.now();
          log(`${unit.run}: epoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)}`);
        }
      },
    });
    const trainSeconds = (Date.now() - t0) / 1000;
    log(
      `${unit.run}: trained ${trained.epochs} epochs` +
        (trained.budget ? ` (sized to ${options.maxMinutes} min: ${trained.budget.secondsPerStep.toFixed(2)} s per step)` : '') +
        `; precision ${trained.precisionReason}`,
    );
    const t1 = Date.now();
    const run = await evaluateSplit(model, split, { batchSize: options.evalBatchSize ?? 8 });
    if (options.reports ?? true) await writeReports(run, path.join(options.out, 'reports', unit.run), { examples: 6 });
    if (options.saveModels) await model.save(path.join(options.out, 'models', `${unit.run}.safetensors`));
    await fs.rm(checkpoint, { force: true });
    return {
      run: unit.run,
      category: unit.category,
      seedIndex: unit.seedIndex,
      seed,
      fold: unit.fold ?? null,
      dataset: split.name,
      metrics: run.result.metrics,
      counts: { train: split.train.length, test: split.test.length },
      threshold: run.result.threshold?.value ?? null,
      seconds: { train: trainSeconds, eval: (Date.now() - t1) / 1000 },
      training: {
        epochs: trained.epochs,
        milestones: trained.config.milestones,
        precision: trained.config.precision,
        precisionReason: trained.precisionReason,
        ...(trained.budget ? { budget: trained.budget } : {}),
      },
    };
  } finally {
    await model.dispose();
  }
}

function meanStd(values: number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  // Population std (numpy's default), over the per-seed values.
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
  return { mean, std, n };
}

function meanOf(values: Array<number | null>): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Per category: the per-seed values (Sensum: the mean over folds), then mean ± std over seeds. Overall: per
 * seed the mean over categories, then mean ± std over seeds (spec §10).
 */
export function aggregate(kind: DatasetKind, categories: string[], seeds: number, records: RunRecord[]): Record<string, MetricStats> {
  const rows: Record<string, MetricStats> = {};
  const perSeed = (category: string, seedIndex: number, metric: keyof EvalMetrics): number | null => {
    const rs = records.filter((r) => r.category === category && r.seedIndex === seedIndex);
    return rs.length === 0 ? null : meanOf(rs.map((r) => r.metrics[metric]));
  };
  for (const [metric] of SUMMARY_METRICS) {
    const overall: number[] = [];
    for (const c of categories) {
      const values = Array.from({ length: seeds }, (_, s) => perSeed(c, s, metric)).filter((v): v is number => v !== null);
      if (values.length > 0) {
        rows[c || kind] ??= {};
        rows[c || kind][metric] = meanStd(values);
      }
    }
    for (let s = 0; s < seeds; s++) {
      const m = meanOf(categories.map((c) => perSeed(c, s, metric)));
      if (m !== null) overall.push(m);
    }
    if (overall.length > 0 && categories.length > 1) {
      rows.mean ??= {};
      rows.mean[metric] = meanStd(overall);
    }
  }
  return rows;
}

function fmt(stats: { mean: number; std: number } | undefined): string {
  return stats ? `${pct(stats.mean)}±${pct(stats.std, 2)}` : '-';
}

function paperFmt(f: [number, number] | undefined): string {
  return f ? `${f[0].toFixed(1)}±${f[1].toFixed(2)}` : '-';
}

function delta(stats: { mean: number } | undefined, f: [number, number] | undefined): string {
  if (!stats || !f) return '-';
  const d = 100 * stats.mean - f[0];
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)}`;
}

/** Rows (categories, then the mean) x for each metric: ours, paper, difference (in points). */
export function summaryTable(s: BenchmarkSummary, metrics: Array<keyof EvalMetrics>): { header: string[]; rows: string[][] } {
  const label = (m: keyof EvalMetrics): string => SUMMARY_METRICS.find(([k]) => k === m)?.[1] ?? m;
  const header = ['category', ...metrics.flatMap((m) => [label(m), 'paper', 'diff'])];
  const rows = Object.entries(s.rows).map(([c, stats]) => [
    c,
    ...metrics.flatMap((m) => [fmt(stats[m]), paperFmt(s.paper[c]?.[m]), delta(stats[m], s.paper[c]?.[m])]),
  ]);
  return { header, rows };
}

export function summaryMarkdown(s: BenchmarkSummary, metrics: Array<keyof EvalMetrics>): string {
  const { header, rows } = summaryTable(s, metrics);
  return [
    `# Benchmark: ${s.dataset}`,
    '',
    `Mean ± std over seeds, in %; paper = SuperSimpleNet (ICPR 2024) mean ± std over 5 runs; diff in points. ` +
      `${s.runs.done} runs done now, ${s.runs.skipped} resumed from earlier, ${s.runs.total} in all; ${s.seconds.toFixed(1)} s.`,
    '',
    `| ${header.join(' | ')} |`,
    `|---|${header
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}
