/**
 * AUROC, ROC curve, AP and F1-max against test/fixtures/metrics/binary.json, whose values come from
 * make_fixtures.py (Mann-Whitney U with midranks, explicit threshold enumeration: other algorithms).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SsnError } from '../../lib/errors';
import { auroc, averagePrecision, f1Max, prepareBinary, rocCurve } from '../../lib/metrics';
import { sortFloat32, stableArgsort } from '../../lib/metrics/sort';

interface BinaryCase {
  name: string;
  scores: number[];
  labels: number[];
  auroc?: number;
  aurocError?: boolean;
  roc?: { fpr: number[]; tpr: number[]; thresholds: number[] };
  ap?: number;
  apError?: boolean;
  f1?: { f1: number; threshold: number; precision: number; recall: number };
}

const cases: BinaryCase[] = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'metrics', 'binary.json'), 'utf8'));

const TOL = 1e-9;
const inputs = (c: BinaryCase) => [
  { kind: 'Float32Array', scores: Float32Array.from(c.scores) as ArrayLike<number> },
  { kind: 'Float64Array', scores: Float64Array.from(c.scores) as ArrayLike<number> },
  { kind: 'number[]', scores: c.scores as ArrayLike<number> },
];

function expectInputError(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SsnError);
  expect((caught as SsnError).code).toBe('ERR_SSN_INPUT');
  expect((caught as SsnError).message.length).toBeGreaterThan(10);
}

describe('fixtures', () => {
  test('cover ties, constant scores, tiny and medium sizes and one-class errors', () => {
    expect(cases.some((c) => c.name === 'constant scores')).toBe(true);
    expect(cases.some((c) => c.scores.length >= 2000)).toBe(true);
    expect(cases.filter((c) => c.aurocError).length).toBe(2);
  });
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test.each(inputs(c).map((i) => [i.kind, i.scores] as const))('AUROC (%s)', (_kind, scores) => {
    if (c.aurocError) expectInputError(() => auroc(scores, c.labels));
    else expect(Math.abs(auroc(scores, c.labels) - c.auroc!)).toBeLessThan(TOL);
  });

  test.each(inputs(c).map((i) => [i.kind, i.scores] as const))('average precision (%s)', (_kind, scores) => {
    if (c.apError) expectInputError(() => averagePrecision(scores, c.labels));
    else expect(Math.abs(averagePrecision(scores, c.labels) - c.ap!)).toBeLessThan(TOL);
  });

  test('F1-max', () => {
    if (c.apError) {
      expectInputError(() => f1Max(c.scores, c.labels));
      return;
    }
    const got = f1Max(Float32Array.from(c.scores), c.labels);
    expect(Math.abs(got.f1 - c.f1!.f1)).toBeLessThan(TOL);
    expect(got.threshold === c.f1!.threshold).toBe(true); // -0 and +0 are one threshold
    expect(Math.abs(got.precision - c.f1!.precision)).toBeLessThan(TOL);
    expect(Math.abs(got.recall - c.f1!.recall)).toBeLessThan(TOL);
  });

  if (c.roc) {
    test('ROC curve: every distinct threshold, leading (0, 0)', () => {
      const got = rocCurve(Float32Array.from(c.scores), c.labels);
      expect(got.fpr.length).toBe(c.roc!.fpr.length);
      expect(got.fpr[0]).toBe(0);
      expect(got.tpr[0]).toBe(0);
      expect(got.thresholds[0]).toBe(Infinity);
      for (let k = 0; k < got.fpr.length; k++) {
        expect(Math.abs(got.fpr[k] - c.roc!.fpr[k])).toBeLessThan(TOL);
        expect(Math.abs(got.tpr[k] - c.roc!.tpr[k])).toBeLessThan(TOL);
        if (k > 0) expect(got.thresholds[k] === c.roc!.thresholds[k - 1]).toBe(true);
      }
    });
  }
});

describe('binary metrics by hand', () => {
  test('constant scores give AUROC 0.5 and AP = positive rate', () => {
    const labels = [1, 0, 0, 0, 1, 0];
    expect(auroc(new Float32Array(6).fill(0.25), labels)).toBe(0.5);
    expect(averagePrecision(new Float32Array(6).fill(0.25), labels)).toBeCloseTo(2 / 6, 15);
  });

  test('ties between classes get half credit', () => {
    // One positive and one negative at the same score, one clean pair: (1 + 0.5) / 2 pairs.
    expect(auroc([0.5, 0.5, 0.9, 0.1], [1, 0, 1, 0])).toBe((1 + 1 + 1 + 0.5) / 4);
  });

  test('F1-max: best threshold by hand', () => {
    // threshold 0.9: TP1 FP0 FN2 -> F1 = 2/(2+0+2) = 0.5;   0.8: TP1 FP1 -> 2/5 = 0.4;
    // 0.7: TP2 FP1 FN1 -> 4/6;   0.6: TP3 FP1 FN0 -> 6/7 (full recall: the curve stops here).
    const got = f1Max([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 1, 0]);
    expect(got.f1).toBeCloseTo(6 / 7, 15);
    expect(got.threshold).toBe(0.6);
    expect(got.precision).toBe(0.75);
    expect(got.recall).toBe(1);
  });

  test('F1-max: ties go to the lowest threshold (torch.argmax over ascending thresholds)', () => {
    // 0.9: 2/(2+0+1) = 2/3;   0.8: 2/4;   0.7: 2/5;   0.6: TP2 FP2 FN0 -> 4/6 = 2/3 again.
    const got = f1Max([0.9, 0.8, 0.7, 0.6], [1, 0, 0, 1]);
    expect(got.f1).toBeCloseTo(2 / 3, 15);
    expect(got.threshold).toBe(0.6);
    expect(got.precision).toBe(0.5);
  });

  test('a prepared split serves every metric', () => {
    const c = cases.find((k) => k.name === 'medium quantised')!;
    const prep = prepareBinary(Float32Array.from(c.scores), c.labels);
    expect(Math.abs(auroc(prep) - c.auroc!)).toBeLessThan(TOL);
    expect(Math.abs(averagePrecision(prep) - c.ap!)).toBeLessThan(TOL);
    expect(f1Max(prep).threshold).toBe(c.f1!.threshold);
  });

  test('bad input is rejected with ERR_SSN_INPUT', () => {
    expectInputError(() => auroc([0.1, 0.2], [0, 1, 1]));
    expectInputError(() => auroc([0.1, 0.2], [0, 255]));
    expectInputError(() => auroc([0.1, NaN], [0, 1]));
    expectInputError(() => auroc([0.1, 0.2]));
  });
});

describe('sorting', () => {
  test('the radix path sorts like Float32Array.prototype.sort, signed zeros and infinities included', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const a = new Float32Array(5000);
    for (let i = 0; i < a.length; i++) a[i] = (rand() - 0.5) * 10 ** Math.floor(rand() * 20 - 10);
    a.set([0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38], 100);
    for (let i = 0; i < 500; i++) a[1000 + i] = a[i]; // duplicates
    const expected = a.slice().sort();
    sortFloat32(a, 0);
    expect(Array.from(a).map((v) => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(
      Array.from(expected).map((v) => (Object.is(v, -0) ? '-0' : String(v))),
    );
  });

  test('the radix path on a subarray leaves the rest of the buffer alone', () => {
    const a = Float32Array.from([9, 3, 1, 2, 0, -1, 8]);
    sortFloat32(a.subarray(1, 6), 0);
    expect(Array.from(a)).toEqual([9, -1, 0, 1, 2, 3, 8]);
  });

  test('AUROC through the radix path equals the float64 path on 100k scores', () => {
    let seed = 3;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const n = 100000;
    const s = new Float32Array(n);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rand() < 0.2 ? 1 : 0;
      s[i] = Math.round((rand() + 0.3 * y[i]) * 1000) / 1000; // ties
    }
    expect(auroc(s, y)).toBe(auroc(Float64Array.from(s), y));
    expect(averagePrecision(s, y)).toBe(averagePrecision(Float64Array.from(s), y));
  });

  test('stable argsort keeps equal keys in order', () => {
    const keys = Float64Array.from([0.3, 0.1, 0.2, 0.1, 0.3, 0.0, 0.2]);
    expect(Array.from(stableArgsort(keys))).toEqual([5, 1, 3, 2, 6, 0, 4]);
    expect(Array.from(stableArgsort(Float32Array.from([1, 2, 2, 3])))).toEqual([0, 1, 2, 3]);
  });
});
