/** Evaluation metrics of the official SuperSimpleNet protocol (spec §10), on typed arrays. */

export { prepareBinary } from './binary';
export type { LabelArray, PreparedBinary, ScoreArray } from './binary';
export { auroc, rocCurve } from './roc';
export type { RocCurve } from './roc';
export { averagePrecision } from './average_precision';
export { f1Max } from './f1';
export type { F1Max } from './f1';
export { connectedComponents, connectedComponentsImages } from './connected_components';
export type { Components, Connectivity, ImageComponents } from './connected_components';
export { aupro } from './aupro';
export type { Arithmetic, AuproOptions, AuproResult } from './aupro';
export { mapMaxScores, normalizeMaps, normalizeScores, sigmoid32, sigmoidScores } from './normalize';
