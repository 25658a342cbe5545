/**
 * A procedural surface-defect dataset: textured industrial surfaces (brushed metal, cast metal, ceramic)
 * with scratches, spots and cracks, and their exact pixel masks. Deterministic for a seed, needs no files.
 */
import type { RawImage } from '../types';

export type DefectKind = 'scratch' | 'spot' | 'crack';
export type SurfaceKind = 'brushed' | 'cast' | 'ceramic';

export interface SurfaceSample {
  image: RawImage & { channels: 3 };
  /** 0 (normal) or 255 (defect), height x width. */
  mask: Uint8Array;
  defect: DefectKind | null;
}

export interface SurfaceOptions {
  width: number;
  height: number;
  seed: number;
  surface?: SurfaceKind;
  defect?: DefectKind | null;
}

/** mulberry32: a small, well-mixed 32-bit PRNG; plenty for textures. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE: Record<SurfaceKind, [number, number, number]> = {
  brushed: [150, 152, 156],
  cast: [112, 106, 98],
  ceramic: [70, 72, 78],
};

/** Smooth value noise on a grid of `cells` per axis, bilinear with smoothstep, values in [-1, 1]. */
function valueNoise(rand: () => number, width: number, height: number, cellsX: number, cellsY: number): Float32Array {
  const grid = new Float32Array((cellsX + 1) * (cellsY + 1)).map(() => rand() * 2 - 1);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = (y / height) * cellsY;
    const y0 = Math.floor(gy);
    const ty = gy - y0;
    const sy = ty * ty * (3 - 2 * ty);
    for (let x = 0; x < width; x++) {
      const gx = (x / width) * cellsX;
      const x0 = Math.floor(gx);
      const tx = gx - x0;
      const sx = tx * tx * (3 - 2 * tx);
      const i = y0 * (cellsX + 1) + x0;
      const top = grid[i] + (grid[i + 1] - grid[i]) * sx;
      const bottom = grid[i + cellsX + 1] + (grid[i + cellsX + 2] - grid[i + cellsX + 1]) * sx;
      out[y * width + x] = top + (bottom - top) * sy;
    }
  }
  return out;
}

/** The surface's luminance offset per pixel (texture only, no defect). */
function texture(rand: () => number, kind: SurfaceKind, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  const add = (noise: Float32Array, amplitude: number) => {
    for (let i = 0; i < out.length; i++) out[i] += noise[i] * amplitude;
  };
  if (kind === 'brushed') {
    // Long streaks along x: few cells horizontally, many vertically.
    add(valueNoise(rand, width, height, 2, Math.max(4, height >> 1)), 14);
    add(valueNoise(rand, width, height, 4, Math.max(4, height >> 2)), 8);
  } else if (kind === 'cast') {
    add(valueNoise(rand, width, height, 4, 4), 16);
    add(valueNoise(rand, width, height, 16, 16), 10);
  } else {
    add(valueNoise(rand, width, height, 3, 3), 10);
    add(valueNoise(rand, width, height, 24, 24), 5);
  }
  for (let i = 0; i < out.length; i++) out[i] += (rand() - 0.5) * 12; // sensor grain
  return out;
}

/** Paints a defect into `lum` (luminance offsets) and marks its pixels in `mask`. */
function paintDefect(rand: () => number, kind: DefectKind, lum: Float32Array, mask: Uint8Array, width: number, height: number): void {
  const stamp = (cx: number, cy: number, radius: number, delta: number) => {
    const r = Math.ceil(radius);
    for (let y = Math.max(0, Math.floor(cy) - r); y <= Math.min(height - 1, Math.ceil(cy) + r); y++)
      for (let x = Math.max(0, Math.floor(cx) - r); x <= Math.min(width - 1, Math.ceil(cx) + r); x++) {
        const d = Math.hypot(x - cx, y - cy);
        if (d > radius) continue;
        const i = y * width + x;
        if (mask[i] === 0) lum[i] += delta;
        mask[i] = 255;
      }
  };
  const margin = 0.15;
  const px = () => (margin + rand() * (1 - 2 * margin)) * width;
  const py = () => (margin + rand() * (1 - 2 * margin)) * height;
  const scale = Math.min(width, height);
  if (kind === 'spot') {
    const cx = px(),
      cy = py();
    const rx = scale * (0.03 + rand() * 0.05),
      ry = rx * (0.6 + rand() * 0.8);
    const delta = -(45 + rand() * 40);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
        if (d > 1) continue;
        const i = y * width + x;
        lum[i] += delta * (1 - 0.5 * d);
        mask[i] = 255;
      }
    return;
  }
  // Scratches are straight and bright or dark; cracks wander and are dark.
  let x = px(),
    y = py();
  let angle = rand() * Math.PI * 2;
  const length = scale * (kind === 'scratch' ? 0.3 + rand() * 0.4 : 0.25 + rand() * 0.3);
  const radius = kind === 'scratch' ? 0.8 + rand() * 1.0 : 0.7 + rand() * 0.6;
  const delta = kind === 'scratch' ? (rand() < 0.5 ? -1 : 1) * (40 + rand() * 40) : -(60 + rand() * 40);
  for (let travelled = 0; travelled < length; travelled += 0.5) {
    stamp(x, y, radius, delta);
    if (kind === 'crack') angle += (rand() - 0.5) * 0.5;
    x += Math.cos(angle) * 0.5;
    y += Math.sin(angle) * 0.5;
    if (x < 1 || y < 1 || x > width - 2 || y > height - 2) break;
  }
}

/** One textured surface, with the defect asked for (or none). */
export function generateSurface(options: SurfaceOptions): SurfaceSample {
  const { width, height, seed } = options;
  const rand = prng(seed);
  const kinds: SurfaceKind[] = ['brushed', 'cast', 'ceramic'];
  const surface = options.surface ?? kinds[Math.floor(rand() * kinds.length)];
  const lum = texture(rand, surface, width, height);
  const mask = new Uint8Array(width * height);
  const defect = options.defect ?? null;
  if (defect) paintDefect(rand, defect, lum, mask, width, height);
  const data = new Uint8Array(width * height * 3);
  const base = BASE[surface];
  for (let i = 0; i < width * height; i++)
    for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c] + lum[i])));
  return { image: { data, width, height, channels: 3 }, mask, defect };
}

export interface ProceduralDatasetOptions {
  count: number;
  width: number;
  height: number;
  seed: number;
  /** Fraction of samples with a defect (0..1). */
  defectFraction: number;
  surface?: SurfaceKind;
}

/** `count` samples; defects cycle through scratch, spot and crack. */
export function proceduralDataset(options: ProceduralDatasetOptions): SurfaceSample[] {
  const rand = prng(options.seed ^ 0x9e3779b9);
  const defects: DefectKind[] = ['scratch', 'spot', 'crack'];
  const out: SurfaceSample[] = [];
  let next = 0;
  for (let i = 0; i < options.count; i++) {
    const defective = rand() < options.defectFraction;
    out.push(
      generateSurface({
        width: options.width,
        height: options.height,
        seed: (options.seed * 7919 + i * 104729) >>> 0,
        surface: options.surface,
        defect: defective ? defects[next++ % defects.length] : null,
      }),
    );
  }
  return out;
}
