// An AsyncWorker settled through a Promise. Subclasses copy their JS arguments into plain C++ members in
// the constructor (JS thread), do the work in Run() (libuv pool: no N-API there) and build the JS result
// in Result() (JS thread). Every exception of Run() becomes a rejection with an ERR_SSN_* code.
#pragma once
#include <optional>

#include <napi.h>

#include "errors.h"

namespace ssn_binding {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* resource_name)
      : Napi::AsyncWorker(env, resource_name), deferred_(Napi::Promise::Deferred::New(env)) {}

  // Queues the job and returns its promise; the worker deletes itself once the promise is settled.
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  // JS thread, after Run() and before the promise settles, whatever the outcome.
  virtual void Finish(Napi::Env) {}

 private:
  void Execute() final {
    try {
      Run();
    } catch (...) {
      error_ = current_exception_error();
    }
  }

  void OnOK() final {
    Napi::Env env = Env();
    try {
      try {
        Finish(env);
      } catch (...) {
        // Finish only delivers leftovers (e.g. a last progress report): the job's own outcome decides.
      }
      if (error_) {
        deferred_.Reject(to_js_error(env, *error_).Value());
        return;
      }
      try {
        deferred_.Resolve(Result(env));
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      } catch (...) {
        deferred_.Reject(to_js_error(env, current_exception_error()).Value());
      }
    } catch (...) {
      // The promise cannot be settled: the environment is shutting down (a worker thread terminated while
      // the job ran) and no JS is left to receive it. Letting the exception escape would abort the process.
    }
  }

  // Execute() never calls SetError, so AsyncWorker's own error path is not used.
  void OnError(const Napi::Error& e) final { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  std::optional<NativeError> error_;
};

// A promise already rejected with the exception in flight (call inside a catch block, JS thread).
inline Napi::Promise rejected_promise(Napi::Env env) {
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  try {
    throw;
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());  // a JS exception, e.g. from a throwing getter: pass it on as it is
  } catch (...) {
    deferred.Reject(to_js_error(env, current_exception_error()).Value());
  }
  return deferred.Promise();
}

}  // namespace ssn_binding
