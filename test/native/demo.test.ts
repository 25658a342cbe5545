/**
 * `ssn demo` end to end as a user runs it, at a tiny size: the default backbone (fetched into SSN_CACHE_DIR
 * when missing), procedural surfaces, unsupervised training with progress, held-out scores with image AUROC
 * and pixel AUPRO, overlays, the model and a summary. Quality is not asserted at this size (one epoch of
 * eight images); the README gives the numbers of the default run.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'ssn.js');

test('ssn demo trains on procedural surfaces with the default backbone and scores a held-out set', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'ssn-demo-'));
  try {
    const args = [cli, 'demo', '--size', '64', '--train', '8', '--test', '6', '--epochs', '1', '--batch-size', '8', '--out', out, '--device', 'cpu'];
    const { stdout, stderr } = await run(process.execPath, args, { maxBuffer: 16 << 20, timeout: 240_000 });
    expect(stderr).toMatch(/epoch 1\/1 .* loss/);
    expect(stdout).toMatch(/image AUROC \d\.\d{4}\s+pixel AUPRO \d\.\d{4}/);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.headsTrained).toBe(true);
    expect(summary.backbone.arch).toBe('resnet50-keras');
    expect(summary.imageSize).toEqual([64, 64]);
    expect(summary.train).toMatchObject({ epochs: 1, steps: 1, cachedFeatures: true });
    expect(summary.imageAuroc).toBeGreaterThanOrEqual(0);
    expect(summary.imageAuroc).toBeLessThanOrEqual(1);
    expect(summary.results).toHaveLength(6);
    for (const r of summary.results) {
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
      expect(Number.isFinite(r.mapMax)).toBe(true);
      expect(existsSync(r.overlay)).toBe(true);
    }
    expect(readdirSync(path.join(out, 'masks'))).toHaveLength(6);
    expect(existsSync(path.join(out, 'model.safetensors'))).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);
