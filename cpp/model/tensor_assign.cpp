#include "model/tensor_assign.h"

#include <sstream>

#include "common/error.h"

namespace ssn {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void assign_tensors(const std::vector<TensorAssignment>& assignments, const NamedTensors& source,
                    const std::string& what, const std::vector<std::string>& unexpected) {
  std::vector<std::string> missing;
  std::vector<std::string> misshaped;
  std::vector<std::string> invalid;
  std::vector<torch::Tensor> values(assignments.size());
  for (size_t i = 0; i < assignments.size(); ++i) {
    const TensorAssignment& a = assignments[i];
    auto it = source.find(a.source_key);
    if (it == source.end()) {
      if (!a.optional) missing.push_back(a.source_key);
      continue;
    }
    if (!it->second.defined()) {
      misshaped.push_back(a.source_key + " (holds no tensor)");
      continue;
    }
    torch::Tensor value = a.convert ? a.convert(it->second) : it->second;
    if (value.sizes() != a.target.sizes()) {
      std::ostringstream os;
      os << a.source_key << " (expected " << a.target.sizes() << ", received " << value.sizes();
      if (a.convert) os << " after converting the stored " << it->second.sizes();
      os << ")";
      misshaped.push_back(os.str());
      continue;
    }
    // Whole files can still hold wrong values: a float tensor relabelled as an integer type, NaN or infinity, a
    // negative BatchNorm variance. Each would give silent NaN or constant outputs.
    if (a.target.is_floating_point()) {
      if (!value.is_floating_point()) {
        invalid.push_back(a.source_key + " (stored as " + std::string(c10::toString(value.scalar_type())) +
                          ", expected a floating-point tensor)");
        continue;
      }
      if (!torch::isfinite(value).all().item<bool>()) {
        invalid.push_back(a.source_key + " (holds NaN or infinite values)");
        continue;
      }
      const bool variance = ends_with(a.source_key, "running_var") || ends_with(a.source_key, "moving_variance");
      if (variance && (value < 0).any().item<bool>()) {
        invalid.push_back(a.source_key + " (a negative variance)");
        continue;
      }
    }
    values[i] = value;
  }
  if (!invalid.empty() && missing.empty() && misshaped.empty() && unexpected.empty()) {
    std::ostringstream os;
    os << "The " << what << " hold " << invalid.size() << " invalid tensor(s):";
    for (const auto& k : invalid) os << " " << k;
    os << ".";
    throw Error(ErrorCode::Checkpoint, os.str(), "The file is damaged: get or export it again.");
  }
  if (!missing.empty() || !misshaped.empty() || !unexpected.empty()) {
    std::ostringstream os;
    os << "The " << what << " do not fit the model:";
    if (!missing.empty()) {
      os << " " << missing.size() << " missing key(s):";
      for (const auto& k : missing) os << " " << k;
      os << ".";
    }
    if (!misshaped.empty()) {
      os << " " << misshaped.size() << " key(s) with the wrong shape:";
      for (const auto& k : misshaped) os << " " << k;
      os << ".";
    }
    if (!unexpected.empty()) {
      os << " " << unexpected.size() << " unexpected key(s):";
      for (const auto& k : unexpected) os << " " << k;
      os << ".";
    }
    // Only wrong shapes: the file is whole but made for another backbone width or head size.
    const bool only_shapes = missing.empty() && unexpected.empty();
    throw Error(only_shapes ? ErrorCode::Shape : ErrorCode::Checkpoint, os.str(),
                only_shapes ? "The weights were made for another architecture: check --arch / the backbone that goes "
                              "with these heads."
                            : "Check that the checkpoint was made for this architecture (and not truncated).");
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < assignments.size(); ++i) {
    if (values[i].defined()) assignments[i].target.copy_(values[i]);
  }
}

std::vector<TensorAssignment> same_name_assignments(const torch::nn::Module& module) {
  std::vector<TensorAssignment> out;
  for (const auto& p : module.named_parameters(true)) out.push_back({p.key(), p.value(), false, {}});
  for (const auto& b : module.named_buffers(true)) {
    out.push_back({b.key(), b.value(), ends_with(b.key(), "num_batches_tracked"), {}});
  }
  return out;
}

}  // namespace ssn
