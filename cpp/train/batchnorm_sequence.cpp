#include "train/batchnorm_sequence.h"

#include "common/error.h"

namespace ssn {

BatchNormSequence::BatchNormSequence(SuperSimpleNet& net) {
  for (const auto& item : net->named_modules()) {
    if (item.key().rfind("feature_extractor", 0) == 0) continue;
    auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(item.value().get());
    if (bn == nullptr) continue;
    if (!bn->options.momentum().has_value()) {
      throw Error(ErrorCode::Config, "BatchNorm '" + item.key() + "' has no momentum",
                  "distributed training needs momentum-based running statistics");
    }
    layers_.push_back({bn, *bn->options.momentum()});
  }
}

void BatchNormSequence::begin_step() {
  start_mean_.clear();
  start_var_.clear();
  parts_.clear();
  local_ran_ = 0;
  for (const Layer& l : layers_) {
    start_mean_.push_back(l.bn->running_mean.clone());
    start_var_.push_back(l.bn->running_var.clone());
  }
}

void BatchNormSequence::before_part() {
  torch::NoGradGuard no_grad;
  for (const Layer& l : layers_) {
    l.bn->running_mean.zero_();
    l.bn->running_var.zero_();
  }
}

void BatchNormSequence::after_part(bool ran) {
  local_ran_ += ran ? 1 : 0;
  if (layers_.empty()) return;
  const auto options = layers_[0].bn->running_mean.options().dtype(torch::kFloat64);
  std::vector<torch::Tensor> flat{torch::full({1}, ran ? 1.0 : 0.0, options)};
  for (const Layer& l : layers_) {
    flat.push_back(l.bn->running_mean.to(torch::kFloat64));
    flat.push_back(l.bn->running_var.to(torch::kFloat64));
  }
  parts_.push_back(torch::cat(flat));
}

void BatchNormSequence::finish_step(DistributedGroup& group, const std::string& what) {
  if (layers_.empty()) return;
  // [W, parts per rank, 1 + 2 * channels]: every rank applies the same parts in the same order.
  const torch::Tensor all = group.all_gather(torch::stack(parts_), what);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> mean, var;
  for (size_t i = 0; i < layers_.size(); ++i) {
    mean.push_back(start_mean_[i].to(torch::kFloat64));
    var.push_back(start_var_[i].to(torch::kFloat64));
  }
  int64_t ran = 0;
  for (int64_t r = 0; r < all.size(0); ++r) {
    for (int64_t p = 0; p < all.size(1); ++p) {
      const torch::Tensor part = all[r][p];
      if (part[0].item<double>() == 0.0) continue;
      ++ran;
      int64_t at = 1;
      for (size_t i = 0; i < layers_.size(); ++i) {
        const int64_t c = mean[i].numel();
        const double keep = 1.0 - layers_[i].momentum;
        // What the part's forward did to running statistics x: x * (1 - m) + m * statistic.
        mean[i] = mean[i] * keep + part.narrow(0, at, c);
        var[i] = var[i] * keep + part.narrow(0, at + c, c);
        at += 2 * c;
      }
    }
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto* bn = layers_[i].bn;
    bn->running_mean.copy_(mean[i]);
    bn->running_var.copy_(var[i]);
    // The step's own parts already counted theirs: the count becomes the start plus every rank's parts.
    bn->num_batches_tracked.add_(ran - local_ran_);
  }
}

}  // namespace ssn
