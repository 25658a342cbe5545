/**
 * File-system helpers shared by the benchmark layouts: sorted listings and existence checks whose errors
 * name the first missing or malformed path and the layout that was expected there.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { SsnError } from '../errors';
import { IMAGE_EXTENSIONS } from '../image';

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** ERR_SSN_INPUT for a dataset root that does not match `layout` at `where`. */
export function layoutError(layout: string, where: string, problem: string, expected: string): SsnError {
  return new SsnError('ERR_SSN_INPUT', `${layout}: ${problem}: ${where}`, `Expected the ${layout} layout: ${expected}.`);
}

async function statOf(p: string): Promise<import('node:fs').Stats | undefined> {
  return fs.stat(p).catch(() => undefined);
}

/** Names in `dir` (sorted by code point, as Python's sorted()), or an error naming the missing folder. */
export async function listDir(dir: string, layout: string, expected: string): Promise<string[]> {
  const stat = await statOf(dir);
  if (!stat) throw layoutError(layout, dir, 'missing folder', expected);
  if (!stat.isDirectory()) throw layoutError(layout, dir, 'not a folder', expected);
  return (await fs.readdir(dir)).sort(byCodePoint);
}

/** Image files of `dir`, sorted; an empty folder is an error when `nonEmpty`. */
export async function listImages(dir: string, layout: string, expected: string, nonEmpty = true): Promise<string[]> {
  const names = (await listDir(dir, layout, expected)).filter(isImageFile);
  if (nonEmpty && names.length === 0) throw layoutError(layout, dir, 'no images in folder', expected);
  return names;
}

/** Sub-folders of `dir`, sorted. */
export async function listSubdirs(dir: string, layout: string, expected: string): Promise<string[]> {
  const names = await listDir(dir, layout, expected);
  const out: string[] = [];
  for (const n of names) if ((await statOf(path.join(dir, n)))?.isDirectory()) out.push(n);
  return out;
}

export async function requireFile(file: string, layout: string, expected: string): Promise<string> {
  const stat = await statOf(file);
  if (!stat) throw layoutError(layout, file, 'missing file', expected);
  if (!stat.isFile()) throw layoutError(layout, file, 'not a file', expected);
  return file;
}

export async function exists(p: string): Promise<boolean> {
  return (await statOf(p)) !== undefined;
}

export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function stem(name: string): string {
  return path.basename(name, path.extname(name));
}
