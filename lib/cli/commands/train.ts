/**
 * `ssn train`: trains SuperSimpleNet's heads on a folder (good/, defect/, masks/; lib/data/folder.ts) with
 * the default Keras ResNet50 backbone, the paper's recipe and the given overrides. Progress goes to stderr,
 * Ctrl-C stops cleanly after the current step (the last checkpoint stays), the summary ends on stdout.
 */
import { type Command, Option } from 'commander';

import { MODEL_VARIANTS, TRAIN_SETTINGS } from '../../constants';
import { loadFolderItems } from '../../data/folder';
import { SsnError } from '../../errors';
import type { Device, ModelVariant, Precision, TrainOptions, TrainSetting, TrainSummary } from '../../types';
import { fixed, parsePositiveInt, parsePositiveNumber, parseSize, UsageError } from '../format';
import { deviceOption, trainPrecisionOption } from '../options';
import { log, printResult } from '../output';
import { formatDuration, progressReporter, scheduleLine } from '../progress';
import { type CliModel, modelClass } from '../runtime';

interface TrainCliOptions {
  data: string;
  out: string;
  setting?: TrainSetting;
  variant: ModelVariant;
  epochs?: string;
  maxMinutes?: string;
  precision: 'auto' | Precision;
  size: string;
  batchSize?: string;
  seed?: string;
  checkpointEvery?: string;
  checkpoint?: string;
  resume?: string;
  device: Device;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a model on a folder of images (good/, optionally defect/ and masks/)')
    .requiredOption('--data <dir>', 'dataset folder: good/ (normal images), defect/ and masks/ (optional)')
    .requiredOption('-o, --out <model>', 'where to write the trained model (.safetensors)')
    .addOption(
      new Option(
        '--setting <setting>',
        'supervision regime (default: from the data: no defect/ -> unsupervised; every defect masked -> supervised; some -> mixed; none -> weak)',
      ).choices([...TRAIN_SETTINGS]),
    )
    .addOption(
      new Option(
        '--variant <variant>',
        'the model: icpr (2024) or jims (2025 extension, with its mask recipe); a resumed run keeps its own',
      )
        .choices([...MODEL_VARIANTS])
        .default('icpr'),
    )
    .option('--epochs <n>', 'training epochs (paper: 300)')
    .option('--max-minutes <n>', 'size the schedule (epochs, LR milestones) to this wall-clock budget from a measured warm-up')
    .addOption(trainPrecisionOption())
    .option('--size <HxW>', 'model input size', '256x256')
    .option('--batch-size <n>', 'images per step (paper: 32)')
    .option('--seed <n>', 'seed of shuffling, Perlin masks and noise (paper: 42 / 456654)')
    .option('--checkpoint-every <n>', 'write a checkpoint (model + training state) every n epochs')
    .option('--checkpoint <file>', 'checkpoint file (default: <out>.ckpt.safetensors)')
    .option('--resume <ckpt>', 'continue an interrupted run from its checkpoint')
    .addOption(deviceOption())
    .action((opts: TrainCliOptions) => runTrain(opts));
}

function trainOptions(opts: TrainCliOptions): TrainOptions {
  const out: TrainOptions = {};
  if (opts.epochs !== undefined && opts.maxMinutes !== undefined) throw new UsageError('Give --epochs or --max-minutes, not both.');
  if (opts.epochs !== undefined) out.epochs = parsePositiveInt(opts.epochs, '--epochs');
  if (opts.maxMinutes !== undefined) out.maxMinutes = parsePositiveNumber(opts.maxMinutes, '--max-minutes');
  out.precision = opts.precision;
  if (opts.batchSize !== undefined) out.batchSize = parsePositiveInt(opts.batchSize, '--batch-size');
  if (opts.seed !== undefined) {
    if (!/^\s*\d+\s*$/.test(opts.seed)) throw new UsageError(`Expected --seed to be an integer >= 0 but received '${opts.seed}'.`);
    out.seed = Number(opts.seed);
  }
  if (opts.checkpointEvery !== undefined) {
    out.checkpoint = {
      path: opts.checkpoint ?? opts.out.replace(/(\.safetensors)?$/, '.ckpt.safetensors'),
      everyEpochs: parsePositiveInt(opts.checkpointEvery, '--checkpoint-every'),
    };
  } else if (opts.checkpoint !== undefined) {
    throw new UsageError('--checkpoint needs --checkpoint-every.', 'For example --checkpoint-every 10.');
  }
  return out;
}

async function runTrain(opts: TrainCliOptions): Promise<void> {
  const [height, width] = parseSize(opts.size);
  const options = trainOptions(opts);
  const all = await loadFolderItems(opts.data);
  // Unsupervised training learns from normal images only: defect/ is left out then.
  const items = opts.setting === 'unsupervised' ? all.filter((item) => item.label === 0) : all;
  const normal = items.filter((item) => item.label === 0).length;
  const defects = items.filter((item) => item.label === 1);
  const masked = defects.filter((item) => item.mask !== undefined).length;
  log(
    `${opts.data}: ${normal} normal` +
      (defects.length > 0 ? ` and ${defects.length} defect (${masked} with masks)` : '') +
      ' training images' +
      (all.length > items.length ? ` (${all.length - items.length} in defect/ left out by --setting unsupervised)` : ''),
  );
  if (opts.setting !== undefined) options.setting = opts.setting;

  const started = Date.now();
  const Model = modelClass();
  let model: CliModel;
  if (opts.resume !== undefined) {
    // The checkpoint holds the whole model (backbone, heads, training state): continue it as it is.
    model = await Model.load(opts.resume, { device: opts.device, logger: log });
    const info = await model.info();
    if (info.imageSize[0] !== height || info.imageSize[1] !== width) {
      if (opts.size !== '256x256') {
        throw new UsageError(
          `--size ${height}x${width} differs from the checkpoint's ${info.imageSize.join('x')}.`,
          'Leave --size out when resuming.',
        );
      }
    }
  } else {
    model = await Model.create({ imageSize: [height, width], variant: opts.variant, device: opts.device, logger: log });
  }

  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130); // a second Ctrl-C: leave at once
    log('\nstopping after the current step (Ctrl-C again to quit at once)...');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const progress = progressReporter();
  let summary: TrainSummary;
  try {
    summary = await model.train(items, { ...options, signal: controller.signal, onProgress: (p) => progress.report(p) });
    progress.done();
    await model.save(opts.out);
  } catch (e) {
    progress.done();
    if (e instanceof SsnError && e.code === 'ERR_SSN_ABORTED') {
      const ckpt = options.checkpoint?.path;
      throw new SsnError(
        'ERR_SSN_ABORTED',
        `Training stopped: ${e.message}`,
        ckpt
          ? `The last checkpoint is ${ckpt}; continue with the same options and --resume ${ckpt}.`
          : 'Nothing was saved: use --checkpoint-every to be able to resume.',
      );
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    model.dispose();
  }
  const wall = (Date.now() - started) / 1000;
  const rate = summary.seconds > 0 ? summary.images / summary.seconds : 0;
  printResult(
    [
      `trained ${summary.epochs} epochs (${summary.steps} steps, ${summary.images} images${summary.resumed ? ', resumed' : ''}) ` +
        `in ${formatDuration(summary.seconds)}: ${rate.toFixed(1)} images/s` +
        (summary.cachedFeatures ? `, backbone features cached in ${formatDuration(summary.cacheSeconds)}` : ''),
      `setting ${summary.setting} (${summary.settingReason})`,
      scheduleLine(summary),
      `final loss ${fixed(summary.loss)} (l1 ${fixed(summary.truncatedL1)}, map ${fixed(summary.focalMap)}, score ${fixed(summary.focalScore)})`,
      `model written to ${opts.out}${options.checkpoint ? `, checkpoints to ${options.checkpoint.path}` : ''}; total ${formatDuration(wall)}`,
    ].join('\n'),
  );
}
