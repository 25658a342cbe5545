import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { SsnError } from '../../lib/errors';
import { defaultCandidates, explainLoadError, libraryInfo, loadFirst, loadNative, setNativeForTesting } from '../../lib/native';
import { FakeModule } from './fake-native';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ssn-native-'));
});
afterAll(async () => {
  setNativeForTesting(undefined);
  await fs.rm(dir, { recursive: true, force: true });
});

function loadError(fn: () => unknown): SsnError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SsnError);
    return e as SsnError;
  }
  throw new Error('expected a throw');
}

describe('native loader', () => {
  it('throws ONE error listing every candidate with its reason, and numbered fixes', async () => {
    const garbage = path.join(dir, 'garbage.node');
    await fs.writeFile(garbage, 'not an ELF file');
    const emptyRoot = path.join(dir, 'empty-root');
    await fs.mkdir(emptyRoot);
    const candidates = defaultCandidates({ SSN_NATIVE_BINDING: garbage }, emptyRoot);
    expect(candidates.map((c) => c.label)).toEqual([
      `SSN_NATIVE_BINDING=${garbage}`,
      path.join(emptyRoot, 'build', 'Release', 'supersimplenet.node'),
      `prebuilds (node-gyp-build in ${emptyRoot})`,
    ]);
    const e = loadError(() => loadFirst(candidates));
    expect(e.code).toBe('ERR_SSN_NATIVE_LOAD');
    const lines = e.message.split('\n');
    expect(lines[0]).toContain(`${process.platform}-${process.arch}, Node ${process.versions.node}`);
    expect(lines[1]).toMatch(new RegExp(`^  - SSN_NATIVE_BINDING=${garbage}: .*(invalid ELF header|file too short)`));
    expect(lines[2]).toBe(`  - ${path.join(emptyRoot, 'build', 'Release', 'supersimplenet.node')}: not found`);
    expect(lines[3]).toBe(`  - prebuilds (node-gyp-build in ${emptyRoot}): no prebuild for this platform and libtorch`);
    expect(e.message).toContain('1. Install libtorch: apt-get install libtorch-dev');
    expect(e.message).toContain('2. Or point to an unpacked libtorch: export LIBTORCH=');
    expect(e.message).toContain('3. Then build the addon from source: npx ssn build');
    expect(e.hint).toContain('SSN_NATIVE_BINDING');
  });

  it('takes the first candidate that loads and exports the addon functions', () => {
    const addon = new FakeModule();
    const tried: string[] = [];
    const loaded = loadFirst([
      { label: 'a', load: () => { tried.push('a'); throw new Error('nope'); } },
      { label: 'b', load: () => { tried.push('b'); return addon; } },
      { label: 'c', load: () => { tried.push('c'); return addon; } },
    ]);
    expect(loaded).toBe(addon);
    expect(tried).toEqual(['a', 'b']);
  });

  it('reports a module that is not our addon', () => {
    const e = loadError(() => loadFirst([{ label: 'other', load: () => ({ libraryInfo: () => '{}' }) }]));
    expect(e.message).toContain('  - other: not a supersimplenet addon (missing createModel, loadModel)');
  });

  it('says what a missing libtorch or a symbol mismatch usually means', () => {
    expect(explainLoadError(new Error('libtorch_cpu.so: cannot open shared object file: No such file or directory'))).toContain(
      'libtorch is not installed',
    );
    expect(explainLoadError(new Error('/x/supersimplenet.node: undefined symbol: _ZN3c10...\nmore'))).toBe(
      '/x/supersimplenet.node: undefined symbol: _ZN3c10... (built against another libtorch version or C++ ABI than the one found at run time)',
    );
    expect(explainLoadError(new Error('/x/supersimplenet.node: undefined symbol: _ZN3ssn6Engine6createE'))).toContain('an incomplete build');
  });

  it('caches the module and lets tests replace it', () => {
    const fake = new FakeModule();
    setNativeForTesting(fake);
    expect(loadNative()).toBe(fake);
    expect(loadNative()).toBe(fake);
    expect(libraryInfo()).toEqual({ package: 'fake' });
  });
});
