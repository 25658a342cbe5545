// Training configuration: the paper's recipe by default (spec section 8), every value overridable, stored
// as JSON in the model bundle.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/precision.h"
#include "io/json.h"
#include "train/anomaly_generator.h"
#include "train/optimizer.h"

namespace ssn {

struct TrainConfig {
  std::string setting = "unsupervised";  // "unsupervised" | "supervised": picks the defaults below
  int64_t epochs = 300;
  int64_t batch_size = 32;
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

  // The official values for "unsupervised" (MVTec) or "supervised" (KSDD2 / Sensum); ssn::Error(Config) else.
  static TrainConfig defaults(const std::string& setting);
  Json to_json() const;
  // Starts from defaults(j["setting"] or "unsupervised") and overrides every key present; unknown keys and
  // invalid values throw ssn::Error(Config) naming the key.
  static TrainConfig from_json(const Json& j);
  void validate() const;
  bool supervised() const { return setting == "supervised"; }
};

}  // namespace ssn
