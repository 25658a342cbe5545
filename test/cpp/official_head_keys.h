// The 19 state-dict keys of the official heads (feature_adaptor + discriminator), as its weights.pt holds them.
#pragma once
#include <set>
#include <string>

namespace ssn_test {

inline const std::set<std::string>& official_head_keys() {
  static const std::set<std::string> keys = {"feature_adaptor.projection.weight",
                                             "feature_adaptor.projection.bias",
                                             "discriminator.seg.0.weight",
                                             "discriminator.seg.0.bias",
                                             "discriminator.seg.1.weight",
                                             "discriminator.seg.1.bias",
                                             "discriminator.seg.1.running_mean",
                                             "discriminator.seg.1.running_var",
                                             "discriminator.seg.1.num_batches_tracked",
                                             "discriminator.seg.3.weight",
                                             "discriminator.dec_head.0.weight",
                                             "discriminator.dec_head.0.bias",
                                             "discriminator.dec_head.1.weight",
                                             "discriminator.dec_head.1.bias",
                                             "discriminator.dec_head.1.running_mean",
                                             "discriminator.dec_head.1.running_var",
                                             "discriminator.dec_head.1.num_batches_tracked",
                                             "discriminator.fc_score.weight",
                                             "discriminator.fc_score.bias"};
  return keys;
}

}  // namespace ssn_test
