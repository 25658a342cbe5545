/**
 * Calibrated verdicts: the thresholds that turn a prediction into a yes/no and a defect mask, chosen from the
 * predictions of a labelled set and stored in the model file. One rule everywhere: an image is anomalous
 * when score >= imageThreshold, a pixel is a defect when its map value >= pixelThreshold.
 *
 * - With defective images (label 1): imageThreshold = the F1-max threshold of the scores against the labels;
 *   pixelThreshold = the F1-max threshold over every pixel of the normal images and of the defective images
 *   that have a mask (mask pixels >= 128 are defects, resized nearest to the model size). Without any mask
 *   (or masks that mark no pixel at the model size), the pixel threshold follows the normal-only rule.
 * - Normal images only: imageThreshold = the q-quantile of their scores, pixelThreshold = the q-quantile of
 *   their per-image map maxima, so normal images below that quantile get an empty mask. Quantiles
 *   interpolate linearly between order statistics (numpy's default); q defaults to 0.995.
 */
import { DEFAULT_MASK_THRESHOLD, loadMask } from './data/masks';
import type { DatasetItem } from './data/dataset';
import { expectObject, invalidOption, SsnError } from './errors';
import { decodeImage } from './image';
import { f1Max, prepareBinary } from './metrics';
import type { Calibration, Prediction, ThresholdMethod } from './types';
import type { NativeImage } from './binding';

export const DEFAULT_CALIBRATION_QUANTILE = 0.995;

/** The verdict of a calibrated model. */
export function isAnomalous(score: number, calibration: Pick<Calibration, 'imageThreshold'>): boolean {
  return score >= calibration.imageThreshold;
}

/** 1 where map >= threshold, else 0. */
export function defectMask(map: Float32Array, threshold: number): Uint8Array {
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) out[i] = map[i] >= threshold ? 1 : 0;
  return out;
}

/** The error of a call that needs a calibration on a model without one. */
export function notCalibratedError(what: string, hint?: string): SsnError {
  return new SsnError(
    'ERR_SSN_CONFIG',
    `The model is not calibrated, so it has no threshold for ${what}.`,
    hint ??
      'Calibrate it first on labelled images held out from training: await model.calibrate(items) (then save it), ' +
        'or `ssn calibrate MODEL --data DIR`. Training clears a calibration: calibrate again after train().',
  );
}

/** q in (0, 1]. */
export function checkQuantile(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw invalidOption('a number in (0, 1]', option, value, `For example ${DEFAULT_CALIBRATION_QUANTILE}.`);
  }
  return value;
}

/** The q-quantile of `values`, interpolated linearly between order statistics as numpy's default does. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new SsnError('ERR_SSN_INTERNAL', 'The quantile of no values was asked for.');
  const sorted = Float64Array.from(values).sort();
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < sorted.length ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}

/** A checked DatasetItem[] to calibrate on: labels 0/1, an image each, some normal images. */
export function calibrationItems(dataset: unknown, option: string): DatasetItem[] {
  if (!Array.isArray(dataset)) {
    throw invalidOption(
      'an array of DatasetItem {id, image, label, mask?}',
      option,
      dataset,
      'Pass labelled images held out from training (for a DatasetSplit, its test part or a part of it).',
    );
  }
  dataset.forEach((item: unknown, i) => {
    const name = `${option}[${i}]`;
    expectObject(item, name);
    const { label, image } = item as Partial<DatasetItem>;
    if (label !== 0 && label !== 1) throw invalidOption('0 (normal) or 1 (anomalous)', `${name}.label`, label);
    if (image === undefined || image === null) throw invalidOption('an image (path, Buffer or RawImage)', `${name}.image`, image);
  });
  const normal = dataset.filter((item: DatasetItem) => item.label === 0).length;
  if (normal === 0) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `No normal images among the ${dataset.length} calibration items.`,
      'Calibration needs normal images (label 0) to know what a good surface scores; add some.',
    );
  }
  return dataset as DatasetItem[];
}

/** What calibration needs of a labelled set: its predictions at the model size and its masks. */
export interface CalibrationSet {
  ids: string[];
  labels: ArrayLike<number>;
  /** Prediction.score of each image. */
  scores: ArrayLike<number>;
  /** Prediction.map of each image. */
  maps: Float32Array[];
  /** 0/1 masks at the map size, for defective images that have one; undefined otherwise. */
  masks: Array<Uint8Array | undefined>;
}

/** Predicts `items` `batchSize` at a time and loads the masks of the defective ones. */
export async function predictCalibrationSet(
  items: DatasetItem[],
  predict: (images: NativeImage[]) => Promise<Prediction[]>,
  batchSize: number,
): Promise<CalibrationSet> {
  const ids = items.map((item, i) => (typeof item.id === 'string' && item.id.length > 0 ? item.id : `dataset[${i}]`));
  const scores: number[] = [];
  const maps: Float32Array[] = [];
  const masks: Array<Uint8Array | undefined> = [];
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const images = await Promise.all(chunk.map((item, j) => decodeImage(item.image, `${ids[start + j]} image`)));
    const predictions = await predict(images);
    for (let j = 0; j < chunk.length; j++) {
      const { score, map, width, height } = predictions[j];
      const { label, mask } = chunk[j];
      scores.push(score);
      maps.push(map);
      masks.push(
        label === 1 && mask !== undefined && mask !== null
          ? await loadMask(mask, height, width, DEFAULT_MASK_THRESHOLD, ids[start + j])
          : undefined,
      );
    }
  }
  return { ids, labels: items.map((item) => item.label), scores, maps, masks };
}

/** The thresholds of a labelled set's predictions, by the rules at the top of this file. */
export function computeCalibration(set: CalibrationSet, q = DEFAULT_CALIBRATION_QUANTILE): Calibration {
  const n = set.labels.length;
  if (set.scores.length !== n || set.maps.length !== n || set.masks.length !== n || set.ids.length !== n) {
    throw new SsnError('ERR_SSN_INTERNAL', 'A calibration set needs one id, label, score, map and mask entry per image.');
  }
  const counts = { normal: 0, anomalous: 0, masked: 0 };
  let low = Infinity;
  let high = -Infinity;
  const normalScores: number[] = [];
  const normalMaxima: number[] = [];
  for (let i = 0; i < n; i++) {
    const score = set.scores[i];
    let max = -Infinity;
    for (const v of set.maps[i]) {
      if (!Number.isFinite(v)) throw nonFiniteError(set.ids[i], 'map');
      if (v > max) max = v;
      if (v < low) low = v;
    }
    if (!Number.isFinite(score)) throw nonFiniteError(set.ids[i], 'score');
    if (max > high) high = max;
    if (set.labels[i] === 0) {
      counts.normal++;
      normalScores.push(score);
      normalMaxima.push(max);
    } else {
      counts.anomalous++;
      if (set.masks[i] !== undefined) counts.masked++;
    }
  }
  if (counts.normal === 0) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      `No normal images among the ${n} calibration images.`,
      'Calibration needs normal images (label 0) to know what a good surface scores; add some.',
    );
  }

  const method: ThresholdMethod = counts.anomalous > 0 ? 'f1' : 'quantile';
  const imageThreshold = method === 'f1' ? f1Max(set.scores, set.labels).threshold : quantile(normalScores, q);
  const pixelF1 = counts.masked > 0 ? pixelF1Threshold(set) : undefined;
  const pixelMethod: ThresholdMethod = pixelF1 === undefined ? 'quantile' : 'f1';
  const pixelThreshold = pixelF1 ?? quantile(normalMaxima, q);
  return {
    method,
    pixelMethod,
    ...(method === 'quantile' || pixelMethod === 'quantile' ? { quantile: q } : {}),
    imageThreshold,
    pixelThreshold,
    mapRange: { low, high },
    counts,
  };
}

/** F1-max over the pixels of the normal and the masked images; undefined when no pixel is a defect. */
function pixelF1Threshold(set: CalibrationSet): number | undefined {
  const used = set.maps.map((_, i) => i).filter((i) => set.labels[i] === 0 || set.masks[i] !== undefined);
  const total = used.reduce((sum, i) => sum + set.maps[i].length, 0);
  const pixels = new Float32Array(total);
  const truth = new Uint8Array(total);
  let offset = 0;
  for (const i of used) {
    pixels.set(set.maps[i], offset);
    const mask = set.masks[i];
    if (mask !== undefined) {
      if (mask.length !== set.maps[i].length) {
        throw new SsnError('ERR_SSN_INTERNAL', `The mask of ${set.ids[i]} does not have its map's size.`);
      }
      truth.set(mask, offset);
    }
    offset += set.maps[i].length;
  }
  const prepared = prepareBinary(pixels, truth);
  return prepared.positives.length > 0 ? f1Max(prepared).threshold : undefined;
}

function nonFiniteError(id: string, what: string): SsnError {
  return new SsnError(
    'ERR_SSN_INPUT',
    `The model's ${what} for the calibration image ${id} is not finite (NaN or infinite).`,
    'The weights are broken (a diverged training run?): retrain or reload the model before calibrating.',
  );
}

/** The calibration as the model file stores it (ModelConfig "calibration", cpp/model/calibration.h). */
export interface StoredCalibration {
  method: ThresholdMethod;
  pixel_method: ThresholdMethod;
  quantile?: number;
  image_threshold: number;
  pixel_threshold: number;
  map_range: { low: number; high: number };
  counts: { normal: number; anomalous: number; masked: number };
}

export function toStoredCalibration(c: Calibration): StoredCalibration {
  return {
    method: c.method,
    pixel_method: c.pixelMethod,
    ...(c.quantile === undefined ? {} : { quantile: c.quantile }),
    image_threshold: c.imageThreshold,
    pixel_threshold: c.pixelThreshold,
    map_range: { low: c.mapRange.low, high: c.mapRange.high },
    counts: { ...c.counts },
  };
}

/** The stored form (validated by the addon when it was set or loaded) as the API's Calibration; null stays null. */
export function fromStoredCalibration(s: StoredCalibration | null | undefined): Calibration | null {
  if (s === null || s === undefined) return null;
  return {
    method: s.method,
    pixelMethod: s.pixel_method,
    ...(s.quantile === undefined ? {} : { quantile: s.quantile }),
    imageThreshold: s.image_threshold,
    pixelThreshold: s.pixel_threshold,
    mapRange: { low: s.map_range.low, high: s.map_range.high },
    counts: { ...s.counts },
  };
}
