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
 * Speed: the background is sorted and run-length coded once; each region's curve is produced by merging
 * its few sorted scores into the distinct background scores, stopping just past fprLimit, so a region
 * costs O(K) (K <= distinct scores, bounded by float32 resolution), not a sort of all pixels as in
 * anomalib. Single-threaded and synchronous.
 *
 * arithmetic 'float32' (default) rounds every step as torch's float32 tensors do (fpr = fps / fps[-1] with
 * fps = float(i + 1) - tps, float32 interpolation and accumulation, regions accumulated in the order of
 * their last pixel as kornia's labels sort), so results match anomalib to the last few ulps (GPU
 * reductions sum in an order that cannot be reproduced; kornia's float32 labels, which can merge regions
 * beyond 2^24 pixels, are not imitated). 'float64' runs the same algorithm in double.
 * Scores are used as given: torchmetrics would apply a sigmoid to scores outside [0, 1], which the official
 * evaluation never triggers because it min-max normalises maps first (see normalize.ts).
 */
import type { PreparedBinary } from './binary';
import { connectedComponents, labelCapacity } from './connected_components';
import { inputError } from './errors';
import { searchsortedLeft, sortFloat32, stableArgsort } from './sort';

export type Arithmetic = 'float32' | 'float64';

export interface AuproOptions {
  /** Default 0.3. Must lie in (0, 1). */
  fprLimit?: number;
  /** Default 'float32' (anomalib parity). */
  arithmetic?: Arithmetic;
  /**
   * prepareBinary(all map pixels, all mask pixels) in image order, float32, when the caller has it (for
   * pixel AUROC and AP): its sorted classes are the sorted background and defect pixels, so AUPRO skips
   * its own sorts of them.
   */
  prepared?: PreparedBinary;
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

/** Rounds to the working precision. A plain function (not a stored closure) so that V8 inlines it. */
function rd(x: number, f32: boolean): number {
  return f32 ? Math.fround(x) : x;
}

/**
 * AUPRO over a test set. maps[k] and masks[k] are row-major height x width arrays of image k (map values
 * are taken as float32, like torch's tensors); mask values must be 0 or 1. A map with an empty mask adds
 * background only. Throws ERR_SSN_INPUT without defect pixels or without background pixels.
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
  const prepared = options.prepared;
  const reuse = prepared !== undefined && prepared.positives instanceof Float32Array && prepared.negatives instanceof Float32Array;
  const gathered = gatherRegions(maps, masks, height, width, !reuse);
  const { regionScores, regionStart } = gathered;
  const regions = regionStart.length - 1;
  for (let r = 0; r < regions; r++) sortFloat32(regionScores.subarray(regionStart[r], regionStart[r + 1]));
  let allPositives: Float32Array;
  if (reuse) {
    if (prepared.positives.length !== regionScores.length || prepared.negatives.length !== gathered.backgroundSize) {
      throw inputError(
        `Expected options.prepared to hold the ${regionScores.length} defect and ${gathered.backgroundSize} background ` +
          `pixels of these maps but it holds ${prepared.positives.length} and ${prepared.negatives.length}`,
        'Pass prepareBinary(all map pixels, all mask pixels) of the same maps and masks.',
      );
    }
    allPositives = prepared.positives as Float32Array;
    gathered.background = prepared.negatives as Float32Array;
  } else {
    allPositives = regionScores.slice();
    sortFloat32(allPositives);
    sortFloat32(gathered.background);
  }
  const ctx = new Context(arithmetic === 'float32', fprLimit, gathered.background);
  gathered.background = new Float32Array(0); // the context keeps a run-length copy: let the pixels go
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
  withBackground: boolean,
): { background: Float32Array; backgroundSize: number; regionScores: Float32Array; regionStart: Uint32Array } {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw inputError(`Expected a positive integer height and width but received ${height}x${width}`);
  }
  if (maps.length !== masks.length || maps.length === 0) {
    throw inputError(`Expected one mask per map (at least one image) but received ${maps.length} maps and ${masks.length} masks`);
  }
  const n = height * width;
  let nPos = 0;
  for (let k = 0; k < maps.length; k++) {
    const map = maps[k];
    const mask = masks[k];
    if (map.length !== n || mask.length !== n) {
      throw inputError(
        `Expected map and mask ${k} to hold ${height}x${width} = ${n} values ` + `but received ${map.length} and ${mask.length}`,
        'All images must share the evaluation size (the model input size in the official protocol).',
      );
    }
    for (let i = 0; i < n; i++) {
      const m = mask[i];
      if (m === 1) nPos++;
      else if (m !== 0) {
        throw inputError(
          `Expected mask values 0 or 1 but received ${String(m)} in mask ${k} at ${i}`,
          'Binarise masks first (value > 0 ? 1 : 0).',
        );
      }
      if (Number.isNaN(map[i])) {
        throw inputError(
          `Expected no NaN in anomaly maps but found one in map ${k} at ${i}`,
          'normalizeMaps() sets NaN to 0 as the official evaluation does.',
        );
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
  const background = new Float32Array(withBackground ? total - nPos : 0);
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
      if (withBackground) for (let i = 0; i < n; i++) background[nb++] = map[i];
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
      else if (withBackground) background[nb++] = map[i];
    }
  }
  return { background, backgroundSize: total - nPos, regionScores, regionStart: Uint32Array.from(starts) };
}

/**
 * The arithmetic, the sorted background and the reusable buffers of one AUPRO computation. The hot loops
 * are separate functions with one loop each: V8 then optimises each with complete type feedback instead
 * of deoptimising a long method section by section on every region.
 */
class Context {
  readonly f32: boolean;
  /** fprLimit in the working precision (torch keeps it as a float32 buffer). */
  readonly L: number;
  readonly limitExact: number;
  /** The sorted background, run-length coded: distinct scores ascending and how many pixels hold each. */
  readonly bgValues: Float32Array;
  readonly bgCounts: Uint32Array;
  readonly bgTotal: number;
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
    this.L = rd(fprLimit, f32);
    this.limitExact = fprLimit;
    // A region's curve then steps over distinct background scores only (about K of them), not pixels.
    const { values, counts } = runLengths(background);
    this.bgValues = values;
    this.bgCounts = counts;
    this.bgTotal = background.length;
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
    let K = 0;
    for (let i = 0; i < m; i++) if (this.F[i] <= this.L) K++;
    return K;
  }

  /** The ROC prefix of (background ∪ pos) into F/T (see curvePrefix below), growing the buffers as needed. */
  private curvePrefix(pos: Float32Array): number {
    for (;;) {
      const m = curvePrefix(this.bgValues, this.bgCounts, this.bgTotal, pos, this.F, this.T, this.f32, this.limitExact);
      if (m >= 0) return m;
      this.ensure(this.F.length * 2);
    }
  }

  /** Adds one region's resampled PRO curve (K points) to the accumulators. */
  addRegion(pos: Float32Array, K: number, accF: Buf, accT: Buf): void {
    const { f32, L } = this;
    const m = this.curvePrefix(pos);
    this.ensure(m + 1); // idx may get one index more than there are points
    const { F, T, idx, xs, sF, sT } = this;
    const yF = this.yF;
    const yT = this.yT;

    // Where fpr never decreases (always, except at rare spots of float32 curves over more than 2^24
    // pixels) the points with fpr <= limit are a prefix 0..c0-1; unless that prefix only holds fpr 0 (the
    // edge case below), the selected indices are 0..cnt-1 and x, y need no gather.
    const monotone = !f32 || this.bgTotal + pos.length <= F32_INT_EXACT || nonDecreasing(F, m);
    const c0 = monotone ? countAtMost(F, L) : 0;
    const contiguous = monotone && F[c0 - 1] !== 0;

    let cnt: number;
    let mx: number;
    if (contiguous) {
      cnt = c0;
      mx = F[c0 - 1];
    } else {
      ({ cnt, max: mx } = selectAtMost(F, m, L, idx));
      // Edge case: no point with 0 < fpr <= limit -> cut at the smallest fpr above the limit instead.
      if (mx === 0) ({ cnt, max: mx } = selectAtMost(F, m, minAbove(F, m, L), idx));
    }
    // Not close to the limit: add the first point at or past it and sample the last point at the limit.
    let slope = 0;
    const interp = !this.allclose(mx, L);
    let maxIdx = contiguous ? cnt - 1 : idx[cnt - 1];
    if (interp) {
      const j = contiguous ? c0 : searchsortedLeft((i) => (i < m ? F[i] : Infinity), this.fullLength(pos, m), L);
      idx[cnt++] = j;
      if (j > maxIdx) maxIdx = j;
      slope = rd(1 - rd(rd(F[j] - L, f32) / rd(F[j] - F[j - 1], f32), f32), f32);
    }

    // Index space: x = idx / max(idx) * (K - 1); and interp1d's slopes.
    const Km1 = rd(K - 1, f32);
    if (contiguous) {
      // The common case in one streaming pass (no x or slope arrays: on 1e8 pixels memory traffic dominates).
      const maxX = rd(cnt - 1, f32);
      const qEnd = interp
        ? rd(xAt(cnt - 2, maxX, Km1, f32) + rd(rd(xAt(cnt - 1, maxX, Km1, f32) - xAt(cnt - 2, maxX, Km1, f32), f32) * slope, f32), f32)
        : Km1;
      accumulateContiguous(F, T, cnt, maxX, Km1, K - 1, accF, accT, f32);
      accumulateAtContiguous(F, T, cnt, maxX, Km1, qEnd, K - 1, accF, accT, f32);
      return;
    }
    const sorted = gatherSlopes(F, T, idx, cnt, rd(maxIdx, f32), Km1, xs, yF, yT, sF, sT, f32);
    const qLast = interp ? rd(xs[cnt - 2] + rd(rd(xs[cnt - 1] - xs[cnt - 2], f32) * slope, f32), f32) : Km1;
    if (sorted) accumulateSorted(xs, yF, yT, sF, sT, cnt, K - 1, accF, accT, f32);
    else for (let qi = 0; qi < K - 1; qi++) accumulateAt(xs, yF, yT, sF, sT, cnt, rd(qi, f32), qi, accF, accT, f32);
    accumulateAt(xs, yF, yT, sF, sT, cnt, qLast, K - 1, accF, accT, f32);
  }

  /** Average, stable sort by fpr, trapezoid, divide by the last (unsorted) averaged fpr. */
  finish(accF: Buf, accT: Buf, regions: number): AuproResult {
    const f32 = this.f32;
    const K = accF.length;
    const nr = rd(regions, f32);
    for (let i = 0; i < K; i++) {
      accF[i] = rd(accF[i] / nr, f32);
      accT[i] = rd(accT[i] / nr, f32);
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
    for (let i = 0; i + 1 < K; i++) sum += rd(rd(fpr[i + 1] - fpr[i], f32) * rd(tpr[i + 1] + tpr[i], f32), f32);
    const area = rd(rd(sum, f32) / 2, f32);
    return { aupro: rd(area / accF[K - 1], f32), fpr, tpr, regions };
  }

  /** torch.allclose(a, b) with rtol 1e-5, atol 1e-8, evaluated in the working precision. */
  private allclose(a: number, b: number): boolean {
    const f32 = this.f32;
    if (a === b) return true;
    return Math.abs(rd(a - b, f32)) <= rd(rd(1e-8, f32) + Math.abs(rd(rd(1e-5, f32) * b, f32)), f32);
  }

  /**
   * Length of the region's full ROC (1 + distinct scores of background ∪ region). Only a float32 curve
   * over more than 2^24 pixels can be non-monotone, and only there does searchsorted's probe sequence
   * (hence the full length) matter; otherwise the prefix gives the same answer.
   */
  private fullLength(pos: Float32Array, m: number): number {
    if (!this.f32 || this.bgTotal + pos.length <= F32_INT_EXACT) return m;
    const bg = this.bgValues;
    let extra = 0;
    for (let i = 0; i < pos.length; i++) {
      const v = pos[i];
      if (i > 0 && v === pos[i - 1]) continue;
      const at = searchsortedLeft((k) => bg[k], bg.length, v);
      if (!(at < bg.length && bg[at] === v)) extra++;
    }
    return 1 + bg.length + extra;
  }

  /** Grows the buffers to hold at least n points (keeping the curve written so far). */
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

/**
 * ROC of (background ∪ pos) with pos as positives (background run-length coded, pos sorted ascending),
 * into F/T, from its leading (0, 0) until just past every point that can matter: all later points have
 * fpr > max(limit, first nonzero fpr) in the working precision. Returns the number of points, or -1 if
 * F/T are too short.
 *
 * float32 follows torchmetrics' _binary_clf_curve: tps = float32 cumsum, fps = float(i + 1) - tps,
 * fpr = fps / fps[-1], tpr = tps / tps[-1].
 */
function curvePrefix(
  bgValues: Float32Array,
  bgCounts: Uint32Array,
  nBg: number,
  pos: Float32Array,
  F: Buf,
  T: Buf,
  f32: boolean,
  limit: number,
): number {
  const n = pos.length;
  const total = nBg + n;
  const cap = F.length;
  const fpsLast = f32 ? rd(rd(total, f32) - rd(n, f32), f32) : nBg;
  const tpsLast = f32 ? rd(n, f32) : n;
  // Bound on |float32 fpr - exact fpr| with a wide margin: a few roundings of magnitude up to total.
  const margin = f32 ? (1e-5 * total) / nBg : 0;
  // Below 2^24 the float32 counts are exact integers and fps = fp: one rounding is left.
  const exactCounts = total <= F32_INT_EXACT;
  F[0] = 0;
  T[0] = 0;
  let m = 1;
  let a = bgValues.length - 1;
  let b = n - 1;
  let fp = 0;
  let tp = 0;
  let tpPrev = 0; // T[0] = 0 is the tpr of tp = 0
  let stopAbove = -1;
  while (a >= 0 || b >= 0) {
    let v: number;
    if (a < 0) v = pos[b];
    else if (b < 0) v = bgValues[a];
    else v = Math.max(bgValues[a], pos[b]);
    if (a >= 0 && bgValues[a] === v) fp += bgCounts[a--];
    while (b >= 0 && pos[b] === v) {
      b--;
      tp++;
    }
    if (m === cap) return -1;
    if (f32) {
      const fps = exactCounts ? fp : Math.fround(Math.fround(fp + tp) - Math.fround(tp));
      F[m] = Math.fround(fps / fpsLast);
      // tpr only moves at the region's own scores: most points repeat the previous value.
      T[m] = tp === tpPrev ? T[m - 1] : Math.fround(Math.fround(tp) / tpsLast);
      tpPrev = tp;
    } else {
      F[m] = fp / nBg;
      T[m] = tp / n;
    }
    m++;
    if (fp > 0) {
      const e = fp / nBg;
      if (stopAbove < 0) stopAbove = Math.max(e, limit) + margin;
      else if (e > stopAbove) break;
    }
  }
  return m;
}

/** Distinct values of an ascending array and their multiplicities (-0 and +0 are one value). */
function runLengths(sorted: Float32Array): { values: Float32Array; counts: Uint32Array } {
  let d = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) d++;
  const values = new Float32Array(d);
  const counts = new Uint32Array(d);
  let k = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) values[++k] = sorted[i];
    counts[k]++;
  }
  return { values, counts };
}

function nonDecreasing(F: Buf, m: number): boolean {
  for (let i = 1; i < m; i++) if (F[i] < F[i - 1]) return false;
  return true;
}

/** Length of the prefix with F <= L (F ends with a point above L). */
function countAtMost(F: Buf, L: number): number {
  let c = 0;
  while (F[c] <= L) c++;
  return c;
}

/** Indices i < m with F[i] <= lim, ascending, into idx; their count and the largest such F. */
function selectAtMost(F: Buf, m: number, lim: number, idx: Float64Array): { cnt: number; max: number } {
  let cnt = 0;
  let max = -Infinity;
  for (let i = 0; i < m; i++) {
    const f = F[i];
    if (f <= lim) {
      idx[cnt++] = i;
      if (f > max) max = f;
    }
  }
  return { cnt, max };
}

/** The smallest F[i] above L, i < m. */
function minAbove(F: Buf, m: number, L: number): number {
  let min = Infinity;
  for (let i = 0; i < m; i++) if (F[i] > L && F[i] < min) min = F[i];
  return min;
}

/** x[k] = k / (cnt - 1) * (K - 1) of a contiguous selection, rounded as torch's float32 division and product. */
function xAt(k: number, maxX: number, Km1: number, f32: boolean): number {
  return k === 0 ? 0 : rd(rd(rd(k, f32) / maxX, f32) * Km1, f32);
}

/**
 * accumulateSorted for the contiguous selection 0..cnt-1 of F/T, fused with the computation of x and of
 * interp1d's slopes (y[k+1] - y[k]) / (eps + x[k+1] - x[k]): segment k serves the queries q with
 * x[k] < q <= x[k+1] (the last segment every query left), exactly the clamp(searchsorted_left(x, q) - 1)
 * of the unfused path. A zero difference gives a zero slope without the division.
 */
function accumulateContiguous(
  F: Buf,
  T: Buf,
  cnt: number,
  maxX: number,
  Km1: number,
  nq: number,
  accF: Buf,
  accT: Buf,
  f32: boolean,
): void {
  if (f32) {
    accumulateContiguous32(F as Float32Array, T as Float32Array, cnt, maxX, Km1, nq, accF as Float32Array, accT as Float32Array);
    return;
  }
  const last = cnt - 2;
  let qi = 0;
  let x0 = 0;
  for (let k = 0; k <= last && qi < nq; k++) {
    const x1 = rd(rd(rd(k + 1, f32) / maxX, f32) * Km1, f32);
    const dx = rd(EPS32 + rd(x1 - x0, f32), f32);
    const yF = F[k];
    const yT = T[k];
    const dF = rd(F[k + 1] - yF, f32);
    const dT = rd(T[k + 1] - yT, f32);
    const sF = dF === 0 ? 0 : rd(dF / dx, f32);
    const sT = dT === 0 ? 0 : rd(dT / dx, f32);
    for (; qi < nq; qi++) {
      const q = rd(qi, f32);
      if (k < last && q > x1) break;
      const dq = rd(q - x0, f32);
      accF[qi] = rd(accF[qi] + rd(yF + rd(sF * dq, f32), f32), f32);
      accT[qi] = rd(accT[qi] + rd(yT + rd(sT * dq, f32), f32), f32);
    }
    x0 = x1;
  }
}

/**
 * The float32 case of accumulateContiguous, written out: storing into a Float32Array rounds like
 * Math.fround, and a monomorphic loop without the arithmetic switch is what V8 compiles best.
 */
function accumulateContiguous32(
  F: Float32Array,
  T: Float32Array,
  cnt: number,
  maxX: number,
  Km1: number,
  nq: number,
  accF: Float32Array,
  accT: Float32Array,
): void {
  const fr = Math.fround;
  const last = cnt - 2;
  let qi = 0;
  let x0 = 0;
  for (let k = 0; k <= last && qi < nq; k++) {
    const x1 = fr(fr(fr(k + 1) / maxX) * Km1);
    const dx = fr(EPS32 + fr(x1 - x0));
    const yF = F[k];
    const yT = T[k];
    const dF = fr(F[k + 1] - yF);
    const dT = fr(T[k + 1] - yT);
    const sF = dF === 0 ? 0 : fr(dF / dx);
    const sT = dT === 0 ? 0 : fr(dT / dx);
    const end = k < last ? nq : 0;
    for (; qi < nq; qi++) {
      const q = fr(qi);
      if (q > x1 && end !== 0) break;
      const dq = fr(q - x0);
      accF[qi] = accF[qi] + fr(yF + fr(sF * dq));
      // A flat tpr (sT = 0, most segments) adds yT exactly: yT + 0 * dq = yT.
      accT[qi] = accT[qi] + (sT === 0 ? yT : fr(yT + fr(sT * dq)));
    }
    x0 = x1;
  }
}

/** accumulateAt for the contiguous selection, x and slopes computed where the binary search looks. */
function accumulateAtContiguous(
  F: Buf,
  T: Buf,
  cnt: number,
  maxX: number,
  Km1: number,
  q: number,
  at: number,
  accF: Buf,
  accT: Buf,
  f32: boolean,
): void {
  const p = searchsortedLeft((i) => xAt(i, maxX, Km1, f32), cnt, q);
  const hiK = cnt - 2;
  const k = p < 1 ? 0 : Math.min(p - 1, hiK);
  const x0 = xAt(k, maxX, Km1, f32);
  const dx = rd(EPS32 + rd(xAt(k + 1, maxX, Km1, f32) - x0, f32), f32);
  const sF = rd(rd(F[k + 1] - F[k], f32) / dx, f32);
  const sT = rd(rd(T[k + 1] - T[k], f32) / dx, f32);
  const dq = rd(q - x0, f32);
  accF[at] = rd(accF[at] + rd(F[k] + rd(sF * dq, f32), f32), f32);
  accT[at] = rd(accT[at] + rd(T[k] + rd(sT * dq, f32), f32), f32);
}

/** The same for selected indices: gathers x, yF, yT and the slopes; false if x is not ascending. */
function gatherSlopes(
  F: Buf,
  T: Buf,
  idx: Float64Array,
  cnt: number,
  maxX: number,
  Km1: number,
  xs: Buf,
  yF: Buf,
  yT: Buf,
  sF: Buf,
  sT: Buf,
  f32: boolean,
): boolean {
  let sorted = true;
  for (let k = 0; k < cnt; k++) {
    const i = idx[k];
    const x = rd(rd(rd(i, f32) / maxX, f32) * Km1, f32);
    xs[k] = x;
    yF[k] = F[i];
    yT[k] = T[i];
    if (k > 0) {
      if (x < xs[k - 1]) sorted = false;
      const dx = rd(EPS32 + rd(x - xs[k - 1], f32), f32);
      sF[k - 1] = rd(rd(yF[k] - yF[k - 1], f32) / dx, f32);
      sT[k - 1] = rd(rd(yT[k] - yT[k - 1], f32) / dx, f32);
    }
  }
  return sorted;
}

/**
 * acc[q] += y[k] + slope_k * (q - x[k]) for the queries q = 0..nq-1, with k = clamp(searchsorted_left(x,
 * q) - 1, 0, cnt - 2). The queries ascend, so on a sorted x the searchsorted index only moves forward.
 */
function accumulateSorted(xs: Buf, yF: Buf, yT: Buf, sF: Buf, sT: Buf, cnt: number, nq: number, accF: Buf, accT: Buf, f32: boolean): void {
  const hiK = cnt - 2;
  let p = 0;
  for (let qi = 0; qi < nq; qi++) {
    const q = rd(qi, f32);
    while (p < cnt && xs[p] < q) p++;
    const k = p < 1 ? 0 : Math.min(p - 1, hiK);
    const dq = rd(q - xs[k], f32);
    accF[qi] = rd(accF[qi] + rd(yF[k] + rd(sF[k] * dq, f32), f32), f32);
    accT[qi] = rd(accT[qi] + rd(yT[k] + rd(sT[k] * dq, f32), f32), f32);
  }
}

/** One query q into acc[at], with torch's binary search (also on an unsorted x). */
function accumulateAt(
  xs: Buf,
  yF: Buf,
  yT: Buf,
  sF: Buf,
  sT: Buf,
  cnt: number,
  q: number,
  at: number,
  accF: Buf,
  accT: Buf,
  f32: boolean,
): void {
  const p = searchsortedLeft((i) => xs[i], cnt, q);
  const hiK = cnt - 2;
  const k = p < 1 ? 0 : Math.min(p - 1, hiK);
  const dq = rd(q - xs[k], f32);
  accF[at] = rd(accF[at] + rd(yF[k] + rd(sF[k] * dq, f32), f32), f32);
  accT[at] = rd(accT[at] + rd(yT[k] + rd(sT[k] * dq, f32), f32), f32);
}
