// Training configuration: the paper's recipe by default (spec section 8), every value overridable, stored
// as JSON in the model bundle.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/precision.h"
#include "io/json.h"
#include "model/variant.h"
#include "train/anomaly_generator.h"
#include "train/mask_prep.h"
#include "train/optimizer.h"
#include "train/supervision.h"

namespace ssn {

struct TrainConfig {
  Supervision setting = Supervision::Unsupervised;  // picks the defaults below (train/supervision.h)
  int64_t epochs = 300;
  int64_t batch_size = 32;
  // Parts every step's batch is split into, each its own forward and backward with its own BatchNorm
  // statistics (as under PyTorch DDP): gradient accumulation times the distributed world size. A resumed run
  // keeps it, whatever its world size (each rank then takes micro_batches / world_size parts).
  int64_t micro_batches = 1;
  OptimizerConfig optimizer;
  double gamma = 0.4;                        // MultiStepLR at 0.8E and 0.9E (float milestones, see optimizer.h)
  AnomalyGeneratorConfig generator;          // perlin_thr 0.2 / 0.6, overlap true / false
  bool stop_grad = true;                     // false when supervised
  double clip_grad_norm = 0.0;               // 1 when supervised
  bool flips = false;                        // supervised positives: none / vertical / horizontal / rot180
  uint64_t seed = 42;                        // 456654 when supervised (official seeds)
  Precision precision = Precision::Float32;  // autocast of adaptor and heads (train/mixed_precision.h)
  // LR milestones in epochs; empty: the official float milestones 0.8E and 0.9E (see MultiStepLR). A
  // schedule sized to a time budget sets whole epochs here, so that the decays happen.
  std::vector<double> milestones;
  // The 2025 extension's mask handling (jims defaults with defect images): dilation and distance-transform loss
  // weights at the image's resolution (train/mask_prep.h), and align_corners true when the masks are
  // downsampled to the feature size (train/gt_mask.h).
  MaskPrep mask_prep;
  bool mask_align_corners = false;

  // The official values of the variant's code: unsupervised as its MVTec run, weak, mixed and supervised as
  // its KSDD2 / Sensum run (perlin_thr 0.2 when no defect is segmented, i.e. weak).
  static TrainConfig defaults(Supervision setting, ModelVariant variant = ModelVariant::Icpr);
  Json to_json() const;
  // Starts from defaults(j["setting"] or unsupervised, variant) and overrides every key present; unknown keys
  // and invalid values throw ssn::Error(Config) naming the key.
  static TrainConfig from_json(const Json& j, ModelVariant variant = ModelVariant::Icpr);
  void validate() const;
  // Weak, mixed and supervised train on defect images too: the balanced sampler of train/supervised_sampler.h.
  bool uses_defects() const { return setting != Supervision::Unsupervised; }
};

}  // namespace ssn
