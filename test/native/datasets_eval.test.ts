/**
 * The layouts that read pickled split files through the addon's pickle VM (KSDD2, SensumSODF), and
 * `ssn eval` end to end on a tiny random model (resnet18 at 64x64; untrained heads, so only the plumbing
 * and the report are checked, not the scores).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { main } from '../../lib/cli/ssn';
import { loadKsdd2 } from '../../lib/data/ksdd2';
import { readPickle } from '../../lib/data/pickle';
import { loadLayout } from '../../lib/data/layouts';
import { loadSensum } from '../../lib/data/sensum';
import { entry, square, writePickle, writePng } from '../helpers/datasetTree';
import { tinyModel } from '../helpers/tinyModel';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'splits');

describe('pickled split files', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-splits-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test.each([2, 3, 4, 5])('CPython pickle protocol %i reads as plain JSON data', async (proto) => {
    const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'));
    expect(await readPickle(path.join(FIXTURES, `ksdd2_split_p${proto}.pyb`))).toEqual(expected.ksdd2);
    expect(await readPickle(path.join(FIXTURES, `sensum_p${proto}.pckl`))).toEqual(expected.sensum);
  });

  test('a pickle that names a class is refused as not plain data; a missing file names the path', async () => {
    const file = path.join(tmp, 'evil.pckl');
    writeFileSync(file, Buffer.from("cos\nsystem\n(S'true'\ntR.", 'latin1'));
    await expect(readPickle(file)).rejects.toMatchObject({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('plain data') });
    await expect(readPickle(path.join(tmp, 'none.pyb'))).rejects.toMatchObject({ message: expect.stringContaining('none.pyb') });
  });

  test('KSDD2: folders, or split_weakly_N.pyb with weakly labelled positives; negatives first in test', async () => {
    const root = path.join(tmp, 'KolektorSDD2');
    const sample = async (folder: string, id: number, defect: boolean): Promise<void> => {
      await writePng(path.join(root, folder, `${id}.png`), 23, 64, () => 90);
      await writePng(path.join(root, folder, `${id}_GT.png`), 23, 64, defect ? square(3, 3, 4) : () => 0, 1);
    };
    await sample('train', 10000, true);
    await sample('train', 10001, false);
    await sample('train', 10002, true);
    await sample('test', 20000, true);
    await sample('test', 20001, false);

    const folders = await loadKsdd2(root);
    expect(folders.maskThreshold).toBe(1);
    expect(folders.train.map((i) => [i.id, i.label, i.mask !== undefined])).toEqual([
      ['train/10001.png', 0, false],
      ['train/10000.png', 1, true],
      ['train/10002.png', 1, true],
    ]);
    expect(folders.test.map((i) => i.id)).toEqual(['test/20001.png', 'test/20000.png']);

    writePickle(path.join(root, 'split_weakly_1.pyb'), {
      tuple: [
        [entry(10000, true), entry(10001, false), entry('10002', false)],
        [entry(20000, false), entry(20001, false)],
      ],
    });
    const weak = await loadKsdd2(root, { split: 1 });
    expect(weak.name).toBe('ksdd2/N1');
    expect(weak.train.map((i) => [i.id, i.mask !== undefined])).toEqual([
      ['train/10001.png', false],
      ['train/10000.png', true],
      ['train/10002.png', false], // a positive without segmentation: image label only
    ]);
    expect(weak.test[1].mask).toBeDefined(); // test masks always count
    await expect(loadKsdd2(root, { split: 2 })).rejects.toMatchObject({ message: expect.stringContaining('split_weakly_2.pyb') });
  });

  test('SensumSODF: 3-fold split pickles, zero-padded ids, pos_100 for training', async () => {
    const root = path.join(tmp, 'SensumSODF');
    for (const id of ['001', '002', '003']) await writePng(path.join(root, 'capsule', 'negative', 'data', `${id}.png`), 16, 16, () => 50);
    for (const id of ['004', '005']) {
      await writePng(path.join(root, 'capsule', 'positive', 'data', `${id}.png`), 16, 16, () => 50);
      await writePng(path.join(root, 'capsule', 'positive', 'annotation', `${id}.png`), 16, 16, square(2, 2, 3), 1);
    }
    const fold = path.join(root, 'sensum_splits', 'capsule', '1');
    writePickle(path.join(fold, 'train', 'neg.pckl'), [entry(1), entry(2)]);
    writePickle(path.join(fold, 'train', 'pos_100.pckl'), [entry(4, false)]);
    writePickle(path.join(fold, 'test', 'neg.pckl'), [entry(3)]);
    writePickle(path.join(fold, 'test', 'pos.pckl'), [entry(5)]);
    const split = await loadSensum(root, 'capsule', { fold: 1 });
    expect(split.name).toBe('sensum/capsule/fold1');
    expect(split.train.map((i) => [i.id, i.label, i.mask !== undefined])).toEqual([
      ['capsule/negative/001.png', 0, false],
      ['capsule/negative/002.png', 0, false],
      ['capsule/positive/004.png', 1, false],
    ]);
    expect(split.test.map((i) => [i.id, i.label, i.mask !== undefined])).toEqual([
      ['capsule/negative/003.png', 0, false],
      ['capsule/positive/005.png', 1, true],
    ]);
    // A mixed ratio names its own positives file, through the layout options as `--ratio` passes it.
    writePickle(path.join(fold, 'train', 'pos_50.pckl'), [entry(4, true)]);
    const mixed = await loadLayout('sensum', root, { category: 'capsule', fold: 1, ratio: 50 });
    expect(mixed.train.filter((i) => i.label === 1).map((i) => i.mask !== undefined)).toEqual([true]);
    await expect(loadSensum(root, 'capsule', { fold: 2 })).rejects.toMatchObject({
      message: expect.stringContaining(path.join('sensum_splits', 'capsule', '2', 'train', 'neg.pckl')),
    });
  });
});

describe('ssn eval end to end', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-eval-e2e-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('scores an MVTec category with a saved model and writes the three reports', async () => {
    const c = path.join(tmp, 'mvtec', 'carpet');
    await writePng(path.join(c, 'train', 'good', '000.png'), 40, 40, () => 90);
    for (let i = 0; i < 2; i++) await writePng(path.join(c, 'test', 'good', `00${i}.png`), 40, 40, (x, y) => 80 + ((x * y + i) % 20));
    for (let i = 0; i < 2; i++) {
      await writePng(path.join(c, 'test', 'cut', `00${i}.png`), 40, 40, (x, y) => (square(8 + i, 10, 12)(x, y) ? 250 : 85));
      await writePng(path.join(c, 'ground_truth', 'cut', `00${i}_mask.png`), 40, 40, square(8 + i, 10, 12), 1);
    }
    const modelFile = path.join(tmp, 'tiny.safetensors');
    const model = await tinyModel(64, 3);
    await model.save(modelFile);
    await model.dispose();

    const out = path.join(tmp, 'report');
    let stdout = '';
    const so = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const se = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await main([
        'node',
        'ssn',
        'eval',
        modelFile,
        '--dataset',
        'mvtec',
        '--root',
        path.join(tmp, 'mvtec'),
        '--category',
        'carpet',
        '--out',
        out,
        '--device',
        'cpu',
        '--json',
      ]);
    } finally {
      so.mockRestore();
      se.mockRestore();
    }
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({
      dataset: 'mvtec/carpet',
      imageSize: [64, 64],
      counts: { test: 4, normal: 2, anomalous: 2, regions: 2 },
    });
    for (const k of ['imageAuroc', 'imageAp', 'pixelAuroc', 'pixelAp', 'aupro']) {
      expect(result.metrics[k]).toBeGreaterThanOrEqual(0);
      expect(result.metrics[k]).toBeLessThanOrEqual(1);
    }
    expect(JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8')).metrics).toEqual(result.metrics);
    expect(existsSync(path.join(out, 'report.md'))).toBe(true);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html.match(/<svg/g)).toHaveLength(3);
    expect(html).toContain('data:image/png;base64,');
  });
});
