// From 8-bit images to the backbone's input tensor: colour conversion like cv2.imread (gray replicated,
// alpha dropped), resize like the official pipeline, then the backbone's normalisation (model/preprocessing.h).
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "data/image.h"
#include "model/preprocessing.h"

namespace ssn {

// One image as RGB uint8 [height,width,3] at the given size: validated (ssn::Error(Input) naming image
// `index`), converted to RGB, resized with OpenCV's INTER_LINEAR (the official pipeline).
std::vector<uint8_t> resize_rgb_u8(const ImageU8& image, size_t index, int64_t height, int64_t width);

// Returns [B,3,H,W] float32 on CPU. Throws ssn::Error(Input) naming the image index for bad images.
torch::Tensor preprocess_images(const std::vector<ImageU8>& images, int64_t height, int64_t width,
                                const Preprocessing& prep);

}  // namespace ssn
