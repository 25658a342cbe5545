/**
 * AUPRO exactly as anomalib 0.7 computes it (spec §10; the official SuperSimpleNet evaluation):
 *  1. 8-connected regions of the GT masks, per image, labels unique across images; background = every
 *     non-defect pixel of every image.
 *  2. K = number of points of the global ROC with fpr <= fprLimit.
 *  3. Per region: the ROC of (background ∪ region), cut at fprLimit (with anomalib's edge case, allclose
 *     test, searchsorted and slope), resampled in index space onto K points with float32 machine epsilon
 *     in the interpolation denominator.
 *  4. The curves are averaged over regions; area by trapezoid after a stable sort by fpr, divided by the
 *     last averaged fpr.
 *
 * Speed: the background is sorted once and each region's curve is produced by merging its few sorted
 * scores into the background, stopping just past fprLimit, so a region costs O(K + curve prefix), not a
 * sort of all pixels as in anomalib.
 *
 * arithmetic 'float32' (default) rounds every step as torch's float32 tensors do (fpr = fps / fps[-1] with
 * fps = float(i + 1) - tps, float32 interpolation and accumulation, regions accumulated in the order of
 * their last pixel as kornia's labels sort), so results match anomalib to the last few ulps (GPU
 * reductions sum in an order that cannot be reproduced). 'float64' runs the same algorithm in double.
 * Scores are used as given: torchmetrics would apply a sigmoid to scores outside [0, 1], which the official
 * evaluation never triggers because it min-max normalises maps first (see normalize.ts).
 */
import { connectedComponents, labelCapacity } from './connected_components';
import { inputError } from './errors';
import { searchsortedLeft, sortFloat32, stableArgsort } from './sort';

export type Arithmetic = 'float32' | 'float64';

export interface AuproOptions {
  /** Default 0.3. Must lie in (0, 1). */
  fprLimit?: number;
  /** Default 'float32' (anomalib parity). */
  arithmetic?: Arithmetic;
}

export interface AuproResult {
  aupro: number;
  /** The averaged PRO curve (K points), sorted by fpr as it is integrated: for plotting. */
  fpr: Float32Array | Float64Array;
  tpr: Float32Array | Float64Array;
  /** Number of defect regions averaged over. */
  regions: number;
}

type Buf = Float32Array | Float64Array;

const EPS32 = 2 ** -23; // torch.finfo(torch.float32).eps
const F32_INT_EXACT = 2 ** 24;

/**
 * AUPRO over a test set. maps[k] and masks[k] are row-major height x width arrays of image k; mask values
 * must be 0 or 1. Throws ERR_SSN_INPUT without defect pixels or without background pixels.
 */
export function aupro(
  maps: ArrayLike<ArrayLike<number>>,
  masks: ArrayLike<ArrayLike<number>>,
  height: number,
  width: number,
  options: AuproOptions = {},
): AuproResult {
  const fprLimit = options.fprLimit ?? 0.3;
  const arithmetic = options.arithmetic ?? 'float32';
  if (!(fprLimit > 0 && fprLimit < 1)) {
    throw inputError(`Expected fprLimit in (0, 1) but received ${String(fprLimit)}`, 'The official value is 0.3.');
  }
  if (arithmetic !== 'float32' && arithmetic !== 'float64') {
    throw inputError(`Expected arithmetic 'float32' or 'float64' but received ${String(arithmetic)}`);
  }
  const { background, regionScores, regionStart } = gatherRegions(maps, masks, height, width);
  const regions = regionStart.length - 1;

  sortFloat32(background);
  for (let r = 0; r < regions; r++) sortFloat32(regionScores.subarray(regionStart[r], regionStart[r + 1]));
  const allPositives = regionScores.slice();
  sortFloat32(allPositives);

  const ctx = new Context(arithmetic === 'float32', fprLimit, background);
  const K = ctx.countGlobalPoints(allPositives);
  const accF = ctx.alloc(K);
  const accT = ctx.alloc(K);
  for (let r = 0; r < regions; r++) {
    ctx.addRegion(regionScores.subarray(regionStart[r], regionStart[r + 1]), K, accF, accT);
  }
  return ctx.finish(accF, accT, regions);
}

/** Splits pixels into background and per-region scores; regions in the order of their last pixel. */
function gatherRegions(
  maps: ArrayLike<ArrayLike<number>>,
  masks: ArrayLike<ArrayLike<number>>,
  height: number,
  width: number,
): { background: Float32Array; regionScores: Float32Array; regionStart: Uint32Array } {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw inputError(`Expected a positive integer height and width but received ${height}x${width}`);
  }
  if (maps.length !== masks.length || maps.length === 0) {
    throw inputError(
      `Expected one mask per map (at least one image) but received ${maps.length} maps and ${masks.length} masks`,
    );
  }
  const n = height * width;
  let nPos = 0;
  for (let k = 0; k < maps.length; k++) {
    const map = maps[k];
    const mask = masks[k];
    if (map.length !== n || mask.length !== n) {
      throw inputError(
        `Expected map and mask ${k} to hold ${height}x${width} = ${n} values but received ${map.length} and ${mask.length}`,
        'All images must share the evaluation size (the model input size in the official protocol).',
      );
    }
    for (let i = 0; i < n; i++) {
      const m = mask[i];
      if (m === 1) nPos++;
      else if (m !== 0) {
        throw inputError(`Expected mask values 0 or 1 but received ${String(m)} in mask ${k} at ${i}`, 'Binarise masks first (value > 0 ? 1 : 0).');
      }
      if (map[i] !== map[i]) {
        throw inputError(`Expected no NaN in anomaly maps but found one in map ${k} at ${i}`, 'normalizeMaps() sets NaN to 0 as the official evaluation does.');
      }
    }
  }
  const total = n * maps.length;
  if (nPos === 0 || nPos === total) {
    throw inputError(
      `AUPRO needs defect and background pixels but received ${nPos} defect pixels out of ${total}`,
      'Evaluate on a test set whose masks mark some, but not all, pixels as defective.',
    );
  }
  const background = new Float32Array(total - nPos);
  const regionScores = new Float32Array(nPos);
  const starts: number[] = [0];
  const labels = new Int32Array(n);
  const parent = new Int32Array(labelCapacity(height, width));
  let nb = 0;
  let np = 0;
  for (let k = 0; k < maps.length; k++) {
    const map = maps[k];
    const { count } = connectedComponents(masks[k], height, width, 8, labels, parent);
    if (count === 0) {
      for (let i = 0; i < n; i++) background[nb++] = map[i];
      continue;
    }
    const last = new Int32Array(count + 1);
    const size = new Uint32Array(count + 1);
    for (let i = 0; i < n; i++) {
      const l = labels[i];
      if (l) {
        last[l] = i;
        size[l]++;
      }
    }
    // kornia labels a component by its largest linear index and anomalib visits labels sorted; ordering by
    // last pixel reproduces that order, which float32 accumulation depends on.
    const cursor = new Uint32Array(count + 1);
    for (let i = 0; i < n; i++) {
      const l = labels[i];
      if (l && last[l] === i) {
        cursor[l] = np;
        np += size[l];
        starts.push(np);
      }
    }
    for (let i = 0; i < n; i++) {
      const l = labels[i];
      if (l) regionScores[cursor[l]++] = map[i];
      else background[nb++] = map[i];
    }
  }
  return { background, regionScores, regionStart: Uint32Array.from(starts) };
}

/** The arithmetic, the sorted background and the reusable buffers of one AUPRO computation. */
class Context {
  readonly f32: boolean;
  /** Rounds to the working precision: Math.fround for float32, identity for float64. */
  readonly r: (x: number) => number;
  /** fprLimit in the working precision (torch keeps it as a float32 buffer). */
  readonly L: number;
  readonly limitExact: number;
  readonly bg: Float32Array;
  private bgDistinct = -1;
  // Curve prefix (fpr, tpr) of the current region and the resampling inputs; grown on demand.
  private F: Buf;
  private T: Buf;
  private idx: Float64Array;
  private xs: Buf;
  private yF: Buf;
  private yT: Buf;
  private sF: Buf;
  private sT: Buf;

  constructor(f32: boolean, fprLimit: number, background: Float32Array) {
    this.f32 = f32;
    this.r = f32 ? Math.fround : (x: number) => x;
    this.L = this.r(fprLimit);
    this.limitExact = fprLimit;
    this.bg = background;
    this.F = this.alloc(1024);
    this.T = this.alloc(1024);
    this.idx = new Float64Array(1024);
    this.xs = this.alloc(1024);
    this.yF = this.alloc(1024);
    this.yT = this.alloc(1024);
    this.sF = this.alloc(1024);
    this.sT = this.alloc(1024);
  }

  alloc(n: number): Buf {
    return this.f32 ? new Float32Array(n) : new Float64Array(n);
  }

  /** Global ROC over all pixels -> K, the number of its points with fpr <= limit. */
  countGlobalPoints(allPositives: Float32Array): number {
    const m = this.curvePrefix(allPositives);
    const F = this.F;
    let K = 0;
    for (let i = 0; i < m; i++) if (F[i] <= this.L) K++;
    return K;
  }

  /**
   * ROC of (background ∪ pos) with pos as positives, into F/T, from its leading (0, 0) until just past
   * every point that can matter: all points beyond have fpr > max(limit, first nonzero fpr) in the working
   * precision. Returns the number of points written.
   *
   * float32 follows torchmetrics' _binary_clf_curve: tps = float32 cumsum, fps = float(i + 1) - tps,
   * fpr = fps / fps[-1], tpr = tps / tps[-1].
   */
  private curvePrefix(pos: Float32Array): number {
    const { bg, r, f32 } = this;
    const nBg = bg.length;
    const n = pos.length;
    const total = nBg + n;
    const fpsLast = f32 ? r(r(total) - r(n)) : nBg;
    const tpsLast = f32 ? r(n) : n;
    // Bound on |float32 fpr - exact fpr| with a wide margin: a few roundings of magnitude up to total.
    const margin = f32 ? (1e-5 * total) / nBg : 0;
    this.ensure(2);
    this.F[0] = 0;
    this.T[0] = 0;
    let m = 1;
    let a = nBg - 1;
    let b = n - 1;
    let fp = 0;
    let tp = 0;
    let stopAbove = -1;
    while (a >= 0 || b >= 0) {
      let v: number;
      if (a < 0) v = pos[b];
      else if (b < 0) v = bg[a];
      else v = bg[a] > pos[b] ? bg[a] : pos[b];
      while (a >= 0 && bg[a] === v) {
        a--;
        fp++;
      }
      while (b >= 0 && pos[b] === v) {
        b--;
        tp++;
      }
      if (m === this.F.length) this.ensure(m * 2);
      if (f32) {
        this.F[m] = r(r(r(fp + tp) - r(tp)) / fpsLast);
        this.T[m] = r(r(tp) / tpsLast);
      } else {
        this.F[m] = fp / nBg;
        this.T[m] = tp / n;
      }
      m++;
      if (fp > 0) {
        const e = fp / nBg;
        if (stopAbove < 0) stopAbove = (e > this.limitExact ? e : this.limitExact) + margin;
        else if (e > stopAbove) break;
      }
    }
    return m;
  }

  /** Adds one region's resampled PRO curve (K points) to the accumulators. */
  addRegion(pos: Float32Array, K: number, accF: Buf, accT: Buf): void {
    const { r, L } = this;
    const m = this.curvePrefix(pos);
    this.ensure(m + 1); // idx may get one index more than there are points
    const F = this.F;
    const T = this.T;

    // Edge case: no point with 0 < fpr <= limit -> cut at the smallest fpr above the limit instead.
    let maxLE = 0;
    let minGT = Infinity;
    for (let i = 0; i < m; i++) {
      const f = F[i];
      if (f <= L) {
        if (f > maxLE) maxLE = f;
      } else if (f < minGT) minGT = f;
    }
    const lim = maxLE === 0 ? minGT : L;

    const idx = this.idx;
    let cnt = 0;
    let mx = -Infinity;
    for (let i = 0; i < m; i++) {
      if (F[i] <= lim) {
        idx[cnt++] = i;
        if (F[i] > mx) mx = F[i];
      }
    }
    // Not close to the limit: add the first point at or past it and sample the last point at the limit.
    let slope = 0;
    const interp = !this.allclose(mx, L);
    if (interp) {
      const nFull = this.fullLength(pos, m);
      const j = searchsortedLeft((i) => (i < m ? F[i] : Infinity), nFull, L);
      idx[cnt++] = j;
      slope = r(1 - r(r(F[j] - L) / r(F[j] - F[j - 1])));
    }

    // Index space: x = idx / max(idx) * (K - 1).
    const xs = this.xs;
    const yF = this.yF;
    const yT = this.yT;
    let maxIdx = 0;
    for (let k = 0; k < cnt; k++) if (idx[k] > maxIdx) maxIdx = idx[k];
    const maxX = r(maxIdx);
    const Km1 = r(K - 1);
    let sorted = true;
    for (let k = 0; k < cnt; k++) {
      xs[k] = r(r(r(idx[k]) / maxX) * Km1);
      yF[k] = F[idx[k]];
      yT[k] = T[idx[k]];
      if (k > 0 && xs[k] < xs[k - 1]) sorted = false;
    }
    const qLast = interp ? r(xs[cnt - 2] + r(r(xs[cnt - 1] - xs[cnt - 2]) * slope)) : Km1;

    // interp1d: slope_k = (y[k+1] - y[k]) / (eps + x[k+1] - x[k]).
    const sF = this.sF;
    const sT = this.sT;
    for (let k = 0; k + 1 < cnt; k++) {
      const dx = r(EPS32 + r(xs[k + 1] - xs[k]));
      sF[k] = r(r(yF[k + 1] - yF[k]) / dx);
      sT[k] = r(r(yT[k + 1] - yT[k]) / dx);
    }
    const hiK = cnt - 2;
    // Queries 0, 1, ..., K-2 ascend: on a sorted x the left-searchsorted index only moves forward.
    let p = 0;
    for (let qi = 0; qi < K - 1; qi++) {
      const q = r(qi);
      if (sorted) {
        while (p < cnt && xs[p] < q) p++;
      } else {
        p = searchsortedLeft((i) => xs[i], cnt, q);
      }
      let k = p - 1;
      if (k < 0) k = 0;
      else if (k > hiK) k = hiK;
      const dq = r(q - xs[k]);
      accF[qi] = r(accF[qi] + r(yF[k] + r(sF[k] * dq)));
      accT[qi] = r(accT[qi] + r(yT[k] + r(sT[k] * dq)));
    }
    {
      let k = searchsortedLeft((i) => xs[i], cnt, qLast) - 1;
      if (k < 0) k = 0;
      else if (k > hiK) k = hiK;
      const dq = r(qLast - xs[k]);
      accF[K - 1] = r(accF[K - 1] + r(yF[k] + r(sF[k] * dq)));
      accT[K - 1] = r(accT[K - 1] + r(yT[k] + r(sT[k] * dq)));
    }
  }

  /** Average, stable sort by fpr, trapezoid, divide by the last (unsorted) averaged fpr. */
  finish(accF: Buf, accT: Buf, regions: number): AuproResult {
    const r = this.r;
    const K = accF.length;
    const nr = r(regions);
    for (let i = 0; i < K; i++) {
      accF[i] = r(accF[i] / nr);
      accT[i] = r(accT[i] / nr);
    }
    const order = stableArgsort(accF);
    const fpr = this.alloc(K);
    const tpr = this.alloc(K);
    for (let i = 0; i < K; i++) {
      fpr[i] = accF[order[i]];
      tpr[i] = accT[order[i]];
    }
    // torch.trapz: sum of dx * (y0 + y1), halved. The float32 sum is kept in double: a GPU reduction's
    // order cannot be reproduced, and double is closer to the exact sum than any float32 order.
    let sum = 0;
    for (let i = 0; i + 1 < K; i++) sum += r(r(fpr[i + 1] - fpr[i]) * r(tpr[i + 1] + tpr[i]));
    const area = r(r(sum) / 2);
    return { aupro: r(area / accF[K - 1]), fpr, tpr, regions };
  }

  /** torch.allclose(a, b) with rtol 1e-5, atol 1e-8, evaluated in the working precision. */
  private allclose(a: number, b: number): boolean {
    const r = this.r;
    if (a === b) return true;
    return Math.abs(r(a - b)) <= r(r(1e-8) + Math.abs(r(r(1e-5) * b)));
  }

  /**
   * Length of the region's full ROC (1 + distinct scores of background ∪ region). Only a float32 curve
   * over more than 2^24 pixels can be non-monotone, and only there does searchsorted's probe sequence
   * (hence the full length) matter; otherwise the prefix gives the same answer.
   */
  private fullLength(pos: Float32Array, m: number): number {
    if (!this.f32 || this.bg.length + pos.length <= F32_INT_EXACT) return m;
    const bg = this.bg;
    if (this.bgDistinct < 0) {
      let d = bg.length > 0 ? 1 : 0;
      for (let i = 1; i < bg.length; i++) if (bg[i] !== bg[i - 1]) d++;
      this.bgDistinct = d;
    }
    let extra = 0;
    for (let i = 0; i < pos.length; i++) {
      const v = pos[i];
      if (i > 0 && v === pos[i - 1]) continue;
      const at = searchsortedLeft((k) => bg[k], bg.length, v);
      if (!(at < bg.length && bg[at] === v)) extra++;
    }
    return 1 + this.bgDistinct + extra;
  }

  /** Grows the curve buffers to hold at least n points (keeping the curve written so far). */
  private ensure(n: number): void {
    if (this.F.length >= n) return;
    const grow = (b: Buf, keep: boolean): Buf => {
      const nb = this.alloc(n);
      if (keep) nb.set(b);
      return nb;
    };
    this.F = grow(this.F, true);
    this.T = grow(this.T, true);
    this.xs = grow(this.xs, false);
    this.yF = grow(this.yF, false);
    this.yT = grow(this.yT, false);
    this.sF = grow(this.sF, false);
    this.sT = grow(this.sT, false);
    this.idx = new Float64Array(n);
  }
}
