/**
 * `ssn predict`: anomaly scores of images, with optional maps (.npy) and overlays (PNG).
 * With --json, stdout holds exactly one JSON array; logs go to stderr.
 */
import * as path from 'node:path';

import { Command } from 'commander';

import { writeNpy } from '../../npy';
import { writeOverlay } from '../../overlay';
import type { Device } from '../../types';
import { ensureDir, expandImages, outputStems, requireFile } from '../files';
import { fixed, formatTable, parsePositiveInt } from '../format';
import { deviceOption } from '../options';
import { log, printJson, printResult } from '../output';
import { modelClass } from '../runtime';

interface PredictOptions {
  json?: boolean;
  mapsDir?: string;
  overlayDir?: string;
  batchSize: string;
  device: Device;
}

/** One line of the --json output. */
export interface PredictRecord {
  file: string;
  score: number;
  logit: number;
  /** The .npy map (float32, height x width at model size) under --maps-dir, or null without it. */
  map: string | null;
  /** The overlay PNG, only with --overlay-dir. */
  overlay?: string;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('score images with a saved model')
    .argument('<model>', 'the model file (.safetensors from ssn import or ssn train)')
    .argument('<images...>', 'image files, or folders of images')
    .option('--json', 'print one JSON array [{file, score, logit, map}] on stdout')
    .option('--maps-dir <dir>', 'write each anomaly map as float32 .npy (height x width at model size), named after the image')
    .option('--overlay-dir <dir>', 'write each image with its map overlaid (jet colormap) as PNG')
    .option('--batch-size <n>', 'images per inference call', '8')
    .addOption(deviceOption())
    .action((modelFile: string, images: string[], opts: PredictOptions) => runPredict(modelFile, images, opts));
}

async function runPredict(modelFile: string, args: string[], opts: PredictOptions): Promise<void> {
  const batchSize = parsePositiveInt(opts.batchSize, '--batch-size');
  await requireFile(modelFile, 'the model', 'Make one with `ssn import` (or `ssn train`).');
  const files = await expandImages(args);
  const stems = outputStems(files);
  if (opts.mapsDir !== undefined) await ensureDir(opts.mapsDir, '--maps-dir');
  if (opts.overlayDir !== undefined) await ensureDir(opts.overlayDir, '--overlay-dir');

  const model = await modelClass().load(modelFile, { device: opts.device, logger: log });
  const records: PredictRecord[] = [];
  try {
    // Chunks of one batch: maps are written and dropped as they come, so memory stays flat.
    for (let start = 0; start < files.length; start += batchSize) {
      const chunk = files.slice(start, start + batchSize);
      const predictions = await model.predictBatch(chunk, { batchSize });
      for (let i = 0; i < chunk.length; i++) {
        const p = predictions[i];
        const stem = stems[start + i];
        const record: PredictRecord = { file: chunk[i], score: p.score, logit: p.logit, map: null };
        if (opts.mapsDir !== undefined) {
          record.map = path.join(opts.mapsDir, `${stem}.npy`);
          await writeNpy(record.map, p.map, [p.height, p.width]);
        }
        if (opts.overlayDir !== undefined) {
          record.overlay = path.join(opts.overlayDir, `${stem}.png`);
          await writeOverlay(chunk[i], p.map, p.width, p.height, record.overlay);
        }
        records.push(record);
      }
      if (files.length > batchSize) log(`predicted ${Math.min(start + batchSize, files.length)}/${files.length}`);
    }
  } finally {
    model.dispose();
  }

  if (opts.json) {
    printJson(records);
    return;
  }
  const header = ['file', 'score', 'logit'];
  if (opts.mapsDir !== undefined) header.push('map');
  if (opts.overlayDir !== undefined) header.push('overlay');
  const rows = records.map((r) => {
    const row = [r.file, fixed(r.score), fixed(r.logit)];
    if (r.map !== null) row.push(r.map);
    if (r.overlay !== undefined) row.push(r.overlay);
    return row;
  });
  printResult(formatTable(header, rows, ['score', 'logit']));
}
