#include "model/config.h"

#include "common/error.h"
#include "common/limits.h"
#include "model/config_fields.h"

namespace ssn {

namespace {

using config_fields::bool_field;
using config_fields::describe;
using config_fields::fail;
using config_fields::field;
using config_fields::finite_float;
using config_fields::int_field;
using config_fields::string_field;
using config_fields::triple_field;

Json triple_json(const std::array<float, 3>& t) {
  Json a = Json::array();
  for (float v : t) a.push_back(Json(static_cast<double>(v)));
  return a;
}

}  // namespace

Json ModelConfig::to_json() const {
  Json j = Json::object();
  j["format_version"] = Json(format_version);
  j["arch"] = Json(backbone_arch_name(arch));
  j["variant"] = Json(model_variant_name(variant));
  Json pre = Json::object();
  pre["bgr"] = Json(preprocessing.bgr);
  pre["scale"] = Json(static_cast<double>(preprocessing.scale));
  pre["mean"] = triple_json(preprocessing.mean);
  pre["std"] = triple_json(preprocessing.std);
  j["preprocessing"] = pre;
  Json size = Json::object();
  size["height"] = Json(image_h);
  size["width"] = Json(image_w);
  j["image_size"] = size;
  j["backbone_source"] = Json(backbone_source);
  j["heads_trained"] = Json(heads_trained);
  j["training"] = training;
  if (calibration) j["calibration"] = calibration->to_json();
  return j;
}

ModelConfig ModelConfig::from_json(const Json& j) {
  if (!j.is_object()) fail("(config)", "a JSON object", describe(j));
  ModelConfig c;
  const int64_t version = int_field(j, "format_version", "format_version", 1, 1000000);
  if (version != kModelFormatVersion) {
    throw Error(ErrorCode::Config,
                "Unsupported model format_version " + std::to_string(version) + " (" +
                    (version > kModelFormatVersion ? "newer" : "older") + " than version " +
                    std::to_string(kModelFormatVersion) + ", which this build reads).",
                version > kModelFormatVersion ? "The model was written by a newer supersimplenet; upgrade the package."
                                              : "Re-export the model with this version of supersimplenet.");
  }
  c.format_version = static_cast<int>(version);

  const std::string arch = string_field(j, "arch", "arch");
  try {
    c.arch = parse_backbone_arch(arch);
  } catch (const Error& e) {
    throw Error(ErrorCode::Config, std::string("Invalid model config field \"arch\": ") + e.what(), e.hint());
  }

  if (j.contains("variant")) {
    try {
      c.variant = parse_model_variant(string_field(j, "variant", "variant"));
    } catch (const Error& e) {
      throw Error(ErrorCode::Config, std::string("Invalid model config field \"variant\": ") + e.what(), e.hint());
    }
  }

  const Json& pre = field(j, "preprocessing", "preprocessing");
  if (!pre.is_object()) fail("preprocessing", "an object", describe(pre));
  c.preprocessing.bgr = bool_field(pre, "bgr", "preprocessing.bgr");
  c.preprocessing.scale = finite_float(field(pre, "scale", "preprocessing.scale"), "preprocessing.scale", true);
  c.preprocessing.mean = triple_field(pre, "mean", "preprocessing.mean", false);
  c.preprocessing.std = triple_field(pre, "std", "preprocessing.std", true);

  const Json& size = field(j, "image_size", "image_size");
  if (!size.is_object()) fail("image_size", "an object {height, width}", describe(size));
  c.image_h = int_field(size, "height", "image_size.height", kMinModelSide, kMaxModelSide);
  c.image_w = int_field(size, "width", "image_size.width", kMinModelSide, kMaxModelSide);

  c.backbone_source = string_field(j, "backbone_source", "backbone_source");
  c.heads_trained = bool_field(j, "heads_trained", "heads_trained");

  const Json& training = field(j, "training", "training");
  if (!training.is_null() && !training.is_object()) fail("training", "null or an object", describe(training));
  c.training = training;

  // Missing (files from before calibration) or null: not calibrated.
  if (j.contains("calibration") && !j.at("calibration").is_null()) {
    c.calibration = Calibration::from_json(j.at("calibration"));
  }
  return c;
}

}  // namespace ssn
