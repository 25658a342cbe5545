// Training data as the trainer sees it: samples already at the model size and preprocessed.
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace ssn {

struct TrainSample {
  torch::Tensor image;         // float [3,H,W], preprocessed for the backbone
  torch::Tensor mask;          // [H,W] in {0,1}; undefined = no pixel mask (all normal, or an image label only)
  int64_t label = 0;           // 0 normal, 1 anomalous
  torch::Tensor loss_weights;  // optional [H,W] float (train/mask_prep.h); undefined = all 1
  // Optional: the frozen backbone's aggregated features of `image` ([C,fh,fw], extract_features of this
  // image alone), e.g. from a cache. Used only when every sample of a batch has them and none is flipped.
  torch::Tensor features;
};

class TrainDataSource {
 public:
  virtual ~TrainDataSource() = default;
  virtual int64_t size() const = 0;
  virtual TrainSample get(int64_t index) = 0;
  // The label alone: supervised sampling splits positives from negatives before the first epoch. The
  // default loads the whole sample; override it when that is expensive.
  virtual int64_t label(int64_t index) { return get(index).label; }
};

// In-memory source: images [N,3,H,W] float, masks [N,H,W] (or undefined: all normal), labels [N].
class TensorDataSource : public TrainDataSource {
 public:
  TensorDataSource(torch::Tensor images, torch::Tensor masks, torch::Tensor labels);
  int64_t size() const override { return images_.size(0); }
  TrainSample get(int64_t index) override;
  int64_t label(int64_t index) override;

 private:
  torch::Tensor images_, masks_, labels_;
};

}  // namespace ssn
