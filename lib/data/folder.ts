/**
 * The plain folder layout for your own data:
 *
 *   DIR/good/    normal images (required, at least one)
 *   DIR/defect/  anomalous images (optional)
 *   DIR/masks/   pixel masks of the defect images, same file name or same name with another image
 *                extension (optional, for all defect images or some: a defect image without a mask
 *                carries an image-level label only, which the weak and mixed settings train on)
 *
 * Items are sorted by file name; ids are paths relative to DIR ('good/001.png'). Files are only listed
 * here, never decoded.
 */
import { type Dirent, promises as fs } from 'node:fs';
import * as path from 'node:path';

import { SsnError } from '../errors';
import { IMAGE_EXTENSIONS } from '../image';
import type { DatasetItem } from './dataset';

const LAYOUT_HINT =
  'Expected DIR/good/ (normal images), optionally DIR/defect/ (anomalous images) and DIR/masks/ ' +
  '(masks of some or all defect images, same file name; a pixel >= 128 is defective).';

function layoutError(message: string): SsnError {
  return new SsnError('ERR_SSN_INPUT', message, LAYOUT_HINT);
}

/** Image files of a folder, sorted; undefined when the folder does not exist. Other files are an error. */
async function listImages(dir: string, required: boolean): Promise<string[] | undefined> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    if (code === 'ENOENT') throw layoutError(`Dataset folder not found: ${dir}.`);
    if (code === 'ENOTDIR') throw layoutError(`Not a folder: ${dir}.`);
    throw new SsnError('ERR_SSN_IO', `Cannot read the folder ${dir}: ${(e as Error).message}`, 'Check its permissions.', { cause: e });
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue; // .DS_Store and friends
    const file = path.join(dir, entry.name);
    if (
      !entry.isFile() &&
      !(
        entry.isSymbolicLink() &&
        (await fs.stat(file).then(
          (s) => s.isFile(),
          () => false,
        ))
      )
    ) {
      throw layoutError(`Unexpected entry in the dataset: ${file} is not an image file.`);
    }
    if (!IMAGE_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) {
      throw layoutError(`Not an image file: ${file} (expected one of ${IMAGE_EXTENSIONS.join(' ')}).`);
    }
    names.push(entry.name);
  }
  return names.sort();
}

/** The items of a folder laid out as good/, defect/ and masks/. */
export async function loadFolderItems(dir: string): Promise<DatasetItem[]> {
  const root = path.resolve(dir);
  const stat = await fs.stat(root).catch(() => undefined);
  if (!stat) throw layoutError(`Dataset folder not found: ${dir}.`);
  if (!stat.isDirectory()) throw layoutError(`Not a folder: ${dir}.`);
  const good = await listImages(path.join(root, 'good'), false);
  if (!good) throw layoutError(`${path.join(dir, 'good')} is missing: every dataset needs normal images.`);
  if (good.length === 0) throw layoutError(`${path.join(dir, 'good')} holds no images.`);
  const defect = (await listImages(path.join(root, 'defect'), false)) ?? [];
  const masks = await listImages(path.join(root, 'masks'), false);

  const items: DatasetItem[] = good.map((name) => ({
    id: `good/${name}`,
    image: path.join(root, 'good', name),
    label: 0,
    type: 'good',
  }));
  const maskByStem = new Map<string, string>();
  for (const name of masks ?? []) {
    const stem = path.parse(name).name;
    if (!maskByStem.has(stem)) maskByStem.set(stem, name);
  }
  for (const name of defect) {
    const item: DatasetItem = { id: `defect/${name}`, image: path.join(root, 'defect', name), label: 1, type: 'defect' };
    const mask = masks?.includes(name) ? name : maskByStem.get(path.parse(name).name);
    if (mask) item.mask = path.join(root, 'masks', mask);
    items.push(item);
  }
  return items;
}
