/** The official evaluation's score preparation (spec §5), in torch float32 semantics. */
import { mapMaxScores, normalizeMaps, normalizeScores, sigmoid32, sigmoidScores } from '../../lib/metrics';

describe('sigmoid32', () => {
  test('rounds each step to float32, so it saturates to exactly 1 from about 16.64', () => {
    // 1 + exp(-x) rounds to 1 once exp(-x) < 2^-24 (x > 24 ln 2 = 16.64); a double sigmoid rounded
    // once to float32 would only saturate from x > 25 ln 2 = 17.33.
    expect(sigmoid32(16.6)).toBeLessThan(1);
    expect(sigmoid32(16.7)).toBe(1);
    expect(Math.fround(1 / (1 + Math.exp(-16.7)))).toBeLessThan(1);
    expect(sigmoid32(0)).toBe(0.5);
    expect(sigmoid32(-200)).toBe(0);
    expect(sigmoid32(2)).toBe(Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-2)))));
  });

  test('sigmoidScores maps every logit', () => {
    expect(Array.from(sigmoidScores([0, 100, -100]))).toEqual([0.5, 1, 0]);
  });
});

describe('min-max normalisation', () => {
  test('scores: (v - min) / (max - min) in float32', () => {
    const got = normalizeScores(Float32Array.from([0.2, 0.7, 0.45, 1.2]));
    expect(got).toBeInstanceOf(Float32Array);
    const f = Math.fround;
    const range = f(f(1.2) - f(0.2));
    expect(Array.from(got)).toEqual([0, f(f(f(0.7) - f(0.2)) / range), f(f(f(0.45) - f(0.2)) / range), 1]);
  });

  test('scores: a constant set gives NaN (0/0), as torch does', () => {
    expect(Array.from(normalizeScores([3, 3])).every((v) => Number.isNaN(v))).toBe(true);
  });

  test('maps: one global min and max over all maps', () => {
    const [a, b] = normalizeMaps([Float32Array.from([1, 2]), Float32Array.from([3, 5])]);
    expect(Array.from(a)).toEqual([0, 0.25]);
    expect(Array.from(b)).toEqual([0.5, 1]);
  });

  test('maps: a NaN anywhere poisons min/max and every value becomes 0 (the official NaN -> 0)', () => {
    const out = normalizeMaps([Float32Array.from([1, NaN]), Float32Array.from([3, 5])]);
    expect(out.every((m) => Array.from(m).every((v) => v === 0))).toBe(true);
  });

  test('seg scores: per-image max of the raw map, NaN propagating', () => {
    const got = mapMaxScores([Float32Array.from([-3, -1, -2]), Float32Array.from([0.5, NaN])]);
    expect(got[0]).toBe(-1);
    expect(Number.isNaN(got[1])).toBe(true);
  });
});
