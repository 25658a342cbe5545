#include "resize_image.h"

#include <cstring>
#include <utility>
#include <vector>

#include "args.h"
#include "data/preprocess.h"
#include "promise_worker.h"

namespace ssn_binding {

namespace {

class ResizeImageWorker : public PromiseWorker {
 public:
  ResizeImageWorker(Napi::Env env, OwnedImage image, int64_t height, int64_t width)
      : PromiseWorker(env, "supersimplenet:resizeImage"), image_(std::move(image)), height_(height), width_(width) {}

 protected:
  void Run() override { out_ = ssn::resize_rgb_u8(image_view(image_), 0, height_, width_); }
  Napi::Value Result(Napi::Env env) override {
    // Copied into V8 memory: external buffers are not allowed inside Electron's memory cage.
    Napi::Uint8Array data = Napi::Uint8Array::New(env, out_.size());
    std::memcpy(data.Data(), out_.data(), out_.size());
    Napi::Object o = Napi::Object::New(env);
    o.Set("data", data);
    o.Set("width", Napi::Number::New(env, static_cast<double>(width_)));
    o.Set("height", Napi::Number::New(env, static_cast<double>(height_)));
    o.Set("channels", Napi::Number::New(env, 3));
    return o;
  }

 private:
  OwnedImage image_;
  int64_t height_, width_;
  std::vector<uint8_t> out_;
};

}  // namespace

Napi::Value resize_image(const Napi::CallbackInfo& info) {
  try {
    OwnedImage image = parse_image(info[0], "image");
    const auto height = static_cast<int64_t>(integer_in_range(info[1], "height", 1, ssn::kMaxInputSide));
    const auto width = static_cast<int64_t>(integer_in_range(info[2], "width", 1, ssn::kMaxInputSide));
    return (new ResizeImageWorker(info.Env(), std::move(image), height, width))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

}  // namespace ssn_binding
