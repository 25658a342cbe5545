#include "api/train_set.h"

#include <algorithm>

#include "common/error.h"
#include "data/preprocess.h"
#include "data/resize_nearest.h"

namespace ssn {

TrainSet::TrainSet(int64_t height, int64_t width) : height_(height), width_(width) {
  if (height < 1 || width < 1) {
    throw Error(ErrorCode::Input,
                "a training set needs a positive size, got " + std::to_string(height) + "x" + std::to_string(width));
  }
}

void TrainSet::add(const ImageU8& image, const ImageU8* mask, int64_t label) {
  const size_t index = labels_.size();
  const std::string where = "training item " + std::to_string(index);
  if (label != 0 && label != 1) {
    throw Error(ErrorCode::Input, where + ": label must be 0 (normal) or 1 (anomalous), got " + std::to_string(label),
                "use 0 for normal and 1 for anomalous images");
  }
  std::vector<uint8_t> pixels = resize_rgb_u8(image, index, height_, width_);
  std::vector<uint8_t> binary;
  RunLengthMask full;
  if (mask != nullptr && mask->data != nullptr) {
    if (mask->width != image.width || mask->height != image.height || mask->channels < 1 || mask->channels > 4) {
      throw Error(ErrorCode::Input,
                  where + ": the mask is " + std::to_string(mask->width) + "x" + std::to_string(mask->height) +
                      " with " + std::to_string(mask->channels) + " channels, its image is " +
                      std::to_string(image.width) + "x" + std::to_string(image.height),
                  "a mask must have its image's width and height (8-bit, 1 to 4 channels)");
    }
    std::vector<uint8_t> first(mask->width * mask->height);
    for (size_t i = 0; i < first.size(); ++i) first[i] = mask->data[i * mask->channels] >= 128 ? 1 : 0;
    // Thresholding commutes with nearest-neighbour resizing: the same as resizing first.
    binary = resize_nearest_u8(first.data(), mask->height, mask->width, 1, height_, width_);
    full.height = mask->height;
    full.width = mask->width;
    uint8_t current = 0;
    uint32_t run = 0;
    for (const uint8_t v : first) {
      if (v != current) full.runs.push_back(run), run = 0, current = v;
      ++run;
    }
    full.runs.push_back(run);
  }
  images_.push_back(std::move(pixels));
  masks_.push_back(std::move(binary));
  full_masks_.push_back(std::move(full));
  labels_.push_back(label);
}

std::pair<torch::Tensor, torch::Tensor> TrainSet::prepared_mask(int64_t index, const MaskPrep& prep) const {
  const RunLengthMask& full = full_masks_.at(index);
  if (full.runs.empty()) return {};
  std::vector<uint8_t> mask(full.height * full.width);
  size_t at = 0;
  uint8_t value = 0;
  for (const uint32_t run : full.runs) {
    std::fill_n(mask.begin() + at, run, value);
    at += run;
    value ^= 1;
  }
  mask = dilate_square(mask, full.height, full.width, prep.dilate);
  std::vector<uint8_t> resized = resize_nearest_u8(mask.data(), full.height, full.width, 1, height_, width_);
  torch::Tensor out_mask = torch::from_blob(resized.data(), {height_, width_}, torch::kUInt8).clone();
  torch::Tensor weights;
  if (prep.weights()) {
    std::vector<float> w = distance_weights(mask, full.height, full.width, prep.dt_weight, prep.dt_power);
    std::vector<float> small = resize_nearest_f32(w.data(), full.height, full.width, height_, width_);
    weights = torch::from_blob(small.data(), {height_, width_}, torch::kFloat32).clone();
  }
  return {out_mask, weights};
}

int64_t TrainSet::count(int64_t label) const {
  int64_t n = 0;
  for (int64_t l : labels_) n += l == label ? 1 : 0;
  return n;
}

torch::Tensor TrainSet::image(int64_t index) const {
  auto& pixels = const_cast<std::vector<uint8_t>&>(images_.at(index));
  return torch::from_blob(pixels.data(), {height_, width_, 3}, torch::kUInt8).permute({2, 0, 1});
}

torch::Tensor TrainSet::mask(int64_t index) const {
  auto& pixels = const_cast<std::vector<uint8_t>&>(masks_.at(index));
  if (pixels.empty()) return torch::Tensor();
  return torch::from_blob(pixels.data(), {height_, width_}, torch::kUInt8);
}

}  // namespace ssn
