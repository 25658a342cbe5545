#include "train/train_step.h"

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>

#include "common/error.h"
#include "train/gt_mask.h"
#include "train/losses.h"

namespace ssn {
namespace {

// Channels-last head activations under mixed precision on CUDA (the layout cuDNN's tensor cores want). Not on
// the CPU: with libtorch 1.13's oneDNN bf16 kernels, channels-last heads gave non-finite outputs now and then,
// depending on the heap's layout (reproduced in the core test suite, never with NCHW), for a gain of only 5 %
// per step on an AVX512-BF16 CPU (bench/README.md). fp32 keeps NCHW. SSN_TRAIN_CHANNELS_LAST=0|1 overrides,
// for measurements.
bool train_channels_last(bool mixed, const torch::Device& device) {
  static const char* env = std::getenv("SSN_TRAIN_CHANNELS_LAST");
  return env != nullptr ? std::string(env) == "1" : mixed && device.is_cuda();
}

}  // namespace

TrainStepResult accumulate_gradients(SuperSimpleNet& net, const TrainBatch& batch, const TrainStepConfig& config,
                                     const StepDraws& draws, int64_t first, double weight, GradScaler* scaler,
                                     const AnomalyInjection* injection) {
  if (!batch.labels.defined() || batch.labels.dim() != 1 || !batch.images.defined() ||
      batch.images.size(0) != batch.labels.size(0)) {
    std::ostringstream os;
    os << "train_step: expected images [B,3,H,W] and labels [B] with the same B, got ";
    if (batch.images.defined())
      os << batch.images.sizes();
    else
      os << "no images";
    os << " and ";
    if (batch.labels.defined())
      os << batch.labels.sizes();
    else
      os << "no labels";
    throw Error(ErrorCode::Shape, os.str(), "pass one label per image");
  }
  if (config.precision == Precision::Float16 && (scaler == nullptr || !scaler->enabled())) {
    throw Error(ErrorCode::Internal, "train_step: fp16 needs an enabled gradient scaler");
  }
  const int64_t b = batch.images.size(0);
  if ((batch.segmented.defined() && !batch.segmented.sizes().equals({b})) ||
      (batch.loss_weights.defined() &&
       (batch.images.dim() != 4 ||
        !batch.loss_weights.sizes().equals({b, batch.images.size(2), batch.images.size(3)})))) {
    throw Error(ErrorCode::Shape, "train_step: segmented must be [B] and loss_weights [B,H,W] like the images",
                "pass one flag and one weight map per image");
  }
  const bool jims = net->variant() == ModelVariant::Jims;
  net->train(true);
  const torch::Device device = net->adaptor_parameters()[0].device();
  // The backbone is frozen and in eval mode: precomputed features are the same tensor.
  const bool mixed = config.precision != Precision::Float32;
  const torch::Tensor features = !batch.features.defined()
                                     ? net->extract_features(batch.images)  // fp32, no grad inside
                                 : mixed ? batch.features.to(device)
                                         : batch.features.to(device, torch::kFloat32);
  torch::Tensor adapted;
  {
    AutocastScope autocast(device, config.precision);
    adapted = net->adapt(features);
  }
  // The noise is drawn and added in fp32 (the same bits as an fp32 run); the heads cast back under autocast.
  adapted = adapted.to(torch::kFloat32);
  const int64_t fh = adapted.size(2), fw = adapted.size(3);
  const torch::Tensor gt = downsample_gt_mask(batch.masks, fh, fw, config.mask_align_corners);
  const AnomalyBatch anomalies = generate_anomalies(adapted, gt, batch.labels, config.generator, draws, first,
                                                    injection, jims ? features : torch::Tensor());
  HeadOutput out;
  {
    AutocastScope autocast(device, config.precision);
    // Cast once here rather than in each head's convolution (the same rounding either way).
    auto head_input = [&](const torch::Tensor& x) {
      torch::Tensor y = mixed ? x.to(precision_dtype(config.precision)) : x;
      return train_channels_last(mixed, device) ? y.contiguous(torch::MemoryFormat::ChannelsLast) : y;
    };
    const torch::Tensor seg_input = head_input(anomalies.perturbed);
    out = net->heads(seg_input, jims ? head_input(anomalies.perturbed_features) : seg_input, config.stop_grad);
  }
  // A run that diverged gives NaN or inf outputs, which the losses would turn into libtorch's opaque "input
  // should be between 0 and 1": say what happened instead (one device sync per step).
  if (!torch::isfinite(out.seg_logits).all().item<bool>() || !torch::isfinite(out.score_logit).all().item<bool>()) {
    throw Error(ErrorCode::Config, "training diverged: the heads' outputs are not finite (NaN or inf)",
                "lower the learning rates (adaptLr, segLr, decLr) or clip the gradients (clipGradNorm)");
  }
  // Losses in fp32, whatever the heads ran in. The regime loss only where a sample is unsegmented or weighted:
  // otherwise both give the same value, and the ICPR code's formula keeps its bits.
  const torch::Tensor seg_logits = out.seg_logits.to(torch::kFloat32), score = out.score_logit.to(torch::kFloat32);
  const bool all_segmented = !batch.segmented.defined() || batch.segmented.to(torch::kBool).all().item<bool>();
  LossParts loss;
  if (all_segmented && !batch.loss_weights.defined()) {
    loss = supersimplenet_loss(seg_logits, anomalies.target_mask, score, anomalies.target_label);
  } else {
    // The generator duplicated the batch: flags and weights follow it.
    const torch::Tensor segmented = batch.segmented.defined()
                                        ? batch.segmented.to(device, torch::kBool)
                                        : torch::ones({b}, torch::TensorOptions(device).dtype(torch::kBool));
    torch::Tensor weights;
    if (batch.loss_weights.defined()) {
      const torch::Tensor w = downsample_loss_weights(batch.loss_weights.to(device), fh, fw);
      weights = torch::cat({w, w});
    }
    loss = regime_loss(seg_logits, anomalies.target_mask, score, anomalies.target_label,
                       torch::cat({segmented, segmented}), weights);
  }
  // The whole batch's part keeps the bits of an unweighted step.
  const torch::Tensor weighted = weight == 1.0 ? loss.total : loss.total * weight;
  const bool scaled = scaler != nullptr && scaler->enabled();
  (scaled ? scaler->scale_loss(weighted) : weighted).backward();
  TrainStepResult r;
  r.loss = weight * loss.total.item<double>();
  r.truncated_l1 = weight * loss.truncated_l1.item<double>();
  r.focal_map = weight * loss.focal_map.item<double>();
  r.focal_score = weight * loss.focal_score.item<double>();
  return r;
}

TrainStepResult finish_step(AdamW& optimizer, const TrainStepConfig& config, GradScaler* scaler,
                            TrainStepResult losses) {
  const bool scaled = scaler != nullptr && scaler->enabled();
  const std::vector<torch::Tensor> params = optimizer.parameters();
  const bool finite_grads = !scaled || scaler->unscale(params);
  const torch::Tensor norm =
      config.clip_grad_norm > 0 ? clip_grad_norm(params, config.clip_grad_norm) : global_grad_norm(params);
  if (!std::isfinite(losses.loss)) {
    throw Error(ErrorCode::Config, "training diverged: the loss is not finite (" + std::to_string(losses.loss) + ")",
                "lower the learning rates (adaptLr, segLr, decLr) or clip the gradients (clipGradNorm)");
  }
  if (finite_grads) optimizer.step();
  if (scaled) scaler->update(!finite_grads);
  losses.skipped = !finite_grads;
  losses.grad_norm = norm.item<double>();
  return losses;
}

TrainStepResult train_step(SuperSimpleNet& net, AdamW& optimizer, const TrainBatch& batch,
                           const TrainStepConfig& config, AnomalyRandom& random, GradScaler* scaler,
                           const AnomalyInjection* injection) {
  optimizer.zero_grad();
  StepDraws draws;  // bad batches are reported by accumulate_gradients
  if (batch.images.defined() && batch.images.dim() == 4 && batch.images.size(0) > 0) {
    const int64_t b = batch.images.size(0);
    const auto [fh, fw] = net->feature_size();
    draws = draw_step(config.generator, random, b, fh, fw);
  }
  const TrainStepResult losses = accumulate_gradients(net, batch, config, draws, 0, 1.0, scaler, injection);
  return finish_step(optimizer, config, scaler, losses);
}

}  // namespace ssn
