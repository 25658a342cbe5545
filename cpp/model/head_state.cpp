// The heads' tensors under the official checkpoint names (weights.pt minus nothing: no backbone keys).
#include <set>

#include "model/supersimplenet.h"
#include "model/tensor_assign.h"

namespace ssn {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool is_head_key(const std::string& key) {
  return starts_with(key, "feature_adaptor.") || starts_with(key, "discriminator.");
}

}  // namespace

NamedTensors SuperSimpleNetImpl::head_state() {
  // Detached views of the live tensors: callers that keep them across training should clone.
  NamedTensors state;
  for (const auto& p : named_parameters(true)) {
    if (is_head_key(p.key())) state.emplace(p.key(), p.value().detach());
  }
  for (const auto& b : named_buffers(true)) {
    if (is_head_key(b.key())) state.emplace(b.key(), b.value().detach());
  }
  return state;
}

void SuperSimpleNetImpl::load_head_state(const NamedTensors& state) {
  std::vector<TensorAssignment> assignments;
  std::set<std::string> expected;
  for (auto& a : same_name_assignments(*this)) {
    if (!is_head_key(a.source_key)) continue;
    expected.insert(a.source_key);
    assignments.push_back(std::move(a));
  }
  std::vector<std::string> unexpected;
  for (const auto& kv : state) {
    if (is_head_key(kv.first) && expected.count(kv.first) == 0) unexpected.push_back(kv.first);
  }
  assign_tensors(assignments, state, "SuperSimpleNet head weights", unexpected);
}

}  // namespace ssn
