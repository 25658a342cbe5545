#include <string>

#include "common/error.h"
#include "model/backbone.h"
#include "model/keras_resnet50.h"
#include "model/torchvision_resnet.h"

namespace ssn {

const std::vector<BackboneArch>& all_backbone_archs() {
  static const std::vector<BackboneArch> archs = {BackboneArch::ResNet18,        BackboneArch::ResNet34,
                                                  BackboneArch::ResNet50,        BackboneArch::WideResNet50_2,
                                                  BackboneArch::WideResNet101_2, BackboneArch::KerasResNet50};
  return archs;
}

const char* backbone_arch_name(BackboneArch arch) {
  switch (arch) {
    case BackboneArch::ResNet18:
      return "resnet18";
    case BackboneArch::ResNet34:
      return "resnet34";
    case BackboneArch::ResNet50:
      return "resnet50";
    case BackboneArch::WideResNet50_2:
      return "wide_resnet50_2";
    case BackboneArch::WideResNet101_2:
      return "wide_resnet101_2";
    case BackboneArch::KerasResNet50:
      return "resnet50-keras";
  }
  throw Error(ErrorCode::Internal, "unknown backbone architecture enum value");
}

BackboneArch parse_backbone_arch(const std::string& s) {
  std::string valid;
  for (BackboneArch arch : all_backbone_archs()) {
    if (s == backbone_arch_name(arch)) return arch;
    valid += valid.empty() ? "" : ", ";
    valid += backbone_arch_name(arch);
  }
  throw Error(ErrorCode::Config, "Unknown backbone \"" + s + "\"; expected one of: " + valid + ".",
              "Pick one of the listed backbone names.");
}

std::shared_ptr<BackboneImpl> make_backbone(BackboneArch arch) {
  if (arch == BackboneArch::KerasResNet50) return std::make_shared<KerasResNet50Impl>();
  return std::make_shared<TorchvisionResNetImpl>(arch);
}

Preprocessing default_preprocessing(BackboneArch arch) {
  Preprocessing p;  // torchvision: RGB / 255, ImageNet mean and std
  if (arch == BackboneArch::KerasResNet50) {
    // Keras "caffe" mode: BGR, minus the ImageNet BGR mean in 0..255 units, no std.
    p.bgr = true;
    p.scale = 1.0f;
    p.mean = {103.939f, 116.779f, 123.68f};
    p.std = {1.0f, 1.0f, 1.0f};
  }
  return p;
}

}  // namespace ssn
