/**
 * Scores split by label and sorted once, shared by AUROC, AP and F1 (on 1e8 pixels the sort is most of
 * the cost). Float32Array scores take the O(n) radix path; anything else is held as float64.
 */
import { inputError } from './errors';
import { sortAscending } from './sort';

export type ScoreArray = Float32Array | Float64Array | ArrayLike<number>;
/** 0 = normal, 1 = anomalous (any other value is rejected: a 0/255 mask must be binarised first). */
export type LabelArray = Uint8Array | ArrayLike<number>;

export interface PreparedBinary {
  /** Scores of label 1, ascending. */
  readonly positives: Float32Array | Float64Array;
  /** Scores of label 0, ascending. */
  readonly negatives: Float32Array | Float64Array;
}

export function isPrepared(x: unknown): x is PreparedBinary {
  return typeof x === 'object' && x !== null && 'positives' in x && 'negatives' in x;
}

/** Validates and splits (scores, labels); the result can be passed to every binary metric. */
export function prepareBinary(scores: ScoreArray, labels: LabelArray): PreparedBinary {
  const n = scores.length;
  if (labels.length !== n) {
    throw inputError(
      `Expected as many labels as scores but received ${labels.length} labels for ${n} scores`,
      'Pass one 0/1 label per score, in the same order.',
    );
  }
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === 1) nPos++;
    else if (l !== 0) {
      throw inputError(`Expected labels 0 or 1 but received ${String(l)} at index ${i}`, 'Binarise masks first (e.g. value > 0 ? 1 : 0).');
    }
    const s = scores[i];
    if (Number.isNaN(s)) {
      throw inputError(
        `Expected finite or infinite scores but received NaN at index ${i}`,
        'Replace NaN scores (the official evaluation sets NaN map values to 0) before computing metrics.',
      );
    }
  }
  const Ctor = scores instanceof Float32Array ? Float32Array : Float64Array;
  const positives = new Ctor(nPos);
  const negatives = new Ctor(n - nPos);
  let p = 0;
  let q = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === 1) positives[p++] = scores[i];
    else negatives[q++] = scores[i];
  }
  sortAscending(positives);
  sortAscending(negatives);
  return { positives, negatives };
}

export function toPrepared(scores: ScoreArray | PreparedBinary, labels: LabelArray | undefined): PreparedBinary {
  if (isPrepared(scores)) return scores;
  if (labels === undefined) {
    throw inputError(
      'Expected labels next to the scores but received none',
      'Call metric(scores, labels) or metric(prepareBinary(scores, labels)).',
    );
  }
  return prepareBinary(scores, labels);
}

export function requireBothClasses(prep: PreparedBinary, metric: string): void {
  if (prep.positives.length === 0 || prep.negatives.length === 0) {
    throw inputError(
      `${metric} needs both classes but received ${prep.positives.length} positive and ` + `${prep.negatives.length} negative samples`,
      'The metric is undefined with one class only; evaluate on a test set with normal and anomalous samples.',
    );
  }
}

export function requirePositives(prep: PreparedBinary, metric: string): void {
  if (prep.positives.length === 0) {
    throw inputError(
      `${metric} needs at least one positive sample but received none among ${prep.negatives.length}`,
      'The metric is undefined without anomalous samples; evaluate on a test set that has some.',
    );
  }
}

/**
 * Steps through every distinct score in descending order with the cumulative counts of positives (tp)
 * and negatives (fp) scoring >= it: the points of sklearn's _binary_clf_curve. A class with one `next`
 * (rather than a callback) so that V8 inlines the step into each metric's loop.
 */
export class ThresholdCursor {
  tp = 0;
  fp = 0;
  threshold = NaN;
  private i: number;
  private j: number;
  private readonly pos: Float32Array | Float64Array;
  private readonly neg: Float32Array | Float64Array;

  constructor(prep: PreparedBinary) {
    this.pos = prep.positives;
    this.neg = prep.negatives;
    this.i = this.pos.length - 1;
    this.j = this.neg.length - 1;
  }

  /** Moves to the next lower distinct score; false once every score has been passed. */
  next(): boolean {
    const pos = this.pos;
    const neg = this.neg;
    let i = this.i;
    let j = this.j;
    if (i < 0 && j < 0) return false;
    let v: number;
    if (i < 0) v = neg[j];
    else if (j < 0) v = pos[i];
    else v = Math.max(pos[i], neg[j]);
    // `===` also merges -0 with +0, as numpy's diff != 0 does.
    let tp = this.tp;
    let fp = this.fp;
    while (i >= 0 && pos[i] === v) {
      i--;
      tp++;
    }
    while (j >= 0 && neg[j] === v) {
      j--;
      fp++;
    }
    this.i = i;
    this.j = j;
    this.tp = tp;
    this.fp = fp;
    this.threshold = v;
    return true;
  }
}
