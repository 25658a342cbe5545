/** Native batch outputs turned into one Prediction per image, with the verdicts of a calibrated model. */
import { defectMask, isAnomalous, notCalibratedError } from './calibration';
import { SsnError } from './errors';
import { resizeBilinear } from './resize';
import type { Calibration, Prediction } from './types';
import type { NativeImage, NativePrediction } from './binding';

/** sigmoid in float32 arithmetic, like torch.sigmoid on a float tensor. */
export function sigmoid32(logit: number): number {
  const f = Math.fround;
  return f(1 / f(1 + f(Math.exp(f(-logit)))));
}

export interface PredictionOptions {
  resizeToInput: boolean;
  /** Add the defect masks (needs `calibration`). */
  mask: boolean;
  /** The model's calibration when it has one: each Prediction then carries its verdict. */
  calibration: Calibration | null;
}

/**
 * Each Prediction owns its map (a copy, not a view into the batch buffer), so that keeping one result
 * does not keep the whole batch alive. With `resizeToInput`, `inputMap` is the map at the size of the
 * image it came from; with a calibration, the verdict, the thresholds and (asked for) the masks.
 */
export function toPredictions(out: NativePrediction, images: NativeImage[], options: PredictionOptions): Prediction[] {
  const { batch, height, width, maps, logits } = out;
  const size = height * width;
  if (batch !== images.length || logits.length !== batch || maps.length !== batch * size) {
    throw new SsnError(
      'ERR_SSN_INTERNAL',
      `The native prediction does not fit the request: batch ${batch} for ${images.length} images, ` +
        `${maps.length} map values for ${height}x${width}, ${logits.length} logits.`,
      'This is a bug in supersimplenet; please report it.',
    );
  }
  const { resizeToInput, mask, calibration } = options;
  if (mask && !calibration) throw notCalibratedError('a defect mask');
  return images.map((image, i) => {
    const map = maps.slice(i * size, (i + 1) * size);
    const logit = logits[i];
    const prediction: Prediction = { score: sigmoid32(logit), logit, map, width, height };
    if (resizeToInput) {
      prediction.inputMap = {
        map: resizeBilinear(map, height, width, image.height, image.width),
        width: image.width,
        height: image.height,
      };
    }
    if (calibration) {
      prediction.anomalous = isAnomalous(prediction.score, calibration);
      prediction.thresholds = { image: calibration.imageThreshold, pixel: calibration.pixelThreshold };
      if (mask) {
        prediction.mask = defectMask(map, calibration.pixelThreshold);
        if (prediction.inputMap) {
          const { map: inputMap, width: w, height: h } = prediction.inputMap;
          prediction.inputMask = { mask: defectMask(inputMap, calibration.pixelThreshold), width: w, height: h };
        }
      }
    }
    return prediction;
  });
}
