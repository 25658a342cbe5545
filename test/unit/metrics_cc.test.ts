/** Connected components: 8- vs 4-connectivity, merging, label order, uniqueness across images. */
import { connectedComponents, connectedComponentsImages } from '../../lib/metrics';

const grid = (rows: string[]) =>
  Uint8Array.from(
    rows
      .join('')
      .split('')
      .map((ch) => (ch === '#' ? 1 : 0)),
  );

/** Flood fill, an independent reference: number of components and whether `labels` partitions like it. */
function floodCount(mask: Uint8Array, h: number, w: number, conn: 4 | 8): Int32Array {
  const lab = new Int32Array(h * w);
  let next = 0;
  const nbr =
    conn === 8
      ? [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => [dy, dx]))
      : [
          [-1, 0],
          [1, 0],
          [0, -1],
          [0, 1],
        ];
  for (let s = 0; s < h * w; s++) {
    if (!mask[s] || lab[s]) continue;
    lab[s] = ++next;
    const stack = [s];
    while (stack.length) {
      const i = stack.pop()!;
      const y = Math.floor(i / w);
      const x = i % w;
      for (const [dy, dx] of nbr) {
        const yy = y + dy;
        const xx = x + dx;
        const j = yy * w + xx;
        if (yy >= 0 && yy < h && xx >= 0 && xx < w && mask[j] && !lab[j]) {
          lab[j] = next;
          stack.push(j);
        }
      }
    }
  }
  return lab;
}

describe('connectedComponents', () => {
  test('a diagonal touch is one region with 8-connectivity and separate regions with 4', () => {
    const mask = grid(['#..', '.#.', '..#']);
    const c8 = connectedComponents(mask, 3, 3, 8);
    expect(c8.count).toBe(1);
    expect(Array.from(c8.labels)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const c4 = connectedComponents(mask, 3, 3, 4);
    expect(c4.count).toBe(3);
    expect(Array.from(c4.labels)).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3]);
  });

  test('an anti-diagonal touch (north-east neighbour) merges too', () => {
    expect(connectedComponents(grid(['.#', '#.']), 2, 2).count).toBe(1);
    expect(connectedComponents(grid(['.#', '#.']), 2, 2, 4).count).toBe(2);
  });

  test('arms that meet below merge into one label; labels follow the first pixel in raster order', () => {
    // Two U arms get different provisional labels in the first row and meet in the last row; the
    // lone pixel at the top right is found second in raster order.
    const mask = grid(['#.#..#', '#.#...', '###...', '......', '....##']);
    const { labels, count } = connectedComponents(mask, 5, 6);
    expect(count).toBe(3);
    const at = (y: number, x: number) => labels[y * 6 + x];
    expect([at(0, 0), at(0, 2), at(2, 1)]).toEqual([1, 1, 1]);
    expect(at(0, 5)).toBe(2);
    expect([at(4, 4), at(4, 5)]).toEqual([3, 3]);
  });

  test('a 4-connected checkerboard needs a label per pixel (label capacity)', () => {
    const h = 7;
    const w = 9;
    const mask = new Uint8Array(h * w);
    for (let i = 0; i < h * w; i++) mask[i] = (Math.floor(i / w) + (i % w)) % 2 === 0 ? 1 : 0;
    expect(connectedComponents(mask, h, w, 4).count).toBe(32);
    expect(connectedComponents(mask, h, w, 8).count).toBe(1);
  });

  test('agrees with a flood fill on random masks, both connectivities', () => {
    let seed = 11;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let t = 0; t < 20; t++) {
      const h = 3 + Math.floor(rand() * 20);
      const w = 3 + Math.floor(rand() * 20);
      const mask = new Uint8Array(h * w);
      const p = rand();
      for (let i = 0; i < mask.length; i++) mask[i] = rand() < p ? 1 : 0;
      for (const conn of [4, 8] as const) {
        const ref = floodCount(mask, h, w, conn); // also numbered by first pixel in raster order
        expect(Array.from(connectedComponents(mask, h, w, conn).labels)).toEqual(Array.from(ref));
      }
    }
  });
});

describe('connectedComponentsImages', () => {
  test('labels are unique across images and an empty mask adds none', () => {
    const a = grid(['#..#', '....', '##..']);
    const empty = new Uint8Array(12);
    const b = grid(['....', '.##.', '....']);
    const { labels, count } = connectedComponentsImages([a, empty, b], 3, 4);
    expect(count).toBe(4);
    expect(Array.from(labels[0]).filter((l) => l > 0)).toEqual([1, 2, 3, 3]);
    expect(Array.from(labels[1]).every((l) => l === 0)).toBe(true);
    expect(Array.from(labels[2]).filter((l) => l > 0)).toEqual([4, 4]);
  });
});
