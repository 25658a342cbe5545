// Engine-level import: anomalib checkpoints (renamed keys, backbone inside) give exactly the model that the
// official weights.pt + torchvision backbone give.
#include <string>

#include "api/engine.h"
#include "common/error.h"
#include "io/checkpoint.h"
#include "test_framework.h"
#include "test_io_helpers.h"

namespace {

std::string golden(const std::string& rel) { return ssn_test::golden_dir() + "/" + rel; }

// The official heads and the torchvision backbone, renamed the way anomalib's Lightning checkpoint stores them.
ssn::NamedTensors as_anomalib(const ssn::NamedTensors& heads, const ssn::NamedTensors& backbone) {
  const std::pair<std::string, std::string> renames[] = {
      {"feature_adaptor.projection.", "model.adaptor.projection."},
      {"discriminator.seg.", "model.segdec.seg_head."},
      {"discriminator.dec_head.", "model.segdec.cls_conv."},
      {"discriminator.fc_score.", "model.segdec.cls_fc."},
  };
  ssn::NamedTensors out;
  for (const auto& kv : heads)
    for (const auto& r : renames)
      if (kv.first.rfind(r.first, 0) == 0) out[r.second + kv.first.substr(r.first.size())] = kv.second;
  for (const auto& kv : backbone)
    out["model.feature_extractor.feature_extractor.feature_extractor." + kv.first] = kv.second;
  out["model.anomaly_map_generator.smoothing.kernel"] = torch::ones({1, 1, 25, 25});
  return out;
}

}  // namespace

SSN_TEST(engine_imports_anomalib_checkpoints_like_official_ones) {
  const std::string backbone = golden("resnet18-256x256/backbone.pth");
  const std::string heads = golden("resnet18-256x256/weights.pt");
  SSN_CHECK_MSG(ssn_test::file_exists(backbone), "golden folder missing at " + ssn_test::golden_dir());

  ssn::CreateOptions official;
  official.arch = ssn::BackboneArch::ResNet18;
  official.backbone_weights = backbone;
  official.head_weights = heads;
  official.image_h = 64;
  official.image_w = 96;
  official.device = ssn::DevicePreference::Cpu;
  auto reference = ssn::Engine::create(official);

  ssn_test::TempDir tmp("engine_anomalib");
  const std::string file = tmp.file("anomalib.safetensors");
  ssn::write_safetensors_atomic(
      file, as_anomalib(ssn::read_torch_checkpoint(heads), ssn::read_torch_checkpoint(backbone)), {});
  ssn::CreateOptions anomalib = official;
  anomalib.backbone_weights = file;
  anomalib.head_weights = file;
  anomalib.head_format = ssn::HeadFormat::Auto;
  auto imported = ssn::Engine::create(anomalib);

  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, 3, 64, 96});
  const ssn::PredictResult a = reference->predict_tensor(x), b = imported->predict_tensor(x);
  SSN_CHECK(a.maps == b.maps);
  SSN_CHECK(a.logits == b.logits);
  SSN_CHECK(a.batch == 2 && a.height == 64 && a.width == 96);
}

SSN_TEST(engine_rejects_heads_of_unknown_format) {
  ssn_test::TempDir tmp("engine_unknown");
  const std::string file = tmp.file("unknown.safetensors");
  ssn::write_safetensors_atomic(file, {{"something.else", torch::zeros({2})}}, {});
  ssn::CreateOptions options;
  options.arch = ssn::BackboneArch::ResNet18;
  options.random_backbone = true;
  options.head_weights = file;
  options.image_h = options.image_w = 32;
  options.device = ssn::DevicePreference::Cpu;
  SSN_CHECK_THROWS_CODE(ssn::Engine::create(options), ssn::ErrorCode::Checkpoint);
  SSN_CHECK_THROWS_CODE(ssn::parse_head_format("keras"), ssn::ErrorCode::Input);
}
