/** supersimplenet: SuperSimpleNet surface-defect detection for Node.js, on libtorch. */
export { SuperSimpleNet } from './model';
export { SsnError, SSN_ERROR_CODES, isSsnErrorCode } from './errors';
export type { SsnErrorCode } from './errors';
export { decodeImage, type ImageInputPolicy, resizeImage, setImageInputPolicy } from './image';
export { INPUT_FORMATS, MAX_INPUT_PIXELS } from './constants';
export { classifyImageNet } from './imagenet';
export type { ClassifyImageNetOptions, ImageNetClass } from './imagenet';
export { libraryInfo } from './native';
export { resizeBilinear } from './resize';
export { DEFAULT_BACKBONE } from './types';
export { loadFolderItems } from './data/folder';
export type { DatasetItem, DatasetSplit } from './data/dataset';
export { DEFAULT_CALIBRATION_QUANTILE } from './calibration';
export { distributedFromEnv, type DistributedBackend, type DistributedOptions } from './distributed';
export type {
  BackboneArch,
  BackboneSpec,
  BatchOptions,
  CalibrateOptions,
  Calibration,
  CreateOptions,
  Device,
  HeadsSpec,
  ImageInput,
  LoadOptions,
  Logger,
  ModelInfo,
  ModelVariant,
  Precision,
  Prediction,
  PredictOptions,
  RawImage,
  SaveOptions,
  ThresholdMethod,
  TrainOptions,
  TrainProgress,
  TrainSummary,
  RuntimeOptions,
} from './types';
