/**
 * The one place that finds and loads the native addon. Candidates, in order: the SSN_NATIVE_BINDING
 * environment variable, the local build (build/Release/supersimplenet.node), then the prebuilds that
 * node-gyp-build finds. Every failure is collected and reported in ONE SsnError (ERR_SSN_NATIVE_LOAD)
 * with numbered fixes. The loaded module is cached.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { SsnError } from './errors';
import type { NativeModule } from './types';

/** The package root: lib/ (ts-jest) and dist/ (compiled) both sit directly under it. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

export interface LoadCandidate {
  /** Where the addon was looked for, as shown to the user. */
  label: string;
  load: () => unknown;
}

export interface LoadFailure {
  label: string;
  reason: string;
}

let cached: NativeModule | undefined;

/** The native addon, loaded once. Throws an SsnError ERR_SSN_NATIVE_LOAD that lists what was tried. */
export function loadNative(): NativeModule {
  cached ??= loadFirst(defaultCandidates(process.env, PACKAGE_ROOT));
  return cached;
}

/** Test seam: replaces the addon with a fake (undefined restores normal loading). */
export function setNativeForTesting(native: NativeModule | undefined): void {
  cached = native;
}

/** Parsed native libraryInfo(): versions of the package, libtorch, CUDA, devices and threads. */
export function libraryInfo(): Record<string, unknown> {
  return JSON.parse(loadNative().libraryInfo()) as Record<string, unknown>;
}

export function defaultCandidates(env: NodeJS.ProcessEnv, root: string): LoadCandidate[] {
  const candidates: LoadCandidate[] = [];
  const override = env.SSN_NATIVE_BINDING;
  if (override) {
    const file = path.resolve(override);
    candidates.push({ label: `SSN_NATIVE_BINDING=${override}`, load: () => loadAddon(file) });
  }
  const local = path.join(root, 'build', 'Release', 'supersimplenet.node');
  candidates.push({ label: local, load: () => loadAddon(local) });
  candidates.push({
    label: `prebuilds (node-gyp-build in ${root})`,
    load: () => {
      // node-gyp-build looks in build/Release too: do not load (and report) that file twice.
      const file = (require('node-gyp-build') as { path(dir: string): string }).path(root);
      if (path.resolve(file) === local) throw new Error('No native build was found (only the local build above)');
      return loadAddon(file);
    },
  });
  return candidates;
}

/** The first candidate that loads and looks like our addon, or one error naming every failure. */
export function loadFirst(candidates: LoadCandidate[]): NativeModule {
  const failures: LoadFailure[] = [];
  for (const candidate of candidates) {
    try {
      const loaded = candidate.load();
      const missing = missingExports(loaded);
      if (missing.length === 0) return loaded as NativeModule;
      failures.push({ label: candidate.label, reason: `not a supersimplenet addon (missing ${missing.join(', ')})` });
    } catch (e) {
      failures.push({ label: candidate.label, reason: explainLoadError(e) });
    }
  }
  throw loadError(failures);
}

/**
 * RTLD_NOW: a libtorch that lacks a symbol the addon was built against fails here, with the symbol's name,
 * instead of crashing the process at the first call (Node's own require binds lazily).
 */
function loadAddon(file: string): unknown {
  if (!fs.existsSync(file)) throw new Error('not found');
  const module = { exports: {} as unknown };
  process.dlopen(module, file, os.constants.dlopen.RTLD_NOW);
  return module.exports;
}

function missingExports(loaded: unknown): string[] {
  const names = ['libraryInfo', 'createModel', 'loadModel'] as const;
  if (typeof loaded !== 'object' || loaded === null) return [...names];
  return names.filter((n) => typeof (loaded as Record<string, unknown>)[n] !== 'function');
}

/** One line: the loader's message, with what it usually means. */
export function explainLoadError(e: unknown): string {
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  if (/lib(torch|c10)[^:]*\.so[^:]*: cannot open shared object file/.test(message)) {
    return `${message} (libtorch is not installed where the addon was built to find it)`;
  }
  if (/undefined symbol: _ZN3ssn/.test(message)) {
    return `${message} (an incomplete build: the supersimplenet core is missing from the addon; rebuild it)`;
  }
  if (/undefined symbol/.test(message)) {
    return `${message} (built against another libtorch version or C++ ABI than the one found at run time)`;
  }
  if (/No native build was found/.test(message)) return 'no prebuild for this platform and libtorch';
  return message;
}

function loadError(failures: LoadFailure[]): SsnError {
  const platform = `${process.platform}-${process.arch}, Node ${process.versions.node}, N-API ${process.versions.napi}`;
  const lines = [
    `Could not load the supersimplenet native addon (${platform}). Tried:`,
    ...failures.map((f) => `  - ${f.label}: ${f.reason}`),
    'Possible fixes:',
    '  1. Install libtorch: apt-get install libtorch-dev (Debian/Ubuntu), or pip install torch',
    '  2. Or point to an unpacked libtorch: export LIBTORCH=/path/to/libtorch',
    '  3. Then build the addon from source: npx ssn build (needs cmake and a C++17 compiler)',
  ];
  return new SsnError(
    'ERR_SSN_NATIVE_LOAD',
    lines.join('\n'),
    'Set SSN_NATIVE_BINDING=/path/to/supersimplenet.node to use a specific build.',
  );
}
