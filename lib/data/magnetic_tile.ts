/**
 * Magnetic Tile defects (Huang et al.): <root>/MT_<Class>/Imgs/<id>.jpg with the mask <id>.png, classes
 * Free (defect-free) and Blowhole, Break, Crack, Fray, Uneven. There is no official split; ours is seeded:
 * unsupervised, 80% of the Free images train and the rest plus every defective image test; supervised,
 * also half of each defect class (with masks) in train. Masks are thresholded at 128.
 */
import * as path from 'node:path';

import type { DatasetItem, DatasetSplit } from './dataset';
import { layoutError, listDir, listSubdirs, requireFile, stem } from './layout';
import { prng } from './procedural';

export const MT_DEFECT_CLASSES = ['Blowhole', 'Break', 'Crack', 'Fray', 'Uneven'] as const;

const LAYOUT = 'Magnetic Tile';
const EXPECTED = '<root>/MT_<Free|Blowhole|Break|Crack|Fray|Uneven>/Imgs/<id>.jpg with the mask <id>.png';

export interface MagneticTileOptions {
  supervised?: boolean;
  /** Seed of the split. Default 42. */
  seed?: number;
  /** Share of Free images in train. Default 0.8. */
  trainShare?: number;
}

export async function loadMagneticTile(root: string, options: MagneticTileOptions = {}): Promise<DatasetSplit> {
  const seed = options.seed ?? 42;
  const share = options.trainShare ?? 0.8;
  const dirs = (await listSubdirs(root, LAYOUT, EXPECTED)).filter((d) => d.startsWith('MT_'));
  if (!dirs.includes('MT_Free')) throw layoutError(LAYOUT, path.join(root, 'MT_Free'), 'missing folder', EXPECTED);
  const random = prng(seed);
  const train: DatasetItem[] = [];
  const test: DatasetItem[] = [];
  for (const dir of dirs) {
    const cls = dir.slice(3);
    const defective = cls !== 'Free';
    const items = await classItems(root, dir, defective);
    shuffle(items, random);
    const nTrain = defective ? (options.supervised ? Math.floor(items.length / 2) : 0) : Math.round(items.length * share);
    train.push(...items.slice(0, nTrain));
    test.push(...items.slice(nTrain));
  }
  const byId = (a: DatasetItem, b: DatasetItem): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  train.sort(byId);
  test.sort(byId);
  return { name: `mt/${options.supervised ? 'supervised' : 'unsupervised'}/seed${seed}`, train, test };
}

async function classItems(root: string, dir: string, defective: boolean): Promise<DatasetItem[]> {
  const imgs = path.join(root, dir, 'Imgs');
  const names = (await listDir(imgs, LAYOUT, EXPECTED)).filter((n) => path.extname(n).toLowerCase() === '.jpg');
  if (names.length === 0) throw layoutError(LAYOUT, imgs, 'no .jpg images in folder', EXPECTED);
  const type = defective ? dir.slice(3).toLowerCase() : 'good';
  const items: DatasetItem[] = [];
  for (const n of names) {
    const item: DatasetItem = { id: `${dir}/${n}`, image: path.join(imgs, n), label: defective ? 1 : 0, type };
    if (defective) item.mask = await requireFile(path.join(imgs, `${stem(n)}.png`), LAYOUT, EXPECTED);
    items.push(item);
  }
  return items;
}

/** Fisher-Yates with the seeded generator. */
function shuffle<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}
