/** `ssn eval` and `ssn benchmark` option handling, before any engine is loaded. */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { main } from '../../lib/cli/ssn';

async function ssn(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(['node', 'ssn', ...args]), stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('ssn eval / ssn benchmark options', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-cli-eval-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('eval needs --dataset and --root', async () => {
    const run = await ssn('eval', 'model.safetensors', '--root', tmp);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error \[ERR_SSN_USAGE\]: .*--dataset/);
  });

  test('eval rejects an unknown dataset kind with the list of kinds', async () => {
    const run = await ssn('eval', 'model.safetensors', '--dataset', 'coco', '--root', tmp);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('mvtec');
  });

  test('eval names the missing model before loading the engine', async () => {
    const run = await ssn('eval', path.join(tmp, 'none.safetensors'), '--dataset', 'mt', '--root', tmp);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error \[ERR_SSN_INPUT\]: Expected the model at /);
  });

  test('benchmark rejects unknown categories and a backbone without weights', async () => {
    const bad = await ssn('benchmark', '--dataset', 'mvtec', '--root', tmp, '--categories', 'bottle,nope', '--out', path.join(tmp, 'o'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("received 'nope'");
    const bb = await ssn('benchmark', '--dataset', 'mt', '--root', tmp, '--backbone', 'resnet18');
    expect(bb.code).toBe(2);
    expect(bb.stderr).toContain('--random-backbone');
  });

  test('benchmark names the missing dataset folder and the layout', async () => {
    const run = await ssn(
      'benchmark',
      '--dataset',
      'mt',
      '--root',
      path.join(tmp, 'nothing'),
      '--out',
      path.join(tmp, 'o2'),
      '--backbone',
      'resnet18',
      '--random-backbone',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Magnetic Tile: missing folder: .*nothing/);
  });
});
