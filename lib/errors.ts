/**
 * PLACEHOLDER owned by the binding helper: the integrator takes that helper's lib/errors.ts at merge.
 * Only the surface this branch relies on, with the same signature: `new SsnError(code, message, hint?)`.
 */
export type SsnErrorCode =
  | 'ERR_SSN_SHAPE'
  | 'ERR_SSN_CHECKPOINT'
  | 'ERR_SSN_INPUT'
  | 'ERR_SSN_DISPOSED'
  | 'ERR_SSN_CUDA_UNAVAILABLE'
  | 'ERR_SSN_IO'
  | 'ERR_SSN_CONFIG'
  | 'ERR_SSN_ABORTED'
  | 'ERR_SSN_INTERNAL'
  | 'ERR_SSN_NATIVE_LOAD';

export class SsnError extends Error {
  readonly code: SsnErrorCode;
  readonly hint?: string;

  constructor(code: SsnErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'SsnError';
    this.code = code;
    if (hint) this.hint = hint;
  }
}
