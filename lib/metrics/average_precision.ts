/**
 * Average precision as sklearn's average_precision_score (= torchmetrics 0.10 legacy binary AP): the
 * non-interpolated sum over distinct thresholds, descending, of (R_k - R_{k-1}) * P_k.
 */
import { type LabelArray, type PreparedBinary, requirePositives, type ScoreArray, ThresholdCursor, toPrepared } from './binary';

/** Throws ERR_SSN_INPUT when there is no positive sample (recall is undefined). */
export function averagePrecision(scores: ScoreArray | PreparedBinary, labels?: LabelArray): number {
  const prep = toPrepared(scores, labels);
  requirePositives(prep, 'Average precision');
  const nPos = prep.positives.length;
  let sum = 0; // sum of (tp_k - tp_{k-1}) * P_k; divided by nPos at the end
  let tpPrev = 0;
  // sklearn truncates the curve at the first threshold reaching full recall; later terms are zero.
  const c = new ThresholdCursor(prep);
  while (c.tp < nPos && c.next()) {
    const tp = c.tp;
    if (tp !== tpPrev) {
      sum += (tp - tpPrev) * (tp / (tp + c.fp));
      tpPrev = tp;
    }
  }
  return sum / nPos;
}
