/**
 * `ssn import`: build a model from a backbone checkpoint and (optionally) trained heads, and save it as
 * one .safetensors bundle that `ssn predict` and SuperSimpleNet.load() read.
 */
import * as path from 'node:path';

import { type Command, Option } from 'commander';

import type { BackboneArch, CreateOptions, Device, HeadsSpec } from '../../types';
import { defaultBackbonePath } from '../../weights';
import { parseSize, UsageError } from '../format';
import { ensureDir, requireFile } from '../files';
import { BACKBONE_ARCHS, MODEL_VARIANTS } from '../../constants';
import { deviceOption } from '../options';
import { log, printResult } from '../output';
import { modelClass } from '../runtime';

interface ImportOptions {
  arch: BackboneArch;
  backbone?: string;
  weights?: string;
  format: NonNullable<HeadsSpec['format']>;
  variant: NonNullable<HeadsSpec['variant']>;
  size: string;
  output: string;
  device: Device;
  seed?: string;
}

export function register(program: Command): void {
  program
    .command('import')
    .description('build a model from a backbone checkpoint and optional trained heads, and save it')
    .addOption(new Option('--arch <arch>', 'backbone architecture').choices(BACKBONE_ARCHS).makeOptionMandatory())
    .option(
      '--backbone <file>',
      'backbone weights: torchvision .pth/.pt, .safetensors or TF.js model.json (resnet50-keras: default backbone when omitted)',
    )
    .option(
      '--weights <file>',
      'trained heads: official weights.pt or an anomalib checkpoint (default: untrained heads, official initialisation)',
    )
    .addOption(new Option('--format <format>', 'format of --weights').choices(['official', 'anomalib', 'auto']).default('auto'))
    .addOption(
      new Option('--variant <variant>', 'which published model --weights are: icpr (2024) or jims (2025; cannot be read off the file)')
        .choices(MODEL_VARIANTS)
        .default('icpr'),
    )
    .option('--size <HxW>', 'model input size, HEIGHTxWIDTH or one number', '256x256')
    .requiredOption('-o, --output <file>', 'the model file to write (.safetensors)')
    .option('--seed <n>', 'seed of the heads initialisation when --weights is not given', '0')
    .addOption(deviceOption())
    .action((opts: ImportOptions) => runImport(opts));
}

async function runImport(opts: ImportOptions): Promise<void> {
  const imageSize = parseSize(opts.size);
  const seed = Number(opts.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new UsageError(`Expected --seed to be a non-negative integer but received '${opts.seed}'.`, 'For example --seed 42.');
  }
  if (opts.weights === undefined && opts.variant !== 'icpr') {
    throw new UsageError(`--variant ${opts.variant} describes --weights, which was not given.`, 'Add --weights FILE or drop --variant.');
  }
  if (opts.weights === undefined && opts.format !== 'auto') {
    throw new UsageError(`--format ${opts.format} describes --weights, which was not given.`, 'Add --weights FILE or drop --format.');
  }

  let backbone = opts.backbone;
  if (backbone === undefined) {
    if (opts.arch !== 'resnet50-keras') {
      throw new UsageError(
        `--arch ${opts.arch} needs --backbone FILE.`,
        'Only --arch resnet50-keras has a default backbone (fetched into the cache on first use).',
      );
    }
    backbone = await defaultBackbonePath({ logger: log });
    log(`backbone: default Keras ResNet50 (ImageNet) from ${backbone}`);
  } else {
    await requireFile(backbone, 'the backbone weights (--backbone)');
  }

  let heads: HeadsSpec | undefined;
  if (opts.weights !== undefined) {
    await requireFile(opts.weights, 'the head weights (--weights)');
    heads = { weights: opts.weights, format: opts.format, variant: opts.variant };
  } else {
    log(`heads: no --weights given, so the heads get the official initialisation (seed ${seed}); train them before use`);
  }

  const create: CreateOptions = {
    backbone: { arch: opts.arch, weights: backbone },
    heads,
    imageSize,
    device: opts.device,
    seed,
    logger: log,
  };
  const model = await modelClass().create(create);
  try {
    await ensureDir(path.dirname(path.resolve(opts.output)), '-o');
    await model.save(opts.output);
    const info = await model.info();
    log(
      `saved ${opts.output}: ${info.variant} model, ${info.backbone.arch} backbone, ${info.imageSize[0]}x${info.imageSize[1]}, ` +
        `${info.parameters.backbone + info.parameters.heads} parameters, heads ${info.headsTrained ? 'trained' : 'untrained'}`,
    );
  } finally {
    model.dispose();
  }
  printResult(opts.output);
}
