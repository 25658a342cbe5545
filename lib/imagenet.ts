/**
 * ImageNet classification with the default backbone's full Keras ResNet50 (stage 5 + fc1000 included):
 * a check that the backbone import is right, since photos must come out with their classes
 * (`ssn weights verify`).
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

import { expectFunction, expectInteger, expectObject, expectString, fromNative, invalidOption, SsnError } from './errors';
import { decodeImage } from './image';
import type { NativeModule } from './binding';
import { loadNative } from './native';
import type { ImageInput, Logger } from './types';
import { defaultBackbonePath } from './weights';

export const IMAGENET_CLASSES = 1000;

export interface ImageNetClass {
  /** ImageNet class index, 0..999. */
  index: number;
  /** Its name from the package's labels.json (e.g. 'bald_eagle'), or `class <index>` without one. */
  label: string;
  probability: number;
}

export interface ClassifyImageNetOptions {
  /** Classes per image, most probable first. Default 5. */
  k?: number;
  /** A Keras ResNet50 TF.js model.json. Default: the default backbone, fetched into the cache when missing. */
  modelJson?: string;
  /** Receives the download notices of the default backbone. */
  logger?: Logger;
}

/**
 * Where labels.json sits for a model.json: the npm package layout, kept in the cache folder too
 * (<dir>/ResNet50/model.json and <dir>/assets/labels.json).
 */
export function labelsPathFor(modelJson: string): string {
  return path.join(path.dirname(path.dirname(modelJson)), 'assets', 'labels.json');
}

/** The 1000 class names of labels.json ({"0": "tench", ...}), or undefined when the file is absent. */
export async function readImageNetLabels(file: string): Promise<string[] | undefined> {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new SsnError(
      'ERR_SSN_IO',
      `Cannot read the ImageNet labels ${file}: ${(e as Error).message}.`,
      'Fetch the default backbone again with `ssn weights fetch --force`.',
    );
  }
  const labels: string[] = [];
  for (let i = 0; i < IMAGENET_CLASSES; i++) {
    const name = (parsed as Record<string, unknown> | null)?.[String(i)];
    if (typeof name !== 'string') {
      throw new SsnError(
        'ERR_SSN_IO',
        `Expected ${IMAGENET_CLASSES} class names ("0" .. "999") in ${file} but class ${i} has none.`,
        'Fetch the default backbone again with `ssn weights fetch --force`.',
      );
    }
    labels.push(name);
  }
  return labels;
}

/** The top-k ImageNet classes of each image, in input order; the images run as one batch. */
export async function classifyImageNet(images: ImageInput[], options: ClassifyImageNetOptions = {}): Promise<ImageNetClass[][]> {
  if (!Array.isArray(images) || images.length === 0) throw invalidOption('a non-empty array of images', 'images', images);
  expectObject(options, 'options');
  const k = options.k === undefined ? 5 : expectInteger(options.k, 'k', 1, IMAGENET_CLASSES);
  const logger = options.logger === undefined ? undefined : expectFunction<Logger>(options.logger, 'logger');
  const modelJson = options.modelJson === undefined ? await defaultBackbonePath({ logger }) : expectString(options.modelJson, 'modelJson');
  const decoded = await Promise.all(images.map((image, i) => decodeImage(image, `images[${i}]`)));
  const labels = await readImageNetLabels(labelsPathFor(modelJson));
  let top: Awaited<ReturnType<NativeModule['imagenetTopK']>>;
  try {
    top = await loadNative().imagenetTopK(modelJson, decoded, k);
  } catch (e) {
    throw fromNative(e);
  }
  return top.map((classes) =>
    classes.map(({ index, probability }) => ({ index, label: labels?.[index] ?? `class ${index}`, probability })),
  );
}
