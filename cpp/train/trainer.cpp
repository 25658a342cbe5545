#include "train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>

#include "common/error.h"

namespace ssn {
namespace {

constexpr const char* kPrefix = "train.";
constexpr uint64_t kPerlinSeedMix = 0x9E3779B97F4A7C15ULL;  // a different stream than the data generator

int64_t as_int64(uint64_t v) {
  int64_t out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}
uint64_t as_uint64(int64_t v) {
  uint64_t out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

const torch::Tensor& need(const NamedTensors& state, const std::string& key) {
  const auto it = state.find(key);
  if (it == state.end()) {
    throw Error(ErrorCode::Checkpoint, "training state: '" + key + "' is missing",
                "resume from a state saved by Trainer::export_state");
  }
  return it->second;
}

TrainStepConfig step_config_of(const TrainConfig& c) {
  TrainStepConfig s;
  s.generator = c.generator;
  s.stop_grad = c.stop_grad;
  s.clip_grad_norm = c.clip_grad_norm;
  s.mask_align_corners = c.mask_align_corners;
  s.precision = c.precision;
  return s;
}

MultiStepLR scheduler_of(const TrainConfig& c) {
  return c.milestones.empty() ? MultiStepLR::official(c.epochs, c.gamma) : MultiStepLR(c.milestones, c.gamma);
}

// Heads back in eval mode whichever way fit() leaves.
struct EvalOnExit {
  SuperSimpleNet& net;
  ~EvalOnExit() { net->eval(); }
};

}  // namespace

Trainer::Trainer(SuperSimpleNet net, TrainConfig config)
    : net_(std::move(net)),
      config_((config.validate(), std::move(config))),
      optimizer_(make_supersimplenet_optimizer(net_, config_.optimizer)),
      scheduler_(scheduler_of(config_)),
      step_config_(step_config_of(config_)),
      scaler_(config_.precision == Precision::Float16),
      data_generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)) {
  random_.perlin_generator = at::make_generator<at::CPUGeneratorImpl>(config_.seed ^ kPerlinSeedMix);
  random_.noise_seed = config_.seed;
  random_.noise_offset = 0;
}

void Trainer::check_sample(const TrainSample& s, int64_t index) const {
  const int64_t h = net_->image_h(), w = net_->image_w();
  const bool image_ok = s.image.defined() && s.image.dim() == 3 && s.image.size(0) == 3 && s.image.size(1) == h &&
                        s.image.size(2) == w && s.image.is_floating_point();
  const bool mask_ok = !s.mask.defined() || (s.mask.dim() == 2 && s.mask.size(0) == h && s.mask.size(1) == w);
  if (!image_ok || !mask_ok) {
    std::ostringstream os;
    os << "training sample " << index << ": expected a float image [3," << h << "," << w << "] and a mask [" << h << ","
       << w << "], got ";
    if (s.image.defined())
      os << s.image.sizes() << " " << c10::toString(s.image.scalar_type());
    else
      os << "no image";
    os << " and ";
    if (s.mask.defined())
      os << s.mask.sizes();
    else
      os << "no mask";
    throw Error(ErrorCode::Shape, os.str(), "resize and preprocess the images to the model size first");
  }
  if (s.label != 0 && s.label != 1) {
    throw Error(ErrorCode::Input,
                "training sample " + std::to_string(index) + ": label must be 0 or 1, got " + std::to_string(s.label),
                "use 0 for normal and 1 for anomalous images");
  }
}

TrainBatch Trainer::load_batch(TrainDataSource& data, const std::vector<SampledItem>& items) {
  std::vector<torch::Tensor> images, masks, features, weights;
  std::vector<float> labels;
  std::vector<uint8_t> segmented;
  bool all_features = true, any_weights = false;
  for (const SampledItem& item : items) {
    TrainSample s = data.get(item.source_index);
    check_sample(s, item.source_index);
    // An unsegmented sample's mask is all zero, whatever file it came with (the JIMS dataset), so weak training
    // never reads a mask, not even through the generator's overlap rule.
    const bool segmented_sample = is_segmented(config_.setting, s.label, s.mask.defined());
    const bool use_mask = s.mask.defined() && segmented_sample;
    torch::Tensor mask =
        use_mask ? s.mask.to(torch::kCPU, torch::kFloat32) : torch::zeros({net_->image_h(), net_->image_w()});
    images.push_back(apply_flip(s.image.to(torch::kCPU, torch::kFloat32), item.flip));
    masks.push_back(apply_flip(mask, item.flip));
    labels.push_back(static_cast<float>(s.label));
    segmented.push_back(segmented_sample ? 1 : 0);
    const bool use_weights = use_mask && s.loss_weights.defined();
    weights.push_back(use_weights ? apply_flip(s.loss_weights.to(torch::kCPU, torch::kFloat32), item.flip)
                                  : torch::ones_like(masks.back()));
    any_weights = any_weights || use_weights;
    all_features = all_features && s.features.defined() && item.flip == Flip::None;
    if (all_features) features.push_back(s.features);
  }
  TrainBatch batch{torch::stack(images), torch::stack(masks), torch::tensor(labels)};
  if (all_features) batch.features = torch::stack(features);
  // Unsupervised keeps the ICPR step as it is; the other regimes say which samples carry pixel labels.
  if (config_.uses_defects()) batch.segmented = torch::tensor(segmented, torch::kUInt8).to(torch::kBool);
  if (any_weights) batch.loss_weights = torch::stack(weights);
  return batch;
}

int64_t Trainer::prepare_epochs(TrainDataSource& data) {
  const int64_t size = data.size();
  if (size < 1) throw Error(ErrorCode::Input, "no training images", "pass at least one image");
  if (config_.uses_defects() && !sampler_) {
    std::vector<int64_t> positives, negatives;
    for (int64_t i = 0; i < size; ++i) {
      const int64_t label = data.label(i);
      if (label != 0 && label != 1) {
        throw Error(ErrorCode::Input,
                    "training sample " + std::to_string(i) + ": label must be 0 or 1, got " + std::to_string(label),
                    "use 0 for normal and 1 for anomalous images");
      }
      (label == 1 ? positives : negatives).push_back(i);
    }
    sampler_ = std::make_unique<SupervisedSampler>(std::move(positives), std::move(negatives), config_.flips);
    if (!pending_sampler_state_.empty())
      sampler_->import_state(pending_sampler_state_, std::string(kPrefix) + "sampler.");
    pending_sampler_state_.clear();
  }
  const int64_t length = sampler_ ? sampler_->epoch_length() : size;
  if (order_.defined() && order_.numel() != length) {
    throw Error(ErrorCode::Input,
                "the training state was saved for " + std::to_string(order_.numel()) +
                    " samples per epoch, this data set gives " + std::to_string(length),
                "resume with the same training images");
  }
  return length;
}

void Trainer::use_group(DistributedGroup* group) {
  group_ = group != nullptr && group->world_size() > 1 ? group : nullptr;
  batchnorm_sequence_ = group_ != nullptr ? std::make_unique<BatchNormSequence>(net_) : nullptr;
  if (group_ != nullptr && config_.micro_batches % group_->world_size() != 0) {
    throw Error(ErrorCode::Config,
                "this run splits each step into " + std::to_string(config_.micro_batches) + " micro-batches, which " +
                    std::to_string(group_->world_size()) + " ranks cannot share evenly",
                "use a world size that divides " + std::to_string(config_.micro_batches) +
                    " (a resumed run keeps its micro-batches: world size x gradient accumulation)");
  }
}

void Trainer::check_ranks_agree(TrainDataSource& data) {
  if (group_ == nullptr) return;
  uint64_t labels = 0;  // a hash of the label sequence
  for (int64_t i = 0; i < data.size(); ++i) labels = labels * 31 + static_cast<uint64_t>(data.label(i) + 1);
  const auto config_hash = static_cast<int64_t>(std::hash<std::string>{}(config_.to_json().dump()));
  const torch::Tensor mine = torch::tensor({data.size(), as_int64(labels), config_hash, epoch_, step_}, torch::kInt64);
  group_->mark("the start");
  const torch::Tensor all = group_->all_gather(mine, "the start");
  const char* what[] = {"training images", "labels", "training configuration", "epoch", "step"};
  for (int64_t r = 0; r < all.size(0); ++r) {
    for (int64_t k = 0; k < mine.numel(); ++k) {
      if (all[r][k].item<int64_t>() == mine[k].item<int64_t>()) continue;
      throw Error(ErrorCode::Distributed,
                  "rank " + std::to_string(group_->rank()) + ": rank " + std::to_string(r) + " has other " + what[k] +
                      " than this rank",
                  "start every rank with the same data, options and checkpoint");
    }
  }
}

TrainStepResult Trainer::run_step(TrainDataSource& data, const torch::Tensor& indices) {
  const int64_t n = indices.numel();
  // Every rank samples the whole batch and draws its randomness, in the single-process order, then keeps its
  // own parts: the draws depend on the seed and the step, not on the world size or the micro-batches.
  std::vector<SampledItem> items;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t index = indices[i].item<int64_t>();
    items.push_back(sampler_ ? sampler_->retrieve(index, data_generator_) : SampledItem{index, Flip::None});
  }
  const auto [fh, fw] = net_->feature_size();
  const StepDraws draws = draw_step(step_config_.generator, random_, n, fh, fw);
  optimizer_.zero_grad();
  const int64_t world = group_ != nullptr ? group_->world_size() : 1;
  const int64_t rank = group_ != nullptr ? group_->rank() : 0;
  const int64_t parts = config_.micro_batches, per_rank = parts / world;
  const std::string what = "step " + std::to_string(steps_taken_ + 1);
  if (batchnorm_sequence_) batchnorm_sequence_->begin_step();
  TrainStepResult sum;
  for (int64_t k = 0; k < per_rank; ++k) {
    const int64_t part = rank * per_rank + k;
    const int64_t first = part * n / parts, end = (part + 1) * n / parts;
    if (batchnorm_sequence_) batchnorm_sequence_->before_part();
    if (end > first) {
      const TrainBatch batch = load_batch(data, {items.begin() + first, items.begin() + end});
      const double weight = static_cast<double>(end - first) / static_cast<double>(n);
      const TrainStepResult r = accumulate_gradients(net_, batch, step_config_, draws, first, weight, &scaler_);
      sum.loss += r.loss;
      sum.truncated_l1 += r.truncated_l1;
      sum.focal_map += r.focal_map;
      sum.focal_score += r.focal_score;
    }
    if (batchnorm_sequence_) batchnorm_sequence_->after_part(end > first);
  }
  if (group_ != nullptr) {
    group_->mark(what);
    sum_across_ranks(sum, what);
    batchnorm_sequence_->finish_step(*group_, what);
  }
  steps_taken_ += 1;
  return finish_step(optimizer_, step_config_, &scaler_, sum);
}

void Trainer::sum_across_ranks(TrainStepResult& losses, const std::string& what) {
  // Every gradient in one buffer: one all-reduce per step. A rank whose parts were all empty adds zeros.
  std::vector<torch::Tensor> params = optimizer_.parameters();
  std::vector<torch::Tensor> flat;
  for (const auto& p : params)
    flat.push_back(p.grad().defined() ? p.grad().reshape(-1) : torch::zeros_like(p).reshape(-1));
  torch::Tensor buffer = torch::cat(flat);
  group_->all_reduce_sum(buffer, what);
  int64_t at = 0;
  for (auto& p : params) {
    p.mutable_grad() = buffer.narrow(0, at, p.numel()).view_as(p);
    at += p.numel();
  }
  // The losses, and whether any rank was asked to stop (so that all stop after this step).
  const double stop = cancel_ != nullptr && cancel_->load() ? 1.0 : 0.0;
  torch::Tensor summed =
      torch::tensor({losses.loss, losses.truncated_l1, losses.focal_map, losses.focal_score, stop}, torch::kFloat64);
  group_->all_reduce_sum(summed, what);
  losses.loss = summed[0].item<double>();
  losses.truncated_l1 = summed[1].item<double>();
  losses.focal_map = summed[2].item<double>();
  losses.focal_score = summed[3].item<double>();
  stop_agreed_ = summed[4].item<double>() > 0;
}

double Trainer::seconds_per_step(TrainDataSource& data, int64_t timed_steps, const std::atomic<bool>* cancel) {
  const int64_t length = prepare_epochs(data);
  check_ranks_agree(data);
  const int64_t batch_size = std::min(config_.batch_size, length);
  const torch::Tensor order = torch::randperm(length, data_generator_, torch::kInt64);
  EvalOnExit eval_on_exit{net_};
  double timed = 0;
  for (int64_t i = 0; i <= timed_steps; ++i) {
    if (cancel != nullptr && cancel->load()) {
      throw Error(ErrorCode::Aborted, "training cancelled while its speed was measured",
                  "train again to start over; nothing was trained yet");
    }
    const auto start = std::chrono::steady_clock::now();
    const int64_t begin = (i * batch_size) % std::max<int64_t>(1, length - batch_size + 1);
    run_step(data, order.slice(0, begin, begin + batch_size));
    // The first step pays for allocations and kernel selection: not timed.
    if (i > 0) timed += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  torch::Tensor seconds = torch::tensor({timed / static_cast<double>(std::max<int64_t>(1, timed_steps))});
  // The slowest rank sets the pace of every step.
  if (group_ != nullptr) group_->all_reduce_max(seconds, "the warm-up's timing");
  return seconds.item<double>();
}

int64_t Trainer::steps_per_epoch(TrainDataSource& data) {
  const int64_t length = prepare_epochs(data);
  return (length + config_.batch_size - 1) / config_.batch_size;
}

void Trainer::fit(TrainDataSource& data, const TrainProgressCallback& progress, const std::atomic<bool>* cancel,
                  const EpochEndCallback& epoch_end) {
  const int64_t length = prepare_epochs(data);
  check_ranks_agree(data);
  const int64_t batch_size = config_.batch_size;
  const int64_t steps_per_epoch = (length + batch_size - 1) / batch_size;

  EvalOnExit eval_on_exit{net_};
  const auto start = std::chrono::steady_clock::now();
  int64_t images_done = 0, steps_done = 0;
  cancel_ = cancel;
  stop_agreed_ = false;
  while (epoch_ < config_.epochs) {
    if (!order_.defined()) order_ = torch::randperm(length, data_generator_, torch::kInt64);
    while (step_ < steps_per_epoch) {
      // Distributed ranks stop after the same step: the one where any rank's flag was set.
      if (group_ != nullptr ? stop_agreed_ : cancel != nullptr && cancel->load()) {
        throw Error(ErrorCode::Aborted,
                    "training cancelled after epoch " + std::to_string(epoch_) + ", step " + std::to_string(step_),
                    "export the training state and call fit() again to resume");
      }
      const int64_t begin = step_ * batch_size;
      const torch::Tensor indices = order_.slice(0, begin, std::min(length, begin + batch_size));
      TrainProgress p;
      p.lr_adaptor = optimizer_.groups()[0].lr;
      p.lr_seg = optimizer_.groups()[1].lr;
      p.lr_cls = optimizer_.groups()[2].lr;
      p.losses = run_step(data, indices);
      step_ += 1;
      images_done += indices.numel();
      steps_done += 1;
      if (progress) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const int64_t remaining = (config_.epochs - epoch_) * steps_per_epoch - step_;
        p.epoch = epoch_;
        p.epochs = config_.epochs;
        p.step = step_;
        p.steps_per_epoch = steps_per_epoch;
        p.batch = indices.numel();
        p.precision = config_.precision;
        p.images_per_second = elapsed > 0 ? images_done / elapsed : 0;
        p.eta_seconds = elapsed / steps_done * remaining;
        progress(p);
      }
    }
    epoch_ += 1;
    step_ = 0;
    order_ = torch::Tensor();
    scheduler_.step(optimizer_);
    if (epoch_end) epoch_end(epoch_);
  }
}

NamedTensors Trainer::export_state() const {
  NamedTensors state;
  for (const auto& [name, t] : net_.ptr()->head_state()) state[name] = t.to(torch::kCPU).clone();
  const std::string p = kPrefix;
  for (auto& kv : optimizer_.export_state(p + "optimizer.")) state.insert(kv);
  state[p + "epoch"] = torch::tensor(epoch_, torch::kInt64);
  state[p + "step"] = torch::tensor(step_, torch::kInt64);
  if (order_.defined()) state[p + "order"] = order_.clone();
  state[p + "rng.data"] = data_generator_.get_state().clone();
  state[p + "rng.perlin"] = random_.perlin_generator.get_state().clone();
  state[p + "noise.seed"] = torch::tensor(as_int64(random_.noise_seed), torch::kInt64);
  state[p + "noise.offset"] = torch::tensor(as_int64(random_.noise_offset), torch::kInt64);
  scaler_.export_state(state, p + "scaler.");
  if (sampler_) {
    for (auto& kv : sampler_->export_state(p + "sampler.")) state.insert(kv);
  } else {
    for (const auto& kv : pending_sampler_state_) state.insert(kv);
  }
  return state;
}

void Trainer::import_state(const NamedTensors& state) {
  const std::string p = kPrefix;
  const int64_t epoch = need(state, p + "epoch").item<int64_t>();
  const int64_t step = need(state, p + "step").item<int64_t>();
  const auto order = state.find(p + "order");
  if (epoch < 0 || epoch > config_.epochs || step < 0 || (step > 0 && order == state.end())) {
    throw Error(ErrorCode::Checkpoint,
                "training state: epoch " + std::to_string(epoch) + ", step " + std::to_string(step) + " do not fit a " +
                    std::to_string(config_.epochs) + "-epoch run",
                "resume with the configuration the state was saved with");
  }
  net_->load_head_state(state);
  optimizer_.import_state(state, p + "optimizer.");
  epoch_ = epoch;
  step_ = step;
  order_ = order == state.end() ? torch::Tensor() : order->second.to(torch::kInt64).clone();
  scheduler_.restore(optimizer_, epoch_);
  data_generator_.set_state(need(state, p + "rng.data"));
  random_.perlin_generator.set_state(need(state, p + "rng.perlin"));
  random_.noise_seed = as_uint64(need(state, p + "noise.seed").item<int64_t>());
  random_.noise_offset = as_uint64(need(state, p + "noise.offset").item<int64_t>());
  scaler_.import_state(state, p + "scaler.");
  NamedTensors sampler_state;
  for (const auto& kv : state)
    if (kv.first.rfind(p + "sampler.", 0) == 0) sampler_state.insert(kv);
  if (config_.uses_defects() && sampler_state.empty() && (epoch_ > 0 || step_ > 0)) {
    throw Error(ErrorCode::Checkpoint, "training state: the supervised sampler state is missing",
                "resume with the configuration the state was saved with");
  }
  if (sampler_ && !sampler_state.empty()) {
    sampler_->import_state(sampler_state, p + "sampler.");
  } else {
    pending_sampler_state_ = std::move(sampler_state);
  }
}

}  // namespace ssn
