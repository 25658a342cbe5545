// One official training step (SSN train.py:80-113): zero_grad -> frozen features -> adaptor -> feature-space
// anomaly generation -> heads (train-mode BN over the 2B batch) -> losses -> backward -> (clip) -> AdamW.
// The JIMS variant (2025 code, train.py and model/supersimplenet.py) gives the classification head the
// non-adapted features with the same noise, and with segmented flags or loss weights the regime loss.
#pragma once
#include <torch/torch.h>

#include "common/precision.h"
#include "model/supersimplenet.h"
#include "train/anomaly_generator.h"
#include "train/mixed_precision.h"
#include "train/optimizer.h"

namespace ssn {

struct TrainStepConfig {
  AnomalyGeneratorConfig generator;
  bool stop_grad = true;                     // unsupervised: the cls loss does not reach the seg head
  double clip_grad_norm = 0.0;               // > 0: clip the global gradient norm to this (supervised: 1)
  bool mask_align_corners = false;           // the masks' downsampling (train/gt_mask.h): true in the JIMS code
  Precision precision = Precision::Float32;  // autocast of the adaptor and heads (mixed_precision.h)
};

struct TrainBatch {
  torch::Tensor images;    // [B,3,H,W] preprocessed float
  torch::Tensor masks;     // [B,H,W] in {0,1} at image size (downsampled here)
  torch::Tensor labels;    // [B] in {0,1}
  torch::Tensor features;  // optional [B,C,fh,fw] = extract_features(images), precomputed (feature cache;
                           // fp32, or the autocast dtype, which the adaptor casts its input to anyway)
  // Optional, the 2025 extension's regimes (train/losses.h regime_loss): which samples the segmentation loss
  // reads ([B] bool; undefined: all), and per-pixel loss weights at image size ([B,H,W]; undefined: all 1).
  torch::Tensor segmented;
  torch::Tensor loss_weights;
};

struct TrainStepResult {
  double loss = 0, truncated_l1 = 0, focal_map = 0, focal_score = 0;
  double grad_norm = 0;  // global gradient norm before clipping
  bool skipped = false;  // fp16: inf/NaN gradients, the optimizer step was skipped and the scale backed off
};

// A step in parts: micro-batches (gradient accumulation) and distributed ranks each run accumulate_gradients
// on samples first.. of the step's batch, which adds the gradient of weight * (the part's loss) to the
// parameters (weight: the part's share of the batch; zero the gradients before the step's first part).
// The heads' BatchNorm layers see the part alone, as under PyTorch DDP. The returned losses are weighted
// too, so the parts' results add up to the step's. Once the gradients are complete (every part, every
// rank), finish_step unscales (fp16), clips and steps the optimizer.
TrainStepResult accumulate_gradients(SuperSimpleNet& net, const TrainBatch& part, const TrainStepConfig& config,
                                     const StepDraws& draws, int64_t first, double weight, GradScaler* scaler,
                                     const AnomalyInjection* injection = nullptr);
// `losses`: the step's summed losses (grad_norm and skipped are filled in here).
TrainStepResult finish_step(AdamW& optimizer, const TrainStepConfig& config, GradScaler* scaler,
                            TrainStepResult losses);

// A whole step on one batch: zero_grad, draw_step, one part of weight 1, finish_step.
// Puts the heads in train mode (the backbone stays in eval mode). `injection` replaces the random draws
// (tests only). `scaler` is required for fp16 (a disabled one otherwise). Throws ssn::Error(Shape/Input) on
// bad batches, ssn::Error(Config) when the run diverged (non-finite outputs or loss).
TrainStepResult train_step(SuperSimpleNet& net, AdamW& optimizer, const TrainBatch& batch,
                           const TrainStepConfig& config, AnomalyRandom& random, GradScaler* scaler = nullptr,
                           const AnomalyInjection* injection = nullptr);

}  // namespace ssn
