/**
 * Sorting helpers for 1e8-element metrics: an in-place LSD radix sort for Float32Array (3 passes of 11/11/10
 * bits over order-preserving integer keys), torch's lower-bound binary search, and a stable argsort.
 */

/** Below this many elements the native TypedArray sort (std::sort) is faster than the radix passes. */
const RADIX_MIN = 1 << 15;

/**
 * Sorts `a` ascending in place, like Float32Array.prototype.sort (-0 before +0, NaN last), in O(n).
 * `radixMin` exists for tests of the radix path on small inputs.
 */
export function sortFloat32(a: Float32Array, radixMin = RADIX_MIN): void {
  const n = a.length;
  if (n < 2) return;
  if (n < radixMin) {
    a.sort();
    return;
  }
  const u = new Uint32Array(a.buffer, a.byteOffset, n);
  const h0 = new Uint32Array(2048);
  const h1 = new Uint32Array(2048);
  const h2 = new Uint32Array(1024);
  // IEEE-754 bits -> unsigned keys with the same order: flip all bits of negatives, the sign bit of the rest.
  for (let i = 0; i < n; i++) {
    const b = u[i];
    const k = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    u[i] = k;
    h0[k & 2047]++;
    h1[(k >>> 11) & 2047]++;
    h2[k >>> 22]++;
  }
  let src: Uint32Array = u;
  let dst: Uint32Array = new Uint32Array(n);
  const passes: Array<[Uint32Array, number, number]> = [
    [h0, 0, 2047],
    [h1, 11, 2047],
    [h2, 22, 1023],
  ];
  for (const [h, shift, mask] of passes) {
    if (scatterPass(src, dst, h, shift, mask, n)) {
      const t = src;
      src = dst;
      dst = t;
    }
  }
  if (src !== u) u.set(src);
  for (let i = 0; i < n; i++) {
    const k = u[i];
    u[i] = k & 0x80000000 ? (k ^ 0x80000000) >>> 0 : ~k >>> 0;
  }
}

/** One stable counting pass; false (nothing moved) when every key has the same digit. */
function scatterPass(src: Uint32Array, dst: Uint32Array, h: Uint32Array, shift: number, mask: number, n: number): boolean {
  let sum = 0;
  for (let d = 0; d < h.length; d++) {
    const c = h[d];
    if (c === n) return false;
    h[d] = sum;
    sum += c;
  }
  for (let i = 0; i < n; i++) {
    const v = src[i];
    dst[h[(v >>> shift) & mask]++] = v;
  }
  return true;
}

/** Sorts a copy-free Float32Array or Float64Array ascending in place. */
export function sortAscending(a: Float32Array | Float64Array): void {
  if (a instanceof Float32Array) sortFloat32(a);
  else a.sort();
}

/**
 * torch.searchsorted(side='left') exactly as ATen's binary search does it, also on arrays that are not
 * sorted (where the answer depends on the probe sequence). `at(i)` reads element i of a length-n array.
 */
export function searchsortedLeft(at: (i: number) => number, n: number, value: number): number {
  let start = 0;
  let end = n;
  while (start < end) {
    const mid = start + ((end - start) >> 1);
    if (!(at(mid) >= value)) start = mid + 1;
    else end = mid;
  }
  return start;
}

/**
 * Indices that sort `keys` ascending, stable (equal keys keep their order), like torch.sort(stable=True).
 * Natural merge sort: O(n) on sorted input, O(n log runs) otherwise. Keys must not be NaN.
 */
export function stableArgsort(keys: Float32Array | Float64Array): Uint32Array {
  const n = keys.length;
  let idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  // Boundaries of maximal non-decreasing runs: run r is [bounds[r], bounds[r + 1]).
  const boundList: number[] = [0];
  for (let i = 1; i < n; i++) if (keys[i] < keys[i - 1]) boundList.push(i);
  boundList.push(n);
  if (boundList.length <= 2) return idx;
  let bounds = Uint32Array.from(boundList);
  let tmp = new Uint32Array(n);
  while (bounds.length > 2) {
    const runs = bounds.length - 1;
    const next = new Uint32Array(Math.ceil(runs / 2) + 1);
    let nb = 0;
    for (let r = 0; r < runs; r += 2) {
      const lo = bounds[r];
      const mid = bounds[r + 1];
      const hi = r + 2 <= runs ? bounds[r + 2] : mid;
      next[nb++] = lo;
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) {
        // `<=` takes the left run first on ties: that is what keeps the sort stable.
        if (keys[idx[i]] <= keys[idx[j]]) tmp[o++] = idx[i++];
        else tmp[o++] = idx[j++];
      }
      while (i < mid) tmp[o++] = idx[i++];
      while (j < hi) tmp[o++] = idx[j++];
    }
    next[nb++] = n;
    bounds = next.subarray(0, nb);
    const t = idx;
    idx = tmp;
    tmp = t;
  }
  return idx;
}
