/** Whole-file writes that a reader never sees half done. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { SsnError } from './errors';

/** Writes `file` through a temporary name and a rename, so a reader never sees half a file. */
export async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new SsnError('ERR_SSN_IO', `Cannot write ${file}: ${(e as Error).message}`, 'Choose a writable output folder.', { cause: e });
  }
}
