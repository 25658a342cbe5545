/**
 * A process killed while it saves: the target is never torn (absent, or a whole model that loads), and the next
 * save of that target removes the killed writer's temporary file, so no orphan stays behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { SuperSimpleNet } from '../../lib';
import { tinyModel } from '../helpers/tinyModel';

const DIST = path.resolve(__dirname, '..', '..', 'dist');

/** A child that saves a 64x64 resnet18 model (about 18 MB) to `target` again and again until killed. */
function saver(target: string): ReturnType<typeof spawn> {
  const script = `
    const { SuperSimpleNet } = require(${JSON.stringify(DIST)});
    (async () => {
      const m = await SuperSimpleNet.create({ backbone: { arch: 'resnet18', random: true }, imageSize: 64, device: 'cpu', logger: () => {} });
      process.stdout.write('ready\\n');
      for (;;) await m.save(${JSON.stringify(target)});
    })();`;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

const temporaries = (dir: string): string[] => readdirSync(dir).filter((n) => n.includes('.tmp-'));

test('a save killed at any moment leaves no torn target, and the next save removes its temporary file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-kill-save-'));
  const target = path.join(dir, 'model.safetensors');
  try {
    let orphansSeen = 0;
    for (let round = 0; round < 6; round++) {
      const child = saver(target);
      await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 150 + 170 * round)); // kill at different points of the writes
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      orphansSeen += temporaries(dir).length;
      if (existsSync(target)) {
        const loaded = await SuperSimpleNet.load(target, { device: 'cpu', logger: () => undefined });
        expect(loaded.info().imageSize).toEqual([64, 64]);
        loaded.dispose();
      }
    }
    // The kills hit a write often enough to leave temporaries; the next save of the target removes them all.
    expect(orphansSeen).toBeGreaterThan(0);
    const model = await tinyModel(64, 1);
    await model.save(target);
    model.dispose();
    expect(temporaries(dir)).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
