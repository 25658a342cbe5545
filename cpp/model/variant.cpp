#include "model/variant.h"

#include "common/error.h"

namespace ssn {

const char* model_variant_name(ModelVariant variant) { return variant == ModelVariant::Jims ? "jims" : "icpr"; }

ModelVariant parse_model_variant(const std::string& s) {
  if (s == "icpr") return ModelVariant::Icpr;
  if (s == "jims") return ModelVariant::Jims;
  throw Error(ErrorCode::Input, "Unknown model variant \"" + s + "\"; expected \"icpr\" or \"jims\".",
              "icpr: the ICPR 2024 code; jims: the 2025 extension (classification head on non-adapted features).");
}

}  // namespace ssn
