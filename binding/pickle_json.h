// readPickleJson(path): the plain data of a pickle file (dataset split lists) as JSON text, read on the
// libuv pool by the project's own pickle VM (nothing Python is run). Resolves with a string.
#pragma once
#include <napi.h>

namespace ssn_binding {

Napi::Value read_pickle_json(const Napi::CallbackInfo& info);

}  // namespace ssn_binding
