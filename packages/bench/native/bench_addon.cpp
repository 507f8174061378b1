// The bench engine's own addon (ringpoll_bench.node): per-environment state, no globals.
#include "bench.hpp"
#include "bench_errors.hpp"
#include "errno_error.hpp"

namespace {

class BenchAddon : public Napi::Addon<BenchAddon> {
 public:
  BenchAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {InstanceMethod("setErrorFactory", &BenchAddon::SetErrorFactory)});
    exports.Set("bench", BenchInit(env));
  }
  Napi::FunctionReference errorFactory;

 private:
  void SetErrorFactory(const Napi::CallbackInfo& info) { errorFactory = Napi::Persistent(info[0].As<Napi::Function>()); }
};

}  // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  return MakeErrnoError(env, env.GetInstanceData<BenchAddon>()->errorFactory, err, syscall, detail);
}

NODE_API_ADDON(BenchAddon)
