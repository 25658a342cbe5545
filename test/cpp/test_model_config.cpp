// ModelConfig JSON: round trip and validation naming the field.
#include "model/config.h"
#include "test_model_util.h"

using ssn_test::contains;
using ssn_test::error_message;

namespace {

ssn::ModelConfig sample() {
  ssn::ModelConfig c;
  c.arch = ssn::BackboneArch::ResNet18;
  c.preprocessing = ssn::default_preprocessing(c.arch);
  c.image_h = 640;
  c.image_w = 232;
  c.backbone_source = "resnet18-f37072fd.pth";
  c.heads_trained = true;
  c.training = ssn::Json::object();
  c.training["epochs"] = ssn::Json(300);
  return c;
}

// Parses the dump of `c` after `edit` changed its JSON.
template <typename Edit>
std::string config_error(Edit edit) {
  ssn::Json j = ssn::Json::parse(sample().to_json().dump());
  edit(j);
  return error_message([&] { ssn::ModelConfig::from_json(j); }, ssn::ErrorCode::Config);
}

}  // namespace

SSN_TEST(model_config_json_round_trip) {
  const ssn::ModelConfig c = sample();
  const ssn::ModelConfig r = ssn::ModelConfig::from_json(ssn::Json::parse(c.to_json().dump()));
  SSN_CHECK(r.format_version == ssn::kModelFormatVersion);
  SSN_CHECK(r.arch == c.arch && r.image_h == 640 && r.image_w == 232);
  SSN_CHECK(r.backbone_source == c.backbone_source && r.heads_trained);
  SSN_CHECK(r.preprocessing.bgr == c.preprocessing.bgr && r.preprocessing.scale == c.preprocessing.scale);
  for (int i = 0; i < 3; ++i) {
    SSN_CHECK(r.preprocessing.mean[i] == c.preprocessing.mean[i] && r.preprocessing.std[i] == c.preprocessing.std[i]);
  }
  SSN_CHECK(r.training.at("epochs").as_int() == 300);
  SSN_CHECK(r.to_json().dump() == c.to_json().dump());

  ssn::ModelConfig fresh;  // untrained: training is null
  SSN_CHECK(ssn::ModelConfig::from_json(fresh.to_json()).training.is_null());
  SSN_CHECK(ssn::ModelConfig::from_json(fresh.to_json()).arch == ssn::BackboneArch::KerasResNet50);
  SSN_CHECK(ssn::ModelConfig::from_json(fresh.to_json()).preprocessing.bgr);  // the default arch's "caffe" mode
}

SSN_TEST(model_config_validation_names_the_field) {
  std::string m = config_error([](ssn::Json& j) { j["image_size"]["height"] = ssn::Json(12); });
  SSN_CHECK_MSG(contains(m, "image_size.height") && contains(m, "12"), m);
  m = config_error([](ssn::Json& j) { j["arch"] = ssn::Json("resnet19"); });
  SSN_CHECK_MSG(contains(m, "arch") && contains(m, "resnet19"), m);
  m = config_error([](ssn::Json& j) { j["preprocessing"]["std"] = ssn::Json::array(); });
  SSN_CHECK_MSG(contains(m, "preprocessing.std"), m);
  m = config_error([](ssn::Json& j) {
    ssn::Json zero_std = ssn::Json::array();
    for (double v : {1.0, 0.0, 1.0}) zero_std.push_back(ssn::Json(v));
    j["preprocessing"]["std"] = zero_std;
  });
  SSN_CHECK_MSG(contains(m, "preprocessing.std[1]") && contains(m, "> 0"), m);
  m = config_error([](ssn::Json& j) { j["preprocessing"]["std"].push_back(ssn::Json(1.0)); });
  SSN_CHECK_MSG(contains(m, "preprocessing.std"), m);
  m = config_error([](ssn::Json& j) { j["heads_trained"] = ssn::Json("yes"); });
  SSN_CHECK_MSG(contains(m, "heads_trained") && contains(m, "\"yes\""), m);
  m = config_error([](ssn::Json& j) { j["training"] = ssn::Json(3); });
  SSN_CHECK_MSG(contains(m, "training"), m);
  m = config_error([](ssn::Json& j) { j["format_version"] = ssn::Json(2); });
  SSN_CHECK_MSG(contains(m, "format_version") && contains(m, "newer"), m);
  m = config_error([](ssn::Json& j) { j["image_size"]["width"] = ssn::Json(64.5); });
  SSN_CHECK_MSG(contains(m, "image_size.width"), m);

  ssn::Json missing = ssn::Json::object();
  missing["format_version"] = ssn::Json(1);
  m = error_message([&] { ssn::ModelConfig::from_json(missing); }, ssn::ErrorCode::Config);
  SSN_CHECK_MSG(contains(m, "arch") && contains(m, "missing"), m);
  SSN_CHECK_THROWS_CODE(ssn::ModelConfig::from_json(ssn::Json(1)), ssn::ErrorCode::Config);
}
