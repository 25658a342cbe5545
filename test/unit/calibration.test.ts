/**
 * Calibration thresholds on hand-made scores and maps: F1-max with defective images (image and pixel),
 * quantiles of the normal images otherwise, the fall-backs, the stored form and the option checks.
 */
import {
  calibrationItems,
  checkQuantile,
  computeCalibration,
  defectMask,
  fromStoredCalibration,
  isAnomalous,
  quantile,
  toStoredCalibration,
  type CalibrationSet,
} from '../../lib/calibration';
import type { Calibration } from '../../lib/types';

/** One image of a set: its label, score, 2x2 map and (defective only) mask. */
interface Sample {
  label: 0 | 1;
  score: number;
  map: number[];
  mask?: number[];
}

function set(samples: Sample[]): CalibrationSet {
  return {
    ids: samples.map((_, i) => `img${i}`),
    labels: samples.map((s) => s.label),
    scores: samples.map((s) => s.score),
    maps: samples.map((s) => Float32Array.from(s.map)),
    masks: samples.map((s) => (s.mask ? Uint8Array.from(s.mask) : undefined)),
  };
}

const NORMALS: Sample[] = [
  { label: 0, score: 0.1, map: [0.0, 0.1, 0.2, 0.5] },
  { label: 0, score: 0.2, map: [0.1, 0.1, 0.3, 0.2] },
  { label: 0, score: 0.35, map: [-1, 0.2, 0.4, 0.3] },
];

describe('quantile', () => {
  test('interpolates linearly between order statistics (numpy default)', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 1)).toBe(4);
    expect(quantile([1, 2, 3, 4], 0.995)).toBeCloseTo(3.985, 12);
    expect(quantile([7], 0.995)).toBe(7);
  });
});

describe('computeCalibration', () => {
  test('with defective images: F1-max of the scores; F1-max over the pixels of normal and masked images only', () => {
    const c = computeCalibration(
      set([
        ...NORMALS,
        { label: 1, score: 0.3, map: [0.9, 0.8, 0.1, 0.0], mask: [1, 1, 0, 0] },
        { label: 1, score: 0.6, map: [0.85, 0.85, 0.85, 0.85] }, // no mask: its pixels are left out
        { label: 1, score: 0.8, map: [0.2, 0.3, 2.5, 0.1], mask: [0, 0, 0, 0] },
      ]),
    );
    // Scores, descending: 0.8 (F1 0.5), 0.6 (0.8), 0.35 normal (0.667), 0.3 (6/7): the best is 0.3.
    expect(c.method).toBe('f1');
    expect(c.imageThreshold).toBe(0.3);
    // Pixels: the defects are 0.9 and 0.8, one normal pixel (2.5, of the image whose mask is empty) is above
    // both: 0.8 finds both (F1 4/5). Were the unmasked image's 0.85s counted as normal pixels, 0.9 would win.
    expect(c.pixelMethod).toBe('f1');
    expect(c.pixelThreshold).toBeCloseTo(0.8, 6);
    expect(c.quantile).toBeUndefined();
    expect(c.mapRange).toEqual({ low: -1, high: 2.5 });
    expect(c.counts).toEqual({ normal: 3, anomalous: 3, masked: 2 });
  });

  test('normal images only: the q-quantiles of their scores and of their map maxima', () => {
    const c = computeCalibration(set(NORMALS), 0.75);
    expect(c).toMatchObject({ method: 'quantile', pixelMethod: 'quantile', quantile: 0.75 });
    expect(c.imageThreshold).toBeCloseTo(quantile([0.1, 0.2, 0.35], 0.75), 12); // 0.275
    expect(c.imageThreshold).toBeCloseTo(0.275, 12);
    // Map maxima 0.5, 0.3, 0.4: the 0.75-quantile is 0.45, so the normal images at or below it get no defect pixel.
    expect(c.pixelThreshold).toBeCloseTo(0.45, 6);
    const maskedPixels = NORMALS.map((s) => defectMask(Float32Array.from(s.map), c.pixelThreshold).reduce((a, b) => a + b, 0));
    expect(maskedPixels).toEqual([1, 0, 0]);
    expect(c.counts).toEqual({ normal: 3, anomalous: 0, masked: 0 });
  });

  test('the default quantile is 0.995', () => {
    expect(computeCalibration(set(NORMALS)).quantile).toBe(0.995);
  });

  test('defective images without masks: F1 for the image threshold, the normal-only rule for pixels', () => {
    const withoutMasks = computeCalibration(set([...NORMALS, { label: 1, score: 0.9, map: [3, 3, 3, 3] }]), 0.5);
    expect(withoutMasks).toMatchObject({ method: 'f1', pixelMethod: 'quantile', quantile: 0.5, imageThreshold: 0.9 });
    expect(withoutMasks.pixelThreshold).toBeCloseTo(0.4, 6); // median of the normal maxima 0.5, 0.3, 0.4
    // A mask that marks no pixel at the model size cannot choose a pixel threshold either.
    const emptyMask = computeCalibration(set([...NORMALS, { label: 1, score: 0.9, map: [3, 3, 3, 3], mask: [0, 0, 0, 0] }]), 0.5);
    expect(emptyMask).toMatchObject({ pixelMethod: 'quantile', counts: { masked: 1 } });
    expect(emptyMask.pixelThreshold).toBeCloseTo(0.4, 6);
  });

  test('needs normal images and finite outputs', () => {
    expect(() => computeCalibration(set([{ label: 1, score: 0.9, map: [1, 1, 1, 1] }]))).toThrow(
      expect.objectContaining({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('No normal images') }),
    );
    expect(() => computeCalibration(set([...NORMALS, { label: 0, score: 0.2, map: [0, NaN, 0, 0] }]))).toThrow(
      expect.objectContaining({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('img3') }),
    );
  });
});

describe('verdicts', () => {
  test('the threshold itself is on the anomalous side, for images and pixels', () => {
    expect(isAnomalous(0.5, { imageThreshold: 0.5 })).toBe(true);
    expect(isAnomalous(0.4999, { imageThreshold: 0.5 })).toBe(false);
    expect([...defectMask(Float32Array.from([0.1, 0.25, 0.3]), 0.25)]).toEqual([0, 1, 1]);
  });
});

describe('stored form', () => {
  test('snake_case keys, and back to the same Calibration', () => {
    const c: Calibration = {
      method: 'f1',
      pixelMethod: 'quantile',
      quantile: 0.9,
      imageThreshold: 0.7,
      pixelThreshold: 1.5,
      mapRange: { low: -2, high: 4 },
      counts: { normal: 5, anomalous: 2, masked: 0 },
    };
    const stored = toStoredCalibration(c);
    expect(stored).toEqual({
      method: 'f1',
      pixel_method: 'quantile',
      quantile: 0.9,
      image_threshold: 0.7,
      pixel_threshold: 1.5,
      map_range: { low: -2, high: 4 },
      counts: { normal: 5, anomalous: 2, masked: 0 },
    });
    expect(fromStoredCalibration(JSON.parse(JSON.stringify(stored)))).toEqual(c);
    expect(fromStoredCalibration(null)).toBeNull();
    expect(fromStoredCalibration(undefined)).toBeNull();
  });
});

describe('option checks', () => {
  test('the quantile is a number in (0, 1]', () => {
    expect(checkQuantile(1, 'q')).toBe(1);
    for (const bad of [0, -0.5, 1.5, NaN, '0.9']) {
      expect(() => checkQuantile(bad, 'options.quantile')).toThrow(
        expect.objectContaining({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('options.quantile') }),
      );
    }
  });

  test('the items: an array with labels 0/1, images and some normal ones', () => {
    const good = { id: 'g', image: 'g.png', label: 0 as const };
    expect(calibrationItems([good], 'dataset')).toEqual([good]);
    expect(() => calibrationItems({ name: 'x', train: [good], test: [good] }, 'dataset')).toThrow(
      expect.objectContaining({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('array of DatasetItem') }),
    );
    expect(() => calibrationItems([good, { id: 'b', image: 'b.png', label: 2 }], 'dataset')).toThrow(
      expect.objectContaining({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('dataset[1].label') }),
    );
    expect(() => calibrationItems([{ id: 'b', label: 0 }], 'dataset')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('dataset[0].image') }),
    );
    expect(() => calibrationItems([{ id: 'd', image: 'd.png', label: 1 }], 'dataset')).toThrow(
      expect.objectContaining({ code: 'ERR_SSN_INPUT', message: expect.stringContaining('No normal images') }),
    );
  });
});
