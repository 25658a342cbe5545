#include "train/train_step.h"

#include <cmath>
#include <sstream>

#include "common/error.h"
#include "train/gt_mask.h"
#include "train/losses.h"

namespace ssn {

TrainStepResult train_step(SuperSimpleNet& net, AdamW& optimizer, const TrainBatch& batch, const TrainStepConfig& config,
                           AnomalyRandom& random, const AnomalyInjection* injection) {
  if (!batch.labels.defined() || batch.labels.dim() != 1 || !batch.images.defined() ||
      batch.images.size(0) != batch.labels.size(0)) {
    std::ostringstream os;
    os << "train_step: expected images [B,3,H,W] and labels [B] with the same B, got ";
    if (batch.images.defined()) os << batch.images.sizes(); else os << "no images";
    os << " and ";
    if (batch.labels.defined()) os << batch.labels.sizes(); else os << "no labels";
    throw Error(ErrorCode::Shape, os.str(), "pass one label per image");
  }
  net->train(true);
  optimizer.zero_grad();
  // The backbone is frozen and in eval mode: precomputed features are the same tensor.
  const torch::Tensor features =
      batch.features.defined() ? batch.features.to(net->adaptor_parameters()[0].device(), torch::kFloat32)
                               : net->extract_features(batch.images);  // no grad inside
  const torch::Tensor adapted = net->adapt(features);
  const torch::Tensor gt = downsample_gt_mask(batch.masks, adapted.size(2), adapted.size(3));
  const AnomalyBatch anomalies = generate_anomalies(adapted, gt, batch.labels, config.generator, random, injection);
  const HeadOutput out = net->heads(anomalies.perturbed, config.stop_grad);
  const LossParts loss = supersimplenet_loss(out.seg_logits, anomalies.target_mask, out.score_logit, anomalies.target_label);
  loss.total.backward();

  std::vector<torch::Tensor> params;
  for (const auto& g : optimizer.groups())
    for (const auto& p : g.params) params.push_back(p.second);
  const torch::Tensor norm =
      config.clip_grad_norm > 0 ? clip_grad_norm(params, config.clip_grad_norm) : global_grad_norm(params);

  TrainStepResult r;
  r.loss = loss.total.item<double>();
  if (!std::isfinite(r.loss)) {
    throw Error(ErrorCode::Internal, "train_step: the loss is not finite (" + std::to_string(r.loss) + ")",
                "lower the learning rates or enable gradient clipping; check the inputs for NaN");
  }
  optimizer.step();
  r.truncated_l1 = loss.truncated_l1.item<double>();
  r.focal_map = loss.focal_map.item<double>();
  r.focal_score = loss.focal_score.item<double>();
  r.grad_norm = norm.item<double>();
  return r;
}

}  // namespace ssn
