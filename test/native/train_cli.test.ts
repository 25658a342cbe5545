/**
 * `ssn train` as a user runs it, tiny (the default backbone at 32x32, four images): plain progress lines
 * when stderr is not a terminal, Ctrl-C stops cleanly and names the last checkpoint, --resume finishes the
 * run, and the summary and the model file come out.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'ssn.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs ssn; `onStderr` may send signals to the child. */
function ssn(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('ssn train: progress, Ctrl-C with the last checkpoint, --resume, summary', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-train-cli-'));
  try {
    mkdirSync(path.join(dir, 'data', 'good'), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const data = Buffer.alloc(40 * 36 * 3, 0).map((_, k) => (k * 13 + i * 29) % 256);
      await sharp(data, { raw: { width: 40, height: 36, channels: 3 } })
        .png()
        .toFile(path.join(dir, 'data', 'good', `${i}.png`));
    }
    const out = path.join(dir, 'model.safetensors');
    const ckpt = path.join(dir, 'model.ckpt.safetensors');
    const args = [
      'train',
      '--data',
      path.join(dir, 'data'),
      '--size',
      '32',
      '--epochs',
      '3',
      '--batch-size',
      '2',
      '--checkpoint-every',
      '1',
      '-o',
      out,
      '--device',
      'cpu',
    ];
    let interrupted = false;
    const stopped = await ssn(args, (text, child) => {
      if (!interrupted && /epoch 1\/3 .*step 2\/2/.test(text)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    expect(stopped.stderr).toContain('4 normal training images');
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('error [ERR_SSN_ABORTED]');
    expect(stopped.stderr).toContain(`--resume ${ckpt}`);
    expect(existsSync(ckpt)).toBe(true);
    expect(existsSync(out)).toBe(false);

    const resumed = await ssn([...args, '--resume', ckpt]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/trained 3 epochs \(\d steps, \d+ images, resumed\)/);
    expect(resumed.stdout).toContain("setting unsupervised (the interrupted run's)");
    expect(resumed.stdout).toContain(`model written to ${out}`);
    expect(existsSync(out)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
