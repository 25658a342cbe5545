#include "pickle_json.h"

#include <string>
#include <utility>

#include "args.h"
#include "promise_worker.h"
#include "tools/pickle_json.h"

namespace ssn_binding {

namespace {

class ReadPickleJsonWorker : public PromiseWorker {
 public:
  ReadPickleJsonWorker(Napi::Env env, std::string path)
      : PromiseWorker(env, "supersimplenet:readPickleJson"), path_(std::move(path)) {}

 protected:
  void Run() override { json_ = ssn::read_pickle_json(path_); }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, json_); }

 private:
  std::string path_;
  std::string json_;
};

}  // namespace

Napi::Value read_pickle_json(const Napi::CallbackInfo& info) {
  try {
    return (new ReadPickleJsonWorker(info.Env(), parse_path(info[0], "path")))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

}  // namespace ssn_binding
