/**
 * ROC and its area, as sklearn's roc_curve / roc_auc_score: one point per distinct score (descending),
 * a leading (0, 0), trapezoid area (ties between classes get half credit). Exact: counts are integers
 * and the area is accumulated on integer counts before one final division.
 */
import { type LabelArray, type PreparedBinary, requireBothClasses, type ScoreArray, ThresholdCursor, toPrepared } from './binary';

export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** thresholds[k] is the score at or above which point k predicts "anomalous"; thresholds[0] = +Infinity. */
  thresholds: Float64Array;
}

/** Area under the ROC curve; equals sklearn roc_auc_score. Throws ERR_SSN_INPUT unless both classes occur. */
export function auroc(scores: ScoreArray | PreparedBinary, labels?: LabelArray): number {
  const prep = toPrepared(scores, labels);
  requireBothClasses(prep, 'AUROC');
  let area2 = 0; // twice the area, in units of (tp, fp) counts
  let tpPrev = 0;
  let fpPrev = 0;
  const c = new ThresholdCursor(prep);
  while (c.next()) {
    area2 += (c.fp - fpPrev) * (c.tp + tpPrev);
    tpPrev = c.tp;
    fpPrev = c.fp;
  }
  return area2 / (2 * prep.positives.length * prep.negatives.length);
}

/** The full ROC (no intermediate points dropped), with the leading (0, 0). */
export function rocCurve(scores: ScoreArray | PreparedBinary, labels?: LabelArray): RocCurve {
  const prep = toPrepared(scores, labels);
  requireBothClasses(prep, 'ROC');
  let points = 1;
  for (const c = new ThresholdCursor(prep); c.next(); ) points++;
  const fpr = new Float64Array(points);
  const tpr = new Float64Array(points);
  const thresholds = new Float64Array(points);
  thresholds[0] = Infinity;
  const nPos = prep.positives.length;
  const nNeg = prep.negatives.length;
  const c = new ThresholdCursor(prep);
  for (let k = 1; c.next(); k++) {
    fpr[k] = c.fp / nNeg;
    tpr[k] = c.tp / nPos;
    thresholds[k] = c.threshold;
  }
  return { fpr, tpr, thresholds };
}
