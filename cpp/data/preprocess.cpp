#include "data/preprocess.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "data/resize_linear.h"

namespace ssn {
namespace {

void validate(const ImageU8& img, size_t index) {
  const std::string where = "image " + std::to_string(index);
  if (!img.data) throw Error(ErrorCode::Input, where + " has no pixel data");
  if (img.width <= 0 || img.height <= 0)
    throw Error(ErrorCode::Input, where + " has size " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                                      "; expected a positive width and height");
  if (img.channels != 1 && img.channels != 3 && img.channels != 4)
    throw Error(ErrorCode::Input,
                where + " has " + std::to_string(img.channels) + " channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)",
                "convert the image to 8-bit gray, RGB or RGBA first");
}

// RGB HWC from gray (replicated) or RGBA (alpha dropped, as cv2.imread(IMREAD_COLOR) does).
std::vector<uint8_t> to_rgb(const ImageU8& img) {
  const int64_t n = img.width * img.height;
  std::vector<uint8_t> rgb(n * 3);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 3; ++c) rgb[i * 3 + c] = img.data[i * img.channels + (img.channels == 1 ? 0 : c)];
  return rgb;
}

}  // namespace

std::vector<uint8_t> resize_rgb_u8(const ImageU8& image, size_t index, int64_t height, int64_t width) {
  validate(image, index);
  const std::vector<uint8_t> rgb = to_rgb(image);
  return resize_linear_u8(rgb.data(), image.height, image.width, 3, height, width);
}

torch::Tensor preprocess_images(const std::vector<ImageU8>& images, int64_t height, int64_t width,
                                const Preprocessing& prep) {
  if (images.empty()) throw Error(ErrorCode::Input, "no images were given", "pass at least one image");
  torch::Tensor pixels = torch::empty({static_cast<int64_t>(images.size()), height, width, 3}, torch::kUInt8);
  uint8_t* dst = pixels.data_ptr<uint8_t>();
  for (size_t b = 0; b < images.size(); ++b) {
    const std::vector<uint8_t> resized = resize_rgb_u8(images[b], b, height, width);
    std::copy(resized.begin(), resized.end(), dst + b * resized.size());
  }
  return preprocess(pixels.permute({0, 3, 1, 2}), prep).contiguous();
}

}  // namespace ssn
