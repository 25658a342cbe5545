/**
 * The dataset interface shared by training, evaluation and every benchmark layout: a dataset is a list of
 * items that point at images (and masks) without holding decoded pixels, so a large benchmark costs
 * nothing until it is read.
 */
import type { ImageInput } from '../types';

/** 0: normal, 1: anomalous (defective). */
export type Label = 0 | 1;

export interface DatasetItem {
  /** Stable identifier, e.g. the path relative to the dataset root; used in reports and errors. */
  id: string;
  /** A file path, an encoded image or raw pixels. */
  image: ImageInput;
  label: Label;
  /**
   * Pixel mask (same size as the image; a pixel >= 128 is defective). Absent for normal items and for
   * anomalous items that carry an image-level label only.
   */
  mask?: ImageInput;
  /** Defect type ('good' for normal items), for per-type reports. */
  type?: string;
}

/** A layout loaded with its split. */
export interface DatasetSplit {
  /** e.g. 'mvtec/bottle', 'ksdd2/fold0', 'folder:/data/parts'. */
  name: string;
  train: DatasetItem[];
  test: DatasetItem[];
  /**
   * A mask pixel >= this value is defective. Default 128; 1 for layouts whose masks mark defects with any
   * non-zero value (raw VisA, KSDD2).
   */
  maskThreshold?: number;
}
