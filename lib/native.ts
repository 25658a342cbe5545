/**
 * The one place that finds and loads the native addon. Candidates, in order: the SSN_NATIVE_BINDING
 * environment variable, the local build (build/Release/supersimplenet.node), then the prebuilds in
 * prebuilds/<platform>-<arch>/ that node-gyp-build's own tag matcher accepts. A candidate must load with
 * every symbol bound (RTLD_NOW) and run on the libtorch it was compiled against (buildInfo()). Every
 * failure is collected and reported in ONE SsnError (ERR_SSN_NATIVE_LOAD) with numbered fixes. The loaded
 * module is cached.
 *
 * Prebuild names carry node-gyp-build's tags plus ours, e.g.
 *   prebuilds/linux-x64/supersimplenet.napi.glibc.torch1_13.cxx11abi1.cpu.node
 * node-gyp-build ignores tags it does not know (ours avoid its prefixes abi/uv/armv), so its matcher
 * still selects by platform, runtime and libc; the libtorch tags are checked here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { constantsMismatch } from './constants';
import { SsnError } from './errors';
import { NATIVE_EXPORTS, type NativeModule } from './binding';

/** The package root: lib/ (ts-jest) and dist/ (compiled) both sit directly under it. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

/** What an addon was compiled against, and the libtorch it actually runs with. */
export interface BuildInfo {
  /** libtorch version of the headers at build time, e.g. "1.13.0". */
  torch: string;
  cxx11Abi: boolean;
  cuda: boolean;
  /** The version libtorch reports at run time (its build settings); null when it does not say. */
  runtimeTorch: string | null;
  napi: number;
}

/** The libtorch a prebuild was made for, read from its file name. */
export interface PrebuildTags {
  /** major.minor, e.g. "1.13". */
  torch: string;
  cxx11Abi: boolean;
  cuda: boolean;
}

export interface LoadCandidate {
  /** Where the addon was looked for, as shown to the user. */
  label: string;
  load: () => unknown;
  /** The libtorch the candidate was built for, when known before loading (prebuilds). */
  tags?: PrebuildTags;
}

export interface LoadFailure {
  label: string;
  reason: string;
}

let cached: NativeModule | undefined;
let cachedLabel: string | undefined;

/**
 * The native addon, loaded once. Throws an SsnError ERR_SSN_NATIVE_LOAD that lists what was tried.
 *
 * libtorch's OpenMP pool reads OMP_NUM_THREADS once, when the addon loads, and Debian's build otherwise starts
 * with ONE thread: unless the environment says otherwise, the process gets one per core. (The `threads`
 * option of create/load sets libtorch's count afterwards; it is process-wide, the last model to set it wins.)
 */
export function loadNative(): NativeModule {
  if (!cached) {
    process.env.OMP_NUM_THREADS ??= String(os.availableParallelism());
    const { module, label } = loadFirstWithLabel(defaultCandidates(process.env, PACKAGE_ROOT));
    cached = module;
    cachedLabel = label;
  }
  return cached;
}

/** Which candidate the loaded addon came from (undefined before loading, or for a test double). */
export function loadedBinding(): string | undefined {
  return cachedLabel;
}

/** Test seam: replaces the addon with a fake (undefined restores normal loading). */
export function setNativeForTesting(native: NativeModule | undefined): void {
  cached = native;
  cachedLabel = undefined;
}

/** Parsed native libraryInfo(): versions of the package, libtorch, CUDA, devices and threads. */
export function libraryInfo(): Record<string, unknown> {
  return JSON.parse(loadNative().libraryInfo()) as Record<string, unknown>;
}

/** The name a prebuild gets for what it was built against (tags as node-gyp-build expects them). */
export function prebuildFileName(info: Pick<BuildInfo, 'torch' | 'cxx11Abi' | 'cuda'>, libc = 'glibc'): string {
  const [major, minor] = info.torch.split('.');
  const tags = ['supersimplenet', 'napi'];
  if (process.platform === 'linux') tags.push(libc);
  tags.push(`torch${major}_${minor}`, `cxx11abi${info.cxx11Abi ? 1 : 0}`, info.cuda ? 'cuda' : 'cpu', 'node');
  return tags.join('.');
}

/** Our tags in a prebuild's file name, or undefined when it has none (then it is loaded unchecked). */
export function parsePrebuildTags(file: string): PrebuildTags | undefined {
  const parts = path.basename(file).split('.');
  const torch = parts.map((p) => /^torch(\d+)_(\d+)$/.exec(p)).find(Boolean);
  const abi = parts.map((p) => /^cxx11abi([01])$/.exec(p)).find(Boolean);
  if (!torch || !abi) return undefined;
  return { torch: `${torch[1]}.${torch[2]}`, cxx11Abi: abi[1] === '1', cuda: parts.includes('cuda') };
}

export function describeTags(tags: PrebuildTags): string {
  return `libtorch ${tags.torch}, ${tags.cxx11Abi ? 'CXX11 ABI' : 'pre-CXX11 ABI'}, ${tags.cuda ? 'CUDA' : 'CPU'}`;
}

interface NodeGypBuild {
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (tags: unknown) => boolean;
  compareTags(runtime: string): (a: unknown, b: unknown) => number;
}

/**
 * The prebuilds for this platform that node-gyp-build's matcher accepts (runtime, N-API, libc), CUDA
 * builds first: a CUDA build that cannot load (no driver) fails with a reason and the CPU one follows.
 */
export function prebuildFiles(root: string): string[] {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const ngb = require('node-gyp-build') as NodeGypBuild;
  const runtime = process.versions.electron ? 'electron' : 'node';
  const matching = names
    .map((n) => ngb.parseTags(n))
    .filter((t): t is { file: string } => t !== undefined && ngb.matchTags(runtime, process.versions.modules)(t))
    .sort(ngb.compareTags(runtime))
    .map((t) => t.file);
  const cudaFirst = (f: string): number => (parsePrebuildTags(f)?.cuda ? 0 : 1);
  return matching.sort((a, b) => cudaFirst(a) - cudaFirst(b)).map((f) => path.join(dir, f));
}

export function defaultCandidates(env: NodeJS.ProcessEnv, root: string): LoadCandidate[] {
  const candidates: LoadCandidate[] = [];
  const override = env.SSN_NATIVE_BINDING;
  if (override) {
    const file = path.resolve(override);
    candidates.push({ label: `SSN_NATIVE_BINDING=${override}`, load: () => loadAddon(file) });
  }
  const local = localBuildPath(root);
  candidates.push({ label: local, load: () => loadAddon(local) });
  const prebuilds = prebuildFiles(root);
  for (const file of prebuilds) {
    const tags = parsePrebuildTags(file);
    candidates.push({ label: tags ? `${file} (${describeTags(tags)})` : file, load: () => loadAddon(file), tags });
  }
  if (prebuilds.length === 0) {
    const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    candidates.push({
      label: `prebuilds (node-gyp-build in ${root})`,
      load: () => {
        throw new Error(`No native build was found in ${dir}`);
      },
    });
  }
  return candidates;
}

/** The first candidate that loads, looks like our addon and matches its libtorch, or one error naming every failure. */
export function loadFirst(candidates: LoadCandidate[]): NativeModule {
  return loadFirstWithLabel(candidates).module;
}

function loadFirstWithLabel(candidates: LoadCandidate[]): { module: NativeModule; label: string } {
  const failures: LoadFailure[] = [];
  for (const candidate of candidates) {
    try {
      const loaded = candidate.load();
      const missing = missingExports(loaded);
      if (missing.length > 0) {
        failures.push({ label: candidate.label, reason: `not a supersimplenet addon (missing ${missing.join(', ')})` });
        continue;
      }
      const mismatch = libtorchMismatch(loaded as NativeModule);
      if (mismatch) {
        failures.push({ label: candidate.label, reason: mismatch });
        continue;
      }
      const drift = constantsMismatch((loaded as NativeModule).constants);
      if (drift) {
        failures.push({ label: candidate.label, reason: `built from another version of supersimplenet: ${drift} (rebuild it)` });
        continue;
      }
      return { module: loaded as NativeModule, label: candidate.label };
    } catch (e) {
      failures.push({ label: candidate.label, reason: explainLoadError(e, candidate.tags) });
    }
  }
  throw loadError(failures);
}

/** Where a source build (`npx ssn build`, `npm run build:native`) puts the addon. */
export function localBuildPath(root: string, config: 'Release' | 'Debug' = 'Release'): string {
  return path.join(root, 'build', config, 'supersimplenet.node');
}

/** Loads one addon file (as the candidates do); throws the dynamic loader's error. */
export function loadAddonFile(file: string): unknown {
  return loadAddon(file);
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
  if (typeof loaded !== 'object' || loaded === null) return [...NATIVE_EXPORTS];
  return NATIVE_EXPORTS.filter((n) => typeof (loaded as Record<string, unknown>)[n] !== 'function');
}

const minor = (version: string): string => version.split('.').slice(0, 2).join('.');

/**
 * Why a loaded addon cannot run on the libtorch the process found, or undefined when it can. Patch
 * releases share an ABI (Debian's soname is libtorch_cpu.so.1.13), so versions are compared to the minor.
 */
export function libtorchMismatch(addon: NativeModule): string | undefined {
  const info = addon.buildInfo();
  if (info.runtimeTorch && minor(info.runtimeTorch) !== minor(info.torch)) {
    return `libtorch version mismatch: built against libtorch ${info.torch}, but libtorch ${info.runtimeTorch} was loaded at run time`;
  }
  return undefined;
}

/** One line: the loader's message, with what it usually means (for a prebuild, with what it needs). */
export function explainLoadError(e: unknown, tags?: PrebuildTags): string {
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  const needs = tags ? ` (this build needs ${describeTags(tags)})` : '';
  const lib = /(lib[\w+-]+\.so[\w.]*): cannot open shared object file/.exec(message)?.[1];
  if (lib) {
    if (/^libcuda\.so/.test(lib)) {
      return `missing CUDA driver: ${lib} was not found (an NVIDIA driver is needed for this CUDA build; use a CPU build otherwise)`;
    }
    if (/^lib(cudart|cublas|cublasLt|cudnn|nvrtc|nvToolsExt|cufft|curand|cusparse|cusolver|c10_cuda|torch_cuda)/.test(lib)) {
      return `libtorch's CUDA libraries not found: ${lib} cannot be opened${needs}`;
    }
    if (/^lib(torch|c10)/.test(lib)) {
      const version = /\.so\.(\d+\.\d+)/.exec(lib)?.[1];
      const what = version ? `libtorch ${version} not found` : 'libtorch not found';
      return `${what}: ${lib} cannot be opened (libtorch is not installed where the addon was built to find it, nor on LD_LIBRARY_PATH)${needs}`;
    }
  }
  if (/undefined symbol: _ZN3ssn/.test(message)) {
    return `${message} (an incomplete build: the supersimplenet core is missing from the addon; rebuild it)`;
  }
  if (/undefined symbol/.test(message)) {
    return `libtorch version or ABI mismatch: ${message} (built against another libtorch version or C++ ABI than the one found at run time)${needs}`;
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
    '  2. Or point to an unpacked libtorch: export LIBTORCH=/path/to/libtorch (and LD_LIBRARY_PATH=$LIBTORCH/lib for a prebuild)',
    '  3. Then build the addon from source: npx ssn build (needs cmake and a C++17 compiler)',
  ];
  return new SsnError(
    'ERR_SSN_NATIVE_LOAD',
    lines.join('\n'),
    'Set SSN_NATIVE_BINDING=/path/to/supersimplenet.node to use a specific build.',
  );
}
