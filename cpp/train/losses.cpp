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

torch::Tensor focal_loss(const torch::Tensor& probabilities, const torch::Tensor& target, double gamma) {
  check_pair("focal_loss", probabilities, target);
  const torch::Tensor p = probabilities.to(torch::kFloat32);
  const torch::Tensor t = target.to(p.device(), torch::kFloat32);
  const torch::Tensor ce = torch::binary_cross_entropy(p, t, {}, at::Reduction::None);
  const torch::Tensor p_t = p * t + (1 - p) * (1 - t);
  return (ce * torch::pow(1 - p_t, gamma)).mean();
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

}  // namespace ssn
