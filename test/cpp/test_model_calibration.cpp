// The model config's "calibration": round trip (absent in older files = not calibrated) and validation
// that names the field.
#include "model/config.h"
#include "test_model_util.h"

using ssn_test::contains;
using ssn_test::error_message;

namespace {

ssn::Calibration sample() {
  ssn::Calibration c;
  c.method = ssn::ThresholdMethod::F1;
  c.pixel_method = ssn::ThresholdMethod::Quantile;
  c.quantile = 0.995;
  c.image_threshold = 0.7310585975646973;  // a float32 score: must come back bit for bit
  c.pixel_threshold = -0.123456789012345;
  c.map_low = -3.5;
  c.map_high = 4.25;
  c.normal = 20;
  c.anomalous = 5;
  c.masked = 0;
  return c;
}

ssn::ModelConfig calibrated() {
  ssn::ModelConfig c;
  c.calibration = sample();
  return c;
}

// Parses the dump of a calibrated config after `edit` changed its "calibration" object.
template <typename Edit>
std::string calibration_error(Edit edit) {
  ssn::Json j = ssn::Json::parse(calibrated().to_json().dump());
  edit(j["calibration"]);
  return error_message([&] { ssn::ModelConfig::from_json(j); }, ssn::ErrorCode::Config);
}

}  // namespace

SSN_TEST(model_calibration_json_round_trip) {
  const ssn::ModelConfig c = calibrated();
  const ssn::Json j = ssn::Json::parse(c.to_json().dump());
  SSN_CHECK(j.at("calibration").at("method").as_string() == "f1");
  SSN_CHECK(j.at("calibration").at("pixel_method").as_string() == "quantile");
  const ssn::ModelConfig r = ssn::ModelConfig::from_json(j);
  SSN_CHECK(r.calibration.has_value());
  const ssn::Calibration& k = *r.calibration;
  SSN_CHECK(k.method == ssn::ThresholdMethod::F1 && k.pixel_method == ssn::ThresholdMethod::Quantile);
  SSN_CHECK(k.quantile && *k.quantile == 0.995);
  SSN_CHECK(k.image_threshold == sample().image_threshold && k.pixel_threshold == sample().pixel_threshold);
  SSN_CHECK(k.map_low == -3.5 && k.map_high == 4.25);
  SSN_CHECK(k.normal == 20 && k.anomalous == 5 && k.masked == 0);
  SSN_CHECK(r.to_json().dump() == c.to_json().dump());

  // Not calibrated: no key at all (so older readers see nothing new); a missing or null key reads back as none.
  ssn::ModelConfig plain;
  SSN_CHECK(!plain.to_json().contains("calibration"));
  SSN_CHECK(!ssn::ModelConfig::from_json(plain.to_json()).calibration.has_value());
  ssn::Json null_calibration = plain.to_json();
  null_calibration["calibration"] = ssn::Json();
  SSN_CHECK(!ssn::ModelConfig::from_json(null_calibration).calibration.has_value());

  // Both thresholds by F1: no quantile is stored.
  ssn::Calibration f1 = sample();
  f1.pixel_method = ssn::ThresholdMethod::F1;
  f1.quantile.reset();
  f1.masked = 2;
  SSN_CHECK(!f1.to_json().contains("quantile"));
  SSN_CHECK(!ssn::Calibration::from_json(f1.to_json()).quantile.has_value());
}

SSN_TEST(model_calibration_validation_names_the_field) {
  std::string m = calibration_error([](ssn::Json& c) { c["method"] = ssn::Json("mean"); });
  SSN_CHECK_MSG(contains(m, "calibration.method") && contains(m, "\"mean\""), m);
  m = calibration_error([](ssn::Json& c) { c["pixel_method"] = ssn::Json(1); });
  SSN_CHECK_MSG(contains(m, "calibration.pixel_method"), m);
  m = calibration_error([](ssn::Json& c) { c["quantile"] = ssn::Json(0); });
  SSN_CHECK_MSG(contains(m, "calibration.quantile") && contains(m, "(0, 1]"), m);
  m = calibration_error([](ssn::Json& c) { c["quantile"] = ssn::Json(1.5); });
  SSN_CHECK_MSG(contains(m, "calibration.quantile") && contains(m, "1.5"), m);
  m = calibration_error([](ssn::Json& c) { c["quantile"] = ssn::Json(); });  // pixel_method needs it
  SSN_CHECK_MSG(contains(m, "calibration.quantile"), m);
  m = calibration_error([](ssn::Json& c) {
    c["pixel_method"] = ssn::Json("f1");
    c["counts"]["masked"] = ssn::Json(1);
  });
  SSN_CHECK_MSG(contains(m, "calibration.quantile") && contains(m, "neither"), m);
  m = calibration_error([](ssn::Json& c) { c["image_threshold"] = ssn::Json(1.2); });
  SSN_CHECK_MSG(contains(m, "calibration.image_threshold") && contains(m, "0..1") && contains(m, "1.2"), m);
  m = calibration_error([](ssn::Json& c) { c["image_threshold"] = ssn::Json("0.5"); });
  SSN_CHECK_MSG(contains(m, "calibration.image_threshold"), m);
  m = calibration_error([](ssn::Json& c) { c["pixel_threshold"] = ssn::Json(); });  // NaN is written as null
  SSN_CHECK_MSG(contains(m, "calibration.pixel_threshold") && contains(m, "null"), m);
  m = calibration_error([](ssn::Json& c) { c["pixel_threshold"] = ssn::Json(9.0); });
  SSN_CHECK_MSG(contains(m, "calibration.map_range") && contains(m, "low <= pixel_threshold <= high"), m);
  m = calibration_error([](ssn::Json& c) { c["map_range"] = ssn::Json::array(); });
  SSN_CHECK_MSG(contains(m, "calibration.map_range"), m);
  m = calibration_error([](ssn::Json& c) { c["map_range"]["high"] = ssn::Json("x"); });
  SSN_CHECK_MSG(contains(m, "calibration.map_range.high"), m);
  m = calibration_error([](ssn::Json& c) { c["counts"]["normal"] = ssn::Json(0); });
  SSN_CHECK_MSG(contains(m, "calibration.counts.normal"), m);
  m = calibration_error([](ssn::Json& c) { c["counts"]["masked"] = ssn::Json(6); });  // more than the anomalous 5
  SSN_CHECK_MSG(contains(m, "calibration.counts.masked") && contains(m, "0..5"), m);
  m = calibration_error([](ssn::Json& c) { c["counts"]["anomalous"] = ssn::Json(0); });  // method "f1" needs some
  SSN_CHECK_MSG(contains(m, "calibration.counts.anomalous") && contains(m, "f1"), m);
  m = calibration_error([](ssn::Json& c) { c = ssn::Json(3); });
  SSN_CHECK_MSG(contains(m, "\"calibration\"") && contains(m, "null or an object"), m);
  m = calibration_error([](ssn::Json& c) {
    ssn::Json without = ssn::Json::object();
    for (const auto& [key, value] : c.items())
      if (key != "counts") without[key] = value;
    c = without;
  });
  SSN_CHECK_MSG(contains(m, "calibration.counts") && contains(m, "missing"), m);
}
