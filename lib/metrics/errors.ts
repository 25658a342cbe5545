/**
 * Input errors of the metrics. lib/errors.ts (the shared SsnError) does not exist yet on this branch, so
 * this mirrors its contract: a stable `code` and a `hint` that says what to do.
 */
export class MetricsInputError extends Error {
  readonly code = 'ERR_SSN_INPUT' as const;
  readonly hint: string;

  constructor(message: string, hint = '') {
    super(message);
    this.name = 'MetricsInputError';
    this.hint = hint;
  }
}

export function inputError(message: string, hint = ''): MetricsInputError {
  return new MetricsInputError(message, hint);
}
