/**
 * SensumSODF (spec §9):
 *   <root>/<capsule|softgel>/{negative/data/NNN.png, positive/data/NNN.png, positive/annotation/NNN.png}
 *   <root>/sensum_splits/<category>/<fold 0|1|2>/train/{neg.pckl, pos_<ratio*100>.pckl}
 *   <root>/sensum_splits/<category>/<fold 0|1|2>/test/{neg.pckl, pos.pckl}
 * Each .pckl is a pickled list of (sample_id, is_segmented); int ids are zero-padded to 3 digits. The
 * official training uses pos_100.pckl (ratio 1.0). Test order: negatives, then positives.
 */
import * as path from 'node:path';

import type { DatasetItem, DatasetSplit } from './dataset';
import { layoutError, requireFile } from './layout';
import { readPickle, splitEntries } from './pickle';

export const SENSUM_CATEGORIES = ['capsule', 'softgel'] as const;
export const SENSUM_FOLDS = [0, 1, 2] as const;

const LAYOUT = 'SensumSODF';
const EXPECTED =
  '<root>/<category>/{negative/data, positive/data, positive/annotation}/NNN.png and ' +
  '<root>/sensum_splits/<category>/<fold>/{train/{neg.pckl, pos_100.pckl}, test/{neg.pckl, pos.pckl}}';

export interface SensumOptions {
  fold?: number;
  /** Percent of positives used in training, naming pos_<ratio>.pckl. Default 100. */
  ratio?: number;
}

export async function loadSensum(root: string, category: string, options: SensumOptions = {}): Promise<DatasetSplit> {
  const fold = options.fold ?? 0;
  const ratio = options.ratio ?? 100;
  if (!Number.isInteger(fold) || fold < 0) throw layoutError(LAYOUT, String(fold), 'invalid fold (expected 0, 1 or 2)', EXPECTED);
  const splitDir = path.join(root, 'sensum_splits', category, String(fold));
  const read = async (part: 'train' | 'test', file: string, positive: boolean): Promise<DatasetItem[]> => {
    const f = await requireFile(path.join(splitDir, part, file), LAYOUT, EXPECTED);
    const entries = splitEntries(await readPickle(f), f, `Expected a pickled list of (sample_id, is_segmented) in ${f}.`, (n) =>
      String(n).padStart(3, '0'),
    );
    const items: DatasetItem[] = [];
    for (const e of entries) {
      const kind = positive ? 'positive' : 'negative';
      const image = await requireFile(path.join(root, category, kind, 'data', `${e.id}.png`), LAYOUT, EXPECTED);
      const item: DatasetItem = {
        id: `${category}/${kind}/${e.id}.png`,
        image,
        label: positive ? 1 : 0,
        type: positive ? 'defect' : 'good',
      };
      if (positive && (part === 'test' || e.segmented)) {
        item.mask = await requireFile(path.join(root, category, 'positive', 'annotation', `${e.id}.png`), LAYOUT, EXPECTED);
      }
      items.push(item);
    }
    return items;
  };
  const train = [...(await read('train', 'neg.pckl', false)), ...(await read('train', `pos_${ratio}.pckl`, true))];
  const test = [...(await read('test', 'neg.pckl', false)), ...(await read('test', 'pos.pckl', true))];
  return { name: `sensum/${category}/fold${fold}`, train, test };
}
