/**
 * PLACEHOLDER: the weights helper's lib/weights.ts replaces this file at merge. Only the surface that
 * lib/model.ts relies on.
 */
import { SsnError } from './errors';
import type { Logger } from './types';

/** The TF.js model.json of the default backbone (Keras ResNet50/ImageNet) in the local cache. */
export async function defaultBackbonePath(_opts: { logger?: Logger; fetch?: boolean } = {}): Promise<string> {
  throw new SsnError(
    'ERR_SSN_CHECKPOINT',
    'The default backbone (resnet50-keras-imagenet) is not in the local cache.',
    'Run `ssn weights fetch` once, or pass backbone: { arch, weights } with a weights file.',
  );
}
