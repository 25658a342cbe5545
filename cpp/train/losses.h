// SuperSimpleNet training losses (spec section 7, official train.py / common/loss.py).
#pragma once
#include <torch/torch.h>

namespace ssn {

// Class-balanced truncated L1 on map logits m against a {0,1} target of the same shape:
// mean over {target == 0} of max(0, m + th) + mean over {target > 0} of max(0, th - m); an empty set adds 0.
torch::Tensor truncated_l1_loss(const torch::Tensor& logits, const torch::Tensor& target, double th = 0.5);

// Focal loss on probabilities p (not logits): mean of BCE(p, t) * (1 - p_t)^gamma, p_t = p t + (1-p)(1-t),
// BCE with each log clamped at >= -100 (PyTorch binary_cross_entropy); alpha disabled.
torch::Tensor focal_loss(const torch::Tensor& probabilities, const torch::Tensor& target, double gamma = 4.0);

struct LossParts {
  torch::Tensor total;  // truncated_l1 + focal_map + focal_score
  torch::Tensor truncated_l1;
  torch::Tensor focal_map;    // focal(sigmoid(map logits), target mask)
  torch::Tensor focal_score;  // focal(sigmoid(score logits), target label)
};

// map_logits [2B,1,fh,fw] and target_mask of the same shape; score_logits [2B] and target_label [2B].
LossParts supersimplenet_loss(const torch::Tensor& map_logits, const torch::Tensor& target_mask,
                              const torch::Tensor& score_logits, const torch::Tensor& target_label);

// The 2025 extension's loss (JIMS train.py): the segmentation parts read the segmented samples only, and each
// pixel's truncated L1 and focal terms are multiplied by its loss weight first. segmented [2B] bool; weights
// [2B,1,fh,fw] or undefined (all 1). With every sample segmented and no weights it equals supersimplenet_loss.
// truncated_l1 is the sum of its two means (normal and anomalous pixels), focal_map the mean over the
// segmented samples' pixels; a part with no pixel adds 0.
LossParts regime_loss(const torch::Tensor& map_logits, const torch::Tensor& target_mask,
                      const torch::Tensor& score_logits, const torch::Tensor& target_label,
                      const torch::Tensor& segmented, const torch::Tensor& weights, double th = 0.5);

}  // namespace ssn
