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

// adapted A [B,C,fh,fw] float32; gt_mask M_gt [B,1,fh,fw] in {0,1} (already downsampled, see
// train/gt_mask.h); labels y_gt [B]. Masks and labels are moved to the device of A. With config.noise
// false the inputs come back unchanged (B samples, float targets) and nothing random is drawn.
// `features` (optional, the JIMS variant): the non-adapted features F [B,C,fh,fw], duplicated and given the
// very same masked noise as A (JIMS AnomalyGenerator), returned as perturbed_features in float32.
AnomalyBatch generate_anomalies(const torch::Tensor& adapted, const torch::Tensor& gt_mask, const torch::Tensor& labels,
                                const AnomalyGeneratorConfig& config, AnomalyRandom& random,
                                const AnomalyInjection* injection = nullptr,
                                const torch::Tensor& features = torch::Tensor());

}  // namespace ssn
