import { generateSurface, proceduralDataset, prng } from '../../lib/data/procedural';

const count = (mask: Uint8Array) => mask.reduce((n, v) => n + (v === 255 ? 1 : 0), 0);

test('the PRNG is deterministic and roughly uniform', () => {
  const a = prng(42),
    b = prng(42);
  const xs = Array.from({ length: 10000 }, () => a());
  expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  expect(mean).toBeGreaterThan(0.48);
  expect(mean).toBeLessThan(0.52);
  expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...xs)).toBeLessThan(1);
});

test('a surface is deterministic for a seed and different for another', () => {
  const one = generateSurface({ width: 48, height: 40, seed: 3, defect: 'crack' });
  const again = generateSurface({ width: 48, height: 40, seed: 3, defect: 'crack' });
  const other = generateSurface({ width: 48, height: 40, seed: 4, defect: 'crack' });
  expect(one.image.data).toEqual(again.image.data);
  expect(one.mask).toEqual(again.mask);
  expect(one.image.data).not.toEqual(other.image.data);
  expect(one.image.data.length).toBe(48 * 40 * 3);
});

test.each(['scratch', 'spot', 'crack'] as const)('a %s is marked exactly where the pixels changed', (defect) => {
  const clean = generateSurface({ width: 96, height: 96, seed: 11, surface: 'cast', defect: null });
  const broken = generateSurface({ width: 96, height: 96, seed: 11, surface: 'cast', defect });
  expect(count(clean.mask)).toBe(0);
  const marked = count(broken.mask);
  expect(marked).toBeGreaterThan(10);
  expect(marked).toBeLessThan(96 * 96 * 0.2);
  // The texture draws come first, so outside the mask the two images are identical...
  let changedInside = 0;
  let changedOutside = 0;
  for (let i = 0; i < 96 * 96; i++) {
    const a = clean.image.data,
      b = broken.image.data;
    const same = a[i * 3] === b[i * 3] && a[i * 3 + 1] === b[i * 3 + 1] && a[i * 3 + 2] === b[i * 3 + 2];
    if (broken.mask[i] === 0) changedOutside += same ? 0 : 1;
    else changedInside += same ? 0 : 1;
  }
  expect(changedOutside).toBe(0);
  // ...and inside it most pixels changed (a few may clip at 0 or 255 either way).
  expect(changedInside / marked).toBeGreaterThan(0.8);
});

test('a dataset mixes normal and defective samples and cycles the defect kinds', () => {
  const data = proceduralDataset({ count: 30, width: 32, height: 32, seed: 5, defectFraction: 0.5 });
  const defects = data.map((s) => s.defect);
  const defective = defects.filter((d) => d !== null);
  expect(defective.length).toBeGreaterThan(5);
  expect(defective.length).toBeLessThan(25);
  expect(new Set(defective)).toEqual(new Set(['scratch', 'spot', 'crack']));
  for (const s of data) expect(count(s.mask) > 0).toBe(s.defect !== null);
});
