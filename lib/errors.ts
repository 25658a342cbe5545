/**
 * Errors of supersimplenet: one class with a stable `code` and a `hint` that says what to do, and the
 * option checks that produce them ("Expected <what> for <option> but received <value>", as sharp does).
 */

export const SSN_ERROR_CODES = [
  'ERR_SSN_SHAPE',
  'ERR_SSN_CHECKPOINT',
  'ERR_SSN_INPUT',
  'ERR_SSN_DISPOSED',
  'ERR_SSN_CUDA_UNAVAILABLE',
  'ERR_SSN_IO',
  'ERR_SSN_CONFIG',
  'ERR_SSN_ABORTED',
  'ERR_SSN_DISTRIBUTED',
  'ERR_SSN_INTERNAL',
  'ERR_SSN_NATIVE_LOAD',
] as const;

export type SsnErrorCode = (typeof SSN_ERROR_CODES)[number];

export class SsnError extends Error {
  readonly code: SsnErrorCode;
  /** What to do about it, when there is something useful to say (absent otherwise). */
  declare readonly hint?: string;

  constructor(code: SsnErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SsnError';
    this.code = code;
    if (hint) this.hint = hint;
  }
}

export function isSsnErrorCode(value: unknown): value is SsnErrorCode {
  return typeof value === 'string' && (SSN_ERROR_CODES as readonly string[]).includes(value);
}

/**
 * An SsnError for anything the addon (or a library below it) threw: native errors keep their code, message
 * and hint and become the cause; anything without a known code is ERR_SSN_INTERNAL.
 */
export function fromNative(e: unknown): SsnError {
  if (e instanceof SsnError) return e;
  // Duck-typed: errors made in another realm (the addon's, under jest or vm) are not `instanceof Error` here.
  if (typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string') {
    const { code, hint, message } = e as { code?: unknown; hint?: unknown; message: string };
    return new SsnError(isSsnErrorCode(code) ? code : 'ERR_SSN_INTERNAL', message, typeof hint === 'string' ? hint : undefined, {
      cause: e,
    });
  }
  return new SsnError('ERR_SSN_INTERNAL', `Native call failed with a non-Error value: ${describe(e)}`, undefined, {
    cause: e,
  });
}

/** A short, one-line rendering of any value for messages: strings quoted, objects by kind. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'string': {
      const s = value.length > 60 ? `${value.slice(0, 60)}...` : value;
      return `'${s}' (string)`;
    }
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${String(value)} (${typeof value})`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** The ERR_SSN_INPUT error of an option check. */
export function invalidOption(what: string, option: string, value: unknown, hint?: string): SsnError {
  return new SsnError('ERR_SSN_INPUT', `Expected ${what} for ${option} but received ${describe(value)}`, hint);
}

export function expectObject(value: unknown, option: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption('an object', option, value);
  }
}

export function expectString(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidOption('a non-empty string', option, value);
  return value;
}

export function expectBoolean(value: unknown, option: string): boolean {
  if (typeof value !== 'boolean') throw invalidOption('a boolean', option, value);
  return value;
}

export function expectFunction<T extends (...args: never[]) => unknown>(value: unknown, option: string): T {
  if (typeof value !== 'function') throw invalidOption('a function', option, value);
  return value as T;
}

/** An integer in [min, max] (inclusive). */
export function expectInteger(value: unknown, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw invalidOption(`an integer ${range}`, option, value);
  }
  return value;
}

export function expectOneOf<T extends string>(value: unknown, option: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidOption(`one of ${allowed.map((a) => `'${a}'`).join(', ')}`, option, value);
  }
  return value as T;
}
