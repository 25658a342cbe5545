// The numeric limits every layer checks against (the addon exports them; lib/constants.ts mirrors them and
// the loader checks that both agree).
#pragma once
#include <cstdint>

namespace ssn {

// The model's smallest side: the anomaly map's 25x25 blur reflect-pads by 12 pixels, which needs 13.
constexpr int64_t kMinModelSide = 13;
// The model's largest side: far beyond any sensible model size; catches corrupt sizes early.
constexpr int64_t kMaxModelSide = 16384;
// The largest side of an input image handed to predict, train or resize (before resizing to the model):
// large enough for any image, small enough that width * height * channels cannot overflow int64.
constexpr int64_t kMaxInputSide = int64_t{1} << 24;
// libtorch intra-op threads a model may ask for (0: libtorch's choice).
constexpr int64_t kMaxThreads = 1024;

}  // namespace ssn
