/**
 * Type tests of the public API (compiled by `npm run test:types`, never run): what users write must type-check,
 * and what the API refuses at run time must not compile either. Each `@ts-expect-error` fails the build when
 * the line below it stops being an error.
 */
import {
  type Calibration,
  type DatasetItem,
  type ModelInfo,
  type Prediction,
  SsnError,
  SuperSimpleNet,
  type TrainOptions,
  type TrainSummary,
  isSsnErrorCode,
  loadFolderItems,
  resizeImage,
  INPUT_FORMATS,
  setImageInputPolicy,
} from 'supersimplenet';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

async function usage(): Promise<void> {
  const model = await SuperSimpleNet.create({ imageSize: [256, 256], device: 'auto', precision: 'bf16', threads: 2 });
  const p: Prediction = await model.predict('part.png', { resizeToInput: true });
  assertType<Equal<typeof p.map, Float32Array>>();
  assertType<Equal<typeof p.score, number>>();
  const verdict: boolean | undefined = p.anomalous;
  void verdict;
  const batch: Prediction[] = await model.predictBatch(['a.png', Buffer.alloc(0)], { batchSize: 4, mask: true });
  void batch;

  const items: DatasetItem[] = await loadFolderItems('parts/');
  const options: TrainOptions = { precision: 'auto', maxMinutes: 30, validation: items, onProgress: (pr) => pr.precision };
  const summary: TrainSummary = await model.train(items, options);
  assertType<Equal<typeof summary.precision, 'fp32' | 'fp16' | 'bf16'>>();
  const calibration: Calibration = await model.calibrate(items, { quantile: 0.99 });
  assertType<Equal<typeof calibration.method, 'f1' | 'quantile'>>();
  const info: ModelInfo = model.info();
  assertType<Equal<typeof info.variant, 'icpr' | 'jims'>>();
  const jims = await SuperSimpleNet.create({ heads: { weights: 'weights.pt', variant: 'jims' } });
  void jims;
  setImageInputPolicy({ formats: [...INPUT_FORMATS, 'gif'], maxPixels: 100e6 });
  const pixels = await resizeImage('part.png', 128, 128);
  assertType<Equal<typeof pixels.channels, 3>>();
  await model.save('model.safetensors', { trainingState: true });
  await using disposable = await SuperSimpleNet.load('model.safetensors');
  void disposable;

  try {
    await model.predict('missing.png');
  } catch (e) {
    if (e instanceof SsnError && isSsnErrorCode(e.code)) void e.hint;
  }

  // @ts-expect-error precision is 'fp32' | 'fp16' | 'bf16'
  await SuperSimpleNet.create({ precision: 'fp64' });
  // @ts-expect-error the variant is 'icpr' | 'jims'
  await SuperSimpleNet.create({ heads: { weights: 'weights.pt', variant: 'v3' } });
  // @ts-expect-error device is 'auto' | 'cpu' | 'cuda'
  await SuperSimpleNet.create({ device: 'gpu' });
  // @ts-expect-error training precision is 'auto' | 'fp32' | 'bf16' | 'fp16'
  await model.train(items, { precision: 'int8' });
  // @ts-expect-error labels are 0 or 1
  await model.train([{ id: 'x', image: 'x.png', label: 2 }]);
  // @ts-expect-error predict takes one image, not a list
  await model.predict(['a.png']);
  // @ts-expect-error the model has no fit()
  await model.fit(items);
}
void usage;
