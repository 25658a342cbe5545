/**
 * The hostile-input corpora (test/corpora/corpus.js) through the package, in child processes: every case must
 * end with its stable error code and a message, never a crash, a hang or a runaway allocation.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { goldenOrSkip, skippedGoldenTest } from '../helpers/golden';
import { tinyModel } from '../helpers/tinyModel';

const { cases } = require('../corpora/corpus') as { cases: () => Array<{ name: string; code: string }> };

/** A case that gives no answer for this long is a hang. */
const CASE_TIMEOUT_MS = 60_000;
/** The child's resident memory may not pass this (the largest valid input here is a 16 MB model). */
const RSS_BOUND_MB = 1536;

interface Outcome {
  name: string;
  code: string;
  message?: string;
  rssMB?: number;
}

/** Runs the named cases in one child; a crash or a hang ends the child and is recorded for the case in flight. */
function runChild(names: string[], dir: string, basesFile: string): Promise<{ outcomes: Outcome[]; rest: string[] }> {
  const casesFile = path.join(dir, `cases-${names[0].replace(/\W/g, '_')}.json`);
  writeFileSync(casesFile, JSON.stringify({ names }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'corpora', 'corpus.js'), casesFile, basesFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const outcomes: Outcome[] = [];
    let inFlight: string | undefined;
    let buffered = '';
    let stderr = '';
    let hung = false;
    let timer = setTimeout(() => undefined, 0);
    const watch = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, CASE_TIMEOUT_MS);
    };
    watch();
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as Outcome & { start?: string };
        buffered = buffered.slice(nl + 1);
        if (line.start) inFlight = line.start;
        else {
          outcomes.push(line);
          inFlight = undefined;
        }
        watch();
        nl = buffered.indexOf('\n');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const done = new Set(outcomes.map((o) => o.name));
      if (inFlight) {
        outcomes.push({ name: inFlight, code: hung ? 'HANG' : `CRASH (${signal ?? code})`, message: stderr.slice(-500) });
        done.add(inFlight);
      } else if (code !== 0 && outcomes.length === 0) {
        outcomes.push({ name: names[0], code: `CHILD FAILED (${signal ?? code})`, message: stderr.slice(-500) });
        done.add(names[0]);
      }
      resolve({ outcomes, rest: names.filter((n) => !done.has(n)) });
    });
  });
}

const golden = goldenOrSkip();
if (!golden) {
  skippedGoldenTest('hostile-input corpora (their bases are golden checkpoints)');
} else {
  test('every corpus case gives its stable code and a message, in bounded memory, with no crash or hang', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ssn-corpora-'));
    try {
      const model = await tinyModel(32, 3);
      const modelFile = path.join(dir, 'base.safetensors');
      await model.save(modelFile);
      model.dispose();
      const basesFile = path.join(dir, 'bases.json');
      writeFileSync(
        basesFile,
        JSON.stringify({
          model: modelFile,
          heads: path.join(golden, 'resnet18-256x256', 'weights.pt'),
          backbone: path.join(golden, 'resnet18-256x256', 'backbone.pth'),
          legacyBackbone: path.join(golden, 'resnet18-256x256', 'backbone-legacy.pth'),
        }),
      );
      const all = cases();
      expect(all.length).toBeGreaterThanOrEqual(70);
      const outcomes: Outcome[] = [];
      let rest = all.map((c) => c.name);
      while (rest.length > 0) {
        const run = await runChild(rest, dir, basesFile);
        outcomes.push(...run.outcomes);
        rest = run.rest;
      }
      const got = new Map(outcomes.map((o) => [o.name, o]));
      const wrong = all
        .map((c) => ({ want: c.code, ...(got.get(c.name) ?? { name: c.name, code: 'NO ANSWER' }) }))
        .filter((o) => o.code !== o.want || !o.message || (o.rssMB ?? 0) > RSS_BOUND_MB);
      expect(wrong).toEqual([]);
      // The pickled calls were never made.
      expect(existsSync('/tmp/ssn-corpus-pwned')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
}
