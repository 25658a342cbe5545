import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadLayout } from '../../lib/data/layouts';
import { loadMagneticTile } from '../../lib/data/magnetic_tile';
import { loadMask, resizeNearest } from '../../lib/data/masks';
import { loadMvtec } from '../../lib/data/mvtec';
import { loadVisa } from '../../lib/data/visa';
import { square, writePng } from '../helpers/datasetTree';

const gray = (v: number) => () => v;

describe('benchmark layouts', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-layouts-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('MVTec AD: official split, sorted test, masks by stem', async () => {
    const root = path.join(tmp, 'mvtec');
    const c = path.join(root, 'bottle');
    for (const n of ['001', '000']) await writePng(path.join(c, 'train', 'good', `${n}.png`), 8, 8, gray(100));
    await writePng(path.join(c, 'test', 'good', '000.png'), 8, 8, gray(100));
    for (const t of ['crack', 'broken_large']) {
      await writePng(path.join(c, 'test', t, '000.png'), 8, 8, gray(50));
      await writePng(path.join(c, 'ground_truth', t, '000_mask.png'), 8, 8, square(2, 2, 3), 1);
    }
    const split = await loadMvtec(root, 'bottle');
    expect(split.name).toBe('mvtec/bottle');
    expect(split.train.map((i) => i.id)).toEqual(['bottle/train/good/000.png', 'bottle/train/good/001.png']);
    expect(split.test.map((i) => [i.type, i.label])).toEqual([
      ['broken_large', 1],
      ['crack', 1],
      ['good', 0],
    ]);
    expect(split.test[1].mask).toBe(path.join(c, 'ground_truth', 'crack', '000_mask.png'));
    expect(split.test[2].mask).toBeUndefined();

    unlinkSync(path.join(c, 'ground_truth', 'crack', '000_mask.png'));
    await expect(loadMvtec(root, 'bottle')).rejects.toMatchObject({
      code: 'ERR_SSN_INPUT',
      message: expect.stringContaining(path.join('ground_truth', 'crack', '000_mask.png')),
      hint: expect.stringContaining('MVTec AD layout'),
    });
    await expect(loadLayout('mvtec', root, { category: 'nope' })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
    await expect(loadMvtec(root, 'cable')).rejects.toMatchObject({ message: expect.stringContaining('missing folder') });
  });

  test('VisA visa_pytorch layout under <root>/visa_pytorch', async () => {
    const c = path.join(tmp, 'visa', 'visa_pytorch', 'candle');
    await writePng(path.join(c, 'train', 'good', '0001.JPG'), 8, 8, gray(10));
    await writePng(path.join(c, 'test', 'good', '0002.JPG'), 8, 8, gray(10));
    await writePng(path.join(c, 'test', 'bad', '0003.JPG'), 8, 8, gray(10));
    await writePng(path.join(c, 'ground_truth', 'bad', '0003.png'), 8, 8, square(0, 0, 2), 1);
    const split = await loadVisa(path.join(tmp, 'visa'), 'candle');
    expect(split.train).toHaveLength(1);
    expect(split.test.map((i) => [i.id, i.label, i.mask !== undefined])).toEqual([
      ['candle/test/bad/0003.JPG', 1, true],
      ['candle/test/good/0002.JPG', 0, false],
    ]);
    expect(split.maskThreshold).toBeUndefined();
  });

  test('VisA raw layout with split_csv/1cls.csv: any non-zero mask pixel is a defect', async () => {
    const root = path.join(tmp, 'visa-raw');
    await writePng(path.join(root, 'pcb1', 'Data', 'Images', 'Normal', '0000.JPG'), 8, 8, gray(10));
    await writePng(path.join(root, 'pcb1', 'Data', 'Images', 'Normal', '0001.JPG'), 8, 8, gray(10));
    await writePng(path.join(root, 'pcb1', 'Data', 'Images', 'Anomaly', '000.JPG'), 8, 8, gray(10));
    await writePng(path.join(root, 'pcb1', 'Data', 'Masks', 'Anomaly', '000.png'), 8, 8, (x) => (x < 4 ? 0 : 3), 1);
    mkdirSync(path.join(root, 'split_csv'), { recursive: true });
    const csv = [
      'object,split,label,image,mask',
      'pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,',
      'pcb1,test,normal,pcb1/Data/Images/Normal/0001.JPG,',
      'pcb1,test,anomaly,pcb1/Data/Images/Anomaly/000.JPG,pcb1/Data/Masks/Anomaly/000.png',
      'candle,train,normal,candle/Data/Images/Normal/0000.JPG,',
    ].join('\n');
    writeFileSync(path.join(root, 'split_csv', '1cls.csv'), csv);
    const split = await loadVisa(root, 'pcb1');
    expect(split.maskThreshold).toBe(1);
    expect(split.train.map((i) => i.id)).toEqual(['pcb1/Data/Images/Normal/0000.JPG']);
    expect(split.test.map((i) => i.type)).toEqual(['bad', 'good']);
    const mask = await loadMask(split.test[0].mask, 2, 2, split.maskThreshold);
    expect([...mask]).toEqual([0, 1, 0, 1]);
    await expect(loadVisa(root, 'candle')).rejects.toMatchObject({
      message: expect.stringContaining('candle/Data/Images/Normal/0000.JPG'),
    });
  });

  test('Magnetic Tile: seeded 80/20 split of Free images, defects in test (half in train when supervised)', async () => {
    const root = path.join(tmp, 'mt');
    for (let i = 0; i < 10; i++) await writePng(path.join(root, 'MT_Free', 'Imgs', `exp0_num_${i}.jpg`), 8, 8, gray(90));
    for (const cls of ['Crack', 'Fray']) {
      for (let i = 0; i < 4; i++) {
        await writePng(path.join(root, `MT_${cls}`, 'Imgs', `exp1_num_${i}.jpg`), 8, 8, gray(90));
        await writePng(path.join(root, `MT_${cls}`, 'Imgs', `exp1_num_${i}.png`), 8, 8, square(1, 1, 2), 1);
      }
    }
    const a = await loadMagneticTile(root, { seed: 7 });
    const b = await loadMagneticTile(root, { seed: 7 });
    const c = await loadMagneticTile(root, { seed: 8 });
    expect(a).toEqual(b);
    expect(a.train).toHaveLength(8);
    expect(a.train.every((i) => i.label === 0 && i.mask === undefined)).toBe(true);
    expect(a.test.filter((i) => i.label === 0)).toHaveLength(2);
    expect(a.test.filter((i) => i.type === 'crack')).toHaveLength(4);
    expect(a.test.find((i) => i.type === 'fray')?.mask).toMatch(/MT_Fray\/Imgs\/exp1_num_\d\.png$/);
    expect(c.train.map((i) => i.id)).not.toEqual(a.train.map((i) => i.id));
    const sup = await loadMagneticTile(root, { seed: 7, supervised: true });
    expect(sup.train.filter((i) => i.type === 'crack')).toHaveLength(2);
    expect(sup.test.filter((i) => i.type === 'crack')).toHaveLength(2);
    unlinkSync(path.join(root, 'MT_Crack', 'Imgs', 'exp1_num_3.png'));
    await expect(loadMagneticTile(root)).rejects.toMatchObject({ message: expect.stringContaining('exp1_num_3.png') });
  });

  test('folder: <root>/train and <root>/test in the good/defect/masks layout', async () => {
    const root = path.join(tmp, 'parts');
    await writePng(path.join(root, 'train', 'good', 'a.png'), 8, 8, gray(60));
    await writePng(path.join(root, 'test', 'good', 'b.png'), 8, 8, gray(60));
    await writePng(path.join(root, 'test', 'defect', 'c.png'), 8, 8, gray(60));
    await writePng(path.join(root, 'test', 'masks', 'c.png'), 8, 8, square(1, 1, 3), 1);
    const split = await loadLayout('folder', root);
    expect(split.name).toBe(`folder:${root}`);
    expect(split.train.map((i) => i.id)).toEqual(['good/a.png']);
    expect(split.test.map((i) => [i.id, i.label, i.mask])).toEqual([
      ['good/b.png', 0, undefined],
      ['defect/c.png', 1, path.join(root, 'test', 'masks', 'c.png')],
    ]);
    await expect(loadLayout('folder', path.join(tmp, 'nothing'))).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  });

  test('resizeNearest follows OpenCV INTER_NEAREST (src = floor(dst * in / out))', () => {
    const src = Uint8Array.from([0, 1, 2, 3, 4]);
    expect([...resizeNearest(src, 1, 5, 1, 2)]).toEqual([0, 2]);
    expect([...resizeNearest(src, 1, 5, 1, 8)]).toEqual([0, 0, 1, 1, 2, 3, 3, 4]);
    expect([...resizeNearest(Uint8Array.from([7, 9]), 2, 1, 3, 1)]).toEqual([7, 7, 9]);
  });
});
