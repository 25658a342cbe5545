#include "constants.h"

#include "common/limits.h"
#include "common/precision.h"
#include "model/backbone.h"

namespace ssn_binding {

Napi::Object make_constants(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array backbones = Napi::Array::New(env);
  for (ssn::BackboneArch arch : ssn::all_backbone_archs())
    backbones.Set(backbones.Length(), Napi::String::New(env, ssn::backbone_arch_name(arch)));
  out.Set("backbones", backbones);
  Napi::Array precisions = Napi::Array::New(env);
  for (ssn::Precision p : {ssn::Precision::Float32, ssn::Precision::Float16, ssn::Precision::BFloat16})
    precisions.Set(precisions.Length(), Napi::String::New(env, ssn::precision_name(p)));
  out.Set("precisions", precisions);
  out.Set("minModelSide", Napi::Number::New(env, static_cast<double>(ssn::kMinModelSide)));
  out.Set("maxModelSide", Napi::Number::New(env, static_cast<double>(ssn::kMaxModelSide)));
  out.Set("maxInputSide", Napi::Number::New(env, static_cast<double>(ssn::kMaxInputSide)));
  out.Set("maxThreads", Napi::Number::New(env, static_cast<double>(ssn::kMaxThreads)));
  return out;
}

}  // namespace ssn_binding
