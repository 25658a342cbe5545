import { SuperSimpleNet } from '../../lib';
import type { CreateOptions } from '../../lib/types';

/** A silent CPU model on a random resnet18 backbone: the native tests' smallest real model. */
export function tinyModel(imageSize: number, seed: number, extra: Pick<CreateOptions, 'variant'> = {}): Promise<SuperSimpleNet> {
  return SuperSimpleNet.create({
    backbone: { arch: 'resnet18', random: true },
    imageSize,
    device: 'cpu',
    seed,
    logger: () => undefined,
    ...extra,
  });
}
