/**
 * The verdict outputs of an exported calibrated model: what predict() adds for a calibrated model, with the
 * same rule (lib/calibration.ts): anomalous = score >= imageThreshold, mask = map >= pixelThreshold.
 */
import type { Graph } from './onnx_graph';
import { UINT8 } from './onnx_graph';

export interface VerdictThresholds {
  imageThreshold: number;
  pixelThreshold: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The smallest float32 >= t. predict() compares a float32 score (or map value) with the double threshold t;
 * for a float32 x, x >= t exactly when x >= this value, so the graph's float32 comparison decides the same.
 */
export function float32AtLeast(t: number): number {
  const f = Math.fround(t);
  if (f >= t) return f;
  f32[0] = f;
  if (f === 0)
    u32[0] = 1; // t is positive and below the smallest subnormal
  else if (f > 0) u32[0] += 1;
  else u32[0] -= 1; // a negative float32 below t: one step towards zero
  return f32[0];
}

/** `anomalous` uint8 [N] and `mask` uint8 [N,1,H,W] (1 or 0) from the float32 `score` and `map`. */
export function addVerdict(g: Graph, score: string, map: string, thresholds: VerdictThresholds): void {
  const image = g.floats([float32AtLeast(thresholds.imageThreshold)], []);
  const pixel = g.floats([float32AtLeast(thresholds.pixelThreshold)], []);
  g.node('Cast', [g.node('GreaterOrEqual', [score, image])], { to: UINT8 }, 'anomalous');
  g.node('Cast', [g.node('GreaterOrEqual', [map, pixel])], { to: UINT8 }, 'mask');
}
