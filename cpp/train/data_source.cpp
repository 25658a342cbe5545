#include "train/data_source.h"

#include <sstream>

#include "common/error.h"

namespace ssn {

TensorDataSource::TensorDataSource(torch::Tensor images, torch::Tensor masks, torch::Tensor labels)
    : images_(std::move(images)), masks_(std::move(masks)), labels_(std::move(labels)) {
  const bool ok = images_.defined() && images_.dim() == 4 && images_.size(1) == 3 && labels_.defined() &&
                  labels_.dim() == 1 && labels_.size(0) == images_.size(0) &&
                  (!masks_.defined() || (masks_.dim() == 3 && masks_.size(0) == images_.size(0) &&
                                         masks_.size(1) == images_.size(2) && masks_.size(2) == images_.size(3)));
  if (!ok) {
    std::ostringstream os;
    os << "TensorDataSource: expected images [N,3,H,W], masks [N,H,W] (optional) and labels [N], got ";
    if (images_.defined())
      os << images_.sizes();
    else
      os << "no images";
    if (masks_.defined()) os << ", " << masks_.sizes();
    os << " and ";
    if (labels_.defined())
      os << labels_.sizes();
    else
      os << "no labels";
    throw Error(ErrorCode::Shape, os.str(), "pass one mask and one label per image");
  }
  labels_ = labels_.to(torch::kCPU, torch::kInt64);
}

TrainSample TensorDataSource::get(int64_t index) {
  TrainSample s;
  s.image = images_[index];
  if (masks_.defined()) s.mask = masks_[index];
  s.label = labels_[index].item<int64_t>();
  return s;
}

int64_t TensorDataSource::label(int64_t index) { return labels_[index].item<int64_t>(); }

}  // namespace ssn
