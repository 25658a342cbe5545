/**
 * Training options without the addon: the dataset checks, the option -> TrainConfig key mapping, the
 * supervised default, and the progress line of the CLI.
 */
import { progressLine, formatDuration } from '../../lib/cli/progress';
import { resolveTraining } from '../../lib/train';
import type { TrainOptions } from '../../lib/types';

const image = { data: new Uint8Array(3), width: 1, height: 1, channels: 3 as const };
const normal = { id: 'n', image, label: 0 as const };
const defect = { id: 'd', image, label: 1 as const };

function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    return String((e as { code?: unknown }).code) + ': ' + String((e as Error).message);
  }
  throw new Error('expected a throw');
}

test('options map onto the TrainConfig keys; the setting follows the labels unless given', () => {
  const r = resolveTraining([normal], {
    epochs: 5, batchSize: 8, adaptLr: 1e-3, segLr: 2e-3, decLr: 3e-3, adaptWeightDecay: 0.1, segWeightDecay: 0.2,
    decWeightDecay: 0.3, gamma: 0.5, perlinThreshold: 0.3, overlap: false, noiseStd: 0.02, stopGrad: false,
    clipGradNorm: 2, flips: true, seed: 0, checkpoint: { path: 'c.safetensors' }, resume: 'r.safetensors',
    cacheFeatures: false, cacheBudgetMB: 1,
  });
  expect(r.native).toEqual({
    config: {
      setting: 'unsupervised', epochs: 5, batch_size: 8, adapt_lr: 1e-3, seg_lr: 2e-3, dec_lr: 3e-3, adapt_wd: 0.1,
      seg_wd: 0.2, dec_wd: 0.3, gamma: 0.5, perlin_thr: 0.3, overlap: false, noise_std: 0.02, stop_grad: false,
      clip_grad_norm: 2, flips: true, seed: 0,
    },
    checkpointPath: 'c.safetensors', checkpointEvery: 1, resumePath: 'r.safetensors', cacheFeatures: 'off',
    cacheBudgetBytes: 1 << 20,
  });
  expect(resolveTraining([normal, defect], {}).native.config).toEqual({ setting: 'supervised' });
  expect(resolveTraining({ name: 's', train: [normal, defect], test: [] }, { setting: 'unsupervised' }).native.config)
    .toEqual({ setting: 'unsupervised' });
});

test('bad datasets and options are refused with ERR_SSN_INPUT', () => {
  expect(codeOf(() => resolveTraining([], {}))).toMatch(/^ERR_SSN_INPUT: No training images/);
  expect(codeOf(() => resolveTraining([defect], {}))).toMatch(/^ERR_SSN_INPUT: No normal images/);
  expect(codeOf(() => resolveTraining('x', {}))).toMatch(/^ERR_SSN_INPUT/);
  expect(codeOf(() => resolveTraining([{ id: 'x', image, label: 2 }], {}))).toMatch(/dataset\[0\]\.label/);
  expect(codeOf(() => resolveTraining([normal], { batchSize: 0 }))).toMatch(/options\.batchSize/);
  expect(codeOf(() => resolveTraining([normal], { segLr: -1 }))).toMatch(/options\.segLr/);
  expect(codeOf(() => resolveTraining([normal], { setting: 'weak' } as unknown as TrainOptions))).toMatch(/options\.setting/);
  expect(codeOf(() => resolveTraining([normal], { lr: 1 } as unknown as TrainOptions))).toMatch(/Unknown training option 'lr'/);
  expect(codeOf(() => resolveTraining([normal], { signal: {} as AbortSignal }))).toMatch(/options\.signal/);
  expect(codeOf(() => resolveTraining([normal], { checkpoint: { path: '' } }))).toMatch(/options\.checkpoint\.path/);
});

test('progress line and durations', () => {
  const line = progressLine({
    epoch: 1, epochs: 4, step: 2, stepsPerEpoch: 4, batch: 8, loss: 0.5, truncatedL1: 0.1, focalMap: 0.3,
    focalScore: 0.1, gradNorm: 1, lr: { adaptor: 1e-4, seg: 2e-4, cls: 2e-4 }, imagesPerSecond: 3.2, etaSeconds: 75,
  });
  expect(line).toBe('epoch 2/4 [#########...............] step 2/4 loss 0.5000 (l1 0.1000, map 0.3000, score 0.1000) 3.2 img/s ETA 1m15s');
  expect(formatDuration(5)).toBe('5s');
  expect(formatDuration(3725)).toBe('1h02m');
  expect(formatDuration(Number.NaN)).toBe('?');
});
