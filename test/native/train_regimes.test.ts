/**
 * The supervision regimes of the 2025 extension through model.train(): the setting chosen from the data and
 * explained, settings the data cannot serve refused, weak training blind to masks, mixed training reading them,
 * and a jims model trained with its own mask recipe. Tiny: a random resnet18 backbone at 64x64, one epoch.
 */
import type { DatasetItem } from '../../lib/data/dataset';
import type { SuperSimpleNet } from '../../lib/model';
import type { RawImage, TrainOptions } from '../../lib/types';
import { testImage } from '../helpers/images';
import { tinyModel } from '../helpers/tinyModel';

const SIZE = 64;
const OPTIONS: TrainOptions = { epochs: 1, batchSize: 4, flips: false, segLr: 1e-3, decLr: 1e-3 };
const NORMAL: DatasetItem[] = Array.from({ length: 4 }, (_, i) => ({ id: `n${i}`, image: testImage(i, 80, 72), label: 0 }));

/** A bright band across the top rows: where the defect is, and its mask. */
function defect(seed: number, withMask: boolean): DatasetItem {
  const image = testImage(seed, 80, 72);
  const data = Uint8Array.from(image.data);
  data.fill(250, 0, 80 * 3 * 12);
  const item: DatasetItem = { id: `d${seed}`, image: { ...image, data }, label: 1 };
  if (withMask) {
    const mask = new Uint8Array(80 * 72);
    mask.fill(255, 0, 80 * 12);
    item.mask = { data: mask, width: 80, height: 72, channels: 1 } satisfies RawImage;
  }
  return item;
}

async function outputs(model: SuperSimpleNet): Promise<number[]> {
  const p = await model.predictBatch([testImage(100, 80, 72), testImage(101, 80, 72)]);
  return p.flatMap((x) => [x.logit, ...Array.from(x.map.subarray(0, 512))]);
}

async function trained(items: DatasetItem[], options: TrainOptions, variant: 'icpr' | 'jims' = 'icpr') {
  const model = await tinyModel(SIZE, 7, { variant });
  try {
    const summary = await model.train(items, { ...OPTIONS, ...options });
    return { summary, outputs: await outputs(model) };
  } finally {
    model.dispose();
  }
}

test('left out, the setting comes from the data, and the summary says why', async () => {
  const cases: Array<[DatasetItem[], string, string]> = [
    [NORMAL, 'unsupervised', 'normal images only'],
    [[...NORMAL, defect(10, false), defect(11, false)], 'weak', '0 of 2 defect images have masks'],
    [[...NORMAL, defect(10, true), defect(11, false)], 'mixed', '1 of 2 defect images have masks'],
    [[...NORMAL, defect(10, true), defect(11, true)], 'supervised', '2 of 2 defect images have masks'],
  ];
  for (const [items, setting, why] of cases) {
    const { summary } = await trained(items, {});
    expect(summary.setting).toBe(setting);
    expect(summary.config.setting).toBe(setting);
    expect(summary.settingReason).toContain(why);
  }
  const asked = await trained([...NORMAL, defect(10, true)], { setting: 'weak' });
  expect(asked.summary).toMatchObject({ setting: 'weak', settingReason: 'asked for' });
  // Weak trains on image labels: its Perlin threshold is the 2025 code's for no segmented defect.
  expect(asked.summary.config.perlin_thr).toBe(0.2);
});

test('a setting the data cannot serve is refused before training', async () => {
  const model = await tinyModel(SIZE, 7);
  try {
    await expect(
      model.train([...NORMAL, defect(10, true), defect(11, false)], { ...OPTIONS, setting: 'supervised' }),
    ).rejects.toMatchObject({
      code: 'ERR_SSN_INPUT',
      message: expect.stringContaining('1 of 2 have none'),
      hint: expect.stringContaining("'mixed'"),
    });
    await expect(model.train(NORMAL, { ...OPTIONS, setting: 'mixed' })).rejects.toMatchObject({
      code: 'ERR_SSN_INPUT',
      message: expect.stringContaining('has none'),
    });
    expect(model.info().headsTrained).toBe(false);
  } finally {
    model.dispose();
  }
});

test('weak training never reads a mask; mixed training does', async () => {
  const masked = [...NORMAL, defect(10, true), defect(11, false)];
  const unmasked = [...NORMAL, defect(10, false), defect(11, false)];
  const weakMasked = await trained(masked, { setting: 'weak' });
  const weakUnmasked = await trained(unmasked, { setting: 'weak' });
  expect(weakMasked.outputs).toEqual(weakUnmasked.outputs);
  const mixed = await trained(masked, { setting: 'mixed' });
  expect(mixed.outputs).not.toEqual(weakMasked.outputs);
});

test('a jims model trains with the 2025 mask recipe, which its options can override', async () => {
  const items = [...NORMAL, defect(10, true), defect(11, false)];
  const jims = await trained(items, {}, 'jims');
  expect(jims.summary.setting).toBe('mixed');
  expect(jims.summary.config).toMatchObject({ dilate: 7, dt_weight: 3, dt_power: 2, mask_align_corners: true });
  expect(jims.outputs.every(Number.isFinite)).toBe(true);
  const icpr = await trained(items, {});
  expect(icpr.summary.config).toMatchObject({ dilate: 0, dt_weight: 0, mask_align_corners: false });
  expect(jims.outputs).not.toEqual(icpr.outputs);
  const plain = await trained(items, { dilate: 0, dtWeight: 0 }, 'jims');
  expect(plain.summary.config).toMatchObject({ dilate: 0, dt_weight: 0, mask_align_corners: true });
  expect(plain.outputs).not.toEqual(jims.outputs);
});
