import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { EXPECTED_NATIVE_CONSTANTS } from '../../lib/constants';
import { SsnError } from '../../lib/errors';
import {
  defaultCandidates,
  explainLoadError,
  libraryInfo,
  loadedBinding,
  loadFirst,
  loadNative,
  parsePrebuildTags,
  prebuildFileName,
  prebuildFiles,
  setNativeForTesting,
} from '../../lib/native';
import type { NativeModule } from '../../lib/binding';
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
      {
        label: 'a',
        load: () => {
          tried.push('a');
          throw new Error('nope');
        },
      },
      {
        label: 'b',
        load: () => {
          tried.push('b');
          return addon;
        },
      },
      {
        label: 'c',
        load: () => {
          tried.push('c');
          return addon;
        },
      },
    ]);
    expect(loaded).toBe(addon);
    expect(tried).toEqual(['a', 'b']);
  });

  it('reports a module that is not our addon', () => {
    const e = loadError(() => loadFirst([{ label: 'other', load: () => ({ libraryInfo: () => '{}' }) }]));
    expect(e.message).toContain(
      '  - other: not a supersimplenet addon (missing buildInfo, createModel, loadModel, imagenetTopK, TrainSet, ' +
        'AbortHandle, readPickleJson, resizeImage)',
    );
  });

  it('refuses an addon built from another version, whose names or limits differ from ours', () => {
    const stale = new FakeModule() as NativeModule;
    stale.constants = { ...EXPECTED_NATIVE_CONSTANTS, backbones: ['resnet18'] };
    const good = new FakeModule();
    expect(
      loadFirst([
        { label: 'stale', load: () => stale },
        { label: 'good', load: () => good },
      ]),
    ).toBe(good);
    const e = loadError(() => loadFirst([{ label: 'stale', load: () => stale }]));
    expect(e.message).toContain(
      '  - stale: built from another version of supersimplenet: constants.backbones is ["resnet18"], this package ' +
        'expects ["resnet18","resnet34","resnet50","wide_resnet50_2","wide_resnet101_2","resnet50-keras"] (rebuild it)',
    );
    const bare = new FakeModule() as Partial<NativeModule>;
    delete bare.constants;
    expect(loadError(() => loadFirst([{ label: 'bare', load: () => bare }])).message).toContain('it exports no constants');
  });

  it('says what a missing libtorch or a symbol mismatch usually means', () => {
    expect(explainLoadError(new Error('libtorch_cpu.so: cannot open shared object file: No such file or directory'))).toBe(
      'libtorch not found: libtorch_cpu.so cannot be opened (libtorch is not installed where the addon was built to find it, nor on LD_LIBRARY_PATH)',
    );
    expect(explainLoadError(new Error('/x/supersimplenet.node: undefined symbol: _ZN3c10...\nmore'))).toBe(
      'libtorch version or ABI mismatch: /x/supersimplenet.node: undefined symbol: _ZN3c10... (built against another libtorch version or C++ ABI than the one found at run time)',
    );
    expect(explainLoadError(new Error('/x/supersimplenet.node: undefined symbol: _ZN3ssn6Engine6createE'))).toContain(
      'an incomplete build',
    );
  });

  it('caches the module and lets tests replace it', () => {
    const fake = new FakeModule();
    setNativeForTesting(fake);
    expect(loadNative()).toBe(fake);
    expect(loadNative()).toBe(fake);
    expect(libraryInfo()).toEqual({ package: 'fake' });
    expect(loadedBinding()).toBeUndefined();
  });
});

/** An addon stand-in whose buildInfo() reports `built` at build time and `runtime` at run time. */
function addonWith(built: string, runtime: string | null): NativeModule {
  const addon = new FakeModule() as NativeModule;
  addon.buildInfo = () => ({ torch: built, cxx11Abi: true, cuda: false, runtimeTorch: runtime, napi: 8 });
  return addon;
}

const platformDir = `${process.platform}-${process.arch}`;
const cpu113 = prebuildFileName({ torch: '1.13.0', cxx11Abi: true, cuda: false });

describe('native loader: each failure, as the user reads it', () => {
  it('missing binding: nothing built, no prebuild', async () => {
    const root = await fs.mkdtemp(path.join(dir, 'missing-'));
    const e = loadError(() => loadFirst(defaultCandidates({}, root)));
    expect(e.code).toBe('ERR_SSN_NATIVE_LOAD');
    expect(e.message).toContain(`  - ${path.join(root, 'build', 'Release', 'supersimplenet.node')}: not found`);
    expect(e.message).toContain(`  - prebuilds (node-gyp-build in ${root}): no prebuild for this platform and libtorch`);
    expect(e.message).toMatch(/Possible fixes:\n {2}1\. .*apt-get install libtorch-dev.*\n {2}2\. .*LIBTORCH=.*\n {2}3\. .*npx ssn build/);
  });

  it('no libtorch: the prebuild needs a libtorch the dynamic loader cannot find', () => {
    const tags = parsePrebuildTags(cpu113);
    const e = loadError(() =>
      loadFirst([
        {
          label: `prebuilds/${platformDir}/${cpu113}`,
          tags,
          load: () => {
            throw new Error('libtorch_cpu.so.1.13: cannot open shared object file: No such file or directory');
          },
        },
      ]),
    );
    expect(e.message).toContain(
      `  - prebuilds/${platformDir}/${cpu113}: libtorch 1.13 not found: libtorch_cpu.so.1.13 cannot be opened ` +
        '(libtorch is not installed where the addon was built to find it, nor on LD_LIBRARY_PATH) ' +
        '(this build needs libtorch 1.13, CXX11 ABI, CPU)',
    );
    expect(e.message).toContain('1. Install libtorch: apt-get install libtorch-dev');
  });

  it('wrong libtorch version: loaded, but against another libtorch than it was built for', () => {
    const e = loadError(() => loadFirst([{ label: 'local', load: () => addonWith('1.13.0', '2.1.2') }]));
    expect(e.message).toContain(
      '  - local: libtorch version mismatch: built against libtorch 1.13.0, but libtorch 2.1.2 was loaded at run time',
    );
    expect(e.message).toContain('3. Then build the addon from source: npx ssn build');
  });

  it('wrong libtorch version or ABI: a symbol the addon needs is not in this libtorch', () => {
    const tags = parsePrebuildTags(cpu113);
    const e = loadError(() =>
      loadFirst([
        {
          label: 'prebuild',
          tags,
          load: () => {
            throw new Error('/p/supersimplenet.node: undefined symbol: _ZN2at4_ops5empty4callEN3c108ArrayRefIlEE');
          },
        },
      ]),
    );
    expect(e.message).toMatch(
      / {2}- prebuild: libtorch version or ABI mismatch: .*undefined symbol: _ZN2at4_ops.*\(this build needs libtorch 1\.13, CXX11 ABI, CPU\)/,
    );
  });

  it('missing CUDA driver, and missing CUDA libraries of libtorch', () => {
    expect(explainLoadError(new Error('libcuda.so.1: cannot open shared object file: No such file or directory'))).toBe(
      'missing CUDA driver: libcuda.so.1 was not found (an NVIDIA driver is needed for this CUDA build; use a CPU build otherwise)',
    );
    expect(explainLoadError(new Error('libc10_cuda.so: cannot open shared object file: No such file or directory'))).toBe(
      "libtorch's CUDA libraries not found: libc10_cuda.so cannot be opened",
    );
  });

  it('patch releases share an ABI; an unknown runtime libtorch is not second-guessed', () => {
    const same = addonWith('1.13.0', '1.13.1');
    expect(loadFirst([{ label: 'a', load: () => same }])).toBe(same);
    const unknown = addonWith('1.13.0', null);
    expect(loadFirst([{ label: 'a', load: () => unknown }])).toBe(unknown);
  });

  it('falls through a failing candidate to the next one, and lists every failure when none loads', () => {
    const good = addonWith('2.1.0', '2.1.2');
    expect(
      loadFirst([
        { label: 'a', load: () => addonWith('1.13.0', '2.1.2') },
        { label: 'b', load: () => good },
      ]),
    ).toBe(good);
    const e = loadError(() =>
      loadFirst([
        { label: 'a', load: () => addonWith('1.13.0', '2.1.2') },
        {
          label: 'b',
          load: () => {
            throw new Error('libcuda.so.1: cannot open shared object file');
          },
        },
      ]),
    );
    expect(e.message.split('\n').slice(1, 3)).toEqual([
      '  - a: libtorch version mismatch: built against libtorch 1.13.0, but libtorch 2.1.2 was loaded at run time',
      '  - b: missing CUDA driver: libcuda.so.1 was not found (an NVIDIA driver is needed for this CUDA build; use a CPU build otherwise)',
    ]);
  });
});

describe('prebuild names', () => {
  it('carry libtorch major.minor, the CXX11 ABI and CPU/CUDA, and read back', () => {
    const name = prebuildFileName({ torch: '2.5.1', cxx11Abi: false, cuda: true });
    expect(name).toBe(
      process.platform === 'linux'
        ? 'supersimplenet.napi.glibc.torch2_5.cxx11abi0.cuda.node'
        : 'supersimplenet.napi.torch2_5.cxx11abi0.cuda.node',
    );
    expect(parsePrebuildTags(name)).toEqual({ torch: '2.5', cxx11Abi: false, cuda: true });
    expect(parsePrebuildTags('supersimplenet.napi.node')).toBeUndefined();
  });

  it("pass node-gyp-build's own tag matcher (our tags are unknown to it, never rejected)", () => {
    const ngb = require('node-gyp-build') as {
      parseTags(f: string): Record<string, unknown>;
      matchTags(runtime: string, abi: string): (t: unknown) => boolean;
    };
    const tags = ngb.parseTags(cpu113);
    expect(tags.napi).toBe(true);
    expect(tags.abi).toBeUndefined(); // "cxx11abi1" must not be read as a Node ABI
    expect(ngb.matchTags('node', process.versions.modules)(tags)).toBe(true);
    expect(ngb.matchTags('electron', '128')(tags)).toBe(true);
  });

  it('prebuildFiles: this platform only, what node-gyp-build accepts, CUDA before CPU', async () => {
    const root = await fs.mkdtemp(path.join(dir, 'prebuilds-'));
    const here = path.join(root, 'prebuilds', platformDir);
    await fs.mkdir(here, { recursive: true });
    await fs.mkdir(path.join(root, 'prebuilds', 'sunos-mips'), { recursive: true });
    const cuda = prebuildFileName({ torch: '2.5.0', cxx11Abi: true, cuda: true });
    const otherAbi = 'supersimplenet.abi1.node'; // a Node-ABI build for another Node: rejected
    for (const f of [cpu113, cuda, otherAbi, 'README.txt']) await fs.writeFile(path.join(here, f), '');
    await fs.writeFile(path.join(root, 'prebuilds', 'sunos-mips', cpu113), '');
    expect(prebuildFiles(root)).toEqual([path.join(here, cuda), path.join(here, cpu113)]);
    const labels = defaultCandidates({}, root).map((c) => c.label);
    expect(labels).toEqual([
      path.join(root, 'build', 'Release', 'supersimplenet.node'),
      `${path.join(here, cuda)} (libtorch 2.5, CXX11 ABI, CUDA)`,
      `${path.join(here, cpu113)} (libtorch 1.13, CXX11 ABI, CPU)`,
    ]);
    const e = loadError(() => loadFirst(defaultCandidates({}, root)));
    expect(e.message).toContain(`  - ${path.join(here, cpu113)} (libtorch 1.13, CXX11 ABI, CPU): `);
  });
});
