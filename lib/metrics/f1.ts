/**
 * The F1-maximising threshold over the precision-recall curve (anomalib's F1AdaptiveThreshold picks it
 * the same way). F1 = 2TP / (2TP + FP + FN) is evaluated on integer counts, so ties are exact; among tied
 * thresholds the lowest wins, as torch.argmax over the ascending-threshold curve does.
 */
import { forEachThreshold, LabelArray, PreparedBinary, requirePositives, ScoreArray, toPrepared } from './binary';

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
  forEachThreshold(prep, (tp, fp, t) => {
    const f1 = (2 * tp) / (tp + fp + nPos);
    if (f1 >= bestF1) {
      bestF1 = f1;
      bestTp = tp;
      bestFp = fp;
      bestThreshold = t;
    }
    // Past full recall only false positives are added: F1 can only fall.
    return tp < nPos;
  });
  return { f1: bestF1, threshold: bestThreshold, precision: bestTp / (bestTp + bestFp), recall: bestTp / nPos };
}
