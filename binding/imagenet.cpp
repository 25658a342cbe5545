#include "imagenet.h"

#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "promise_worker.h"
#include "tools/keras_classifier.h"

namespace ssn_binding {

namespace {

class ImagenetTopKWorker : public PromiseWorker {
 public:
  ImagenetTopKWorker(Napi::Env env, std::string model_json, std::vector<OwnedImage> images, int k)
      : PromiseWorker(env, "supersimplenet:imagenetTopK"),
        model_json_(std::move(model_json)),
        images_(std::move(images)),
        k_(k) {}

 protected:
  void Run() override {
    const std::vector<ssn::ImageU8> views = image_views(images_);
    result_ = ssn::keras_imagenet_top_k(model_json_, views, k_);
    images_.clear();
    images_.shrink_to_fit();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, result_.size());
    for (size_t i = 0; i < result_.size(); ++i) {
      Napi::Array classes = Napi::Array::New(env, result_[i].size());
      for (size_t j = 0; j < result_[i].size(); ++j) {
        Napi::Object c = Napi::Object::New(env);
        c.Set("index", Napi::Number::New(env, result_[i][j].first));
        c.Set("probability", Napi::Number::New(env, result_[i][j].second));
        classes.Set(static_cast<uint32_t>(j), c);
      }
      out.Set(static_cast<uint32_t>(i), classes);
    }
    return out;
  }

 private:
  std::string model_json_;
  std::vector<OwnedImage> images_;
  int k_;
  std::vector<std::vector<std::pair<int, float>>> result_;
};

}  // namespace

Napi::Value imagenet_top_k(const Napi::CallbackInfo& info) {
  try {
    std::string model_json = parse_path(info[0], "modelJson");
    std::vector<OwnedImage> images = parse_images(info[1]);
    const int k = static_cast<int>(integer_in_range(info[2], "k", 1, static_cast<double>(ssn::kImageNetClasses)));
    return (new ImagenetTopKWorker(info.Env(), std::move(model_json), std::move(images), k))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

}  // namespace ssn_binding
