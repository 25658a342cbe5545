/**
 * Text in and out of the `ssn` command: option values (HxW sizes, counts), tables, and error reports.
 */

/** Command-line misuse (a bad option value, a missing argument): printed like other errors, exit code 2. */
export class UsageError extends Error {
  readonly code = 'ERR_SSN_USAGE';
  readonly hint: string;

  constructor(message: string, hint = '') {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}

/** Exit codes: 1 for failures, 2 for command-line misuse. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * "256x256", "192x320" (height x width; 'x', 'X' or '*' separate) or one number for a square: [height, width].
 * Both sides must exceed 12 (the backbone's downsampling needs that much).
 */
export function parseSize(text: string, option = '--size'): [number, number] {
  const parts = text.trim().split(/\s*[xX*]\s*/);
  const hint = `Give ${option} as HEIGHTxWIDTH, e.g. 256x256 or 192x320, or one number for a square.`;
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => /^\d+$/.test(p))) {
    throw new UsageError(`Expected ${option} as HxW or one number but received '${text}'.`, hint);
  }
  const [h, w] = parts.length === 1 ? [Number(parts[0]), Number(parts[0])] : [Number(parts[0]), Number(parts[1])];
  if (h <= 12 || w <= 12 || h > 16384 || w > 16384) {
    throw new UsageError(`Expected each side of ${option} between 13 and 16384 but received ${h}x${w}.`, hint);
  }
  return [h, w];
}

/** A positive integer option such as --batch-size. */
export function parsePositiveInt(text: string, option: string): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`Expected ${option} to be a positive integer but received '${text}'.`, `For example ${option} 8.`);
  }
  return value;
}

/** A positive number option such as --max-minutes 2.5. */
export function parsePositiveNumber(text: string, option: string): number {
  const value = /^\s*(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(`Expected ${option} to be a number > 0 but received '${text}'.`, `For example ${option} 30.`);
  }
  return value;
}

/** A left-aligned text table; columns whose name is in `right` are right-aligned (numbers). */
export function formatTable(header: string[], rows: string[][], right: string[] = []): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (right.includes(header[c]) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** An error that carries a stable ERR_SSN_* code and a hint: SsnError, native errors, UsageError. */
export function isCodedError(e: unknown): e is Error & { code: string; hint?: string } {
  const code: unknown = e instanceof Error ? Reflect.get(e, 'code') : undefined;
  return typeof code === 'string' && code.startsWith('ERR_SSN_');
}

/**
 * The report of a failure, for stderr: `error [CODE]: message` and `hint: ...`. Coded errors never show a
 * stack trace (they are expected failures); anything else is a bug, so its stack is printed.
 */
export function formatError(e: unknown): string {
  if (isCodedError(e)) {
    const lines = [`error [${e.code}]: ${e.message}`];
    if (e.hint) lines.push(`hint: ${e.hint}`);
    return lines.join('\n');
  }
  const detail = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
  return [
    `error [ERR_SSN_INTERNAL]: unexpected failure: ${e instanceof Error ? e.message : String(e)}`,
    'hint: this is a bug in supersimplenet; please report it with the trace below.',
    detail,
  ].join('\n');
}

/** The exit code of a failure. */
export function exitCodeOf(e: unknown): number {
  return e instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** A number with `digits` decimals, or the JSON spelling of a non-finite value. */
export function fixed(value: number, digits = 4): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}
