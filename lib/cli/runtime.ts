/**
 * The engine, loaded on first use: `ssn --help`, `ssn weights fetch` and option errors then work even
 * where the native addon (libtorch) cannot load. The interfaces name only what the CLI calls, so that the
 * model module's own types stay the reference.
 */

import type { DatasetItem } from '../data/dataset';
import type { OnnxExportOptions } from '../export/onnx';
import type {
  BatchOptions,
  CalibrateOptions,
  Calibration,
  CreateOptions,
  ImageInput,
  LoadOptions,
  ModelInfo,
  Prediction,
  SaveOptions,
  TrainOptions,
  TrainSummary,
} from '../types';

export interface CliModel {
  predictBatch(inputs: ImageInput[], opts?: BatchOptions): Promise<Prediction[]>;
  train(dataset: DatasetItem[], opts?: TrainOptions): Promise<TrainSummary>;
  calibrate(dataset: DatasetItem[], opts?: CalibrateOptions): Promise<Calibration>;
  save(file: string, opts?: SaveOptions): Promise<void>;
  exportOnnx(file: string, opts?: OnnxExportOptions): Promise<void>;
  info(): Promise<ModelInfo>;
  dispose(): void;
}

export interface CliModelClass {
  create(opts: CreateOptions): Promise<CliModel>;
  load(file: string, opts?: LoadOptions): Promise<CliModel>;
}

/** lib/model.ts: class SuperSimpleNet. */
export function modelClass(): CliModelClass {
  return (require('../model') as { SuperSimpleNet: CliModelClass }).SuperSimpleNet;
}

/** lib/native.ts: the addon's libraryInfo() JSON. */
export function libraryInfoJson(): string {
  return (require('../native') as { loadNative(): { libraryInfo(): string } }).loadNative().libraryInfo();
}

/** lib/native.ts: the file the addon was loaded from, and what it was built against (after libraryInfoJson()). */
export function nativeBinding(): { file?: string; build?: unknown } {
  const native = require('../native') as { loadedBinding(): string | undefined; loadNative(): { buildInfo(): unknown } };
  return { file: native.loadedBinding(), build: native.loadNative().buildInfo() };
}
