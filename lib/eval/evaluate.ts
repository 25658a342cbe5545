/**
 * Scoring a test split as the official evaluation does (spec §5, §10): image score = sigmoid(logit), "seg"
 * image score = max of the raw map, pixel scores = the raw blurred map at model size; each min-max
 * normalised over the whole test set (NaN map values to 0); masks resized NEAREST to the model size.
 * Metrics: image AUROC and AP, pixel AUROC and AP (AP_loc), AUPRO@0.3, F1-max threshold, per defect type;
 * for a calibrated model also its verdicts at the stored image threshold (accuracy, confusion counts).
 */
import { DEFAULT_MASK_THRESHOLD, loadMask } from '../data/masks';
import type { DatasetItem, DatasetSplit } from '../data/dataset';
import { SsnError } from '../errors';
import {
  aupro,
  auroc,
  averagePrecision,
  f1Max,
  mapMaxScores,
  normalizeMaps,
  normalizeScores,
  prepareBinary,
  rocCurve,
  sigmoidScores,
} from '../metrics';
import type { BatchOptions, ImageInput, Prediction } from '../types';

/** What evaluation needs of a model (SuperSimpleNet satisfies it). */
export interface EvalModel {
  predictBatch(inputs: ImageInput[], opts?: BatchOptions): Promise<Prediction[]>;
}

export interface EvaluateOptions {
  batchSize?: number;
  /** Called after each batch with the number of images scored. */
  onProgress?: (done: number, total: number) => void;
  /** Most points kept per curve in the result (curves are thinned for plotting). Default 400. */
  curvePoints?: number;
}

export interface Curve {
  fpr: number[];
  tpr: number[];
}

export interface TypeMetrics {
  count: number;
  /** Image AUROC of this type against the normal test items (null for 'good' or without normals). */
  imageAuroc: number | null;
  /** Pixel AUROC over this type's images and the normal images (null without masks). */
  pixelAuroc: number | null;
  meanScore: number;
}

export interface ItemScore {
  id: string;
  type: string;
  label: 0 | 1;
  logit: number;
  /** Normalised sigmoid(logit): what the thresholds and image metrics use. */
  score: number;
  /** Normalised map maximum. */
  segScore: number;
  /** A calibrated model's verdict (raw score >= its stored image threshold). */
  anomalous?: boolean;
}

/** A calibrated model's verdicts on the test split, at its stored threshold on the raw image score. */
export interface StoredThresholdMetrics {
  imageThreshold: number;
  accuracy: number;
  /** null without an anomalous verdict. */
  precision: number | null;
  /** null without an anomalous test image. */
  recall: number | null;
  f1: number | null;
  /** Positive = anomalous: tp anomalous images called anomalous, fp normal images called anomalous, ... */
  confusion: { tp: number; fp: number; tn: number; fn: number };
}

export interface EvalMetrics {
  imageAuroc: number | null;
  imageAp: number | null;
  pixelAuroc: number | null;
  pixelAp: number | null;
  aupro: number | null;
  segImageAuroc: number | null;
  segImageAp: number | null;
}

export interface EvalResult {
  dataset: string;
  imageSize: [number, number];
  counts: { test: number; normal: number; anomalous: number; masked: number; regions: number };
  metrics: EvalMetrics;
  /** F1-maximising threshold on the normalised image score. */
  threshold: { value: number; f1: number; precision: number; recall: number } | null;
  /** A calibrated model's verdicts at its stored threshold; null when the model is not calibrated. */
  calibrated: StoredThresholdMetrics | null;
  perType: Record<string, TypeMetrics>;
  curves: { imageRoc: Curve | null; pixelRoc: Curve | null; pro: Curve | null };
  items: ItemScore[];
  /** Why some metrics are null, if any are. */
  notes: string[];
  seconds: { predict: number; metrics: number };
}

/** The result with the normalised maps and masks (for overlays); maps are not part of the JSON. */
export interface EvalRun {
  result: EvalResult;
  maps: Float32Array[];
  masks: Uint8Array[];
  items: DatasetItem[];
}

export async function evaluateSplit(model: EvalModel, split: DatasetSplit, options: EvaluateOptions = {}): Promise<EvalRun> {
  const items = split.test;
  if (items.length === 0) throw new SsnError('ERR_SSN_INPUT', `The test split of ${split.name} is empty.`, 'Check the dataset root.');
  const batchSize = options.batchSize ?? 8;
  const t0 = Date.now();
  const logits = new Float32Array(items.length);
  const verdicts: Array<boolean | undefined> = [];
  let storedThreshold: number | undefined;
  const rawMaps: Float32Array[] = [];
  let height = 0;
  let width = 0;
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const preds = await model.predictBatch(
      chunk.map((i) => i.image),
      { batchSize },
    );
    preds.forEach((p, j) => {
      logits[start + j] = p.logit;
      verdicts.push(p.anomalous);
      storedThreshold = p.thresholds?.image;
      rawMaps.push(p.map);
      height = p.height;
      width = p.width;
    });
    options.onProgress?.(Math.min(start + batchSize, items.length), items.length);
  }
  const threshold = split.maskThreshold ?? DEFAULT_MASK_THRESHOLD;
  const masks = await Promise.all(items.map((i) => loadMask(i.mask, height, width, threshold, i.id)));
  const t1 = Date.now();

  const notes: string[] = [];
  const scores = normalizeScores(sigmoidScores(logits));
  const segScores = normalizeScores(mapMaxScores(rawMaps));
  const maps = normalizeMaps(rawMaps);
  rawMaps.length = 0;
  const labels = Uint8Array.from(items, (i) => i.label);
  const nPos = labels.reduce((a, b) => a + b, 0);
  const nNeg = items.length - nPos;
  const masked = items.filter((i) => i.label === 1 && i.mask !== undefined).length;
  const both = nPos > 0 && nNeg > 0;
  if (!both) notes.push(`image metrics need normal and anomalous test images (have ${nNeg} and ${nPos})`);

  const curvePoints = options.curvePoints ?? 400;
  const metrics: EvalMetrics = {
    imageAuroc: both ? auroc(scores, labels) : null,
    imageAp: nPos > 0 ? averagePrecision(scores, labels) : null,
    pixelAuroc: null,
    pixelAp: null,
    aupro: null,
    segImageAuroc: both ? auroc(segScores, labels) : null,
    segImageAp: nPos > 0 ? averagePrecision(segScores, labels) : null,
  };
  const f1 = nPos > 0 ? f1Max(scores, labels) : null;
  const curves: EvalResult['curves'] = { imageRoc: both ? thin(rocCurve(scores, labels), curvePoints) : null, pixelRoc: null, pro: null };

  let regions = 0;
  const pixelOk = masked > 0 && masked === nPos;
  if (masked < nPos) notes.push(`pixel metrics skipped: ${nPos - masked} anomalous test image(s) have no mask`);
  if (pixelOk) {
    const pixels = concat(maps, (n) => new Float32Array(n));
    const gt = concat(masks, (n) => new Uint8Array(n));
    const prep = prepareBinary(pixels, gt);
    if (prep.positives.length > 0 && prep.negatives.length > 0) {
      metrics.pixelAuroc = auroc(prep);
      metrics.pixelAp = averagePrecision(prep);
      curves.pixelRoc = thin(rocCurve(prep), curvePoints);
      const pro = aupro(maps, masks, height, width, { prepared: prep });
      metrics.aupro = pro.aupro;
      regions = pro.regions;
      curves.pro = thin(pro, curvePoints);
    } else notes.push('pixel metrics skipped: the masks mark no defect pixel at the model size');
  }

  const perType = perTypeMetrics(items, scores, maps, masks, pixelOk, metrics);
  const result: EvalResult = {
    dataset: split.name,
    imageSize: [height, width],
    counts: { test: items.length, normal: nNeg, anomalous: nPos, masked, regions },
    metrics,
    threshold: f1 ? { value: f1.threshold, f1: f1.f1, precision: f1.precision, recall: f1.recall } : null,
    calibrated: storedThreshold === undefined ? null : storedThresholdMetrics(storedThreshold, labels, verdicts),
    perType,
    curves,
    items: items.map((it, k) => ({
      id: it.id,
      type: it.type ?? (it.label ? 'defect' : 'good'),
      label: it.label,
      logit: logits[k],
      score: scores[k],
      segScore: segScores[k],
      ...(verdicts[k] === undefined ? {} : { anomalous: verdicts[k] }),
    })),
    notes,
    seconds: { predict: (t1 - t0) / 1000, metrics: (Date.now() - t1) / 1000 },
  };
  return { result, maps, masks, items };
}

/** Confusion counts and rates of the verdicts against the labels. */
export function storedThresholdMetrics(
  imageThreshold: number,
  labels: Uint8Array,
  verdicts: Array<boolean | undefined>,
): StoredThresholdMetrics {
  const confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  labels.forEach((label, k) => {
    if (verdicts[k] === undefined) {
      throw new SsnError(
        'ERR_SSN_INTERNAL',
        'Some predictions of a calibrated model carry no verdict.',
        'This is a bug in supersimplenet; please report it.',
      );
    }
    if (label === 1) confusion[verdicts[k] ? 'tp' : 'fn']++;
    else confusion[verdicts[k] ? 'fp' : 'tn']++;
  });
  const { tp, fp, tn, fn } = confusion;
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  return {
    imageThreshold,
    accuracy: (tp + tn) / labels.length,
    precision,
    recall,
    f1: tp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : null,
    confusion,
  };
}

function perTypeMetrics(
  items: DatasetItem[],
  scores: Float32Array,
  maps: Float32Array[],
  masks: Uint8Array[],
  pixelOk: boolean,
  overall: EvalMetrics,
): Record<string, TypeMetrics> {
  const byType = new Map<string, number[]>();
  items.forEach((it, k) => {
    const t = it.type ?? (it.label ? 'defect' : 'good');
    byType.set(t, [...(byType.get(t) ?? []), k]);
  });
  const normals = items.map((it, k) => (it.label === 0 ? k : -1)).filter((k) => k >= 0);
  const out: Record<string, TypeMetrics> = {};
  for (const [type, idx] of [...byType.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const anomalous = idx.filter((k) => items[k].label === 1);
    let imageAuroc: number | null = null;
    let pixelAuroc: number | null = null;
    const nPos = items.length - normals.length;
    if (anomalous.length > 0 && anomalous.length === nPos) {
      // The only defect type (KSDD2, Sensum): its figures are the overall ones, without another pixel sort.
      imageAuroc = overall.imageAuroc;
      pixelAuroc = overall.pixelAuroc;
    } else if (anomalous.length > 0 && normals.length > 0) {
      const sel = [...normals, ...anomalous];
      imageAuroc = auroc(
        Float32Array.from(sel, (k) => scores[k]),
        Uint8Array.from(sel, (k) => items[k].label),
      );
      if (pixelOk) {
        const prep = prepareBinary(
          concat(
            sel.map((k) => maps[k]),
            (n) => new Float32Array(n),
          ),
          concat(
            sel.map((k) => masks[k]),
            (n) => new Uint8Array(n),
          ),
        );
        if (prep.positives.length > 0) pixelAuroc = auroc(prep);
      }
    }
    out[type] = { count: idx.length, imageAuroc, pixelAuroc, meanScore: idx.reduce((a, k) => a + scores[k], 0) / idx.length };
  }
  return out;
}

/** The arrays end to end, in a new array of the same type. */
function concat<T extends Float32Array | Uint8Array>(arrays: T[], make: (length: number) => T): T {
  const out = make(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** At most n points of a curve, evenly spaced by index, first and last kept. */
export function thin(curve: { fpr: ArrayLike<number>; tpr: ArrayLike<number> }, n: number): Curve {
  const m = curve.fpr.length;
  const fpr: number[] = [];
  const tpr: number[] = [];
  if (m <= n) {
    for (let i = 0; i < m; i++) {
      fpr.push(curve.fpr[i]);
      tpr.push(curve.tpr[i]);
    }
    return { fpr, tpr };
  }
  for (let k = 0; k < n; k++) {
    const i = Math.round((k * (m - 1)) / (n - 1));
    fpr.push(curve.fpr[i]);
    tpr.push(curve.tpr[i]);
  }
  return { fpr, tpr };
}
