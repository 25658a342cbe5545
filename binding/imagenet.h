// imagenetTopK(modelJson, images, k): the Keras ResNet50 ImageNet classifier on the libuv pool, the
// diagnostic behind `ssn weights verify`. Resolves with, per image, [{index, probability}, ...] (k each,
// most probable first).
#pragma once
#include <napi.h>

namespace ssn_binding {

Napi::Value imagenet_top_k(const Napi::CallbackInfo& info);

}  // namespace ssn_binding
