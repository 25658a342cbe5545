#include "model/feature_adaptor.h"

namespace ssn {

FeatureAdaptorImpl::FeatureAdaptorImpl(int64_t channels) : torch::nn::Module("FeatureAdaptor") {
  projection_ =
      register_module("projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1).bias(true)));
}

}  // namespace ssn
