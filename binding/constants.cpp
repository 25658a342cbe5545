#include "constants.h"

#include "common/limits.h"
#include "common/precision.h"
#include "model/backbone.h"
#include "model/variant.h"
#include "train/distributed_group.h"
#include "train/supervision.h"

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
  Napi::Array variants = Napi::Array::New(env);
  for (ssn::ModelVariant v : {ssn::ModelVariant::Icpr, ssn::ModelVariant::Jims})
    variants.Set(variants.Length(), Napi::String::New(env, ssn::model_variant_name(v)));
  out.Set("variants", variants);
  Napi::Array settings = Napi::Array::New(env);
  for (ssn::Supervision s :
       {ssn::Supervision::Unsupervised, ssn::Supervision::Weak, ssn::Supervision::Mixed, ssn::Supervision::Supervised})
    settings.Set(settings.Length(), Napi::String::New(env, ssn::supervision_name(s)));
  out.Set("settings", settings);
  Napi::Array backends = Napi::Array::New(env);
  for (const std::string& b : ssn::distributed_backends()) backends.Set(backends.Length(), Napi::String::New(env, b));
  out.Set("distributedBackends", backends);
  out.Set("minModelSide", Napi::Number::New(env, static_cast<double>(ssn::kMinModelSide)));
  out.Set("maxModelSide", Napi::Number::New(env, static_cast<double>(ssn::kMaxModelSide)));
  out.Set("maxInputSide", Napi::Number::New(env, static_cast<double>(ssn::kMaxInputSide)));
  out.Set("maxThreads", Napi::Number::New(env, static_cast<double>(ssn::kMaxThreads)));
  return out;
}

}  // namespace ssn_binding
