#include "model/config.h"

#include <cmath>
#include <sstream>

#include "common/error.h"

namespace ssn {

namespace {

constexpr int64_t kMaxImageSide = 16384;  // far beyond any sensible input; catches corrupt sizes early

[[noreturn]] void fail(const std::string& field, const std::string& expected, const std::string& received) {
  throw Error(ErrorCode::Config,
              "Invalid model config field \"" + field + "\": expected " + expected + " but received " + received + ".",
              "The model file's config is damaged or was written by another program; re-export the model.");
}

std::string describe(const Json& j) {
  switch (j.type()) {
    case Json::Type::Null: return "null";
    case Json::Type::Bool: return j.as_bool() ? "true" : "false";
    case Json::Type::Number: {
      std::ostringstream os;
      os << j.as_number();
      return os.str();
    }
    case Json::Type::String: return "\"" + j.as_string() + "\"";
    case Json::Type::Array: return "an array";
    case Json::Type::Object: return "an object";
  }
  return "?";
}

const Json& field(const Json& obj, const std::string& key, const std::string& path) {
  if (!obj.contains(key)) fail(path, "a value", "nothing (the field is missing)");
  return obj.at(key);
}

int64_t int_field(const Json& obj, const std::string& key, const std::string& path, int64_t lo, int64_t hi) {
  const Json& v = field(obj, key, path);
  std::ostringstream range;
  range << "an integer in " << lo << ".." << hi;
  if (!v.is_number() || std::floor(v.as_number()) != v.as_number()) fail(path, range.str(), describe(v));
  const double d = v.as_number();
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) fail(path, range.str(), describe(v));
  return static_cast<int64_t>(d);
}

bool bool_field(const Json& obj, const std::string& key, const std::string& path) {
  const Json& v = field(obj, key, path);
  if (!v.is_bool()) fail(path, "true or false", describe(v));
  return v.as_bool();
}

std::string string_field(const Json& obj, const std::string& key, const std::string& path) {
  const Json& v = field(obj, key, path);
  if (!v.is_string()) fail(path, "a string", describe(v));
  return v.as_string();
}

float finite_float(const Json& v, const std::string& path, bool positive) {
  const char* expected = positive ? "a finite number > 0" : "a finite number";
  if (!v.is_number() || !std::isfinite(v.as_number())) fail(path, expected, describe(v));
  if (positive && !(v.as_number() > 0)) fail(path, expected, describe(v));
  return static_cast<float>(v.as_number());
}

std::array<float, 3> triple_field(const Json& obj, const std::string& key, const std::string& path, bool positive) {
  const Json& v = field(obj, key, path);
  if (!v.is_array() || v.size() != 3) fail(path, "an array of 3 numbers", describe(v));
  std::array<float, 3> out{};
  for (size_t i = 0; i < 3; ++i) out[i] = finite_float(v.as_array()[i], path + "[" + std::to_string(i) + "]", positive);
  return out;
}

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

  const Json& pre = field(j, "preprocessing", "preprocessing");
  if (!pre.is_object()) fail("preprocessing", "an object", describe(pre));
  c.preprocessing.bgr = bool_field(pre, "bgr", "preprocessing.bgr");
  c.preprocessing.scale = finite_float(field(pre, "scale", "preprocessing.scale"), "preprocessing.scale", true);
  c.preprocessing.mean = triple_field(pre, "mean", "preprocessing.mean", false);
  c.preprocessing.std = triple_field(pre, "std", "preprocessing.std", true);

  const Json& size = field(j, "image_size", "image_size");
  if (!size.is_object()) fail("image_size", "an object {height, width}", describe(size));
  c.image_h = int_field(size, "height", "image_size.height", 13, kMaxImageSide);
  c.image_w = int_field(size, "width", "image_size.width", 13, kMaxImageSide);

  c.backbone_source = string_field(j, "backbone_source", "backbone_source");
  c.heads_trained = bool_field(j, "heads_trained", "heads_trained");

  const Json& training = field(j, "training", "training");
  if (!training.is_null() && !training.is_object()) fail("training", "null or an object", describe(training));
  c.training = training;
  return c;
}

}  // namespace ssn
