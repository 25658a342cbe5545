/**
 * How the official evaluation (SSN eval.py, spec §5) turns raw outputs into metric inputs, in float32 as
 * torch computes it: image score = sigmoid(logit); "seg" image score = max of the raw map; then each of
 * image scores, seg scores and all map pixels is min-max normalised over the whole test set, and NaN map
 * values become 0. min/max propagate NaN as torch's do, so a NaN anywhere (or a constant input, 0/0)
 * yields NaN everywhere: maps then end up all 0, scores stay NaN (the metrics reject NaN scores).
 */
const fround = Math.fround;

/** torch float32 sigmoid: 1 / (1 + exp(-x)), every step rounded to float32; saturates to 1 for x >~ 16.6. */
export function sigmoid32(x: number): number {
  return fround(1 / fround(1 + fround(Math.exp(-fround(x)))));
}

/** sigmoid32 of every logit. */
export function sigmoidScores(logits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = sigmoid32(logits[i]);
  return out;
}

/** Per-image maximum of each map (NaN if the map holds one), as the "seg" image score. */
export function mapMaxScores(maps: ArrayLike<ArrayLike<number>>): Float32Array {
  const out = new Float32Array(maps.length);
  for (let k = 0; k < maps.length; k++) out[k] = maxOf(maps[k], -Infinity);
  return out;
}

/** (v - min) / (max - min) over all values, in float32. */
export function normalizeScores(scores: ArrayLike<number>): Float32Array {
  const mn = fround(minOf(scores, Infinity));
  const mx = fround(maxOf(scores, -Infinity));
  const out = new Float32Array(scores.length);
  scale(scores, out, mn, mx, false);
  return out;
}

/** Min-max over all pixels of all maps (one global min and max), NaN -> 0; returns new arrays. */
export function normalizeMaps(maps: ArrayLike<ArrayLike<number>>): Float32Array[] {
  let mn = Infinity;
  let mx = -Infinity;
  for (let k = 0; k < maps.length; k++) {
    mn = minOf(maps[k], mn);
    mx = maxOf(maps[k], mx);
  }
  mn = fround(mn);
  mx = fround(mx);
  const out: Float32Array[] = [];
  for (let k = 0; k < maps.length; k++) {
    const o = new Float32Array(maps[k].length);
    scale(maps[k], o, mn, mx, true);
    out.push(o);
  }
  return out;
}

function scale(src: ArrayLike<number>, dst: Float32Array, mn: number, mx: number, nanToZero: boolean): void {
  const range = fround(mx - mn);
  for (let i = 0; i < src.length; i++) {
    const v = fround(fround(fround(src[i]) - mn) / range);
    dst[i] = nanToZero && Number.isNaN(v) ? 0 : v;
  }
}

function minOf(a: ArrayLike<number>, start: number): number {
  let m = start;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (Number.isNaN(v)) return NaN;
    if (v < m) m = v;
  }
  return m;
}

function maxOf(a: ArrayLike<number>, start: number): number {
  let m = start;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
}
