/**
 * `ssn info`: versions of everything (package, libtorch, CUDA) and the devices the engine sees.
 */
import type { Command } from 'commander';

import { log, printJson, printResult } from '../output';
import { libraryInfoJson, nativeBinding } from '../runtime';
import { packageInfo } from '../version';

export function register(program: Command): void {
  program
    .command('info')
    .description('show the versions of the package, libtorch and CUDA, and the devices')
    .option('--json', 'print the report as JSON')
    .action((opts: { json?: boolean }) => runInfo(opts));
}

function runInfo(opts: { json?: boolean }): void {
  const pkg = packageInfo();
  let native: unknown;
  try {
    native = JSON.parse(libraryInfoJson());
  } catch (e) {
    // The package version is still worth showing when the addon cannot load: it is what bug reports need.
    log(`${pkg.name} ${pkg.version}`);
    throw e;
  }
  // Which addon file was loaded and what it was built against: the first thing to know about a load problem.
  const { file, build } = nativeBinding();
  const extra = { ...(file ? { binding: file } : {}), ...(build ? { build } : {}) };
  if (opts.json) {
    printJson({ package: pkg, native, ...extra });
    return;
  }
  printResult([`${pkg.name} ${pkg.version}`, ...describe(extra, ''), ...describe(native, '')].join('\n'));
}

/** The library report as indented "key: value" lines, whatever its nesting. */
export function describe(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}(none)`];
    return value.flatMap((item, i) =>
      item !== null && typeof item === 'object' ? [`${indent}[${i}]`, ...describe(item, `${indent}  `)] : [`${indent}- ${String(item)}`],
    );
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) =>
      v !== null && typeof v === 'object' ? [`${indent}${key}:`, ...describe(v, `${indent}  `)] : [`${indent}${key}: ${String(v)}`],
    );
  }
  return [`${indent}${String(value)}`];
}
