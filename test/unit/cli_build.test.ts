/** `ssn build`: the checks made before a source build starts (no compiler is run here). */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { buildFromSource, checkBuildTools, findOnPath, missingBuildTools } from '../../lib/cli/commands/build';
import { buildProgram } from '../../lib/cli/ssn';
import { SsnError } from '../../lib/errors';

let dir: string;
let empty: string;
let tools: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-build-'));
  empty = path.join(dir, 'empty');
  tools = path.join(dir, 'tools');
  mkdirSync(empty);
  mkdirSync(tools);
  for (const name of ['cmake', 'g++', 'make']) {
    writeFileSync(path.join(tools, name), '#!/bin/sh\n');
    chmodSync(path.join(tools, name), 0o755);
  }
  writeFileSync(path.join(tools, 'c++'), 'not executable');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ssn build', () => {
  it('is a command of the CLI', () => {
    expect(buildProgram().commands.map((c) => c.name())).toContain('build');
  });

  it('finds executables on PATH only', () => {
    expect(findOnPath('cmake', { PATH: tools })).toBe(path.join(tools, 'cmake'));
    expect(findOnPath('c++', { PATH: tools })).toBeUndefined(); // present, not executable
    expect(findOnPath('cmake', { PATH: empty })).toBeUndefined();
  });

  it('names every missing tool at once, with how to get it', () => {
    expect(missingBuildTools({ PATH: tools })).toEqual([]);
    expect(missingBuildTools({ PATH: empty })).toEqual([
      'cmake (>= 3.19): apt-get install cmake, or pip install cmake',
      'a C++17 compiler (c++, g++ or clang++): apt-get install g++',
      'make or ninja: apt-get install make',
    ]);
    expect(missingBuildTools({ PATH: tools, CXX: 'icpx' })).toEqual(['a C++17 compiler (CXX=icpx was not found): apt-get install g++']);
  });

  it('throws one ERR_SSN_CONFIG with a numbered list before anything starts', () => {
    let error: unknown;
    try {
      checkBuildTools({ PATH: empty });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SsnError);
    const e = error as SsnError;
    expect(e.code).toBe('ERR_SSN_CONFIG');
    expect(e.message).toMatch(
      /^Cannot build the supersimplenet addon from source; missing on PATH:\n {2}1\. cmake .*\n {2}2\. a C\+\+17 compiler .*\n {2}3\. make or ninja/,
    );
    expect(e.hint).toContain('apt-get install cmake g++ make libtorch-dev');
  });

  it('rejects a --libtorch folder that is not an unpacked libtorch', async () => {
    await expect(buildFromSource({ libtorch: empty })).rejects.toMatchObject({
      code: 'ERR_SSN_CONFIG',
      message: `Expected an unpacked libtorch folder (with share/cmake/Torch) for --libtorch but received '${empty}'`,
    });
  });
});
