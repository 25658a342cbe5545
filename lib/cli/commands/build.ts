/**
 * `ssn build`: builds the addon from source on this machine (cmake-js + cmake/FindLibtorch.cmake, the same
 * libtorch discovery as CI) into <package>/build/Release, which the loader tries before the prebuilds.
 * Missing tools are reported before anything starts, all at once.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Command } from 'commander';

import { SsnError } from '../../errors';
import { describeTags, loadFirst, localBuildPath, loadAddonFile, PACKAGE_ROOT } from '../../native';
import { parsePositiveInt } from '../format';
import { log, printResult } from '../output';

export interface BuildOptions {
  libtorch?: string;
  jobs?: number;
  debug?: boolean;
}

export function register(program: Command): void {
  program
    .command('build')
    .description('build the native addon from source (needs cmake, a C++17 compiler and libtorch)')
    .option('--libtorch <dir>', 'an unpacked libtorch folder (default: LIBTORCH, Torch_DIR, a Python torch, the system)')
    .option('-j, --jobs <n>', 'parallel compile jobs', (v) => parsePositiveInt(v, '--jobs'))
    .option('--debug', 'a debug build (build/Debug)')
    .action(async (opts: BuildOptions) => {
      printResult(await buildFromSource(opts));
    });
}

/** The first file called `name` on PATH (with PATHEXT on Windows), or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const file = path.join(dir, name + ext);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        if (fs.statSync(file).isFile()) return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** What a source build needs and this machine lacks, one entry per tool, with how to get it. */
export function missingBuildTools(env: NodeJS.ProcessEnv = process.env): string[] {
  const missing: string[] = [];
  if (!findOnPath('cmake', env)) missing.push('cmake (>= 3.19): apt-get install cmake, or pip install cmake');
  const cxx = env.CXX ? [env.CXX] : ['c++', 'g++', 'clang++'];
  const hasCompiler = cxx.some((c) => (path.isAbsolute(c) ? fs.existsSync(c) : findOnPath(c, env)));
  if (!hasCompiler) {
    missing.push(`a C++17 compiler (${env.CXX ? `CXX=${env.CXX} was not found` : 'c++, g++ or clang++'}): apt-get install g++`);
  }
  if (process.platform !== 'win32' && !findOnPath('make', env) && !findOnPath('ninja', env)) {
    missing.push('make or ninja: apt-get install make');
  }
  return missing;
}

export function checkBuildTools(env: NodeJS.ProcessEnv = process.env): void {
  const missing = missingBuildTools(env);
  if (missing.length === 0) return;
  throw new SsnError(
    'ERR_SSN_CONFIG',
    ['Cannot build the supersimplenet addon from source; missing on PATH:', ...missing.map((m, i) => `  ${i + 1}. ${m}`)].join('\n'),
    'On Debian/Ubuntu: apt-get install cmake g++ make libtorch-dev, then run `npx ssn build` again.',
  );
}

export async function buildFromSource(opts: BuildOptions, root = PACKAGE_ROOT): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.libtorch) {
    const dir = path.resolve(opts.libtorch);
    if (!fs.existsSync(path.join(dir, 'share', 'cmake', 'Torch'))) {
      throw new SsnError(
        'ERR_SSN_CONFIG',
        `Expected an unpacked libtorch folder (with share/cmake/Torch) for --libtorch but received '${dir}'`,
        'Unpack libtorch from pytorch.org, or leave --libtorch out to use a Python torch or the system libtorch-dev.',
      );
    }
    env.LIBTORCH = dir;
  }
  checkBuildTools(env);
  if (opts.jobs) env.CMAKE_BUILD_PARALLEL_LEVEL = String(opts.jobs);
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const args = [cmakeJs, 'compile', '--out', 'build', '--directory', root, '--CDSSN_BUILD_TESTS=OFF'];
  if (opts.debug) args.push('--debug');
  log(`ssn build: ${path.basename(process.execPath)} ${args.map((a) => path.relative(root, a) || a).join(' ')} (in ${root})`);
  const code = await run(process.execPath, args, root, env);
  if (code !== 0) {
    throw new SsnError(
      'ERR_SSN_CONFIG',
      `The source build failed (cmake-js exited with ${code}): the reason is in the output above.`,
      'A missing libtorch: apt-get install libtorch-dev, pip install torch, or --libtorch /path/to/libtorch.',
    );
  }
  const file = localBuildPath(root, opts.debug ? 'Debug' : 'Release');
  const addon = loadFirst([{ label: file, load: () => loadAddonFile(file) }]);
  const info = addon.buildInfo();
  return `${file} (${describeTags({ torch: info.torch, cxx11Abi: info.cxx11Abi, cuda: info.cuda })})`;
}

/** Build output goes to stderr: stdout carries only the result. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
