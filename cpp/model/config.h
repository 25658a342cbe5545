// The model configuration stored as JSON in our .safetensors bundle ("ssn_config" metadata key).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "io/json.h"
#include "model/backbone.h"
#include "model/calibration.h"
#include "model/variant.h"

namespace ssn {

constexpr int kModelFormatVersion = 1;

struct ModelConfig {
  int format_version = kModelFormatVersion;
  BackboneArch arch = BackboneArch::KerasResNet50;
  ModelVariant variant = ModelVariant::Icpr;  // absent in a file: icpr (files from before variants)
  // The backbone's preprocessing, stored so that a reader needs no code to know it.
  Preprocessing preprocessing = default_preprocessing(BackboneArch::KerasResNet50);
  int64_t image_h = 256;
  int64_t image_w = 256;
  std::string backbone_source;  // where the backbone weights came from (file name, "random")
  bool heads_trained = false;   // false until trained or imported from a trained checkpoint
  Json training;                // training config and state, once there is one (null otherwise)
  // Verdict thresholds for the current weights; absent (older files too) = not calibrated. Written only
  // when present, so that older readers, which ignore unknown keys, still load the file.
  std::optional<Calibration> calibration;

  Json to_json() const;
  // Validates everything (version, arch, sizes > 12, calibration) and throws ssn::Error(Config) naming the field.
  static ModelConfig from_json(const Json& j);
};

}  // namespace ssn
