/**
 * The F1-maximising threshold over the precision-recall curve (anomalib's F1AdaptiveThreshold picks it
 * the same way). F1 = 2TP / (2TP + FP + FN) is evaluated on integer counts, so ties are exact; among tied
 * thresholds the lowest wins, as torch.argmax over the ascending-threshold curve does.
 */
import { type LabelArray, type PreparedBinary, requirePositives, type ScoreArray, ThresholdCursor, toPrepared } from './binary';

export interface F1Max {
  f1: number;
  /** Predict anomalous when score >= threshold. */
  threshold: number;
  precision: number;
  recall: number;
}

/** Throws ERR_SSN_INPUT when there is no positive sample. */
export function f1Max(scores: ScoreArray | PreparedBinary, labels?: LabelArray): F1Max {
  const prep = toPrepared(scores, labels);
  requirePositives(prep, 'F1');
  const nPos = prep.positives.length;
  let bestF1 = -1;
  let bestTp = 0;
  let bestFp = 0;
  let bestThreshold = NaN;
  // Past full recall only false positives are added: F1 can only fall, so the walk stops there.
  const c = new ThresholdCursor(prep);
  while (c.tp < nPos && c.next()) {
    const f1 = (2 * c.tp) / (c.tp + c.fp + nPos);
    if (f1 >= bestF1) {
      bestF1 = f1;
      bestTp = c.tp;
      bestFp = c.fp;
      bestThreshold = c.threshold;
    }
  }
  return { f1: bestF1, threshold: bestThreshold, precision: bestTp / (bestTp + bestFp), recall: bestTp / nPos };
}
