/**
 * Files named on the command line: inputs that must exist, output folders, and names for written files.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { SsnError } from '../errors';
import { IMAGE_EXTENSIONS } from '../image';

/** The image files of `args`: files as given, folders replaced by their images (sorted, not recursive). */
export async function expandImages(args: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const missing: string[] = [];
  for (const arg of args) {
    const stat = await fs.stat(arg).catch(() => undefined);
    if (!stat) {
      missing.push(arg);
    } else if (stat.isDirectory()) {
      const names = (await fs.readdir(arg)).filter((n) => IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase())).sort();
      if (names.length === 0) {
        throw new SsnError(
          'ERR_SSN_INPUT',
          `The folder ${arg} holds no images (${IMAGE_EXTENSIONS.join(', ')}).`,
          'Name image files or a folder of images.',
        );
      }
      files.push(...names.map((n) => path.join(arg, n)));
    } else {
      files.push(arg);
    }
  }
  if (missing.length > 0) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `${missing.length} input${missing.length > 1 ? 's do' : ' does'} not exist: ${missing.join(', ')}.`,
      'Check the paths (relative paths start from the current folder).',
    );
  }
  return files;
}

/** Checks that `file` exists and is a file; `what` names it in the error ("the backbone weights"). */
export async function requireFile(file: string, what: string, hint = 'Check the path.'): Promise<void> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat?.isFile()) {
    throw new SsnError('ERR_SSN_INPUT', `Expected ${what} at ${file} but ${stat ? 'it is not a file' : 'there is no such file'}.`, hint);
  }
}

/**
 * One output name per input, from the file stem: a/x.png and b/x.jpg become x and x-2. Names are compared
 * case-insensitively, since some file systems do.
 */
export function outputStems(files: readonly string[]): string[] {
  const used = new Set<string>();
  return files.map((file) => {
    const stem = path.basename(file, path.extname(file)) || 'image';
    let name = stem;
    for (let k = 2; used.has(name.toLowerCase()); k++) name = `${stem}-${k}`;
    used.add(name.toLowerCase());
    return name;
  });
}

/** Creates the output folder `dir` (given with `option`) if needed. */
export async function ensureDir(dir: string, option: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new SsnError('ERR_SSN_IO', `Cannot create the folder ${dir} (${option}): ${(e as Error).message}.`, 'Choose a writable folder.');
  }
}
