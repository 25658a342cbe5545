/** Input errors of the metrics are the package's SsnError with code ERR_SSN_INPUT. */
import { SsnError } from '../errors';

export function inputError(message: string, hint?: string): SsnError {
  return new SsnError('ERR_SSN_INPUT', message, hint);
}
