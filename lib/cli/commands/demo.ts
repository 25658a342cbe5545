/**
 * `ssn demo`: the whole inference path on the embedded default backbone, with nothing to bring: it fetches
 * the Keras ResNet50 backbone, generates procedural surfaces with scratches, spots and cracks, predicts
 * them, and writes the images, masks, overlays and a JSON summary.
 *
 * Training has not landed yet, so the heads carry the official initialisation: the demo says so plainly,
 * and its scores and maps are not a measure of detection quality.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { Command } from 'commander';
import sharp from 'sharp';

import { proceduralDataset } from '../../data/procedural';
import { writeOverlay } from '../../overlay';
import type { Device } from '../../types';
import { defaultBackbonePath } from '../../weights';
import { ensureDir } from '../files';
import { fixed, formatTable, parsePositiveInt } from '../format';
import { deviceOption } from '../options';
import { log, printResult } from '../output';
import { modelClass } from '../runtime';

const UNTRAINED =
  'NOTE: the heads are UNTRAINED (official initialisation; training lands with `ssn train`): the scores and ' +
  'maps below show the pipeline working end to end, not detection quality.';

interface DemoOptions {
  out: string;
  images: string;
  size: string;
  seed: string;
  device: Device;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline on procedural surface defects with the embedded default backbone')
    .option('-o, --out <dir>', 'where to write images, masks, overlays and summary.json', 'ssn-demo')
    .option('--images <n>', 'how many surfaces to generate', '6')
    .option('--size <n>', 'model input size (square)', '256')
    .option('--seed <n>', 'seed of the procedural surfaces', '7')
    .addOption(deviceOption())
    .action((opts: DemoOptions) => runDemo(opts));
}

async function runDemo(opts: DemoOptions): Promise<void> {
  const count = parsePositiveInt(opts.images, '--images');
  const size = parsePositiveInt(opts.size, '--size');
  const seed = parsePositiveInt(opts.seed, '--seed');
  log(UNTRAINED);
  const started = Date.now();
  await defaultBackbonePath({ logger: log });

  const dirs = { images: path.join(opts.out, 'images'), masks: path.join(opts.out, 'masks'), overlays: path.join(opts.out, 'overlays') };
  for (const dir of Object.values(dirs)) await ensureDir(dir, '--out');
  const samples = proceduralDataset({ count, width: size, height: size, seed, defectFraction: 0.67 });
  const files: string[] = [];
  for (const [i, s] of samples.entries()) {
    const name = `${String(i).padStart(3, '0')}-${s.defect ?? 'good'}.png`;
    const file = path.join(dirs.images, name);
    await sharp(Buffer.from(s.image.data), { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
    await sharp(Buffer.from(s.mask), { raw: { width: size, height: size, channels: 1 } }).png().toFile(path.join(dirs.masks, name));
    files.push(file);
  }
  log(`generated ${count} procedural surfaces in ${dirs.images}`);

  const model = await modelClass().create({ imageSize: size, device: opts.device, logger: log });
  const rows: string[][] = [];
  const summary: Array<Record<string, unknown>> = [];
  try {
    const t0 = process.hrtime.bigint();
    const predictions = await model.predictBatch(files, { batchSize: 4 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6 / files.length;
    for (const [i, p] of predictions.entries()) {
      const overlay = path.join(dirs.overlays, path.basename(files[i]));
      await writeOverlay(files[i], p.map, p.width, p.height, overlay);
      let mapMax = -Infinity;
      for (const v of p.map) mapMax = Math.max(mapMax, v);
      rows.push([path.basename(files[i]), samples[i].defect ?? 'none', fixed(p.score), fixed(mapMax)]);
      summary.push({ file: files[i], overlay, defect: samples[i].defect, score: p.score, logit: p.logit, mapMax });
    }
    const info = await model.info();
    await fs.writeFile(
      path.join(opts.out, 'summary.json'),
      `${JSON.stringify({ headsTrained: info.headsTrained, backbone: info.backbone, imageSize: info.imageSize, msPerImage: ms, results: summary }, null, 2)}\n`,
    );
    printResult(formatTable(['image', 'defect', 'score', 'map max'], rows, ['score', 'map max']));
    log(`${ms.toFixed(0)} ms per image on ${info.device} (batch 4, ${size}x${size}); total ${((Date.now() - started) / 1000).toFixed(1)} s`);
    log(`overlays in ${dirs.overlays}, summary in ${path.join(opts.out, 'summary.json')}`);
    log(UNTRAINED);
  } finally {
    model.dispose();
  }
}
