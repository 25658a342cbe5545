/**
 * Training options without the addon: the dataset checks, the option -> TrainConfig key mapping, the
 * supervised default, and the progress line of the CLI.
 */
import { formatDuration, progressLine, scheduleLine } from '../../lib/cli/progress';
import { resolveTraining } from '../../lib/train';
import type { TrainOptions } from '../../lib/types';

const image = { data: new Uint8Array(3), width: 1, height: 1, channels: 3 as const };
const normal = { id: 'n', image, label: 0 as const };
const defect = { id: 'd', image, label: 1 as const };

function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    return `${String((e as { code?: unknown }).code)}: ${String((e as Error).message)}`;
  }
  throw new Error('expected a throw');
}

test('options map onto the TrainConfig keys; the setting is passed on only when given (the core reads the data)', () => {
  const r = resolveTraining([normal], {
    epochs: 5,
    batchSize: 8,
    adaptLr: 1e-3,
    segLr: 2e-3,
    decLr: 3e-3,
    adaptWeightDecay: 0.1,
    segWeightDecay: 0.2,
    decWeightDecay: 0.3,
    gamma: 0.5,
    perlinThreshold: 0.3,
    overlap: false,
    noiseStd: 0.02,
    stopGrad: false,
    clipGradNorm: 2,
    flips: true,
    seed: 0,
    dilate: 0,
    dtWeight: 3,
    dtPower: 2,
    maskAlignCorners: true,
    checkpoint: { path: 'c.safetensors' },
    resume: 'r.safetensors',
    cacheFeatures: false,
    cacheBudgetMB: 1,
  });
  expect(r.native).toEqual({
    config: {
      epochs: 5,
      batch_size: 8,
      adapt_lr: 1e-3,
      seg_lr: 2e-3,
      dec_lr: 3e-3,
      adapt_wd: 0.1,
      seg_wd: 0.2,
      dec_wd: 0.3,
      gamma: 0.5,
      perlin_thr: 0.3,
      overlap: false,
      noise_std: 0.02,
      stop_grad: false,
      clip_grad_norm: 2,
      flips: true,
      seed: 0,
      dilate: 0,
      dt_weight: 3,
      dt_power: 2,
      mask_align_corners: true,
    },
    checkpointPath: 'c.safetensors',
    checkpointEvery: 1,
    resumePath: 'r.safetensors',
    cacheFeatures: 'off',
    cacheBudgetBytes: 1 << 20,
  });
  expect(resolveTraining([normal, defect], {}).native.config).toEqual({});
  for (const setting of ['unsupervised', 'weak', 'mixed', 'supervised'] as const) {
    expect(resolveTraining({ name: 's', train: [normal, defect], test: [] }, { setting }).native.config).toEqual({ setting });
  }
});

test('bad datasets and options are refused with ERR_SSN_INPUT', () => {
  expect(codeOf(() => resolveTraining([], {}))).toMatch(/^ERR_SSN_INPUT: No training images/);
  expect(codeOf(() => resolveTraining([defect], {}))).toMatch(/^ERR_SSN_INPUT: No normal images/);
  expect(codeOf(() => resolveTraining('x', {}))).toMatch(/^ERR_SSN_INPUT/);
  expect(codeOf(() => resolveTraining([{ id: 'x', image, label: 2 }], {}))).toMatch(/dataset\[0\]\.label/);
  expect(codeOf(() => resolveTraining([normal], { batchSize: 0 }))).toMatch(/options\.batchSize/);
  expect(codeOf(() => resolveTraining([normal], { segLr: -1 }))).toMatch(/options\.segLr/);
  expect(codeOf(() => resolveTraining([normal], { setting: 'semi' } as unknown as TrainOptions))).toMatch(/options\.setting/);
  expect(codeOf(() => resolveTraining([normal], { dilate: -1 }))).toMatch(/options\.dilate/);
  expect(codeOf(() => resolveTraining([normal], { lr: 1 } as unknown as TrainOptions))).toMatch(/Unknown training option 'lr'/);
  expect(codeOf(() => resolveTraining([normal], { signal: {} as AbortSignal }))).toMatch(/options\.signal/);
  expect(codeOf(() => resolveTraining([normal], { checkpoint: { path: '' } }))).toMatch(/options\.checkpoint\.path/);
});

test('precision and the time budget: passed on, checked, exclusive with epochs', () => {
  expect(resolveTraining([normal], { precision: 'bf16', maxMinutes: 1.5 }).native).toEqual({
    config: { precision: 'bf16' },
    maxSeconds: 90,
  });
  expect(resolveTraining([normal], {}).native.config).toEqual({}); // precision 'auto' in the core
  expect(codeOf(() => resolveTraining([normal], { precision: 'fp64' } as unknown as TrainOptions))).toMatch(/options\.precision/);
  expect(codeOf(() => resolveTraining([normal], { maxMinutes: 0 }))).toMatch(/options\.maxMinutes/);
  expect(resolveTraining([normal], { epochs: 10, milestones: [8, 9] }).native.config).toMatchObject({ milestones: [8, 9] });
  expect(codeOf(() => resolveTraining([normal], { milestones: [-1] }))).toMatch(/options\.milestones/);
  expect(codeOf(() => resolveTraining([normal], { maxMinutes: 2, milestones: [1] }))).toMatch(
    /Both options\.milestones and options\.maxMinutes/,
  );
  expect(codeOf(() => resolveTraining([normal], { maxMinutes: 2, epochs: 3 }))).toMatch(
    /^ERR_SSN_INPUT: Both options\.epochs and options\.maxMinutes/,
  );
});

test('validation: calibrate on it after training, at the default or given quantile; checked up front', () => {
  expect(resolveTraining([normal], {}).calibration).toBeUndefined();
  expect(resolveTraining([normal], { validation: [normal, defect] }).calibration).toEqual({ items: [normal, defect], quantile: 0.995 });
  expect(resolveTraining([normal], { validation: [normal], calibrationQuantile: 0.9 }).calibration?.quantile).toBe(0.9);
  // validation is not a TrainConfig key: the addon never sees it.
  expect(resolveTraining([normal], { validation: [normal] }).native).toEqual({ config: {} });
  expect(codeOf(() => resolveTraining([normal], { calibrationQuantile: 0.9 }))).toMatch(/^ERR_SSN_INPUT: .*without options\.validation/);
  expect(codeOf(() => resolveTraining([normal], { validation: [defect] }))).toMatch(
    /^ERR_SSN_INPUT: No normal images among the 1 calibration/,
  );
  expect(codeOf(() => resolveTraining([normal], { validation: { name: 's', train: [], test: [] } as never }))).toMatch(
    /options\.validation/,
  );
  expect(codeOf(() => resolveTraining([normal], { validation: [normal], calibrationQuantile: 0 }))).toMatch(/options\.calibrationQuantile/);
});

test('the schedule line says what ran and why', () => {
  const base = {
    epochs: 7,
    steps: 70,
    images: 700,
    seconds: 100,
    cacheSeconds: 1,
    cachedFeatures: true,
    resumed: false,
    loss: 1,
    truncatedL1: 0.3,
    focalMap: 0.3,
    focalScore: 0.4,
    precision: 'bf16' as const,
    precisionReason: 'bf16 (auto): this CPU (AVX512-BF16 (no AMX)) computes bf16 natively',
    setting: 'unsupervised' as const,
    settingReason: 'chosen from the data: normal images only',
  };
  expect(
    scheduleLine({
      ...base,
      config: { epochs: 7, batch_size: 32, gamma: 0.4, milestones: [6, 6] },
      budget: { seconds: 600, secondsPerStep: 1.234 },
    }),
  ).toBe(
    'budget 10m00s: warm-up measured 1.23 s per step of 32, so 7 epochs, LR x0.4 at epochs 6 and 6; ' +
      'precision bf16 (auto): this CPU (AVX512-BF16 (no AMX)) computes bf16 natively',
  );
  expect(scheduleLine({ ...base, precisionReason: 'fp32 (asked for)', config: { epochs: 7, milestones: [] } })).toBe(
    'precision fp32 (asked for)',
  );
});

test('progress line and durations', () => {
  const line = progressLine({
    epoch: 1,
    epochs: 4,
    step: 2,
    stepsPerEpoch: 4,
    batch: 8,
    loss: 0.5,
    truncatedL1: 0.1,
    focalMap: 0.3,
    focalScore: 0.1,
    gradNorm: 1,
    lr: { adaptor: 1e-4, seg: 2e-4, cls: 2e-4 },
    imagesPerSecond: 3.2,
    etaSeconds: 75,
    precision: 'bf16',
  });
  expect(line).toBe(
    'epoch 2/4 [#########...............] step 2/4 loss 0.5000 (l1 0.1000, map 0.3000, score 0.1000) 3.2 img/s bf16 ETA 1m15s',
  );
  expect(formatDuration(5)).toBe('5s');
  expect(formatDuration(3725)).toBe('1h02m');
  expect(formatDuration(Number.NaN)).toBe('?');
});
