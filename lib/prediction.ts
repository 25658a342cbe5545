/** Native batch outputs turned into one Prediction per image. */
import { SsnError } from './errors';
import { resizeBilinear } from './resize';
import type { NativeImage, NativePrediction, Prediction } from './types';

/** sigmoid in float32 arithmetic, like torch.sigmoid on a float tensor. */
export function sigmoid32(logit: number): number {
  const f = Math.fround;
  return f(1 / f(1 + f(Math.exp(f(-logit)))));
}

/**
 * Each Prediction owns its map (a copy, not a view into the batch buffer), so that keeping one result
 * does not keep the whole batch alive. With `resizeToInput`, `inputMap` is the map at the size of the
 * image it came from.
 */
export function toPredictions(out: NativePrediction, images: NativeImage[], resizeToInput: boolean): Prediction[] {
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
    return prediction;
  });
}
