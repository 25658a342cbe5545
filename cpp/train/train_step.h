// One official training step (SSN train.py:80-113): zero_grad -> frozen features -> adaptor -> feature-space
// anomaly generation -> heads (train-mode BN over the 2B batch) -> losses -> backward -> (clip) -> AdamW.
#pragma once
#include <torch/torch.h>

#include "model/supersimplenet.h"
#include "train/anomaly_generator.h"
#include "train/optimizer.h"

namespace ssn {

struct TrainStepConfig {
  AnomalyGeneratorConfig generator;
  bool stop_grad = true;        // unsupervised: the cls loss does not reach the seg head
  double clip_grad_norm = 0.0;  // > 0: clip the global gradient norm to this (supervised: 1)
};

struct TrainBatch {
  torch::Tensor images;  // [B,3,H,W] preprocessed float
  torch::Tensor masks;   // [B,H,W] in {0,1} at image size (downsampled here)
  torch::Tensor labels;  // [B] in {0,1}
  torch::Tensor features;  // optional [B,C,fh,fw] = extract_features(images), precomputed (feature cache)
};

struct TrainStepResult {
  double loss = 0, truncated_l1 = 0, focal_map = 0, focal_score = 0;
  double grad_norm = 0;  // global gradient norm before clipping
};

// Puts the heads in train mode (the backbone stays in eval mode). `injection` replaces the random draws
// (tests only). Throws ssn::Error(Shape/Input) on bad batches, ssn::Error(Internal) on a non-finite loss.
TrainStepResult train_step(SuperSimpleNet& net, AdamW& optimizer, const TrainBatch& batch, const TrainStepConfig& config,
                           AnomalyRandom& random, const AnomalyInjection* injection = nullptr);

}  // namespace ssn
