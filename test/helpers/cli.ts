/** Runs the built `ssn` CLI as a user does (a child node process) and collects its exit code and output. */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'ssn.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runSsn(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}
