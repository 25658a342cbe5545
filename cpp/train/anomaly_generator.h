// Training-time anomaly generation in feature space (spec section 6, "Forward"): duplicate the batch,
// build the noise mask from Perlin masks and the flags, add masked Gaussian noise, derive the targets.
#pragma once
#include <cstdint>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include "ops/perlin.h"

namespace ssn {

struct AnomalyGeneratorConfig {
  bool noise = true;    // false: no generation at all (the official model then trains on A, M_gt, y_gt as is)
  bool perlin = true;   // false: SimpleNet ablation, noise everywhere on the second copy only
  bool overlap = true;  // false: no noise inside real-defect pixels
  bool bad = true;      // false: no noise at all on real-defect images
  NoAnomalyRule no_anomaly = NoAnomalyRule::Empty;
  double perlin_thr = 0.2;
  double noise_std = 0.015;
};

// Where the random draws come from. Perlin masks use the CPU generator (spec: CPU generator, masks moved
// to the model device); the Gaussian noise uses the Philox stream (noise_seed, noise_offset) on the
// device of the features. Every generate_anomalies call advances noise_offset by one.
struct AnomalyRandom {
  at::Generator perlin_generator;
  uint64_t noise_seed = 0;
  uint64_t noise_offset = 0;
};

// The random draws of one optimizer step for its whole batch of B samples: the Perlin masks of all 2B rows
// and the noise stream's offset. Micro-batches and distributed ranks each take their own rows of it
// (generate_anomalies' `first`), so the draws depend on the seed and the step, never on how the batch is split.
struct StepDraws {
  int64_t batch = 0;           // B
  torch::Tensor perlin_masks;  // [2B,1,fh,fw] float {0,1}, CPU: copy 0 of samples 0..B-1, then copy 1; or undefined
  uint64_t noise_seed = 0, noise_offset = 0;
};

// Draws a step's randomness in the order a single generate_anomalies call over the whole batch always did:
// 2B Perlin masks (when config.noise and config.perlin), then one noise offset (when config.noise).
StepDraws draw_step(const AnomalyGeneratorConfig& config, AnomalyRandom& random, int64_t batch, int64_t fh, int64_t fw);

// Test-only: replaces the random draws (the golden training steps pin both). Either may be left undefined.
struct AnomalyInjection {
  torch::Tensor perlin_masks;  // [2B,1,fh,fw] in {0,1}: the Perlin masks after the 50 % rule
  torch::Tensor noise;         // [2B,C,fh,fw]: the Gaussian noise itself (already scaled by the std)
};

struct AnomalyBatch {
  torch::Tensor perturbed;           // [2B,C,fh,fw] float32; gradients flow into the features
  torch::Tensor perturbed_features;  // the non-adapted features with the same noise (JIMS), when passed
  torch::Tensor target_mask;         // [2B,1,fh,fw] float32 in {0,1}
  torch::Tensor target_label;        // [2B] float32 in {0,1}
};

// Samples first .. first+b-1 of a step's batch: adapted A [b,C,fh,fw] float32; gt_mask M_gt [b,1,fh,fw] in
// {0,1} (already downsampled, see train/gt_mask.h); labels y_gt [b]. They take their rows of `draws`, and
// give the bits the whole batch's call gives those samples. Masks and labels are moved to the device of A.
// With config.noise false the inputs come back unchanged (b samples, float targets).
// `features` (optional, the JIMS variant): the non-adapted features F [b,C,fh,fw], duplicated and given the
// very same masked noise as A (JIMS AnomalyGenerator), returned as perturbed_features in float32.
// `injection` (tests) replaces the draws of these b samples: [2b,...] tensors.
AnomalyBatch generate_anomalies(const torch::Tensor& adapted, const torch::Tensor& gt_mask, const torch::Tensor& labels,
                                const AnomalyGeneratorConfig& config, const StepDraws& draws, int64_t first,
                                const AnomalyInjection* injection = nullptr,
                                const torch::Tensor& features = torch::Tensor());

// A whole batch: draw_step for its B samples, then the call above with first 0.
AnomalyBatch generate_anomalies(const torch::Tensor& adapted, const torch::Tensor& gt_mask, const torch::Tensor& labels,
                                const AnomalyGeneratorConfig& config, AnomalyRandom& random,
                                const AnomalyInjection* injection = nullptr,
                                const torch::Tensor& features = torch::Tensor());

}  // namespace ssn
