#include "train/supervised_sampler.h"

#include <cmath>

#include "common/error.h"

namespace ssn {

torch::Tensor apply_flip(const torch::Tensor& t, Flip flip) {
  const int64_t h = t.dim() - 2, w = t.dim() - 1;
  switch (flip) {
    case Flip::None:
      return t;
    case Flip::Vertical:
      return t.flip({h});
    case Flip::Horizontal:
      return t.flip({w});
    case Flip::Rot180:
      return t.flip({h, w});
  }
  return t;
}

SupervisedSampler::SupervisedSampler(std::vector<int64_t> positives, std::vector<int64_t> negatives, bool flips)
    : positives_(std::move(positives)), negatives_(std::move(negatives)), k_(flips ? 4 : 1) {
  if (positives_.empty() || negatives_.empty()) {
    throw Error(ErrorCode::Input,
                "supervised training needs anomalous and normal images, got " + std::to_string(positives_.size()) +
                    " anomalous and " + std::to_string(negatives_.size()) + " normal",
                "add labelled defects and normal images, or train unsupervised");
  }
  frequency_ = torch::zeros({nn()}, torch::kInt64);
}

void SupervisedSampler::draw_permutation(at::Generator& generator) {
  const int64_t needed = k_ * p();
  const bool replacement = needed > nn();
  if (!permutation_.defined()) {
    permutation_ = replacement ? torch::randint(0, nn(), {needed}, generator, torch::kInt64)
                               : torch::randperm(nn(), generator, torch::kInt64);
    return;
  }
  // MSD inverse retrieval frequency: q = 1 - f/max f; q = q - median(q) + 1; q = q^(4 ln Nn).
  torch::Tensor f = frequency_.to(torch::kFloat64);
  torch::Tensor q = 1 - f / f.max().clamp_min(1.0);
  // numpy's median averages the two middle values of an even count (torch's median takes the lower one).
  const torch::Tensor sorted = std::get<0>(q.sort());
  const int64_t n = q.size(0);
  const double median = n % 2 == 1 ? sorted[n / 2].item<double>()
                                   : 0.5 * (sorted[n / 2 - 1].item<double>() + sorted[n / 2].item<double>());
  q = (q - median + 1).pow(4.0 * std::log(static_cast<double>(n)));
  // numpy would refuse to draw without replacement from fewer non-zero weights than draws: stay uniform then.
  if (!replacement && q.gt(0).sum().item<int64_t>() < needed) q = torch::ones_like(q);
  permutation_ = torch::multinomial(q / q.sum(), needed, replacement, generator);
}

SampledItem SupervisedSampler::retrieve(int64_t index, at::Generator& generator) {
  if (index < 0 || index >= epoch_length()) {
    throw Error(ErrorCode::Internal, "SupervisedSampler: index " + std::to_string(index) + " outside the epoch");
  }
  if (!permutation_.defined() || counter_ >= epoch_length()) {
    if (permutation_.defined()) counter_ = 0;
    draw_permutation(generator);
  }
  SampledItem item;
  const int64_t kp = k_ * p();
  if (index < kp) {
    item.source_index = positives_[index % p()];
    item.flip = static_cast<Flip>(index / p());
  } else {
    const int64_t neg = permutation_[index % kp].item<int64_t>();
    item.source_index = negatives_[neg];
    frequency_[neg] += 1;
  }
  counter_ += 1;
  return item;
}

NamedTensors SupervisedSampler::export_state(const std::string& prefix) const {
  NamedTensors out;
  out[prefix + "counter"] = torch::tensor(counter_, torch::kInt64);
  out[prefix + "frequency"] = frequency_.clone();
  if (permutation_.defined()) out[prefix + "permutation"] = permutation_.clone();
  return out;
}

void SupervisedSampler::import_state(const NamedTensors& state, const std::string& prefix) {
  const auto counter = state.find(prefix + "counter");
  const auto frequency = state.find(prefix + "frequency");
  if (counter == state.end() || frequency == state.end() || frequency->second.numel() != nn()) {
    throw Error(ErrorCode::Checkpoint,
                "training state: the supervised sampler state is missing or was saved for another data set",
                "resume with the same training images");
  }
  counter_ = counter->second.item<int64_t>();
  frequency_ = frequency->second.to(torch::kInt64).clone();
  const auto permutation = state.find(prefix + "permutation");
  permutation_ = permutation == state.end() ? torch::Tensor() : permutation->second.to(torch::kInt64).clone();
}

}  // namespace ssn
