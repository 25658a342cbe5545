// The supervision regimes of the 2025 extension (JIMS code, datamodules/base Supervision and train.py): how much
// of the defect data is labelled, and so which samples the segmentation loss may read.
// - Unsupervised: normal images only (the ICPR MVTec recipe).
// - Weak: defect images carry an image label, no mask; the segmentation loss reads the normal images only.
// - Mixed: some defect images carry a mask; the segmentation loss reads the normal and the masked ones.
// - Supervised: every defect image carries a mask (the ICPR KSDD2 / Sensum recipe).
// Normal images always count as segmented: their all-zero mask is known (the JIMS Sensum split says so).
#pragma once
#include <string>

namespace ssn {

enum class Supervision { Unsupervised, Weak, Mixed, Supervised };

const char* supervision_name(Supervision s);          // "unsupervised" | "weak" | "mixed" | "supervised"
Supervision parse_supervision(const std::string& s);  // throws ssn::Error(Config) naming the valid ones

// Whether the segmentation loss reads a sample of this label, with or without a mask, under `s`.
bool is_segmented(Supervision s, int64_t label, bool has_mask);

}  // namespace ssn
