/**
 * `ssn predict`: anomaly scores of images, with optional maps (.npy) and overlays (PNG). A calibrated model
 * (`ssn calibrate`) adds the verdict of each image, binary defect masks (--masks-dir) and overlays on its
 * shared colour scale. With --json, stdout holds exactly one JSON array; logs go to stderr.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { Command } from 'commander';
import sharp from 'sharp';

import { notCalibratedError } from '../../calibration';
import { SsnError } from '../../errors';
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
  masksDir?: string;
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
  /** A calibrated model's verdict: score >= its image threshold. */
  anomalous?: boolean;
  /** The defect mask PNG (0/255, the image's size), only with --masks-dir. */
  mask?: string;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('score images with a saved model')
    .argument('<model>', 'the model file (.safetensors from ssn import or ssn train)')
    .argument('<images...>', 'image files, or folders of images')
    .option('--json', 'print one JSON array [{file, score, logit, map, anomalous}] on stdout')
    .option('--maps-dir <dir>', 'write each anomaly map as float32 .npy (height x width at model size), named after the image')
    .option('--overlay-dir <dir>', 'write each image with its map overlaid (jet colormap) as PNG')
    .option(
      '--masks-dir <dir>',
      "calibrated models: write each defect mask (map >= the pixel threshold) as a 0/255 PNG of the image's size",
    )
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
  const masks = opts.masksDir !== undefined;

  const model = await modelClass().load(modelFile, { device: opts.device, logger: log });
  const records: PredictRecord[] = [];
  let calibrated = false;
  try {
    const { calibration } = await model.info();
    calibrated = calibration !== null;
    if (calibration) {
      log(
        `calibrated model: anomalous when score >= ${calibration.imageThreshold.toPrecision(6)}, ` +
          `defect pixels where map >= ${calibration.pixelThreshold.toPrecision(6)}`,
      );
    } else if (masks) {
      throw notCalibratedError(
        'a defect mask (--masks-dir)',
        `Calibrate it first: ssn calibrate ${modelFile} --data DIR (good/, defect/, masks/ of images held out from training).`,
      );
    }
    if (masks) await ensureDir(opts.masksDir as string, '--masks-dir');
    // Chunks of one batch: maps are written and dropped as they come, so memory stays flat.
    for (let start = 0; start < files.length; start += batchSize) {
      const chunk = files.slice(start, start + batchSize);
      const predictions = await model.predictBatch(chunk, { batchSize, mask: masks, resizeToInput: masks });
      for (let i = 0; i < chunk.length; i++) {
        const p = predictions[i];
        const stem = stems[start + i];
        const record: PredictRecord = { file: chunk[i], score: p.score, logit: p.logit, map: null };
        if (p.anomalous !== undefined) record.anomalous = p.anomalous;
        if (opts.mapsDir !== undefined) {
          record.map = path.join(opts.mapsDir, `${stem}.npy`);
          await writeNpy(record.map, p.map, [p.height, p.width]);
        }
        if (opts.overlayDir !== undefined) {
          record.overlay = path.join(opts.overlayDir, `${stem}.png`);
          await writeOverlay(chunk[i], p.map, p.width, p.height, record.overlay, calibration ? { calibration } : {});
        }
        if (masks && p.inputMask) {
          record.mask = path.join(opts.masksDir as string, `${stem}.png`);
          await writeMaskPng(record.mask, p.inputMask);
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
  if (calibrated) header.push('verdict');
  if (opts.mapsDir !== undefined) header.push('map');
  if (opts.overlayDir !== undefined) header.push('overlay');
  if (masks) header.push('mask');
  const rows = records.map((r) => {
    const row = [r.file, fixed(r.score), fixed(r.logit)];
    if (r.anomalous !== undefined) row.push(r.anomalous ? 'anomalous' : 'normal');
    if (r.map !== null) row.push(r.map);
    if (r.overlay !== undefined) row.push(r.overlay);
    if (r.mask !== undefined) row.push(r.mask);
    return row;
  });
  printResult(formatTable(header, rows, ['score', 'logit']));
}

/** A 0/1 mask as an 8-bit PNG, 0 and 255 (the dataset masks' convention: a pixel >= 128 is a defect). */
async function writeMaskPng(file: string, m: { mask: Uint8Array; width: number; height: number }): Promise<void> {
  const pixels = Buffer.alloc(m.mask.length);
  for (let i = 0; i < m.mask.length; i++) pixels[i] = m.mask[i] ? 255 : 0;
  try {
    await fs.writeFile(
      file,
      await sharp(pixels, { raw: { width: m.width, height: m.height, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toBuffer(),
    );
  } catch (e) {
    throw new SsnError('ERR_SSN_IO', `Cannot write ${file}: ${(e as Error).message}.`, 'Check that the folder is writable.');
  }
}
