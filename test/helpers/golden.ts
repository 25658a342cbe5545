/** Where the golden fixtures are: SSN_GOLDEN_DIR, or <repo>/../shared/golden. */
import * as path from 'node:path';

export function goldenDir(): string {
  return process.env.SSN_GOLDEN_DIR || path.resolve(__dirname, '..', '..', '..', 'shared', 'golden');
}
