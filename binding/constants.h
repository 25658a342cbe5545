// The core's constants as the addon exports them (`constants`): the backbone and precision names and the
// numeric limits. lib/constants.ts mirrors them for type derivation, and the loader checks both agree.
#pragma once
#include <napi.h>

namespace ssn_binding {

Napi::Object make_constants(Napi::Env env);

}  // namespace ssn_binding
