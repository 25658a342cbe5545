// The official supervised epoch composition (spec section 9, SSN datamodules/base/dataset.py, MSD scheme):
// K*P augmented positives followed by K*P negatives drawn by inverse retrieval frequency (K = 4 with flips:
// none / vertical / horizontal / rot180; K = 1 without). The draws use a torch CPU generator instead of
// NumPy's global RNG: same distribution, different numbers.
// Flips: the official code flips the raw image and mask before resizing; our data sources hand over tensors
// already at the model size, so the flips act on those. For images this is the same up to rounding (the
// half-pixel-centre bilinear resize is mirror-symmetric); for masks the nearest-neighbour resize
// (src = floor(dst*in/out)) is not, so a mask flipped after resizing can sit up to one source pixel away
// from the official one when the sizes differ.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include "io/named_tensors.h"

namespace ssn {

enum class Flip { None = 0, Vertical = 1, Horizontal = 2, Rot180 = 3 };

// Flips an image [C,H,W] (or a mask [H,W]) on its last two dimensions.
torch::Tensor apply_flip(const torch::Tensor& t, Flip flip);

struct SampledItem {
  int64_t source_index = 0;  // index into the data source
  Flip flip = Flip::None;
};

class SupervisedSampler {
 public:
  // positives / negatives: data-source indices by label. Throws ssn::Error(Input) when either is empty.
  SupervisedSampler(std::vector<int64_t> positives, std::vector<int64_t> negatives, bool flips);

  int64_t epoch_length() const { return 2 * k_ * p(); }
  // The official __getitem__: index < K*P is positive (index mod P) with flip index div P; the rest take
  // entry (index mod K*P) of the negative permutation. The permutation is drawn at the first retrieval and
  // redrawn by inverse frequency at the first retrieval after each full pass (counter >= epoch length).
  SampledItem retrieve(int64_t index, at::Generator& generator);

  NamedTensors export_state(const std::string& prefix) const;
  void import_state(const NamedTensors& state, const std::string& prefix);

 private:
  int64_t p() const { return static_cast<int64_t>(positives_.size()); }
  int64_t nn() const { return static_cast<int64_t>(negatives_.size()); }
  void draw_permutation(at::Generator& generator);

  std::vector<int64_t> positives_, negatives_;
  int64_t k_;
  int64_t counter_ = 0;
  torch::Tensor frequency_;    // int64 [Nn]: retrievals per negative
  torch::Tensor permutation_;  // int64 [>= K*P] indices into negatives_; undefined before the first draw
};

}  // namespace ssn
