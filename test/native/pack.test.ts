/**
 * The packed tarball, as a user gets it: `npm pack --dry-run` lists only what we mean to ship, and the real
 * tarball (with the prebuild that `npm run prebuilds` made) installs into an empty project with NO
 * compiler, cmake or make on the PATH, then `ssn info` loads the prebuild and `ssn import` + `ssn predict`
 * reproduce a golden fixture from there.
 *
 * Offline: the empty project gets a lockfile copied from this repo's (production packages only, with
 * their integrity), so `npm ci --offline` takes every dependency from the npm cache that `npm ci` filled.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { goldenImportArgs, goldenOrSkip, skippedGoldenTest } from '../helpers/golden';

const execFileAsync = promisify(execFile);
const repo = path.resolve(__dirname, '..', '..');

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  integrity: string;
  files: Array<{ path: string }>;
}

/** npm's own CLI script, so that npm runs under this node even with a PATH that holds nothing else. */
function npmCli(): string {
  const beside = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)) return process.env.npm_execpath;
  if (existsSync(beside)) return beside;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const npm = path.join(dir, 'npm');
    if (existsSync(npm)) return realpathSync(npm);
  }
  throw new Error('npm was not found');
}

async function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [npmCli(), ...args], { cwd, env, maxBuffer: 64 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** What a tarball may hold: the compiled JS and types, prebuilds, the sources of a source build, README, ssn-bench (with its ONNX timing and its folder's README). */
const ALLOWED =
  /^(package\.json|README\.md|CMakeLists\.txt|bench\/(ssn-bench\.js|ssn-bench-onnx\.js|README\.md)|dist\/.+\.(js|d\.ts)|prebuilds\/[\w+-]+\/supersimplenet\.[\w.]+\.node|cpp\/.+\.(h|cpp|cu|cuh)|binding\/.+\.(h|cpp)|cmake\/.+\.cmake)$/;

describe('npm pack --dry-run', () => {
  let dry: PackResult;
  beforeAll(async () => {
    [dry] = JSON.parse(await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], repo)) as PackResult[];
  });

  test('lists only the intended files', () => {
    const files = dry.files.map((f) => f.path);
    expect(files.filter((f) => !ALLOWED.test(f))).toEqual([]);
    expect(files.filter((f) => /^(test|build|scripts|lib|node_modules|\.ci)\//.test(f) || /\.map$/.test(f))).toEqual([]);
    // npm adds the README of a folder it ships a file from.
    expect(files.filter((f) => f.startsWith('bench/')).sort()).toEqual([
      'bench/README.md',
      'bench/ssn-bench-onnx.js',
      'bench/ssn-bench.js',
    ]);
    for (const needed of [
      'package.json',
      'README.md',
      'CMakeLists.txt',
      'cmake/FindLibtorch.cmake',
      'binding/addon.cpp',
      'cpp/api/engine.h',
    ]) {
      expect(files).toContain(needed);
    }
  });

  test('holds the compiled TypeScript when it was built', () => {
    const files = dry.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/cli/ssn.js', 'dist/native.js']));
  });
});

describe('the packed tarball in an empty project without a compiler', () => {
  let tmp: string;
  let project: string;
  let bin: string;
  let pack: PackResult;
  let env: NodeJS.ProcessEnv;

  const ssn = async (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
    execFileAsync(path.join(project, 'node_modules', '.bin', 'ssn'), args, { cwd: project, env, maxBuffer: 64 << 20 });

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-pack-'));
    await npm(['run', 'prebuilds'], repo);
    [pack] = JSON.parse(await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], repo)) as PackResult[];

    // A PATH with node and a shell alone: no cc, c++, g++, cmake or make. (npm runs dependencies' install
    // scripts through sh, e.g. protobufjs's postinstall, which only checks versions; every user has a shell.)
    bin = path.join(tmp, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync('/bin/sh', path.join(bin, 'sh'));
    env = { ...process.env, PATH: bin };
    for (const key of ['SSN_NATIVE_BINDING', 'LD_LIBRARY_PATH', 'CXX', 'CC', 'LIBTORCH', 'Torch_DIR']) delete env[key];

    project = path.join(tmp, 'project');
    mkdirSync(project);
    writeEmptyProject(project, pack);
    await npm(['ci', '--offline', '--no-audit', '--no-fund'], project, env);
  }, 120_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball holds the prebuild for this platform', () => {
    const prebuilds = pack.files.map((f) => f.path).filter((f) => f.startsWith(`prebuilds/${process.platform}-${process.arch}/`));
    expect(prebuilds).toHaveLength(1);
    expect(prebuilds[0]).toMatch(/^prebuilds\/[\w-]+\/supersimplenet\.napi\.(glibc\.)?torch\d+_\d+\.cxx11abi[01]\.(cpu|cuda)\.node$/);
    console.log(
      `${pack.filename}: ${pack.files.length} files, ${(pack.size / 1024).toFixed(0)} KiB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked`,
    );
  });

  test('nothing could have been compiled: the install has no build/ folder', () => {
    expect(existsSync(path.join(project, 'node_modules', 'supersimplenet', 'build'))).toBe(false);
  });

  test('ssn --version and ssn info load from the install; info names the prebuild', async () => {
    expect((await ssn('--version')).stdout.trim()).toBe(pack.filename.replace(/^supersimplenet-|\.tgz$/g, ''));
    const { stdout } = await ssn('info', '--json');
    const report = JSON.parse(stdout) as {
      package: { version: string };
      binding: string;
      native: { libtorch?: unknown };
      build: { torch: string; runtimeTorch: string };
    };
    expect(report.package.version).toBe(JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).version);
    expect(
      report.binding.startsWith(path.join(realpathSync(project), 'node_modules', 'supersimplenet', 'prebuilds') + path.sep) ||
        report.binding.startsWith(path.join(project, 'node_modules', 'supersimplenet', 'prebuilds') + path.sep),
    ).toBe(true);
    expect(report.native.libtorch).toBeDefined();
    expect(report.build.runtimeTorch.split('.').slice(0, 2)).toEqual(report.build.torch.split('.').slice(0, 2));
  });

  const golden = goldenOrSkip();
  if (golden === undefined) {
    skippedGoldenTest('ssn import + predict from the installed tarball');
    return;
  }
  const fixture = path.join(golden, 'resnet18-192x320');

  test('ssn import + predict reproduce the golden fixture', async () => {
    const expected = JSON.parse(readFileSync(path.join(fixture, 'expected.json'), 'utf8')) as {
      samples: Array<{ image: string; score_logit: number }>;
    };
    const model = path.join(tmp, 'model.safetensors');
    await ssn(...goldenImportArgs(golden, model));
    const sample = expected.samples[0];
    const { stdout } = await ssn('predict', model, path.join(fixture, sample.image), '--json', '--device', 'cpu');
    const [record] = JSON.parse(stdout) as Array<{ logit: number }>;
    expect(Math.abs(record.logit - sample.score_logit)).toBeLessThanOrEqual(1e-3);
  });
});

/** package.json + a lockfile: the tarball, and this repo's production packages exactly as locked. */
function writeEmptyProject(dir: string, pack: PackResult): void {
  const ours = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license: string;
    dependencies: Record<string, string>;
    bin: Record<string, string>;
    engines: Record<string, string>;
  };
  const lock = JSON.parse(readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  const spec = `file:../${pack.filename}`;
  const packages: Record<string, unknown> = {
    '': { name: 'ssn-pack-smoke', version: '1.0.0', dependencies: { [ours.name]: spec } },
    [`node_modules/${ours.name}`]: {
      version: ours.version,
      resolved: spec,
      integrity: pack.integrity,
      license: ours.license,
      dependencies: ours.dependencies,
      bin: ours.bin,
      engines: ours.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key !== '' && !entry.dev && !entry.link) packages[key] = entry;
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(packages[''], null, 2));
  writeFileSync(
    path.join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'ssn-pack-smoke', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}
