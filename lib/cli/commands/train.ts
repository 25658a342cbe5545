/**
 * `ssn train`: trains SuperSimpleNet's heads on a folder (good/, defect/, masks/; lib/data/folder.ts) with
 * the default Keras ResNet50 backbone, the paper's recipe and the given overrides. Progress goes to stderr,
 * Ctrl-C stops cleanly after the current step (the last checkpoint stays), the summary ends on stdout.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

import { type Command, Option } from 'commander';

import { MODEL_VARIANTS, TRAIN_SETTINGS } from '../../constants';
import { loadFolderItems } from '../../data/folder';
import {
  DEFAULT_DISTRIBUTED_TIMEOUT_SECONDS,
  DISTRIBUTED_BACKENDS,
  type DistributedBackend,
  distributedFromEnv,
  localRankFromEnv,
} from '../../distributed';
import { SsnError } from '../../errors';
import type { Device, ModelVariant, Precision, TrainOptions, TrainSetting, TrainSummary } from '../../types';
import { fixed, parsePositiveInt, parsePositiveNumber, parseSize, UsageError } from '../format';
import { deviceOption, trainPrecisionOption } from '../options';
import { launchWorkers, WORKER_ENV } from '../launcher';
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
  gradAccumulation?: string;
  nprocPerNode?: string;
  nnodes?: string;
  nodeRank?: string;
  masterAddr?: string;
  masterPort?: string;
  distBackend: DistributedBackend;
  distTimeout?: string;
  metrics?: string;
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
    .option('--metrics <file>', "append every step's progress (losses, rates, speed, wall time) to this file as JSON lines")
    .option('--resume <ckpt>', 'continue an interrupted run from its checkpoint (with any number of processes)')
    .option('--grad-accumulation <k>', 'split each step into k micro-batches per process, gradients accumulated (default 1)')
    .option('--nproc-per-node <n>', 'data-parallel training: start n worker processes here (torchrun-style); --batch-size stays global')
    .option('--nnodes <n>', 'nodes of a multi-node job (default 1)')
    .option('--node-rank <r>', "this node's rank in a multi-node job (default 0)")
    .option('--master-addr <addr>', 'address of the node with rank 0 (default MASTER_ADDR or 127.0.0.1)')
    .option('--master-port <port>', 'rendezvous port on that node (default MASTER_PORT, or a free port on one node)')
    .addOption(
      new Option('--dist-backend <backend>', 'c10d backend: auto (gloo on the CPU, nccl on CUDA), gloo or nccl')
        .choices([...DISTRIBUTED_BACKENDS])
        .default('auto'),
    )
    .option('--dist-timeout <s>', 'seconds a worker waits for the others before the job fails (default 300)')
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
  if (opts.gradAccumulation !== undefined) out.gradAccumulation = parsePositiveInt(opts.gradAccumulation, '--grad-accumulation');
  return out;
}

/** The launcher's job when this process starts workers instead of training (--nproc-per-node, --nnodes). */
function launchOptions(opts: TrainCliOptions, checkpoint: string | undefined): Parameters<typeof launchWorkers>[0] | undefined {
  if (process.env[WORKER_ENV] === '1') return undefined;
  const nprocPerNode = opts.nprocPerNode === undefined ? 1 : parsePositiveInt(opts.nprocPerNode, '--nproc-per-node');
  const nnodes = opts.nnodes === undefined ? 1 : parsePositiveInt(opts.nnodes, '--nnodes');
  if (nprocPerNode * nnodes === 1) {
    if (opts.nodeRank !== undefined || opts.masterAddr !== undefined || opts.masterPort !== undefined) {
      throw new UsageError('--node-rank, --master-addr and --master-port need --nproc-per-node or --nnodes above 1.');
    }
    return undefined;
  }
  const nodeRank = opts.nodeRank === undefined ? 0 : parseNonNegativeInt(opts.nodeRank, '--node-rank');
  if (nodeRank >= nnodes) throw new UsageError(`--node-rank ${nodeRank} must be below --nnodes ${nnodes}.`);
  const env = process.env;
  const masterPortText = opts.masterPort ?? env.MASTER_PORT;
  return {
    nprocPerNode,
    nnodes,
    nodeRank,
    masterAddr: opts.masterAddr ?? (env.MASTER_ADDR || undefined),
    masterPort: masterPortText === undefined ? undefined : parsePositiveInt(masterPortText, '--master-port'),
    backend: opts.distBackend,
    timeoutSeconds:
      opts.distTimeout === undefined ? DEFAULT_DISTRIBUTED_TIMEOUT_SECONDS : parsePositiveNumber(opts.distTimeout, '--dist-timeout'),
    checkpoint,
  };
}

function parseNonNegativeInt(text: string, option: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new UsageError(`Expected ${option} to be an integer >= 0 but received '${text}'.`);
  return Number(text);
}

async function runTrain(opts: TrainCliOptions): Promise<void> {
  const [height, width] = parseSize(opts.size);
  const options = trainOptions(opts);
  const launch = launchOptions(opts, options.checkpoint?.path);
  if (launch) {
    await launchWorkers(launch);
    return;
  }
  // A worker of ours, torchrun's or SLURM's: one rank of the job. Rank 0 speaks for it and writes the files.
  const distributed = distributedFromEnv();
  const rank = distributed?.rank ?? 0;
  if (distributed && distributed.worldSize > 1) {
    if (opts.distTimeout !== undefined) distributed.timeoutSeconds = parsePositiveNumber(opts.distTimeout, '--dist-timeout');
    if (process.env[WORKER_ENV] !== '1') distributed.backend = opts.distBackend;
    options.distributed = distributed;
    // One GPU per local rank, chosen before the addon first touches CUDA.
    const local = localRankFromEnv();
    if (local !== undefined && process.env.CUDA_VISIBLE_DEVICES === undefined && opts.device !== 'cpu') {
      process.env.CUDA_VISIBLE_DEVICES = String(local);
    }
  }
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
  const metrics = opts.metrics !== undefined && rank === 0 ? openSync(opts.metrics, 'a') : undefined;
  let summary: TrainSummary;
  try {
    summary = await model.train(items, {
      ...options,
      signal: controller.signal,
      ...(rank === 0
        ? {
            onProgress: (p) => {
              progress.report(p);
              if (metrics !== undefined) writeSync(metrics, `${JSON.stringify({ ...p, time: Date.now() / 1000 })}\n`);
            },
          }
        : {}),
    });
    progress.done();
    if (rank !== 0) return; // rank 0 writes the model
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
    if (metrics !== undefined) closeSync(metrics);
    model.dispose();
  }
  const wall = (Date.now() - started) / 1000;
  const rate = summary.seconds > 0 ? summary.images / summary.seconds : 0;
  printResult(
    [
      `trained ${summary.epochs} epochs (${summary.steps} steps, ${summary.images} images${summary.resumed ? ', resumed' : ''}) ` +
        `in ${formatDuration(summary.seconds)}: ${rate.toFixed(1)} images/s` +
        (summary.distributed ? ` across ${summary.distributed.worldSize} processes (${summary.distributed.backend})` : '') +
        (summary.cachedFeatures ? `, backbone features cached in ${formatDuration(summary.cacheSeconds)}` : ''),
      `setting ${summary.setting} (${summary.settingReason})`,
      scheduleLine(summary),
      `final loss ${fixed(summary.loss)} (l1 ${fixed(summary.truncatedL1)}, map ${fixed(summary.focalMap)}, score ${fixed(summary.focalScore)})`,
      `model written to ${opts.out}${options.checkpoint ? `, checkpoints to ${options.checkpoint.path}` : ''}; total ${formatDuration(wall)}`,
    ].join('\n'),
  );
}
