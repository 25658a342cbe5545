// Training images held at the model size as 8-bit pixels: each image is resized once when it is added
// (OpenCV INTER_LINEAR, as predict does), each mask with OpenCV INTER_NEAREST and thresholded (>= 128 is
// defective). Memory is bounded by the model size, not by the size of the files. Each mask is also kept at its
// own resolution, run-length encoded (a few bytes per defect row), for the 2025 extension's dilation and
// distance-transform weights, which the official code computes before resizing (train/mask_prep.h).
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "api/engine.h"
#include "train/mask_prep.h"

namespace ssn {

class TrainSet {
 public:
  TrainSet(int64_t height, int64_t width);

  // `mask`: nullptr (or no data) = no pixel mask: all normal for a normal image, image-level label only for
  // an anomalous one. A mask must have its image's size (any channel count; the first channel is read).
  // Throws ssn::Error(Input) naming the item's index on bad images, masks or labels.
  void add(const ImageU8& image, const ImageU8* mask, int64_t label);

  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  int64_t label(int64_t index) const { return labels_.at(index); }
  int64_t count(int64_t label) const;
  // RGB uint8 [3,H,W] (a view of the stored pixels: keep the set alive).
  torch::Tensor image(int64_t index) const;
  // {0,1} uint8 [H,W], or undefined when the item has no mask.
  torch::Tensor mask(int64_t index) const;
  bool has_mask(int64_t index) const { return !masks_.at(index).empty(); }
  // The item's mask prepared at its own resolution (dilated), then resized to the model size: {0,1} uint8
  // [H,W], and the loss weights float [H,W] when prep asks for them (else undefined). Undefined without a mask.
  std::pair<torch::Tensor, torch::Tensor> prepared_mask(int64_t index, const MaskPrep& prep) const;

 private:
  // A binary mask at its own resolution: lengths of alternating runs of 0 and 1 in row-major order, 0 first.
  struct RunLengthMask {
    int64_t height = 0, width = 0;
    std::vector<uint32_t> runs;
  };

  int64_t height_, width_;
  std::vector<std::vector<uint8_t>> images_;  // H*W*3 each
  std::vector<std::vector<uint8_t>> masks_;   // H*W each, or empty
  std::vector<RunLengthMask> full_masks_;     // the masks at their own resolution (empty runs: no mask)
  std::vector<int64_t> labels_;
};

}  // namespace ssn
