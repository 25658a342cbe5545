/**
 * AUPRO (anomalib 0.7, spec §10). Hand-worked cases in float64 arithmetic (to 1e-9; the float32 mode to
 * float32 precision), and test/fixtures/metrics/aupro.json from a literal numpy transcription of
 * anomalib's compute_pro (make_fixtures.py) for random, tied and edge-case maps.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SsnError } from '../../lib/errors';
import { aupro, type AuproResult } from '../../lib/metrics';

const EPS = 2 ** -23; // float32 machine epsilon in anomalib's interp1d denominator
const TOL = 1e-9;

function trapzOverLast(f: number[], t: number[]): number {
  let a = 0;
  for (let i = 1; i < f.length; i++) a += ((f[i] - f[i - 1]) * (t[i] + t[i - 1])) / 2;
  return a / f[f.length - 1];
}

function expectCurve(got: AuproResult, f: number[], t: number[]): void {
  expect(got.fpr.length).toBe(f.length);
  for (let i = 0; i < f.length; i++) {
    expect(Math.abs(got.fpr[i] - f[i])).toBeLessThan(TOL);
    expect(Math.abs(got.tpr[i] - t[i])).toBeLessThan(TOL);
  }
}

describe('AUPRO by hand', () => {
  /**
   * Two 2x3 images. Image 0 has two single-pixel regions, R1 at (0,0) and R2 at (0,2) (not 8-adjacent);
   * image 1 has an empty mask. Background: the 10 other pixels, scores b1..b10 = 0.9, 0.8, ..., 0.0.
   * R2 = 0.95 (above every background pixel), R1 = 0.75 (between b2 and b3).
   *
   * Global ROC (descending R2, b1, b2, R1, b3, ...): fpr 0, 0, .1, .2, .2, .3, .4 ... -> K = 6 points
   * with fpr <= 0.3, queries q = 0..5.
   * R1 curve (b1, b2, R1, b3, ...): (0,0) (.1,0) (.2,0) (.2,1) (.3,1) ... ; fpr .3 is hit exactly
   *   (allclose, no interpolation), idx = 0..4, x = idx/4*5 = 0, 1.25, 2.5, 3.75, 5.
   * R2 curve (R2, b1, b2, b3, ...): (0,0) (0,1) (.1,1) (.2,1) (.3,1); same x.
   * With c = 1/(1.25 + eps) (interp1d's slope denominator), q -> segment k (left searchsorted - 1):
   *   q:      0      1        2             3            4            5
   *   R1 fpr  0      .1c      .1+.075c      .2           .2+.025c     .2+.125c
   *   R1 tpr  0      0        0             .5c          1            1
   *   R2 fpr  0      0        .075c         .1+.05c      .2+.025c     .2+.125c
   *   R2 tpr  0      c        1             1            1            1
   * Averages (fpr already ascending), trapezoid, divided by the last fpr: with c ~ 0.8 the curve is
   * (0,0) (.04,.4) (.11,.5) (.17,.7) (.22,1) (.3,1) and AUPRO ~ 0.198 / 0.3 = 0.66.
   */
  const maps = [Float32Array.from([0.75, 0.9, 0.95, 0.8, 0.7, 0.6]), Float32Array.from([0.5, 0.4, 0.3, 0.2, 0.1, 0.0])];
  const masks = [Uint8Array.from([1, 0, 1, 0, 0, 0]), new Uint8Array(6)];
  const c = 1 / (1.25 + EPS);
  const f = [0, 0.05 * c, 0.05 + 0.075 * c, 0.15 + 0.025 * c, 0.2 + 0.025 * c, 0.2 + 0.125 * c];
  const t = [0, 0.5 * c, 0.5, 0.5 + 0.25 * c, 1, 1];

  test('two regions in one image, an image with an empty mask (float64)', () => {
    const got = aupro(maps, masks, 2, 3, { arithmetic: 'float64' });
    expect(got.regions).toBe(2);
    expectCurve(got, f, t);
    expect(Math.abs(got.aupro - trapzOverLast(f, t))).toBeLessThan(TOL);
    expect(got.aupro).toBeCloseTo(0.66, 6);
  });

  test('the same in float32 (default) agrees to float32 precision', () => {
    const got = aupro(maps, masks, 2, 3);
    expect(got.fpr).toBeInstanceOf(Float32Array);
    expect(Math.abs(got.aupro - trapzOverLast(f, t))).toBeLessThan(1e-6);
  });

  /**
   * Interpolation at the limit. One 1x5 image: a one-pixel region scoring 1 above a background of four
   * pixels 0.4, 0.3, 0.2, 0.1 (fpr steps of 0.25, so 0.3 is never hit).
   * Curve = global ROC: (0,0) (0,1) (.25,1) (.5,1) ...; K = 3 (fpr <= .3), queries 0, 1, last.
   * Region: max fpr <= .3 is .25, not close to .3 -> j = searchsorted(fpr, .3) = 3 is appended,
   * slope = 1 - (.5 - .3)/(.5 - .25) = 0.2; idx = 0..3, x = idx/3*2 = 0, 2/3, 4/3, 2;
   * last query = x[2] + (x[3] - x[2])*0.2 = 22/15. With d = 1/(2/3 + eps):
   *   q = 0 -> (0, 0);  q = 1 -> segment 1: (.25 d/3, 1);  q = 22/15 -> segment 2: (.25 + .25 d*2/15, 1).
   * With d ~ 1.5: (0,0) (.125,1) (.3,1): area .0625 + .175 = .2375, AUPRO ~ .2375/.3 = 0.7917.
   * A perfect detector scores below 1 here: index-space resampling moves the vertical first segment.
   */
  test('interpolation at the fpr limit (a perfect detector that anomalib scores 0.79)', () => {
    const d = 1 / (2 / 3 + EPS);
    const fh = [0, (0.25 * d) / 3, 0.25 + (0.25 * d * 2) / 15];
    const th = [0, 1, 1];
    const map = Float32Array.from([0.4, 1, 0.3, 0.2, 0.1]);
    const mask = Uint8Array.from([0, 1, 0, 0, 0]);
    const got = aupro([map], [mask], 1, 5, { arithmetic: 'float64' });
    expectCurve(got, fh, th);
    expect(Math.abs(got.aupro - trapzOverLast(fh, th))).toBeLessThan(TOL);
    expect(got.aupro).toBeCloseTo(0.2375 / 0.3, 6);
    expect(Math.abs(aupro([map], [mask], 1, 5).aupro - got.aupro)).toBeLessThan(1e-6);
  });

  /**
   * Three 5x6 images (90 pixels): image 0 has a 2x2 block and a 1x3 bar, image 1 an empty mask, image 2
   * an L of three pixels: 3 regions, 10 defect pixels, 80 background pixels with distinct scores.
   */
  const masks3 = [
    Uint8Array.from([1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]),
    new Uint8Array(30),
    Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  ];
  /** Defects score 0.9 / 0.8 alternately (every region holds both values), background by rank. */
  function mapsFor(defectHigh: boolean): Float32Array[] {
    let rank = 0;
    let alt = 0;
    return masks3.map((m) =>
      Float32Array.from(m, (v) => {
        if (v) return defectHigh ? (alt++ % 2 ? 0.8 : 0.9) : -1 - (alt++ % 2) * 0.1;
        return (rank++ + 1) / 200;
      }),
    );
  }

  /**
   * Perfect: region r's curve is (0,0), (0, s_r), (0,1), then background points (j/80, 1), where s_r is
   * its share of 0.9 pixels (2/4, 2/3, 1/3: mean S = 1/2). The global ROC has the same two positive
   * thresholds, so K - 1 = 2 + 24 (fpr 24/80 = .3 is hit exactly: no interpolation) equals every region's
   * last index and x = idx. A query on a knot q > 0 is still evaluated from the segment on its left
   * (left searchsorted - 1), with the eps in the denominator: y = y[q-1] + (y[q] - y[q-1]) e,
   * e = 1/(1 + eps). So the averaged curve is
   *   tpr: 0, S e, S + (1-S) e, 1, 1, ...        fpr: 0, 0, 0, e/80, 1/80 + e/80, ..., 23/80 + e/80
   * and AUPRO = (23/80 + (e/80)(1 + S + (1-S) e)/2) / (23/80 + e/80) = 1 - 1.24e-9: one up to the eps.
   */
  test('a perfect detector scores 1 (up to eps) when the limit falls on a curve point', () => {
    const e = 1 / (1 + EPS);
    const S = 0.5;
    const expected = (23 / 80 + ((e / 80) * (1 + S + (1 - S) * e)) / 2) / (23 / 80 + e / 80);
    const got = aupro(mapsFor(true), masks3, 5, 6, { arithmetic: 'float64' });
    expect(got.regions).toBe(3);
    expect(got.fpr.length).toBe(27);
    expect(Math.abs(got.aupro - expected)).toBeLessThan(TOL);
    expect(got.aupro).toBeCloseTo(1, 8);
    expect(Math.abs(aupro(mapsFor(true), masks3, 5, 6).aupro - 1)).toBeLessThan(1e-6);
  });

  /** Inverted: background first, fpr reaches .3 at tpr 0 on every curve (K = 25, x = idx): AUPRO 0. */
  test('an inverted detector scores 0', () => {
    const got = aupro(mapsFor(false), masks3, 5, 6, { arithmetic: 'float64' });
    expect(got.fpr.length).toBe(25);
    expect(got.aupro).toBe(0);
    expect(Array.from(got.tpr).every((v) => v === 0)).toBe(true);
    expect(aupro(mapsFor(false), masks3, 5, 6).aupro).toBe(0);
  });

  test('diagonal pixels form one region (8-connectivity)', () => {
    const mask = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 0]);
    const map = Float32Array.from([0.9, 0.1, 0.2, 0.3, 0.8, 0.4, 0.5, 0.6, 0.7]);
    expect(aupro([map], [mask], 3, 3).regions).toBe(1);
  });

  test('bad input is rejected with ERR_SSN_INPUT', () => {
    const m = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    const bad: Array<() => unknown> = [
      () => aupro([m], [new Uint8Array(4)], 2, 2), // no defect pixel
      () => aupro([m], [new Uint8Array(4).fill(1)], 2, 2), // no background
      () => aupro([m], [Uint8Array.from([0, 255, 0, 0])], 2, 2),
      () => aupro([m], [Uint8Array.from([0, 1, 0])], 2, 2),
      () => aupro([Float32Array.from([0.1, NaN, 0.3, 0.4])], [Uint8Array.from([0, 1, 0, 0])], 2, 2),
      () => aupro([m], [Uint8Array.from([0, 1, 0, 0])], 2, 2, { fprLimit: 1 }),
      () => aupro([m, m], [Uint8Array.from([0, 1, 0, 0])], 2, 2),
    ];
    for (const fn of bad) expect(fn).toThrow(SsnError);
  });
});

interface AuproCase {
  name: string;
  height: number;
  width: number;
  maps: number[][];
  masks: number[][];
  regions: number;
  float32: { aupro: number; points: number };
  float64: { aupro: number; points: number };
}

const fixtures: AuproCase[] = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'metrics', 'aupro.json'), 'utf8'));

describe.each(fixtures.map((c) => [c.name, c] as const))('AUPRO fixture: %s', (_name, c) => {
  const maps = c.maps.map((m) => Float32Array.from(m));
  const masks = c.masks.map((m) => Uint8Array.from(m));

  test('float64 equals the literal transcription', () => {
    const got = aupro(maps, masks, c.height, c.width, { arithmetic: 'float64' });
    expect(got.regions).toBe(c.regions);
    expect(got.fpr.length).toBe(c.float64.points);
    expect(Math.abs(got.aupro - c.float64.aupro)).toBeLessThan(TOL);
  });

  test('float32 reproduces numpy float32 (torch float32 semantics)', () => {
    const got = aupro(maps, masks, c.height, c.width);
    expect(got.fpr.length).toBe(c.float32.points);
    // Only the final sum's order may differ: a float32 ulp at most.
    expect(Math.abs(got.aupro - c.float32.aupro)).toBeLessThanOrEqual(2 ** -24);
  });
});
