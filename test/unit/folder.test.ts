/**
 * loadFolderItems: the good/ defect/ masks/ layout, sorted items, masks matched by name or stem, and errors
 * that name the first missing or malformed file and the expected layout. Files are listed, never decoded.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadFolderItems } from '../../lib/data/folder';

let root: string;

function touch(...parts: string[]): string {
  const file = path.join(root, ...parts);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, 'x');
  return file;
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ssn-folder-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

async function failure(dir: string): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await loadFolderItems(dir);
  } catch (e) {
    return e as { code: string; message: string; hint?: string };
  }
  throw new Error('expected a rejection');
}

test('normal images only: labels 0, sorted, ids relative to the root', async () => {
  touch('good', 'b.png');
  touch('good', 'a.jpg');
  touch('good', '.DS_Store');
  const items = await loadFolderItems(root);
  expect(items).toEqual([
    { id: 'good/a.jpg', image: path.join(root, 'good', 'a.jpg'), label: 0, type: 'good' },
    { id: 'good/b.png', image: path.join(root, 'good', 'b.png'), label: 0, type: 'good' },
  ]);
});

test('defect images with masks by the same name or the same stem; without masks/ image labels only', async () => {
  touch('good', '1.png');
  touch('defect', 'x.jpg');
  touch('defect', 'y.png');
  const unmasked = await loadFolderItems(root);
  expect(unmasked.slice(1).map((i) => [i.id, i.label, i.mask])).toEqual([
    ['defect/x.jpg', 1, undefined],
    ['defect/y.png', 1, undefined],
  ]);
  touch('masks', 'x.png');
  touch('masks', 'y.png');
  const masked = await loadFolderItems(root);
  expect(masked[1].mask).toBe(path.join(root, 'masks', 'x.png'));
  expect(masked[2].mask).toBe(path.join(root, 'masks', 'y.png'));
  expect(masked[2].type).toBe('defect');
});

test('symlinked images are accepted', async () => {
  const target = touch('elsewhere', 'real.png');
  mkdirSync(path.join(root, 'good'));
  symlinkSync(target, path.join(root, 'good', 'link.png'));
  expect((await loadFolderItems(root)).map((i) => i.id)).toEqual(['good/link.png']);
});

test('errors name the missing or malformed file and the layout', async () => {
  expect(await failure(path.join(root, 'nope'))).toMatchObject({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('not found') });
  const missingGood = await failure(root);
  expect(missingGood.message).toContain(path.join(root, 'good'));
  expect(missingGood.hint).toContain('good/');
  mkdirSync(path.join(root, 'good'));
  expect((await failure(root)).message).toContain('holds no images');
  touch('good', 'a.png');
  touch('good', 'notes.txt');
  expect((await failure(root)).message).toContain(path.join(root, 'good', 'notes.txt'));
  rmSync(path.join(root, 'good', 'notes.txt'));
  touch('defect', 'd1.png');
  touch('defect', 'd2.png');
  touch('masks', 'd1.png');
  // Masks for some defect images only: the others carry an image label (the mixed setting).
  const partial = await loadFolderItems(root);
  expect(partial.filter((i) => i.label === 1).map((i) => [i.id, i.mask])).toEqual([
    ['defect/d1.png', path.join(root, 'masks', 'd1.png')],
    ['defect/d2.png', undefined],
  ]);
  const file = touch('plain.png');
  expect((await failure(file)).message).toContain('Not a folder');
});
