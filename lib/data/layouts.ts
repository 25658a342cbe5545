/**
 * One entry point for every benchmark layout: `--dataset mvtec|visa|ksdd2|sensum|mt|folder` with a root,
 * and the category / fold where the layout has them.
 */
import * as path from 'node:path';

import { SsnError } from '../errors';
import type { DatasetSplit } from './dataset';
import { loadFolderItems } from './folder';
import { loadKsdd2 } from './ksdd2';
import { loadMagneticTile } from './magnetic_tile';
import { loadMvtec, MVTEC_CATEGORIES } from './mvtec';
import { loadSensum, SENSUM_CATEGORIES } from './sensum';
import { loadVisa, VISA_CATEGORIES } from './visa';

export const DATASET_KINDS = ['mvtec', 'visa', 'ksdd2', 'sensum', 'mt', 'folder'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface LayoutOptions {
  category?: string;
  fold?: number;
  /** KSDD2: N of split_weakly_<N>.pyb. */
  split?: number;
  /** Sensum: percent of training positives with masks, naming pos_<ratio>.pckl (default 100). */
  ratio?: number;
  /** Magnetic Tile: supervised split (half of each defect class in train). */
  supervised?: boolean;
  /** Magnetic Tile: seed of the split. */
  seed?: number;
}

/** The categories of a layout; datasets without categories have one unnamed entry (''). */
export function categoriesOf(kind: DatasetKind): readonly string[] {
  switch (kind) {
    case 'mvtec':
      return MVTEC_CATEGORIES;
    case 'visa':
      return VISA_CATEGORIES;
    case 'sensum':
      return SENSUM_CATEGORIES;
    default:
      return [''];
  }
}

export function checkDatasetKind(value: string): DatasetKind {
  if (!(DATASET_KINDS as readonly string[]).includes(value)) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `Expected --dataset ${DATASET_KINDS.join('|')} but received '${value}'`,
      'mvtec: MVTec AD, visa: VisA, ksdd2: KolektorSDD2, sensum: SensumSODF, mt: Magnetic Tile, folder: good/defect/masks folders.',
    );
  }
  return value as DatasetKind;
}

export async function loadLayout(kind: DatasetKind, root: string, options: LayoutOptions = {}): Promise<DatasetSplit> {
  const needCategory = (): string => {
    const all = categoriesOf(kind);
    const c = options.category;
    if (c === undefined || !all.includes(c)) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        `Expected --category ${all.join('|')} for ${kind} but received ${c === undefined ? 'none' : `'${c}'`}`,
        'Name one category of the dataset.',
      );
    }
    return c;
  };
  switch (kind) {
    case 'mvtec':
      return loadMvtec(root, needCategory());
    case 'visa':
      return loadVisa(root, needCategory());
    case 'sensum':
      return loadSensum(root, needCategory(), { fold: options.fold, ratio: options.ratio });
    case 'ksdd2':
      return loadKsdd2(root, { split: options.split });
    case 'mt':
      return loadMagneticTile(root, { supervised: options.supervised, seed: options.seed });
    case 'folder':
      return loadFolderSplit(root);
  }
}

/** <root>/train and <root>/test, each in the generic folder layout (good/, defect/, masks/). */
async function loadFolderSplit(root: string): Promise<DatasetSplit> {
  return {
    name: `folder:${path.resolve(root)}`,
    train: await loadFolderItems(path.join(root, 'train')),
    test: await loadFolderItems(path.join(root, 'test')),
  };
}
