#include "model/calibration.h"

#include <limits>

#include "model/config_fields.h"

namespace ssn {

namespace cf = config_fields;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

ThresholdMethod method_field(const Json& obj, const std::string& key, const std::string& path) {
  const std::string name = cf::string_field(obj, key, path);
  if (name == "f1") return ThresholdMethod::F1;
  if (name == "quantile") return ThresholdMethod::Quantile;
  cf::fail(path, "\"f1\" or \"quantile\"", "\"" + name + "\"");
}

}  // namespace

const char* threshold_method_name(ThresholdMethod m) { return m == ThresholdMethod::F1 ? "f1" : "quantile"; }

Json Calibration::to_json() const {
  Json j = Json::object();
  j["method"] = Json(threshold_method_name(method));
  j["pixel_method"] = Json(threshold_method_name(pixel_method));
  if (quantile) j["quantile"] = Json(*quantile);
  j["image_threshold"] = Json(image_threshold);
  j["pixel_threshold"] = Json(pixel_threshold);
  Json range = Json::object();
  range["low"] = Json(map_low);
  range["high"] = Json(map_high);
  j["map_range"] = range;
  Json counts = Json::object();
  counts["normal"] = Json(normal);
  counts["anomalous"] = Json(anomalous);
  counts["masked"] = Json(masked);
  j["counts"] = counts;
  return j;
}

Calibration Calibration::from_json(const Json& j, const std::string& path) {
  if (!j.is_object()) cf::fail(path, "null or an object", cf::describe(j));
  Calibration c;
  c.method = method_field(j, "method", path + ".method");
  c.pixel_method = method_field(j, "pixel_method", path + ".pixel_method");
  const bool uses_quantile = c.method == ThresholdMethod::Quantile || c.pixel_method == ThresholdMethod::Quantile;
  const bool has_quantile = j.contains("quantile") && !j.at("quantile").is_null();
  if (uses_quantile) {
    c.quantile = cf::number_field(j, "quantile", path + ".quantile", 0, 1);
    if (*c.quantile == 0) cf::fail(path + ".quantile", "a number in (0, 1]", "0");
  } else if (has_quantile) {
    cf::fail(path + ".quantile", "no value (neither threshold is a quantile)", cf::describe(j.at("quantile")));
  }
  c.image_threshold = cf::number_field(j, "image_threshold", path + ".image_threshold", 0, 1);
  c.pixel_threshold = cf::number_field(j, "pixel_threshold", path + ".pixel_threshold", -kInf, kInf);

  const Json& range = cf::field(j, "map_range", path + ".map_range");
  if (!range.is_object()) cf::fail(path + ".map_range", "an object {low, high}", cf::describe(range));
  c.map_low = cf::number_field(range, "low", path + ".map_range.low", -kInf, kInf);
  c.map_high = cf::number_field(range, "high", path + ".map_range.high", -kInf, kInf);
  if (!(c.map_low <= c.pixel_threshold && c.pixel_threshold <= c.map_high)) {
    cf::fail(path + ".map_range", "low <= pixel_threshold <= high",
             "low " + cf::describe(Json(c.map_low)) + ", pixel_threshold " + cf::describe(Json(c.pixel_threshold)) +
                 ", high " + cf::describe(Json(c.map_high)));
  }

  const Json& counts = cf::field(j, "counts", path + ".counts");
  if (!counts.is_object()) cf::fail(path + ".counts", "an object {normal, anomalous, masked}", cf::describe(counts));
  constexpr int64_t kMaxCount = int64_t{1} << 40;
  c.normal = cf::int_field(counts, "normal", path + ".counts.normal", 1, kMaxCount);
  c.anomalous = cf::int_field(counts, "anomalous", path + ".counts.anomalous", 0, kMaxCount);
  c.masked = cf::int_field(counts, "masked", path + ".counts.masked", 0, c.anomalous);
  // An F1 threshold needs defective images (with masks, for pixels) to have been chosen against.
  if (c.method == ThresholdMethod::F1 && c.anomalous == 0)
    cf::fail(path + ".counts.anomalous", "at least 1 (method is \"f1\")", "0");
  if (c.pixel_method == ThresholdMethod::F1 && c.masked == 0)
    cf::fail(path + ".counts.masked", "at least 1 (pixel_method is \"f1\")", "0");
  return c;
}

}  // namespace ssn
