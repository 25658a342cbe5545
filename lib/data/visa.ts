/**
 * VisA (spec §9), either prepared or raw:
 *  - `visa_pytorch` (what anomalib's Visa.prepare_data writes from the official 1cls split):
 *      <root>[/visa_pytorch]/<category>/{train/good, test/good, test/bad, ground_truth/bad/<stem>.png}
 *    masks already binarised to 0/255;
 *  - raw (VisA_20220922.tar): <root>/split_csv/1cls.csv (object,split,label,image,mask; paths relative to
 *    <root>) and <root>/<category>/Data/{Images,Masks}/...; raw masks mark defects with any non-zero
 *    value, so the split says maskThreshold 1 (the binarisation prepare_data would have done).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { DatasetItem, DatasetSplit } from './dataset';
import { exists, layoutError, listImages, listSubdirs, requireFile, stem } from './layout';

export const VISA_CATEGORIES = [
  'candle',
  'capsules',
  'cashew',
  'chewinggum',
  'fryum',
  'macaroni1',
  'macaroni2',
  'pcb1',
  'pcb2',
  'pcb3',
  'pcb4',
  'pipe_fryum',
] as const;

const LAYOUT = 'VisA';
const EXPECTED_PREPARED =
  '<root>[/visa_pytorch]/<category>/{train/good, test/good, test/bad, ground_truth/bad/<stem>.png}, ' +
  'or the raw VisA folder with split_csv/1cls.csv';
const EXPECTED_RAW = '<root>/split_csv/1cls.csv with the header object,split,label,image,mask and the files it names';

export async function loadVisa(root: string, category: string): Promise<DatasetSplit> {
  const csv = path.join(root, 'split_csv', '1cls.csv');
  if (await exists(csv)) return loadRaw(root, category, csv);
  const prepared = (await exists(path.join(root, 'visa_pytorch'))) ? path.join(root, 'visa_pytorch') : root;
  return loadPrepared(prepared, category);
}

async function loadPrepared(root: string, category: string): Promise<DatasetSplit> {
  const dir = path.join(root, category);
  const trainDir = path.join(dir, 'train', 'good');
  const train: DatasetItem[] = (await listImages(trainDir, LAYOUT, EXPECTED_PREPARED)).map((n) => ({
    id: `${category}/train/good/${n}`,
    image: path.join(trainDir, n),
    label: 0,
    type: 'good',
  }));
  const types = await listSubdirs(path.join(dir, 'test'), LAYOUT, EXPECTED_PREPARED);
  if (!types.includes('good') || !types.includes('bad')) {
    throw layoutError(LAYOUT, path.join(dir, 'test'), 'expected the folders good and bad in', EXPECTED_PREPARED);
  }
  const test: DatasetItem[] = [];
  for (const type of ['bad', 'good']) {
    const typeDir = path.join(dir, 'test', type);
    for (const n of await listImages(typeDir, LAYOUT, EXPECTED_PREPARED)) {
      const item: DatasetItem = { id: `${category}/test/${type}/${n}`, image: path.join(typeDir, n), label: 0, type };
      if (type === 'bad') {
        item.label = 1;
        item.mask = await requireFile(path.join(dir, 'ground_truth', 'bad', `${stem(n)}.png`), LAYOUT, EXPECTED_PREPARED);
      }
      test.push(item);
    }
  }
  return { name: `visa/${category}`, train, test };
}

async function loadRaw(root: string, category: string, csv: string): Promise<DatasetSplit> {
  const lines = (await fs.readFile(csv, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',').map((s) => s.trim());
  const col = (name: string): number => header?.indexOf(name) ?? -1;
  const [cObject, cSplit, cLabel, cImage, cMask] = ['object', 'split', 'label', 'image', 'mask'].map(col);
  if ([cObject, cSplit, cLabel, cImage, cMask].some((c) => c < 0)) {
    throw layoutError(LAYOUT, csv, `unexpected header '${lines[0] ?? ''}'`, EXPECTED_RAW);
  }
  const train: DatasetItem[] = [];
  const test: DatasetItem[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].split(',').map((s) => s.trim());
    if (f[cObject] !== category) continue;
    const split = f[cSplit];
    const anomalous = f[cLabel] === 'anomaly';
    if ((split !== 'train' && split !== 'test') || (!anomalous && f[cLabel] !== 'normal')) {
      throw layoutError(LAYOUT, `${csv} line ${i + 1}`, `unexpected split or label in '${lines[i]}'`, EXPECTED_RAW);
    }
    const image = await requireFile(path.join(root, f[cImage]), LAYOUT, EXPECTED_RAW);
    const item: DatasetItem = { id: f[cImage], image, label: anomalous ? 1 : 0, type: anomalous ? 'bad' : 'good' };
    if (anomalous && f[cMask]) item.mask = await requireFile(path.join(root, f[cMask]), LAYOUT, EXPECTED_RAW);
    (split === 'train' ? train : test).push(item);
  }
  if (train.length === 0 || test.length === 0) {
    throw layoutError(LAYOUT, csv, `no train or no test rows for the category '${category}' in`, EXPECTED_RAW);
  }
  // prepare_data copies into per-label folders and anomalib lists them sorted by path.
  const byPath = (a: DatasetItem, b: DatasetItem): number => {
    const ka = `${a.type}/${path.basename(a.id)}`;
    const kb = `${b.type}/${path.basename(b.id)}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  train.sort(byPath);
  test.sort(byPath);
  return { name: `visa/${category}`, train, test, maskThreshold: 1 };
}
