#include "train/supervision.h"

#include <cstdint>

#include "common/error.h"

namespace ssn {

const char* supervision_name(Supervision s) {
  switch (s) {
    case Supervision::Unsupervised:
      return "unsupervised";
    case Supervision::Weak:
      return "weak";
    case Supervision::Mixed:
      return "mixed";
    case Supervision::Supervised:
      return "supervised";
  }
  return "unsupervised";
}

Supervision parse_supervision(const std::string& s) {
  for (Supervision v : {Supervision::Unsupervised, Supervision::Weak, Supervision::Mixed, Supervision::Supervised})
    if (s == supervision_name(v)) return v;
  throw Error(ErrorCode::Config,
              "unknown setting \"" + s + "\": expected \"unsupervised\", \"weak\", \"mixed\" or \"supervised\"",
              "leave the setting out to choose it from the data");
}

bool is_segmented(Supervision s, int64_t label, bool has_mask) {
  if (label == 0) return true;
  // Weak: even a defect image that has a mask counts as unlabelled at the pixel level (JIMS segmented2segmented).
  return s != Supervision::Weak && has_mask;
}

}  // namespace ssn
