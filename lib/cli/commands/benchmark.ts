/**
 * `ssn benchmark`: trains and evaluates every category of a benchmark dataset with the paper's recipe,
 * prints mean ± std beside the paper's numbers, and resumes an interrupted run from its output folder.
 */
import * as path from 'node:path';

import { type Command, Option } from 'commander';

import { categoriesOf, checkDatasetKind } from '../../data/layouts';
import { runBenchmark, summaryTable, type BenchModel } from '../../eval/benchmark';
import { headlineMetrics, type Recipe } from '../../eval/paper';
import { BACKBONE_ARCHS, MODEL_VARIANTS } from '../../constants';
import { DEFAULT_BACKBONE, type BackboneArch, type CreateOptions, type Device, type ModelVariant, type Precision } from '../../types';
import { formatTable, parsePositiveInt, parsePositiveNumber, parseSize, UsageError } from '../format';
import { deviceOption, trainPrecisionOption } from '../options';
import { log, printResult } from '../output';
import { modelClass } from '../runtime';
import { addDatasetOptions, layoutOptions, type DatasetCliOptions } from './eval';

interface BenchmarkCliOptions extends DatasetCliOptions {
  categories: string;
  seeds: string;
  epochs?: string;
  maxMinutes?: string;
  precision?: 'auto' | Precision;
  noiseStd?: string;
  batchSize?: string;
  limit?: string;
  size?: string;
  backbone?: string;
  backboneWeights?: string;
  randomBackbone?: boolean;
  variant: ModelVariant;
  out?: string;
  saveModels?: boolean;
  reports: boolean;
  device: Device;
}

export function register(program: Command): void {
  const command = program
    .command('benchmark')
    .description("train and evaluate every category of a benchmark dataset with the paper's recipe; compare with the paper; resumable");
  addDatasetOptions(command, false)
    .option('--categories <list>', "'all' or a comma-separated list", 'all')
    .option('--seeds <n>', 'runs per category (seeds recipe seed + 0..n-1)', '1')
    .option('--epochs <n>', "override the recipe's 300 epochs (smoke runs)")
    .option('--max-minutes <n>', "size each run's schedule (epochs, LR milestones) to this budget from a measured warm-up")
    .addOption(trainPrecisionOption())
    .option('--noise-std <s>', "override the feature noise's standard deviation (paper: 0.015 for wide_resnet50_2)")
    .option('--batch-size <n>', "override the recipe's batch size of 32")
    .option('--limit <n>', 'at most n train and n test images per run (smoke runs)')
    .option('--size <HxW>', "override the recipe's image size")
    .option('--backbone <arch>', `backbone architecture (${BACKBONE_ARCHS.join(', ')}); default ${DEFAULT_BACKBONE}`)
    .option('--backbone-weights <file>', 'backbone weights for --backbone')
    .option('--random-backbone', 'randomly initialised backbone (smoke runs and timing only)')
    .addOption(
      new Option('--variant <variant>', 'icpr (2024) or jims (2025 extension, with its mask recipe on defect data)')
        .choices([...MODEL_VARIANTS])
        .default('icpr'),
    )
    .option('--out <dir>', 'output folder; rerun with the same folder to resume (default: ssn-benchmark/<dataset>)')
    .option('--save-models', 'keep every trained model under <out>/models')
    .option('--no-reports', 'skip the per-run HTML and markdown reports')
    .addOption(deviceOption())
    .action((opts: BenchmarkCliOptions) => runBenchmarkCommand(opts));
}

function backboneOf(opts: BenchmarkCliOptions): CreateOptions['backbone'] {
  if (opts.backbone === undefined) {
    if (opts.randomBackbone || opts.backboneWeights)
      throw new UsageError('--random-backbone and --backbone-weights need --backbone <arch>.');
    return DEFAULT_BACKBONE;
  }
  if (!(BACKBONE_ARCHS as readonly string[]).includes(opts.backbone)) {
    throw new UsageError(`Expected --backbone ${BACKBONE_ARCHS.join('|')} but received '${opts.backbone}'.`);
  }
  if (!opts.randomBackbone && !opts.backboneWeights) {
    throw new UsageError(`--backbone ${opts.backbone} needs --backbone-weights <file> or --random-backbone.`);
  }
  return { arch: opts.backbone as BackboneArch, weights: opts.backboneWeights, random: opts.randomBackbone ?? false };
}

async function runBenchmarkCommand(opts: BenchmarkCliOptions): Promise<void> {
  const kind = checkDatasetKind(opts.dataset);
  const all = categoriesOf(kind);
  const categories =
    opts.categories === 'all'
      ? [...all]
      : opts.categories
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean);
  const seeds = parsePositiveInt(opts.seeds, '--seeds');
  const epochs = opts.epochs === undefined ? undefined : parsePositiveInt(opts.epochs, '--epochs');
  const maxMinutes = opts.maxMinutes === undefined ? undefined : parsePositiveNumber(opts.maxMinutes, '--max-minutes');
  if (epochs !== undefined && maxMinutes !== undefined) throw new UsageError('Give --epochs or --max-minutes, not both.');
  const noiseStd = opts.noiseStd === undefined ? undefined : parsePositiveNumber(opts.noiseStd, '--noise-std');
  const batchSize = opts.batchSize === undefined ? undefined : parsePositiveInt(opts.batchSize, '--batch-size');
  const limit = opts.limit === undefined ? undefined : parsePositiveInt(opts.limit, '--limit');
  const imageSize = opts.size === undefined ? undefined : parseSize(opts.size);
  const backbone = backboneOf(opts);
  const out = opts.out ?? path.join('ssn-benchmark', kind);
  const Model = modelClass();
  const summary = await runBenchmark({
    kind,
    root: opts.root,
    categories,
    seeds,
    epochs,
    maxMinutes,
    precision: opts.precision,
    noiseStd,
    batchSize,
    limit,
    imageSize,
    layout: layoutOptions(opts),
    out,
    saveModels: opts.saveModels ?? false,
    reports: opts.reports,
    log,
    describe: { backbone, variant: opts.variant },
    createModel: async (recipe: Recipe, seed: number) =>
      (await Model.create({
        backbone,
        variant: opts.variant,
        imageSize: recipe.imageSize,
        device: opts.device,
        seed,
        logger: log,
      })) as unknown as BenchModel,
    loadModel: async (file: string) => (await Model.load(file, { device: opts.device, logger: log })) as unknown as BenchModel,
  });
  const { header, rows } = summaryTable(summary, headlineMetrics(kind));
  printResult(formatTable(header, rows, header.slice(1)));
  log(
    `${summary.runs.done} runs done, ${summary.runs.skipped} skipped (finished before), ${summary.seconds.toFixed(1)} s; ` +
      `wrote ${path.join(out, 'summary.md')}`,
  );
}
