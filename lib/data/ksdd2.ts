/**
 * KolektorSDD2 (spec §9): <root>/{train,test}/<id>.png with <id>_GT.png (label = any non-zero GT pixel).
 * With a split (N): <root>/split_weakly_<N>.pyb or split_<N>.pyb, a pickled (train_list, test_list) of
 * (sample_id, is_segmented), read by the core's pickle VM. A positive train item that is not segmented
 * keeps its image-level label only (no mask: weak supervision). Without a split file the folders are the
 * split and every positive is segmented (the official N = 246). Test order: negatives, then positives.
 */
import * as path from 'node:path';

import type { DatasetItem, DatasetSplit } from './dataset';
import { exists, layoutError, listImages, requireFile, stem } from './layout';
import { maskHasDefect } from './masks';
import { readPickle, splitEntries, type SplitEntry } from './pickle';

const LAYOUT = 'KolektorSDD2';
const EXPECTED = '<root>/{train,test}/<id>.png with <id>_GT.png, and optionally <root>/split_weakly_<N>.pyb or split_<N>.pyb';

export interface Ksdd2Options {
  /** Number of segmented positives of a split file (the official split is 246). Default: the folders. */
  split?: number;
}

export async function loadKsdd2(root: string, options: Ksdd2Options = {}): Promise<DatasetSplit> {
  const folders = { train: await sampleIds(root, 'train'), test: await sampleIds(root, 'test') };
  let lists: { train: SplitEntry[]; test: SplitEntry[] };
  let name = 'ksdd2';
  if (options.split === undefined) {
    lists = {
      train: folders.train.map((id) => ({ id, segmented: true })),
      test: folders.test.map((id) => ({ id, segmented: true })),
    };
  } else {
    const file = await splitFile(root, options.split);
    const value = await readPickle(file);
    const hint = `Expected the pickled pair (train_list, test_list) of (sample_id, is_segmented) in ${file}.`;
    if (!Array.isArray(value) || value.length !== 2) {
      throw layoutError(LAYOUT, file, 'not a (train_list, test_list) pair', EXPECTED);
    }
    lists = { train: splitEntries(value[0], `${file} [train]`, hint), test: splitEntries(value[1], `${file} [test]`, hint) };
    name = `ksdd2/N${options.split}`;
  }
  const known = { train: new Set(folders.train), test: new Set(folders.test) };
  const locate = (id: string, preferred: 'train' | 'test'): string => {
    const other = preferred === 'train' ? 'test' : 'train';
    const folder = known[preferred].has(id) ? preferred : known[other].has(id) ? other : undefined;
    if (!folder) throw layoutError(LAYOUT, path.join(root, preferred, `${id}.png`), 'split names a missing sample', EXPECTED);
    return path.join(root, folder);
  };
  const build = async (entries: SplitEntry[], split: 'train' | 'test'): Promise<DatasetItem[]> => {
    const items: DatasetItem[] = [];
    for (const e of entries) {
      const dir = locate(e.id, split);
      const gt = await requireFile(path.join(dir, `${e.id}_GT.png`), LAYOUT, EXPECTED);
      const positive = await maskHasDefect(gt, 1);
      const item: DatasetItem = {
        id: `${path.basename(dir)}/${e.id}.png`,
        image: path.join(dir, `${e.id}.png`),
        label: positive ? 1 : 0,
        type: positive ? 'defect' : 'good',
      };
      if (positive && (split === 'test' || e.segmented)) item.mask = gt;
      items.push(item);
    }
    return [...items.filter((i) => i.label === 0), ...items.filter((i) => i.label === 1)];
  };
  return { name, train: await build(lists.train, 'train'), test: await build(lists.test, 'test'), maskThreshold: 1 };
}

async function sampleIds(root: string, folder: string): Promise<string[]> {
  const names = await listImages(path.join(root, folder), LAYOUT, EXPECTED);
  return names.filter((n) => !stem(n).endsWith('_GT')).map(stem);
}

async function splitFile(root: string, n: number): Promise<string> {
  for (const name of [`split_weakly_${n}.pyb`, `split_${n}.pyb`]) {
    if (await exists(path.join(root, name))) return path.join(root, name);
  }
  throw layoutError(LAYOUT, path.join(root, `split_weakly_${n}.pyb`), `missing split file (nor split_${n}.pyb)`, EXPECTED);
}
