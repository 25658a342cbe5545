// resizeImage(image, height, width): 8-bit pixels made RGB and resized exactly as predict and train do it (the
// core's resize_rgb_u8: OpenCV INTER_LINEAR), on the libuv pool. Resolves with {data, width, height, channels: 3}.
#pragma once
#include <napi.h>

namespace ssn_binding {

Napi::Value resize_image(const Napi::CallbackInfo& info);

}  // namespace ssn_binding
