/**
 * Connected-component labelling of binary HxW masks (two passes with union-find). Labels are 1..K in the
 * raster order of each component's first pixel; 0 is background. Nonzero mask values are foreground.
 */
import { inputError } from './errors';

export type Connectivity = 4 | 8;

export interface Components {
  /** Row-major HxW labels, 0 = background. */
  labels: Int32Array;
  count: number;
}

export interface ImageComponents {
  /** One label map per image; labels are unique across images (image k continues after image k-1). */
  labels: Int32Array[];
  count: number;
}

/**
 * Labels one mask. `out` and `parent` may be passed to reuse buffers across images
 * (out: h*w, parent: at least labelCapacity(h, w)).
 */
export function connectedComponents(
  mask: ArrayLike<number>,
  height: number,
  width: number,
  connectivity: Connectivity = 8,
  out?: Int32Array,
  parent?: Int32Array,
): Components {
  checkSize(mask.length, height, width, 'mask');
  if (connectivity !== 4 && connectivity !== 8) {
    throw inputError(`Expected connectivity 4 or 8 but received ${String(connectivity)}`);
  }
  const n = height * width;
  const labels = out && out.length >= n ? out.subarray(0, n) : new Int32Array(n);
  const capacity = labelCapacity(height, width);
  const par = parent && parent.length >= capacity ? parent : new Int32Array(capacity);
  const diagonal = connectivity === 8;
  let next = 1;
  // Pass 1: provisional labels from the already visited neighbours (W, NW, N, NE), merging their sets.
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const i = row + x;
      if (!mask[i]) {
        labels[i] = 0;
        continue;
      }
      let l = 0;
      if (x > 0 && labels[i - 1]) l = union(par, l, labels[i - 1]);
      if (y > 0) {
        const up = i - width;
        if (labels[up]) l = union(par, l, labels[up]);
        if (diagonal) {
          if (x > 0 && labels[up - 1]) l = union(par, l, labels[up - 1]);
          if (x + 1 < width && labels[up + 1]) l = union(par, l, labels[up + 1]);
        }
      }
      if (l === 0) {
        l = next++;
        par[l] = l;
      }
      labels[i] = l;
    }
  }
  // Roots are the smallest provisional label of each set, i.e. the label of its first raster pixel, so
  // numbering roots in increasing order numbers components by first pixel.
  for (let l = 1; l < next; l++) par[l] = find(par, l);
  let count = 0;
  for (let l = 1; l < next; l++) par[l] = par[l] === l ? -++count : par[par[l]];
  // Roots now hold -(final label); every other label points at its root, which was resolved first.
  for (let i = 0; i < n; i++) if (labels[i]) labels[i] = -par[labels[i]];
  return { labels, count };
}

/** Labels several masks of one size; labels are globally unique (offset by the earlier images' counts). */
export function connectedComponentsImages(
  masks: ArrayLike<ArrayLike<number>>,
  height: number,
  width: number,
  connectivity: Connectivity = 8,
): ImageComponents {
  const parent = new Int32Array(labelCapacity(height, width));
  const labels: Int32Array[] = [];
  let count = 0;
  for (let k = 0; k < masks.length; k++) {
    const cc = connectedComponents(masks[k], height, width, connectivity, undefined, parent);
    if (count > 0) for (let i = 0; i < cc.labels.length; i++) if (cc.labels[i]) cc.labels[i] += count;
    labels.push(cc.labels);
    count += cc.count;
  }
  return { labels, count };
}

/** Provisional labels never exceed ceil(h/2)*ceil(w)+1 (each new label has a background pixel to its left or above). */
export function labelCapacity(height: number, width: number): number {
  return Math.ceil(height / 2) * width + 2;
}

function checkSize(length: number, height: number, width: number, what: string): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw inputError(`Expected a positive integer height and width but received ${height}x${width}`);
  }
  if (length !== height * width) {
    throw inputError(
      `Expected a ${what} of ${height}x${width} = ${height * width} values but received ${length}`,
      'Masks and maps are row-major HxW arrays of one image each.',
    );
  }
}

function find(par: Int32Array, l: number): number {
  while (par[l] !== l) {
    par[l] = par[par[l]]; // path halving
    l = par[l];
  }
  return l;
}

/** Merges the set of `b` into the set of `a` (a = 0: none yet); returns the root, the smaller label. */
function union(par: Int32Array, a: number, b: number): number {
  const rb = find(par, b);
  if (a === 0) return rb;
  const ra = find(par, a);
  if (ra === rb) return ra;
  if (ra < rb) {
    par[rb] = ra;
    return ra;
  }
  par[ra] = rb;
  return rb;
}
