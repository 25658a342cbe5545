/**
 * A stand-in for a trained model in evaluation tests: the map is the image's gray level at size x size
 * (so bright defects score high), the logit its maximum minus a bias. No native code involved.
 */
import sharp from 'sharp';

import type { EvalModel } from '../../lib/eval/evaluate';
import type { ImageInput, Prediction } from '../../lib/types';

export function fakeEvalModel(size: number, noise = 0): EvalModel {
  let seed = 1;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  return {
    async predictBatch(inputs: ImageInput[]): Promise<Prediction[]> {
      return Promise.all(
        inputs.map(async (input) => {
          const { data } = await sharp(input as string)
            .extractChannel(0)
            .resize(size, size, { kernel: 'nearest' })
            .raw()
            .toBuffer({ resolveWithObject: true });
          const map = Float32Array.from(data, (v) => v / 255 + noise * rand());
          const logit = 10 * Math.max(...map) - 5;
          return { score: 1 / (1 + Math.exp(-logit)), logit, map, width: size, height: size };
        }),
      );
    },
  };
}
