// Key mapping between checkpoint flavours: official SuperSimpleNet, anomalib, and backbones saved inside
// larger modules.
#pragma once
#include <string>

#include "io/named_tensors.h"

namespace ssn {

enum class HeadFormat { Auto, Official, Anomalib };
HeadFormat parse_head_format(const std::string& s);  // "auto" | "official" | "anomalib"; throws Error(Input)
// Auto becomes the format the tensors' keys show (throws Error(Checkpoint) when neither); others stay.
HeadFormat resolve_head_format(HeadFormat format, const NamedTensors& tensors);

// Head tensors under official names (feature_adaptor.*, discriminator.*). Anomalib names (spec §3) are
// renamed; everything else (backbone, blur kernel, optimiser state) is left out.
NamedTensors official_head_tensors(const NamedTensors& tensors, HeadFormat format);

// Backbone tensors with a wrapper prefix removed: anomalib's
// model.feature_extractor.feature_extractor.feature_extractor., the official module's
// feature_extractor.feature_extractor., DataParallel's module.
NamedTensors strip_backbone_prefix(const NamedTensors& tensors);

}  // namespace ssn
