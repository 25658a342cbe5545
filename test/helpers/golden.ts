/** Where the golden fixtures are: SSN_GOLDEN_DIR, or <repo>/../shared/golden. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export function goldenDir(): string {
  return process.env.SSN_GOLDEN_DIR || path.resolve(__dirname, '..', '..', '..', 'shared', 'golden');
}

/**
 * The golden folder for suites that check parity with the official code. Missing, it fails the suite (parity
 * is a release gate), unless SSN_SKIP_GOLDEN=1 says to skip it: then undefined, and the caller registers one
 * test saying so.
 */
export function goldenOrSkip(): string | undefined {
  const dir = goldenDir();
  if (existsSync(dir)) return dir;
  if (process.env.SSN_SKIP_GOLDEN === '1') return undefined;
  throw new Error(`No golden fixtures at ${dir}: set SSN_GOLDEN_DIR to the folder, or SSN_SKIP_GOLDEN=1 to skip the parity checks.`);
}

/** The one test a suite registers when SSN_SKIP_GOLDEN=1 skipped its parity checks. */
export function skippedGoldenTest(what: string): void {
  test(`${what}: NOT checked, SSN_SKIP_GOLDEN=1 and no golden folder at ${goldenDir()}`, () => {
    expect(process.env.SSN_SKIP_GOLDEN).toBe('1');
  });
}

/** `ssn import` arguments that build the official resnet18 192x320 golden model (ImageNet backbone + official heads) into `out`. */
export function goldenImportArgs(golden: string, out: string): string[] {
  const fixture = path.join(golden, 'resnet18-192x320');
  return [
    'import',
    '--arch',
    'resnet18',
    '--backbone',
    path.join(golden, 'resnet18-256x256', 'backbone.pth'),
    '--weights',
    path.join(fixture, 'weights.pt'),
    '--format',
    'official',
    '--size',
    '192x320',
    '--device',
    'cpu',
    '-o',
    out,
  ];
}
