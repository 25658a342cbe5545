/**
 * `ssn demo` end to end as a user runs it: the default backbone (fetched into SSN_CACHE_DIR when missing),
 * procedural surfaces, training with progress, calibration, held-out scores with image AUROC, pixel AUPRO and
 * the verdicts' accuracy, overlays, grid.png, the model and a summary. Once at a tiny size in each setting
 * (outputs only), once as a user runs it with the defaults, where the calibrated verdicts must be right for
 * at least 90 % of the held-out surfaces.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'ssn.js');

test.each([
  ['unsupervised', []],
  ['supervised', ['--defects', '3']],
])(
  'ssn demo (%s) trains on procedural surfaces with the default backbone and scores a held-out set',
  async (setting, extra) => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'ssn-demo-'));
    try {
      const args = [
        cli,
        'demo',
        '--setting',
        setting,
        ...extra,
        '--size',
        '64',
        '--train',
        '8',
        '--validation',
        '6',
        '--test',
        '6',
        '--epochs',
        '1',
        '--batch-size',
        '8',
        '--out',
        out,
        '--device',
        'cpu',
      ];
      const { stdout, stderr } = await run(process.execPath, args, { maxBuffer: 16 << 20, timeout: 240_000 });
      expect(stderr).toMatch(/epoch 1\/1 .* loss/);
      expect(stdout).toMatch(/image AUROC \d\.\d{4}\s+pixel AUPRO \d\.\d{4}\s+accuracy \d\.\d{4}/);
      const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
      expect(summary.headsTrained).toBe(true);
      expect(summary.backbone.arch).toBe('resnet50-keras');
      expect(summary.imageSize).toEqual([64, 64]);
      expect(summary.train).toMatchObject({ epochs: 1, config: { setting } });
      expect(summary.calibration).toMatchObject({ method: 'f1', pixelMethod: 'f1' });
      expect(existsSync(path.join(out, 'grid.png'))).toBe(true);
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
  },
  300_000,
);

test('the default demo: its calibrated verdicts are right for at least 90 % of the held-out surfaces', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'ssn-demo-default-'));
  try {
    const { stdout } = await run(process.execPath, [cli, 'demo', '--out', out, '--device', 'cpu'], {
      maxBuffer: 16 << 20,
      timeout: 900_000,
    });
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.accuracy).toBeGreaterThanOrEqual(0.9);
    const right = summary.results.filter((r: { defect: string | null; anomalous: boolean }) => r.anomalous === (r.defect !== null)).length;
    expect(right / summary.results.length).toBe(summary.accuracy);
    expect(stdout).toContain(`accuracy ${summary.accuracy.toFixed(4)}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 900_000);
