/**
 * `ssn demo` end to end as a user runs it: the default backbone (fetched into SSN_CACHE_DIR when missing),
 * procedural surfaces, predictions, overlays and a summary, and a plain statement that the heads are untrained.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'ssn.js');

test('ssn demo predicts procedural surfaces with the default backbone', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'ssn-demo-'));
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'demo', '--images', '3', '--size', '64', '--out', out, '--device', 'cpu'], {
      maxBuffer: 16 << 20,
      timeout: 240_000,
    });
    expect(stderr).toContain('UNTRAINED');
    expect(stdout).toMatch(/score/);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.headsTrained).toBe(false);
    expect(summary.backbone.arch).toBe('resnet50-keras');
    expect(summary.imageSize).toEqual([64, 64]);
    expect(summary.results).toHaveLength(3);
    for (const r of summary.results) {
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
      expect(Number.isFinite(r.mapMax)).toBe(true);
      expect(existsSync(r.overlay)).toBe(true);
    }
    expect(readdirSync(path.join(out, 'masks'))).toHaveLength(3);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);
