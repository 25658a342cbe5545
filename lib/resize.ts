/**
 * Bilinear resize of a single-channel float map, as torch.nn.functional.interpolate(mode='bilinear',
 * align_corners=False) does it: half-pixel centres, source coordinates clamped at 0, edge pixels repeated.
 */

interface Taps {
  lo: Int32Array;
  hi: Int32Array;
  w: Float64Array; // weight of `hi`
}

function taps(src: number, dst: number): Taps {
  const lo = new Int32Array(dst);
  const hi = new Int32Array(dst);
  const w = new Float64Array(dst);
  const scale = src / dst;
  for (let i = 0; i < dst; i++) {
    const s = Math.max((i + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(s), src - 1);
    lo[i] = i0;
    hi[i] = Math.min(i0 + 1, src - 1);
    w[i] = Math.min(s - i0, 1);
  }
  return { lo, hi, w };
}

/** `map` is row-major srcH x srcW; returns a new dstH x dstW map. */
export function resizeBilinear(map: Float32Array, srcH: number, srcW: number, dstH: number, dstW: number): Float32Array {
  if (map.length !== srcH * srcW) {
    throw new RangeError(`resizeBilinear: a ${srcH}x${srcW} map needs ${srcH * srcW} values, not ${map.length}`);
  }
  const out = new Float32Array(dstH * dstW);
  const ys = taps(srcH, dstH);
  const xs = taps(srcW, dstW);
  for (let y = 0; y < dstH; y++) {
    const row0 = ys.lo[y] * srcW;
    const row1 = ys.hi[y] * srcW;
    const wy = ys.w[y];
    for (let x = 0; x < dstW; x++) {
      const x0 = xs.lo[x];
      const x1 = xs.hi[x];
      const wx = xs.w[x];
      const top = (1 - wx) * map[row0 + x0] + wx * map[row0 + x1];
      const bottom = (1 - wx) * map[row1 + x0] + wx * map[row1 + x1];
      out[y * dstW + x] = (1 - wy) * top + wy * bottom;
    }
  }
  return out;
}
