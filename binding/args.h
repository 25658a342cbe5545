// JS arguments checked and copied into plain C++ values on the JS thread, before any job is queued.
// Every failure is an ArgumentError ("Expected <what> for <name> but received <value>").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <napi.h>

#include "api/engine.h"
#include "common/limits.h"

namespace ssn_binding {

// Pixels are copied rather than referenced: an ArrayBuffer can be detached (transferred to a worker)
// while a job runs and N-API cannot pin it, so a held reference would not keep the pointer valid.
// One memcpy per image is small next to the inference it feeds.
struct OwnedImage {
  std::vector<uint8_t> pixels;
  int64_t width = 0;
  int64_t height = 0;
  int64_t channels = 0;
};

// {data: Uint8Array | Uint8ClampedArray, width, height, channels: 1|3|4}; `name` is used in messages.
OwnedImage parse_image(const Napi::Value& value, const std::string& name);

// [{data: Uint8Array | Uint8ClampedArray, width, height, channels: 1|3|4}, ...], at least one image.
std::vector<OwnedImage> parse_images(const Napi::Value& value);

// Views of owned images, as the core takes them (valid while the images live). An image without pixels
// gives a view with null data.
ssn::ImageU8 image_view(const OwnedImage& image);
std::vector<ssn::ImageU8> image_views(const std::vector<OwnedImage>& images);

// NativeCreateOptions of lib/types.ts; absent optional fields take the ssn::CreateOptions defaults.
ssn::CreateOptions parse_create_options(const Napi::Value& value);

// loadModel's (device, {precision?, threads?, cudaGraphs?}) arguments; both may be undefined.
ssn::LoadOptions parse_load_options(const Napi::Value& device, const Napi::Value& runtime);

// A whole number in [min, max].
double integer_in_range(const Napi::Value& value, const std::string& name, double min, double max);

// A non-empty string without NUL characters.
std::string parse_path(const Napi::Value& value, const std::string& name);

// "'abc' (string)", "12.5 (number)", "an object", ... for messages.
std::string describe_value(const Napi::Value& value);

}  // namespace ssn_binding
