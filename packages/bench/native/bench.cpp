#include "bench.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "bench_cpu.hpp"
#include "bench_iops.hpp"
#include "bench_tcp_rr.hpp"
#include "bench_udp.hpp"
#include "bench_errors.hpp"

namespace {

using namespace bench;

double Num(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}
int Int(const Napi::Object& o, const char* key, int fallback) { return static_cast<int>(Num(o, key, fallback)); }
bool Bool(const Napi::Object& o, const char* key) { return o.Get(key).ToBoolean().Value(); }
std::string Str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
}
std::vector<int> Ints(const Napi::Object& o, const char* key) {
  std::vector<int> out;
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) return out;
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  return out;
}
Endpoint EndpointOf(const Napi::Object& o, const char* netns, const char* host) {
  return {Str(o, netns), Str(o, host)};
}

// options.cancel: an Int32Array(1) JS sets to 1 to end the run early (the window is cut short).
int32_t* CancelFlag(const Napi::Object& o, Napi::Object* holder) {
  Napi::Value v = o.Get("cancel");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) return nullptr;
  *holder = v.As<Napi::Object>();
  return v.As<Napi::Int32Array>().Data();
}

// options.firstTimeout, warmup, seconds (s) and cancel.
Timing TimingOf(const Napi::Object& o, Napi::Object* cancelHolder) {
  Timing t;
  t.firstTimeout = Num(o, "firstTimeout", t.firstTimeout);
  t.warmup = Num(o, "warmup", t.warmup);
  t.seconds = Num(o, "seconds", t.seconds);
  t.cancel = CancelFlag(o, cancelHolder);
  return t;
}

Napi::Object WindowToJs(Napi::Env env, const Window& w) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", Napi::Number::New(env, static_cast<double>(w.count)));
  o.Set("secondary", Napi::Number::New(env, static_cast<double>(w.secondary)));
  o.Set("seconds", Napi::Number::New(env, w.seconds));
  o.Set("cpuNs", Napi::Number::New(env, static_cast<double>(w.cpuNs)));
  Napi::Array samples = Napi::Array::New(env, w.samples.size());
  for (size_t i = 0; i < w.samples.size(); i++) samples.Set(i, Napi::Number::New(env, w.samples[i]));
  o.Set("samples", samples);
  if (w.before.ok && w.after.ok) {
    Napi::Object k = Napi::Object::New(env);
    k.Set("InDatagrams", Napi::Number::New(env, static_cast<double>(w.after.inDatagrams - w.before.inDatagrams)));
    k.Set("OutDatagrams", Napi::Number::New(env, static_cast<double>(w.after.outDatagrams - w.before.outDatagrams)));
    k.Set("RcvbufErrors", Napi::Number::New(env, static_cast<double>(w.after.rcvbufErrors - w.before.rcvbufErrors)));
    k.Set("InErrors", Napi::Number::New(env, static_cast<double>(w.after.inErrors - w.before.inErrors)));
    o.Set("kernel", k);
  } else {
    o.Set("kernel", env.Null());
  }
  return o;
}

// Runs `run(failure)` on a libuv worker thread (which only coordinates: the measured loops run on
// threads of their own) and settles a Promise with `toJs` or the first errno a bench thread hit.
class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, std::function<void(Failure&)> run, std::function<Napi::Value(Napi::Env)> toJs)
      : Napi::AsyncWorker(env, "ringpoll:bench"),
        deferred_(Napi::Promise::Deferred::New(env)),
        run_(std::move(run)),
        toJs_(std::move(toJs)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  // Keeps JS memory the threads read (external counter, cancel flag) alive until the run settles.
  void Keep(Napi::Object o) { kept_.push_back(Napi::Persistent(o)); }
  void Execute() override { run_(failure_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.Failed()) deferred_.Reject(ErrnoError(env, failure_.err, failure_.syscall.c_str(), failure_.detail).Value());
    else deferred_.Resolve(toJs_(env));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void(Failure&)> run_;
  std::function<Napi::Value(Napi::Env)> toJs_;
  Failure failure_;
  std::vector<Napi::ObjectReference> kept_;
};

// A JS receiver or server ("external"): its sockets, and the counter it bumps on this thread.
void ReadExternal(Napi::Object o, const char* what, uint32_t** counter, std::vector<int>* fds, pthread_t* thread) {
  Napi::Value c = o.Get("externalCounter");
  if (!c.IsTypedArray() || c.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    throw Napi::TypeError::New(o.Env(), std::string(what) + ": externalCounter must be a Uint32Array");
  }
  *counter = c.As<Napi::Uint32Array>().Data();
  *fds = Ints(o, "externalFds");
  *thread = pthread_self();
}

Napi::Value Pps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  auto cfg = std::make_shared<PpsConfig>();
  cfg->receiver = Str(o, "receiver");
  cfg->from = EndpointOf(o, "senderNetns", "senderHost");
  cfg->to = EndpointOf(o, "receiverNetns", "receiverHost");
  cfg->flows = Int(o, "flows", 1);
  cfg->port = Int(o, "port", 0);
  cfg->size = Int(o, "size", 64);
  cfg->senders = Int(o, "senders", 1);
  cfg->rate = Num(o, "rate", 0);
  cfg->rcvbuf = Int(o, "rcvbuf", 0);
  cfg->batch = Int(o, "batch", 64);
  cfg->maxEvents = Int(o, "maxEvents", 1024);
  cfg->injectNs = Num(o, "injectNs", 0);
  cfg->senderCpus = Ints(o, "senderCpus");
  cfg->receiverCpu = Int(o, "receiverCpu", -1);
  Napi::Object cancelHolder;
  cfg->timing = TimingOf(o, &cancelHolder);
  Napi::Value counter = o.Get("externalCounter");
  if (cfg->receiver == "external") ReadExternal(o, "bench.pps", &cfg->externalCounter, &cfg->externalFds, &cfg->externalThread);
  auto result = std::make_shared<UdpResult>();
  auto* w = new Worker(
      env, [cfg, result](Failure& f) { RunPps(*cfg, *result, f); },
      [result](Napi::Env e) {
        Napi::Object r = WindowToJs(e, result->window);
        r.Set("injectLoops", Napi::Number::New(e, static_cast<double>(result->injectLoops)));
        return r;
      });
  if (cfg->receiver == "external") w->Keep(counter.As<Napi::Object>());
  if (cfg->timing.cancel != nullptr) w->Keep(cancelHolder);
  w->Queue();
  return w->Promise();
}

Napi::Value UdpRr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  auto cfg = std::make_shared<RrRunConfig>();
  cfg->server = Str(o, "server");
  cfg->client = EndpointOf(o, "clientNetns", "clientHost");
  cfg->serverAt = EndpointOf(o, "serverNetns", "serverHost");
  cfg->flows = Int(o, "flows", 1000);
  cfg->size = Int(o, "size", 64);
  cfg->clients = Int(o, "clients", 1);
  cfg->maxEvents = Int(o, "maxEvents", 1000);
  cfg->injectNs = Num(o, "injectNs", 0);
  cfg->clientCpus = Ints(o, "clientCpus");
  cfg->serverCpu = Int(o, "serverCpu", -1);
  Napi::Object cancelHolder;
  cfg->timing = TimingOf(o, &cancelHolder);
  Napi::Value counter = o.Get("externalCounter");
  if (cfg->server == "external") ReadExternal(o, "bench.udpRr", &cfg->externalCounter, &cfg->externalFds, &cfg->externalThread);
  auto result = std::make_shared<UdpResult>();
  auto* w = new Worker(
      env, [cfg, result](Failure& f) { RunRr(*cfg, *result, f); },
      [result](Napi::Env e) {
        Napi::Object r = WindowToJs(e, result->window);
        r.Set("injectLoops", Napi::Number::New(e, static_cast<double>(result->injectLoops)));
        Napi::Object rtt = Napi::Object::New(e);
        const char* names[] = {"p50", "p90", "p99", "p999", "max"};
        for (size_t i = 0; i < result->rttQuantiles.size() && i < 5; i++) {
          rtt.Set(names[i], Napi::Number::New(e, static_cast<double>(result->rttQuantiles[i]) / 1000));
        }
        rtt.Set("count", Napi::Number::New(e, static_cast<double>(result->rttCount)));
        r.Set("rttUs", rtt);
        return r;
      });
  if (cfg->server == "external") w->Keep(counter.As<Napi::Object>());
  if (cfg->timing.cancel != nullptr) w->Keep(cancelHolder);
  w->Queue();
  return w->Promise();
}

Napi::Value Iops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  auto cfg = std::make_shared<IopsConfig>();
  cfg->path = Str(o, "path");
  cfg->blockSize = Int(o, "blockSize", 4096);
  cfg->depth = Int(o, "depth", 128);
  cfg->batchSubmit = Int(o, "batchSubmit", 32);
  cfg->batchComplete = Int(o, "batchComplete", 32);
  cfg->fixedBuffers = Bool(o, "fixedBuffers");
  cfg->fixedFiles = Bool(o, "fixedFiles");
  cfg->polled = Bool(o, "polled");
  cfg->cpu = Int(o, "cpu", -1);
  Napi::Object cancelHolder;
  cfg->timing = TimingOf(o, &cancelHolder);
  auto result = std::make_shared<IopsResult>();
  auto* w = new Worker(
      env, [cfg, result](Failure& f) { RunIops(*cfg, *result, f); },
      [result](Napi::Env e) {
        Napi::Object r = WindowToJs(e, result->window);
        r.Set("bytes", Napi::Number::New(e, static_cast<double>(result->bytes)));
        r.Set("ringFlags", Napi::Number::New(e, result->ringFlags));
        return r;
      });
  if (cfg->timing.cancel != nullptr) w->Keep(cancelHolder);
  w->Queue();
  return w->Promise();
}

// tcpRr({ host, port, connections, size, warmup, seconds, cpu, churn, epoll, spin, nice, serverPid, firstTimeout })
// -> Promise of the client's figures
Napi::Value TcpRr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  auto cfg = std::make_shared<TcpRrConfig>();
  cfg->host = Str(o, "host");
  cfg->port = Int(o, "port", 0);
  cfg->connections = Int(o, "connections", 1);
  cfg->size = Int(o, "size", 64);
  cfg->warmup = Num(o, "warmup", 0.5);
  cfg->seconds = Num(o, "seconds", 2);
  cfg->cpu = Int(o, "cpu", -1);
  cfg->churn = Bool(o, "churn");
  cfg->epoll = Bool(o, "epoll");
  cfg->spin = Bool(o, "spin");
  cfg->multishot = !o.Has("multishot") || Bool(o, "multishot");
  cfg->serverPid = Int(o, "serverPid", 0);
  cfg->nice = Int(o, "nice", 0);
  cfg->firstTimeout = Num(o, "firstTimeout", 10);
  auto result = std::make_shared<TcpRrResult>();
  auto* w = new Worker(
      env, [cfg, result](Failure& f) { *result = RunTcpRrClient(*cfg, f); },
      [result](Napi::Env e) {
        Napi::Object r = Napi::Object::New(e);
        auto num = [&](const char* key, double v) { r.Set(key, Napi::Number::New(e, v)); };
        num("transactions", static_cast<double>(result->transactions));
        num("seconds", result->seconds);
        num("p50Us", result->p50Us);
        num("p99Us", result->p99Us);
        num("p999Us", result->p999Us);
        num("maxUs", result->maxUs);
        num("requests", static_cast<double>(result->requests));
        num("responses", static_cast<double>(result->responses));
        num("bytes", static_cast<double>(result->bytes));
        num("serverCpuNs", static_cast<double>(result->serverCpuNs));
        num("serverWaitNs", static_cast<double>(result->serverWaitNs));
        num("clientCpuNs", static_cast<double>(result->clientCpuNs));
        num("passes", static_cast<double>(result->passes));
        r.Set("client", Napi::String::New(e, result->client));
        return r;
      });
  w->Queue();
  return w->Promise();
}

// tcpEchoServer({ fd, cancel }) -> Promise settled once cancel[0] = 1 stopped the C++ echo server
// serving the listening socket `fd` (on a thread of its own).
Napi::Value TcpEchoServer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  int fd = Int(o, "fd", -1);
  Napi::Object cancelHolder;
  int32_t* cancel = CancelFlag(o, &cancelHolder);
  if (cancel == nullptr) throw Napi::TypeError::New(env, "tcpEchoServer: options.cancel must be an Int32Array");
  auto* w = new Worker(
      env, [fd, cancel](Failure& f) { RunTcpEchoUringServer(fd, cancel, f); }, [](Napi::Env e) { return e.Undefined(); });
  w->Keep(cancelHolder);
  w->Queue();
  return w->Promise();
}

// openReceivers({ netns, host, flows, port, rcvbuf }) -> Int32Array of bound nonblocking UDP fds.
Napi::Value OpenReceivers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  Failure failure;
  std::vector<int> fds = OpenBound(EndpointOf(o, "netns", "host"), Int(o, "flows", 1), Int(o, "port", 0),
                                   Int(o, "rcvbuf", 0), failure);
  if (failure.Failed()) throw ErrnoError(env, failure.err, failure.syscall.c_str(), failure.detail);
  Napi::Int32Array out = Napi::Int32Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) out[i] = fds[i];
  return out;
}

Napi::Value ThreadCpu(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ThreadCpuNs(pthread_self())));
}

// setAffinity(cpus[]) pins the calling thread (the Node main thread for JS receivers) -> 0 or errno.
Napi::Value SetAffinity(const Napi::CallbackInfo& info) {
  auto cpus = info[0].As<Napi::Array>();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < cpus.Length(); i++) CPU_SET(cpus.Get(i).As<Napi::Number>().Int32Value(), &set);
  return Napi::Number::New(info.Env(), pthread_setaffinity_np(pthread_self(), sizeof set, &set));
}

}  // namespace

Napi::Object BenchInit(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pps", Napi::Function::New<Pps>(env, "pps"));
  o.Set("udpRr", Napi::Function::New<UdpRr>(env, "udpRr"));
  o.Set("iops", Napi::Function::New<Iops>(env, "iops"));
  o.Set("tcpRr", Napi::Function::New<TcpRr>(env, "tcpRr"));
  o.Set("tcpEchoServer", Napi::Function::New<TcpEchoServer>(env, "tcpEchoServer"));
  o.Set("openReceivers", Napi::Function::New<OpenReceivers>(env, "openReceivers"));
  o.Set("threadCpuNs", Napi::Function::New<ThreadCpu>(env, "threadCpuNs"));
  o.Set("setAffinity", Napi::Function::New<SetAffinity>(env, "setAffinity"));
  return o;
}
