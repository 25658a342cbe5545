#include "api/checkpoint_keys.h"

#include <utility>
#include <vector>

#include "common/error.h"

namespace ssn {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool any_key_starts_with(const NamedTensors& tensors, const std::string& prefix) {
  for (const auto& kv : tensors)
    if (starts_with(kv.first, prefix)) return true;
  return false;
}

// anomalib -> official, longest prefixes first; "model." (Lightning) is optional.
const std::vector<std::pair<std::string, std::string>>& anomalib_renames() {
  static const std::vector<std::pair<std::string, std::string>> renames = {
      {"adaptor.projection.", "feature_adaptor.projection."},
      {"segdec.seg_head.", "discriminator.seg."},
      {"segdec.cls_conv.", "discriminator.dec_head."},
      {"segdec.cls_fc.", "discriminator.fc_score."},
  };
  return renames;
}

}  // namespace

HeadFormat parse_head_format(const std::string& s) {
  if (s == "official") return HeadFormat::Official;
  if (s == "anomalib") return HeadFormat::Anomalib;
  if (s == "auto") return HeadFormat::Auto;
  throw Error(ErrorCode::Input, "Expected 'official', 'anomalib' or 'auto' for head format but received '" + s + "'");
}

HeadFormat resolve_head_format(HeadFormat format, const NamedTensors& tensors) {
  if (format != HeadFormat::Auto) return format;
  if (any_key_starts_with(tensors, "feature_adaptor.") || any_key_starts_with(tensors, "discriminator."))
    return HeadFormat::Official;
  if (any_key_starts_with(tensors, "model.adaptor.") || any_key_starts_with(tensors, "adaptor.") ||
      any_key_starts_with(tensors, "model.segdec.") || any_key_starts_with(tensors, "segdec."))
    return HeadFormat::Anomalib;
  throw Error(ErrorCode::Checkpoint,
              "the head checkpoint holds neither official SuperSimpleNet keys (feature_adaptor.*, discriminator.*) "
              "nor anomalib keys (model.adaptor.*, model.segdec.*)",
              "pass the official weights.pt or an anomalib SuperSimpleNet checkpoint");
}

NamedTensors official_head_tensors(const NamedTensors& tensors, HeadFormat format) {
  NamedTensors out;
  for (const auto& kv : tensors) {
    std::string key = kv.first;
    if (format == HeadFormat::Official) {
      if (starts_with(key, "feature_adaptor.") || starts_with(key, "discriminator.")) out[key] = kv.second;
      continue;
    }
    if (starts_with(key, "model.")) key = key.substr(6);
    for (const auto& rename : anomalib_renames()) {
      if (starts_with(key, rename.first)) {
        out[rename.second + key.substr(rename.first.size())] = kv.second;
        break;
      }
    }
  }
  return out;
}

NamedTensors strip_backbone_prefix(const NamedTensors& tensors) {
  static const std::vector<std::string> prefixes = {
      "model.feature_extractor.feature_extractor.feature_extractor.",
      "feature_extractor.feature_extractor.",
      "module.",
  };
  for (const auto& prefix : prefixes) {
    if (!any_key_starts_with(tensors, prefix)) continue;
    NamedTensors out;
    for (const auto& kv : tensors)
      if (starts_with(kv.first, prefix)) out[kv.first.substr(prefix.size())] = kv.second;
    return out;
  }
  return tensors;
}

}  // namespace ssn
