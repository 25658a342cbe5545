/**
 * `ssn calibrate`: chooses a model's verdict thresholds from a folder of labelled images (good/, defect/,
 * masks/; lib/data/folder.ts) held out from training, stores them in the model file (replaced atomically,
 * or written to -o) and prints them with how they were chosen (lib/calibration.ts has the rules).
 */
import type { Command } from 'commander';

import { DEFAULT_CALIBRATION_QUANTILE } from '../../calibration';
import { loadFolderItems } from '../../data/folder';
import type { Calibration, Device } from '../../types';
import { requireFile } from '../files';
import { formatTable, parsePositiveInt, parsePositiveNumber, UsageError } from '../format';
import { deviceOption } from '../options';
import { log, printJson, printResult } from '../output';
import { modelClass } from '../runtime';

interface CalibrateCliOptions {
  data: string;
  quantile: string;
  out?: string;
  batchSize: string;
  json?: boolean;
  device: Device;
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description('choose the verdict thresholds of a model from labelled images and store them in the model file')
    .argument('<model>', 'the model file (.safetensors); replaced atomically unless -o is given')
    .requiredOption('--data <dir>', 'labelled images held out from training: good/, defect/ (optional), masks/ (optional)')
    .option(
      '--quantile <q>',
      "without defective images (or masks): the quantile of the normal images' scores " + 'and map maxima, in (0, 1]',
      String(DEFAULT_CALIBRATION_QUANTILE),
    )
    .option('-o, --out <model>', 'write the calibrated model here instead')
    .option('--batch-size <n>', 'images per inference call', '8')
    .option('--json', 'print the calibration as JSON')
    .addOption(deviceOption())
    .action((modelFile: string, opts: CalibrateCliOptions) => runCalibrate(modelFile, opts));
}

function parseQuantile(text: string): number {
  const q = parsePositiveNumber(text, '--quantile');
  if (q > 1)
    throw new UsageError(
      `Expected --quantile in (0, 1] but received '${text}'.`,
      `For example --quantile ${DEFAULT_CALIBRATION_QUANTILE}.`,
    );
  return q;
}

async function runCalibrate(modelFile: string, opts: CalibrateCliOptions): Promise<void> {
  const quantile = parseQuantile(opts.quantile);
  const batchSize = parsePositiveInt(opts.batchSize, '--batch-size');
  await requireFile(modelFile, 'the model', 'Make one with `ssn train` or `ssn import`.');
  const items = await loadFolderItems(opts.data);
  const out = opts.out ?? modelFile;
  const model = await modelClass().load(modelFile, { device: opts.device, logger: log });
  let calibration: Calibration;
  try {
    calibration = await model.calibrate(items, { quantile, batchSize });
    // The checkpoint of an interrupted run stays one: keep what a resume needs (the next train() clears
    // this calibration anyway).
    const training = (await model.info()).training as { finished?: unknown } | null;
    await model.save(out, { trainingState: training?.finished === false });
  } finally {
    model.dispose();
  }
  if (opts.json) {
    printJson(calibration);
    return;
  }
  printResult([...calibrationLines(calibration), `model written to ${out}`].join('\n'));
}

/** The thresholds and how they were chosen, as a few lines of text. */
export function calibrationLines(c: Calibration): string[] {
  const { normal, anomalous, masked } = c.counts;
  const q = c.quantile === undefined ? '' : String(c.quantile);
  const image =
    c.method === 'f1'
      ? `F1-max of the scores of ${normal} normal and ${anomalous} defective images`
      : `${q}-quantile of the scores of ${normal} normal images`;
  const pixel =
    c.pixelMethod === 'f1'
      ? `F1-max over the pixels of ${normal} normal and ${masked} masked defective images`
      : `${q}-quantile of the map maxima of ${normal} normal images` +
        (anomalous > 0 ? ` (no defective image has a mask marking a pixel)` : '');
  return [
    formatTable(
      ['threshold', 'value', 'chosen as', 'rule'],
      [
        ['image', c.imageThreshold.toPrecision(6), image, 'anomalous when score >= threshold'],
        ['pixel', c.pixelThreshold.toPrecision(6), pixel, 'defect pixel when map >= threshold'],
      ],
      ['value'],
    ),
    `map range ${c.mapRange.low.toPrecision(6)} .. ${c.mapRange.high.toPrecision(6)} (overlay colours: the pixel threshold at the middle)`,
  ];
}
