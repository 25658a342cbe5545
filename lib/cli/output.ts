/**
 * Where the CLI writes: results on stdout (so `--json` output stays parseable), everything else on stderr.
 */
import type { Logger } from '../types';

export const log: Logger = (line) => {
  process.stderr.write(`${line}\n`);
};

export function printResult(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  printResult(JSON.stringify(value, null, 2));
}
