// A model's calibrated verdict thresholds (ModelConfig "calibration"): chosen from the predictions of a
// labelled set (lib/calibration.ts has the rules), stored in the model file, cleared when training changes
// the weights. An image is anomalous when score >= image_threshold; a pixel is a defect when its map value
// >= pixel_threshold.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "io/json.h"

namespace ssn {

enum class ThresholdMethod { F1, Quantile };  // F1-max against labels; a quantile of the normal images

const char* threshold_method_name(ThresholdMethod m);  // "f1" | "quantile"

struct Calibration {
  ThresholdMethod method = ThresholdMethod::Quantile;        // how image_threshold was chosen
  ThresholdMethod pixel_method = ThresholdMethod::Quantile;  // how pixel_threshold was chosen
  std::optional<double> quantile;                            // q in (0, 1], present exactly when a method is Quantile
  double image_threshold = 0.5;                              // on score = sigmoid(logit), in [0, 1]
  double pixel_threshold = 0;                                // on the blurred map values, within [map_low, map_high]
  double map_low = 0;                                        // the calibration set's lowest and highest map value:
  double map_high = 0;                                       // a shared colour scale for overlays
  int64_t normal = 0;                                        // images of the calibration set: normal (at least one),
  int64_t anomalous = 0;                                     // defective,
  int64_t masked = 0;                                        // and defective with a mask

  Json to_json() const;
  // Validates every field and their consistency; throws ssn::Error(Config) naming "<path>.<field>".
  static Calibration from_json(const Json& j, const std::string& path = "calibration");
};

}  // namespace ssn
