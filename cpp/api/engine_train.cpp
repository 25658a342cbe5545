// Engine::train: the trainer on a TrainSet, with a frozen-backbone feature cache, checkpoints that resume
// exactly, and the training state carried by the model bundle.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "api/engine.h"
#include "api/train_set.h"
#include "common/error.h"
#include "io/json.h"
#include "train/mixed_precision.h"

namespace ssn {
namespace {

constexpr const char* kTrainPrefix = "train.";
constexpr int64_t kCacheChunk = 8;        // images per backbone call while filling the cache
constexpr int64_t kBudgetTimedSteps = 2;  // warm-up steps timed to size a budgeted schedule (after one untimed)

// The stored 8-bit samples as the trainer reads them: preprocessed on demand (one image at a time, so
// memory stays at the 8-bit size), with the backbone's features from the cache when it is filled.
class TrainSetSource : public TrainDataSource {
 public:
  // mask_prep: dilation and loss weights of the 2025 extension, computed once per masked item up front.
  TrainSetSource(const TrainSet& set, const Preprocessing& prep, const MaskPrep& mask_prep) : set_(set), prep_(prep) {
    if (mask_prep == MaskPrep{}) return;
    prepared_.resize(set.size());
    for (int64_t i = 0; i < set.size(); ++i)
      if (set.has_mask(i)) prepared_[i] = set.prepared_mask(i, mask_prep);
  }

  int64_t size() const override { return set_.size(); }
  int64_t label(int64_t index) override { return set_.label(index); }

  TrainSample get(int64_t index) override {
    TrainSample s;
    s.image = preprocess(set_.image(index).unsqueeze(0), prep_)[0];
    const bool prepared = !prepared_.empty() && prepared_[index].first.defined();
    const torch::Tensor mask = prepared ? prepared_[index].first : set_.mask(index);
    if (mask.defined()) s.mask = mask.to(torch::kFloat32);
    if (prepared) s.loss_weights = prepared_[index].second;
    s.label = set_.label(index);
    if (cache_.defined()) s.features = cache_[index];
    return s;
  }

  // Bytes the cache would take: every image's features at the shape of the first one's.
  int64_t cache_bytes(SuperSimpleNet& net, torch::ScalarType dtype) {
    const torch::Tensor f = net->extract_features(get(0).image.unsqueeze(0));
    return set_.size() * (f.numel() / f.size(0)) * static_cast<int64_t>(c10::elementSize(dtype));
  }

  // The backbone runs in eval mode without gradients, so a sample's features never change: compute them
  // once (CPU memory; the training step moves them to the model's device). Mixed precision keeps them in
  // the autocast dtype: the adaptor casts its input to it anyway, so nothing changes but the memory.
  void fill_cache(SuperSimpleNet& net, torch::ScalarType dtype, const std::atomic<bool>* cancel) {
    std::vector<torch::Tensor> chunks;
    for (int64_t begin = 0; begin < set_.size(); begin += kCacheChunk) {
      if (cancel != nullptr && cancel->load()) {
        throw Error(ErrorCode::Aborted, "training cancelled while caching the backbone features",
                    "train again to start over; nothing was trained yet");
      }
      std::vector<torch::Tensor> images;
      for (int64_t i = begin; i < std::min(set_.size(), begin + kCacheChunk); ++i) images.push_back(get(i).image);
      chunks.push_back(net->extract_features(torch::stack(images)).to(torch::kCPU, dtype));
    }
    cache_ = torch::cat(chunks);
  }

 private:
  const TrainSet& set_;
  Preprocessing prep_;
  torch::Tensor cache_;                                            // [N,C,fh,fw] float, CPU
  std::vector<std::pair<torch::Tensor, torch::Tensor>> prepared_;  // per item: mask and loss weights, or empty
};

// Defect images of a training set, and how many of them carry a mask.
struct DefectCounts {
  int64_t defects = 0, masked = 0;
};

DefectCounts count_defects(const TrainSet& data) {
  DefectCounts c;
  for (int64_t i = 0; i < data.size(); ++i) {
    if (data.label(i) != 1) continue;
    ++c.defects;
    c.masked += data.has_mask(i) ? 1 : 0;
  }
  return c;
}

// The regime the data allows when none is asked for, and why (JIMS Supervision): no defect images:
// unsupervised; every defect image with a mask: supervised; some: mixed; none: weak.
std::pair<Supervision, std::string> setting_from_data(const DefectCounts& c) {
  const std::string counts =
      std::to_string(c.masked) + " of " + std::to_string(c.defects) + " defect images have masks";
  if (c.defects == 0) return {Supervision::Unsupervised, "chosen from the data: normal images only"};
  if (c.masked == c.defects) return {Supervision::Supervised, "chosen from the data: " + counts};
  if (c.masked == 0) return {Supervision::Weak, "chosen from the data: " + counts + " (image labels only)"};
  return {Supervision::Mixed, "chosen from the data: " + counts};
}

// A setting the data cannot serve is refused before anything is trained.
void check_setting_against_data(Supervision setting, const DefectCounts& c) {
  const std::string name = supervision_name(setting);
  if (setting != Supervision::Unsupervised && c.defects == 0) {
    throw Error(ErrorCode::Input, "setting '" + name + "' trains on defect images, but the data has none",
                "add defect images (label 1), or use setting 'unsupervised'");
  }
  if (setting == Supervision::Supervised && c.masked < c.defects) {
    throw Error(ErrorCode::Input,
                "setting 'supervised' needs a mask for every defect image; " + std::to_string(c.defects - c.masked) +
                    " of " + std::to_string(c.defects) + " have none",
                "use setting 'mixed' (some masks) or 'weak' (image labels only), or add the masks");
  }
}

Json parse_train_config_json(const std::string& text) {
  try {
    return Json::parse(text.empty() ? "{}" : text);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Config, std::string("the training options are not valid JSON: ") + e.what(),
                "pass a JSON object of training config keys");
  }
}

// Keys whose values differ between two configs, for a resume that was asked for another recipe.
std::string differing_keys(const TrainConfig& a, const TrainConfig& b) {
  const Json ja = a.to_json(), jb = b.to_json();
  std::string out;
  for (const auto& [key, value] : ja.items()) {
    if (value.dump() != jb.at(key).dump())
      out += (out.empty() ? "" : ", ") + key + " " + value.dump() + " vs " + jb.at(key).dump();
  }
  return out;
}

}  // namespace

FeatureCache parse_feature_cache(const std::string& s) {
  if (s == "auto") return FeatureCache::Auto;
  if (s == "on") return FeatureCache::On;
  if (s == "off") return FeatureCache::Off;
  throw Error(ErrorCode::Config, "cache_features must be \"auto\", \"on\" or \"off\", got \"" + s + "\"");
}

void Engine::mark_trained() {
  {
    std::lock_guard<std::mutex> lock(config_mutex_);
    config_.heads_trained = true;
    config_.calibration.reset();  // its thresholds were chosen for the weights just replaced
  }
  weights_changed();
}

void Engine::update_training_json() {
  Json training = Json::object();
  training["config"] = trainer_->config().to_json();
  training["epochs"] = Json(trainer_->config().epochs);
  training["epoch"] = Json(trainer_->epoch());
  training["step"] = Json(trainer_->step_in_epoch());
  training["finished"] = Json(trainer_->finished());
  std::lock_guard<std::mutex> lock(config_mutex_);
  config_.training = training;
}

void Engine::restore_training(const Json& training, const NamedTensors& tensors, const std::string& source) {
  if (!training.is_object() || !training.contains("config")) {
    throw Error(ErrorCode::Checkpoint, source + " has training state entries (train.*) but no training config",
                "resume from a checkpoint written by train(); a plain model starts a new run");
  }
  auto trainer = std::make_unique<Trainer>(net_, TrainConfig::from_json(training.at("config"), config_.variant));
  trainer->import_state(tensors);
  trainer_ = std::move(trainer);
  update_training_json();
}

TrainSummary Engine::train(const TrainSet& data, const TrainOptions& options, const TrainProgressCallback& progress,
                           const std::atomic<bool>* cancel) {
  const auto start = std::chrono::steady_clock::now();
  if (data.height() != config_.image_h || data.width() != config_.image_w) {
    throw Error(ErrorCode::Shape,
                "the training set holds " + std::to_string(data.height()) + "x" + std::to_string(data.width()) +
                    " images, the model takes " + std::to_string(config_.image_h) + "x" +
                    std::to_string(config_.image_w),
                "build the training set at the model's size");
  }
  if (options.checkpoint_every < 0 || (options.checkpoint_every > 0 && options.checkpoint_path.empty())) {
    throw Error(ErrorCode::Config,
                "checkpoints: every " + std::to_string(options.checkpoint_every) + " epochs to '" +
                    options.checkpoint_path + "'",
                "give a checkpoint path and a number of epochs >= 1 (0 turns checkpoints off)");
  }
  if (data.size() == 0) throw Error(ErrorCode::Input, "no training images", "pass at least one normal image");
  if (data.count(0) == 0) {
    throw Error(ErrorCode::Input, "no normal images among the " + std::to_string(data.size()) + " training images",
                "SuperSimpleNet learns what normal looks like: add images labelled 0 (normal)");
  }

  if (!options.resume_path.empty()) {
    std::unique_ptr<Engine> saved = Engine::load(options.resume_path, DevicePreference::Cpu);
    const ModelConfig& c = saved->config();
    if (c.arch != config_.arch || c.image_h != config_.image_h || c.image_w != config_.image_w || !saved->trainer_) {
      throw Error(ErrorCode::Checkpoint,
                  options.resume_path + " is not a training checkpoint of this model (" + backbone_arch_name(c.arch) +
                      " " + std::to_string(c.image_h) + "x" + std::to_string(c.image_w) +
                      (saved->trainer_ ? "" : ", no training state") + ")",
                  "resume from a checkpoint written by train() for a model of the same backbone and size");
    }
    NamedTensors state = saved->trainer_->export_state();
    restore_training(c.training, state, options.resume_path);
    mark_trained();  // the checkpoint's heads replaced ours, even if no step follows
  }

  if (!(options.max_seconds >= 0) || !std::isfinite(options.max_seconds)) {
    throw Error(ErrorCode::Config, "the time budget must be a finite number of seconds >= 0",
                "give the budget in minutes > 0, or leave it out");
  }
  Json requested_json = parse_train_config_json(options.config_json);
  if (!requested_json.is_object() ||
      (requested_json.contains("precision") && !requested_json.at("precision").is_string())) {
    throw Error(ErrorCode::Config, "the training options must be a JSON object with precision a string",
                "pass training config keys, precision \"auto\", \"fp32\", \"bf16\" or \"fp16\"");
  }
  const bool resumed = trainer_ && !trainer_->finished() && (trainer_->epoch() > 0 || trainer_->step_in_epoch() > 0);
  const std::string asked =
      requested_json.contains("precision") ? requested_json.at("precision").as_string() : std::string("auto");
  const PrecisionChoice precision =
      asked == "auto" && resumed
          ? PrecisionChoice{trainer_->config().precision,
                            std::string(precision_name(trainer_->config().precision)) + " (the interrupted run's)"}
          : choose_training_precision(asked, device_);
  requested_json["precision"] = Json(precision_name(precision.precision));
  const DefectCounts defects = count_defects(data);
  std::string setting_reason = "asked for";
  if (!requested_json.contains("setting")) {
    if (resumed) {
      requested_json["setting"] = Json(supervision_name(trainer_->config().setting));
      setting_reason = "the interrupted run's";
    } else {
      const auto [setting, reason] = setting_from_data(defects);
      requested_json["setting"] = Json(supervision_name(setting));
      setting_reason = reason;
    }
  }
  TrainConfig requested = TrainConfig::from_json(requested_json, config_.variant);
  check_setting_against_data(requested.setting, defects);
  options.distributed.validate();
  const int64_t world = options.distributed.world_size;
  if (options.grad_accumulation < 0) {
    throw Error(ErrorCode::Config, "gradAccumulation must be >= 1, got " + std::to_string(options.grad_accumulation),
                "give the micro-batches per step, or leave it out");
  }
  if (resumed) {
    // The interrupted run's split of each step stays, whatever the world size now.
    const int64_t parts = trainer_->config().micro_batches;
    if (options.grad_accumulation > 0 && options.grad_accumulation * world != parts) {
      throw Error(ErrorCode::Config,
                  "the interrupted run split each step into " + std::to_string(parts) + " micro-batches; " +
                      std::to_string(options.grad_accumulation) + " x " + std::to_string(world) + " rank(s) would not",
                  "leave gradAccumulation out: a resumed run keeps its split (world size x accumulation)");
    }
    requested.micro_batches = parts;
  } else {
    const int64_t per_rank = std::max<int64_t>(1, options.grad_accumulation);
    requested.micro_batches = per_rank * world;
    if (requested.micro_batches > requested.batch_size) {
      throw Error(ErrorCode::Config,
                  "the batch of " + std::to_string(requested.batch_size) + " cannot be split into " +
                      std::to_string(requested.micro_batches) + " micro-batches (" + std::to_string(per_rank) +
                      " per rank x " + std::to_string(world) + " rank(s))",
                  "batchSize is the global batch: make it at least gradAccumulation x world size");
    }
  }
  if (resumed) {
    if (options.max_seconds > 0) {  // the budget sized the interrupted run's schedule when it started
      requested.epochs = trainer_->config().epochs;
      requested.milestones = trainer_->config().milestones;
    }
    const std::string diff = differing_keys(requested, trainer_->config());
    if (!diff.empty()) {
      throw Error(ErrorCode::Config, "the interrupted run being resumed was configured differently: " + diff,
                  "resume with the options the run was started with");
    }
  }

  // The rendezvous, before anything slow: a rank that cannot join fails the job early.
  std::unique_ptr<DistributedGroup> group;
  if (options.distributed.enabled()) group = std::make_unique<DistributedGroup>(options.distributed, device_);
  const bool writer = options.distributed.rank == 0;  // rank 0 alone writes checkpoints

  TrainSummary summary;
  summary.resumed = resumed;
  summary.world_size = world;
  summary.rank = options.distributed.rank;
  if (group) summary.backend = group->backend();
  summary.precision_reason = precision.reason;
  summary.setting_reason = setting_reason;
  TrainSetSource source(data, config_.preprocessing, requested.mask_prep);
  const bool augmented = requested.uses_defects() && requested.flips;
  if (options.cache_features == FeatureCache::On && augmented) {
    throw Error(ErrorCode::Config, "the feature cache needs un-augmented samples, but supervised flips are on",
                "turn flips off, or leave the cache on \"auto\"");
  }
  const torch::ScalarType cache_dtype =
      requested.precision == Precision::Float32 ? torch::kFloat32 : precision_dtype(requested.precision);
  if (options.cache_features == FeatureCache::On ||
      (options.cache_features == FeatureCache::Auto && !augmented &&
       source.cache_bytes(net_, cache_dtype) <= options.cache_budget_bytes)) {
    const auto cache_start = std::chrono::steady_clock::now();
    source.fill_cache(net_, cache_dtype, cancel);
    summary.cached_features = true;
    summary.cache_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - cache_start).count();
  }

  if (!resumed && options.max_seconds > 0) {
    // Time a few steps on a throwaway trainer, undo them, and size the schedule to what is left.
    const NamedTensors initial = net_->head_state();
    NamedTensors snapshot;
    for (const auto& [name, t] : initial) snapshot[name] = t.clone();
    int64_t steps = 0;
    try {
      Trainer probe(net_, requested);
      probe.use_group(group.get());
      summary.seconds_per_step = probe.seconds_per_step(source, kBudgetTimedSteps, cancel);
      steps = probe.steps_per_epoch(source);
    } catch (...) {
      net_->load_head_state(snapshot);
      throw;
    }
    net_->load_head_state(snapshot);
    const double left =
        options.max_seconds - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    torch::Tensor epochs =
        torch::tensor({std::max<int64_t>(1, static_cast<int64_t>(left / (summary.seconds_per_step * steps)))});
    // The ranks started at slightly different times: all take the smallest schedule.
    if (group) group->all_reduce_min(epochs, "the budget's schedule");
    requested.epochs = epochs.item<int64_t>();
    requested.milestones = {std::round(0.8 * requested.epochs), std::round(0.9 * requested.epochs)};
    summary.budget_seconds = options.max_seconds;
  }
  if (!resumed) trainer_ = std::make_unique<Trainer>(net_, requested);
  trainer_->use_group(group.get());
  struct ForgetGroup {  // the group dies with this call; the trainer stays with the engine
    Trainer& trainer;
    ~ForgetGroup() { trainer.use_group(nullptr); }
  } forget_group{*trainer_};
  const TrainConfig& config = trainer_->config();
  summary.config_json = config.to_json().dump();

  auto on_step = [&](const TrainProgress& p) {
    summary.steps += 1;
    summary.images += p.batch;
    summary.last = p.losses;
    if (progress) progress(p);
  };
  auto on_epoch_end = [&](int64_t finished_epochs) {
    update_training_json();
    mark_trained();
    if (writer && options.checkpoint_every > 0 && finished_epochs % options.checkpoint_every == 0) {
      save(options.checkpoint_path, true);
    }
  };
  try {
    trainer_->fit(source, on_step, cancel, on_epoch_end);
  } catch (...) {
    update_training_json();
    if (summary.steps > 0) mark_trained();
    throw;
  }
  update_training_json();
  mark_trained();
  summary.epochs = trainer_->epoch();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace ssn
