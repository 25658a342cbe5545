#include "train/losses.h"

#include <sstream>
#include <string>

#include "common/error.h"

namespace ssn {
namespace {

void check_pair(const char* op, const torch::Tensor& values, const torch::Tensor& target) {
  if (!values.defined() || !target.defined() || !values.sizes().equals(target.sizes())) {
    std::ostringstream os;
    os << op << ": prediction and target must have the same shape, got ";
    if (values.defined())
      os << values.sizes();
    else
      os << "undefined";
    os << " and ";
    if (target.defined())
      os << target.sizes();
    else
      os << "undefined";
    throw Error(ErrorCode::Shape, os.str(), "pass the generator's targets for the same batch");
  }
  if (!values.is_floating_point()) {
    throw Error(ErrorCode::Input,
                std::string(op) + ": predictions must be floating point, got " + c10::toString(values.scalar_type()),
                "pass the head outputs");
  }
}

// Mean of a selection, 0 when it is empty (the official code adds a plain 0 then).
torch::Tensor mean_or_zero(const torch::Tensor& selected, const torch::Tensor& like) {
  return selected.numel() > 0 ? selected.mean() : torch::zeros({}, like.options());
}

}  // namespace

torch::Tensor truncated_l1_loss(const torch::Tensor& logits, const torch::Tensor& target, double th) {
  check_pair("truncated_l1_loss", logits, target);
  const torch::Tensor t = target.to(logits.device());
  const torch::Tensor normal = logits.masked_select(t == 0);
  const torch::Tensor anomalous = logits.masked_select(t > 0);
  const torch::Tensor normal_loss = mean_or_zero(torch::clamp_min(normal + th, 0), logits);
  const torch::Tensor anomalous_loss = mean_or_zero(torch::clamp_min(-anomalous + th, 0), logits);
  return normal_loss + anomalous_loss;
}

namespace {

torch::Tensor focal_terms(const torch::Tensor& probabilities, const torch::Tensor& target, double gamma) {
  const torch::Tensor p = probabilities.to(torch::kFloat32);
  const torch::Tensor t = target.to(p.device(), torch::kFloat32);
  const torch::Tensor ce = torch::binary_cross_entropy(p, t, {}, at::Reduction::None);
  const torch::Tensor p_t = p * t + (1 - p) * (1 - t);
  return ce * torch::pow(1 - p_t, gamma);
}

}  // namespace

torch::Tensor focal_loss(const torch::Tensor& probabilities, const torch::Tensor& target, double gamma) {
  check_pair("focal_loss", probabilities, target);
  return focal_terms(probabilities, target, gamma).mean();
}

LossParts supersimplenet_loss(const torch::Tensor& map_logits, const torch::Tensor& target_mask,
                              const torch::Tensor& score_logits, const torch::Tensor& target_label) {
  LossParts parts;
  parts.truncated_l1 = truncated_l1_loss(map_logits, target_mask);
  parts.focal_map = focal_loss(torch::sigmoid(map_logits), target_mask);
  parts.focal_score = focal_loss(torch::sigmoid(score_logits), target_label);
  parts.total = parts.truncated_l1 + parts.focal_map + parts.focal_score;
  return parts;
}

LossParts regime_loss(const torch::Tensor& map_logits, const torch::Tensor& target_mask,
                      const torch::Tensor& score_logits, const torch::Tensor& target_label,
                      const torch::Tensor& segmented, const torch::Tensor& weights, double th) {
  check_pair("regime_loss", map_logits, target_mask);
  const int64_t n = map_logits.size(0);
  if (!segmented.defined() || segmented.dim() != 1 || segmented.size(0) != n ||
      (weights.defined() && !weights.sizes().equals(map_logits.sizes()))) {
    throw Error(ErrorCode::Shape, "regime_loss: expected segmented [2B] and weights shaped like the map",
                "pass one flag per sample and the downsampled loss weights");
  }
  const torch::Tensor t = target_mask.to(map_logits.device(), torch::kFloat32);
  const torch::Tensor l1 =
      torch::where(t > 0, torch::clamp_min(th - map_logits, 0), torch::clamp_min(map_logits + th, 0));
  torch::Tensor focal = focal_terms(torch::sigmoid(map_logits), t, 4.0);
  torch::Tensor weighted_l1 = l1;
  if (weights.defined()) {
    const torch::Tensor w = weights.to(map_logits.device(), torch::kFloat32);
    weighted_l1 = l1 * w;
    focal = focal * w;
  }
  const torch::Tensor seg = segmented.to(map_logits.device(), torch::kBool).view({n, 1, 1, 1}).expand_as(t);
  LossParts parts;
  parts.truncated_l1 = mean_or_zero(weighted_l1.masked_select(seg & (t == 0)), map_logits) +
                       mean_or_zero(weighted_l1.masked_select(seg & (t > 0)), map_logits);
  parts.focal_map = mean_or_zero(focal.masked_select(seg), map_logits);
  parts.focal_score = focal_loss(torch::sigmoid(score_logits), target_label);
  parts.total = parts.truncated_l1 + parts.focal_map + parts.focal_score;
  return parts;
}

}  // namespace ssn
