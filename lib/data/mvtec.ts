/**
 * MVTec AD as it comes out of mvtec_anomaly_detection.tar.xz (spec §9):
 *   <root>/<category>/train/good/*.png
 *   <root>/<category>/test/<good|defect type>/*.png
 *   <root>/<category>/ground_truth/<defect type>/<stem>_mask.png
 * Official split; test items in sorted-path order (types sorted, files sorted).
 */
import * as path from 'node:path';

import type { DatasetItem, DatasetSplit } from './dataset';
import { layoutError, listImages, listSubdirs, requireFile, stem } from './layout';

export const MVTEC_CATEGORIES = [
  'bottle',
  'cable',
  'capsule',
  'carpet',
  'grid',
  'hazelnut',
  'leather',
  'metal_nut',
  'pill',
  'screw',
  'tile',
  'toothbrush',
  'transistor',
  'wood',
  'zipper',
] as const;

const LAYOUT = 'MVTec AD';
const EXPECTED = '<root>/<category>/{train/good/*.png, test/<good|type>/*.png, ground_truth/<type>/<stem>_mask.png}';

export async function loadMvtec(root: string, category: string): Promise<DatasetSplit> {
  const dir = path.join(root, category);
  const trainDir = path.join(dir, 'train', 'good');
  const train: DatasetItem[] = (await listImages(trainDir, LAYOUT, EXPECTED)).map((n) => ({
    id: `${category}/train/good/${n}`,
    image: path.join(trainDir, n),
    label: 0,
    type: 'good',
  }));
  const test: DatasetItem[] = [];
  const types = await listSubdirs(path.join(dir, 'test'), LAYOUT, EXPECTED);
  if (types.length === 0) throw layoutError(LAYOUT, path.join(dir, 'test'), 'no defect-type folders', EXPECTED);
  for (const type of types) {
    const typeDir = path.join(dir, 'test', type);
    for (const n of await listImages(typeDir, LAYOUT, EXPECTED)) {
      const item: DatasetItem = { id: `${category}/test/${type}/${n}`, image: path.join(typeDir, n), label: 0, type };
      if (type !== 'good') {
        item.label = 1;
        item.mask = await requireFile(path.join(dir, 'ground_truth', type, `${stem(n)}_mask.png`), LAYOUT, EXPECTED);
      }
      test.push(item);
    }
  }
  return { name: `mvtec/${category}`, train, test };
}
