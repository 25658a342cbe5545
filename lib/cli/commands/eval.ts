/**
 * `ssn eval`: scores the test split of a benchmark layout with a saved model as the official evaluation
 * does and writes result.json, report.md and a self-contained report.html.
 */
import * as path from 'node:path';

import { type Command, Option } from 'commander';

import { checkDatasetKind, DATASET_KINDS, loadLayout, type LayoutOptions } from '../../data/layouts';
import { evaluateSplit, type EvalMetrics } from '../../eval/evaluate';
import { pct, storedThresholdText, writeReports } from '../../eval/report';
import type { Device } from '../../types';
import { requireFile } from '../files';
import { formatTable, parsePositiveInt, UsageError } from '../format';
import { deviceOption } from '../options';
import { log, printJson, printResult } from '../output';
import { modelClass } from '../runtime';

export interface DatasetCliOptions {
  dataset: string;
  root: string;
  category?: string;
  fold?: string;
  split?: string;
  ratio?: string;
  supervised?: boolean;
  splitSeed?: string;
}

interface EvalCliOptions extends DatasetCliOptions {
  out?: string;
  batchSize: string;
  device: Device;
  json?: boolean;
}

/** The options naming a dataset, shared with `ssn benchmark`. */
export function addDatasetOptions(command: Command, withCategory = true): Command {
  command
    .addOption(new Option('--dataset <kind>', 'the dataset layout').choices(DATASET_KINDS).makeOptionMandatory())
    .requiredOption('--root <dir>', 'the dataset root folder')
    .option('--split <n>', 'ksdd2: use split_weakly_<n>.pyb / split_<n>.pyb (the official split is 246)')
    .option('--ratio <percent>', 'sensum: training positives with masks, pos_<percent>.pckl (default 100)')
    .option('--supervised', 'mt: supervised split (half of each defect class in train)')
    .option('--split-seed <n>', 'mt: seed of the split', '42');
  if (withCategory)
    command.option('--category <name>', 'the category (mvtec, visa, sensum)').option('--fold <k>', 'sensum: the fold 0, 1 or 2', '0');
  return command;
}

function parseNonNegativeInt(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`Expected ${option} to be a non-negative integer but received '${text}'.`);
  return Number(text);
}

export function layoutOptions(opts: DatasetCliOptions): LayoutOptions {
  return {
    category: opts.category,
    fold: parseNonNegativeInt(opts.fold, '--fold'),
    split: parseNonNegativeInt(opts.split, '--split'),
    ratio: parseNonNegativeInt(opts.ratio, '--ratio'),
    supervised: opts.supervised ?? false,
    seed: parseNonNegativeInt(opts.splitSeed, '--split-seed'),
  };
}

/** A folder name for a dataset split name ('mvtec/bottle' -> 'mvtec-bottle'). */
export function slug(name: string): string {
  return (
    name
      .replace(/^folder:.*$/, 'folder')
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'dataset'
  );
}

export const METRIC_COLUMNS: Array<[keyof EvalMetrics, string]> = [
  ['imageAuroc', 'I-AUROC'],
  ['aupro', 'AUPRO'],
  ['imageAp', 'AP-det'],
  ['pixelAp', 'AP-loc'],
  ['pixelAuroc', 'P-AUROC'],
];

export function register(program: Command): void {
  const command = program
    .command('eval')
    .description('score the test split of a benchmark dataset with a saved model; writes JSON, markdown and HTML reports')
    .argument('<model>', 'the model file (.safetensors from ssn train or ssn import)');
  addDatasetOptions(command)
    .option('--out <dir>', 'output folder (default: ssn-eval/<dataset>)')
    .option('--batch-size <n>', 'images per inference call', '8')
    .option('--json', 'print result.json on stdout')
    .addOption(deviceOption())
    .action((modelFile: string, opts: EvalCliOptions) => runEval(modelFile, opts));
}

async function runEval(modelFile: string, opts: EvalCliOptions): Promise<void> {
  const batchSize = parsePositiveInt(opts.batchSize, '--batch-size');
  const kind = checkDatasetKind(opts.dataset);
  const layout = layoutOptions(opts);
  await requireFile(modelFile, 'the model', 'Make one with `ssn train` or `ssn import`.');
  const split = await loadLayout(kind, opts.root, layout);
  const out = opts.out ?? path.join('ssn-eval', slug(split.name));
  log(`${split.name}: ${split.test.length} test images`);
  const model = await modelClass().load(modelFile, { device: opts.device, logger: log });
  try {
    let last = 0;
    const run = await evaluateSplit(model, split, {
      batchSize,
      onProgress: (done, total) => {
        if (done === total || Date.now() - last > 5000) {
          last = Date.now();
          log(`scored ${done}/${total}`);
        }
      },
    });
    const files = await writeReports(run, out);
    if (opts.json) {
      printJson(run.result);
      return;
    }
    const r = run.result;
    printResult(
      formatTable(
        ['dataset', ...METRIC_COLUMNS.map(([, l]) => l), 'threshold'],
        [[r.dataset, ...METRIC_COLUMNS.map(([k]) => pct(r.metrics[k])), r.threshold ? r.threshold.value.toFixed(4) : '-']],
        METRIC_COLUMNS.map(([, l]) => l).concat('threshold'),
      ),
    );
    if (r.calibrated) printResult(storedThresholdText(r.calibrated));
    for (const n of r.notes) log(`note: ${n}`);
    log(`wrote ${files.json}, ${files.markdown}, ${files.html}`);
  } finally {
    model.dispose();
  }
}
