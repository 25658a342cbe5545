// Which published SuperSimpleNet the heads belong to. The checkpoints of both have the same keys and shapes, so
// the variant is stated by the user (import) or stored in the model file, never guessed.
// - Icpr (ICPR 2024, github.com/blaz-r/SuperSimpleNet): both heads read the adapted features.
// - Jims (JIMS 2025, "No Label Left Behind", commit 98ab4d5, adapt_cls_feat False): the segmentation head reads the
//   adapted features, the classification head the non-adapted ones.
#pragma once
#include <string>

namespace ssn {

enum class ModelVariant { Icpr, Jims };

const char* model_variant_name(ModelVariant variant);    // "icpr" | "jims"
ModelVariant parse_model_variant(const std::string& s);  // throws ssn::Error(Input) naming the valid ones

}  // namespace ssn
