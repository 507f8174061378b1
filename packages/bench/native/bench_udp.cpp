#include "bench_udp.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "bench_cpu.hpp"
#include "bench_inject.hpp"
#include "bench_receivers.hpp"
#include "bench_rr.hpp"
#include "bench_sender.hpp"

namespace bench {

namespace {

// Threads of one run; Stop + join in the destructor so no path leaves one running.
class Threads {
 public:
  explicit Threads(Stop& stop) : stop_(stop) {}
  ~Threads() { StopAndJoin(); }
  template <typename Fn>
  pthread_t Start(int cpu, Failure& failure, Fn fn) {
    threads_.emplace_back(std::move(fn));
    pthread_t h = threads_.back().native_handle();
    int err = PinThread(h, cpu);
    if (err != 0) failure.Record(err, "pthread_setaffinity_np", "cpu " + std::to_string(cpu));
    return h;
  }
  void StopAndJoin() {
    stop_.Request();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  Stop& stop_;
  std::vector<std::thread> threads_;
};

int CpuAt(const std::vector<int>& cpus, size_t i) { return cpus.empty() ? -1 : cpus[i % cpus.size()]; }

// Flows are dealt to sender threads round robin.
std::vector<SenderConfig> SplitSenders(const std::vector<int>& fds, int senders, int size, double rate) {
  std::vector<SenderConfig> out(senders);
  for (size_t i = 0; i < fds.size(); i++) out[i % senders].fds.push_back(fds[i]);
  for (auto& s : out) {
    s.size = size;
    s.rate = rate / senders;
  }
  return out;
}

// A JS receiver bumps a uint32; widen it here (it cannot wrap twice within one sample).
std::function<uint64_t()> ExternalCount(uint32_t* counter) {
  auto last = std::make_shared<uint32_t>(std::atomic_ref<uint32_t>(*counter).load(std::memory_order_relaxed));
  auto wide = std::make_shared<uint64_t>(0);
  return [last, wide, counter] {
    uint32_t now = std::atomic_ref<uint32_t>(*counter).load(std::memory_order_relaxed);
    *wide += static_cast<uint32_t>(now - *last);
    *last = now;
    return *wide;
  };
}

}  // namespace

void RunPps(const PpsConfig& cfg, UdpResult& out, Failure& failure) {
  Stop stop;
  if (!stop.Valid()) return failure.Record(errno, "eventfd");
  bool external = cfg.receiver == "external";
  ReceiverKind kind = ReceiverKind::Recvmmsg;
  if (!external && !ParseReceiverKind(cfg.receiver, &kind)) return failure.Record(EINVAL, "bench", "unknown receiver " + cfg.receiver);
  std::vector<int> rfds = external ? cfg.externalFds : OpenBound(cfg.to, cfg.flows, cfg.port, cfg.rcvbuf, failure);
  std::vector<int> sfds;
  int snmp = -1;
  if (!failure.Failed()) sfds = OpenConnected(cfg.from, LocalAddresses(rfds, failure), false, failure);
  if (!failure.Failed()) snmp = OpenSnmp(cfg.to.netns, failure);
  out.injectLoops = LoopsForNs(cfg.injectNs);
  Counter received;
  std::vector<Counter> sent(cfg.senders);
  {
    Threads threads(stop);
    Plan plan;
    if (!failure.Failed()) {
      if (external) {
        plan.count = ExternalCount(cfg.externalCounter);
        plan.receiverThreads.push_back(cfg.externalThread);
      } else {
        ReceiverConfig rc;
        rc.fds = rfds;
        rc.size = cfg.size;
        rc.batch = cfg.batch;
        rc.maxEvents = cfg.maxEvents;
        rc.injectLoops = out.injectLoops;
        plan.receiverThreads.push_back(threads.Start(cfg.receiverCpu, failure, [&, rc, kind] {
          RunReceiver(kind, rc, received, failure, stop);
        }));
        plan.count = [&] { return received.Read(); };
      }
      auto split = SplitSenders(sfds, cfg.senders, cfg.size, cfg.rate);
      for (size_t i = 0; i < split.size(); i++) {
        split[i].batch = 32;
        threads.Start(CpuAt(cfg.senderCpus, i), failure, [&, i, sc = split[i]] { RunSender(sc, sent[i], failure, stop); });
      }
      plan.secondary = [&] {
        uint64_t s = 0;
        for (auto& c : sent) s += c.Read();
        return s;
      };
      plan.snmpFd = snmp;
      plan.timing = cfg.timing;
      out.window = Measure(plan, failure);
    }
    threads.StopAndJoin();
  }
  if (snmp >= 0) close(snmp);
  CloseAll(sfds);
  if (!external) CloseAll(rfds);
}

void RunRr(const RrRunConfig& cfg, UdpResult& out, Failure& failure) {
  Stop stop;
  if (!stop.Valid()) return failure.Record(errno, "eventfd");
  bool external = cfg.server == "external";
  if (cfg.server != "epoll" && cfg.server != "uring" && !external) return failure.Record(EINVAL, "bench", "unknown udp-rr server " + cfg.server);
  std::vector<int> server = external ? cfg.externalFds : OpenBound(cfg.serverAt, cfg.flows, 0, 0, failure);
  std::vector<int> client;
  int snmp = -1;
  if (!failure.Failed()) client = OpenConnected(cfg.client, LocalAddresses(server, failure), true, failure);
  if (!failure.Failed()) ConnectEach(server, LocalAddresses(client, failure), failure);
  if (!failure.Failed()) snmp = OpenSnmp(cfg.serverAt.netns, failure);
  out.injectLoops = LoopsForNs(cfg.injectNs);
  Counter requests;
  std::vector<Counter> txns(cfg.clients);
  std::vector<LatencyHistogram> rtt(cfg.clients);
  std::atomic<bool> recording{false};
  {
    Threads threads(stop);
    if (!failure.Failed()) {
      Plan plan;
      RrConfig sc;
      sc.fds = server;
      sc.size = cfg.size;
      sc.maxEvents = cfg.maxEvents;
      sc.injectLoops = out.injectLoops;
      if (external) {
        plan.secondary = ExternalCount(cfg.externalCounter);
        plan.receiverThreads.push_back(cfg.externalThread);
      } else {
        bool uring = cfg.server == "uring";
        plan.receiverThreads.push_back(threads.Start(cfg.serverCpu, failure, [&, sc, uring] {
          if (uring) RunRrUringServer(sc, requests, failure, stop);
          else RunRrEpollServer(sc, requests, failure, stop);
        }));
        plan.secondary = [&] { return requests.Read(); };
      }
      std::vector<RrConfig> cc(cfg.clients);
      for (size_t i = 0; i < client.size(); i++) cc[i % cfg.clients].fds.push_back(client[i]);
      for (size_t i = 0; i < cc.size(); i++) {
        cc[i].size = cfg.size;
        cc[i].maxEvents = cfg.maxEvents;
        threads.Start(CpuAt(cfg.clientCpus, i), failure, [&, i, c = cc[i]] { RunRrClient(c, txns[i], failure, stop, rtt[i], recording); });
      }
      plan.count = [&] {
        uint64_t s = 0;
        for (auto& c : txns) s += c.Read();
        return s;
      };
      plan.window = [&](bool open) { recording.store(open, std::memory_order_relaxed); };
      plan.snmpFd = snmp;
      plan.timing = cfg.timing;
      out.window = Measure(plan, failure);
    }
    threads.StopAndJoin();
  }
  LatencyHistogram all;
  for (auto& h : rtt) all.Merge(h);
  out.rttCount = all.Total();
  for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) out.rttQuantiles.push_back(all.Quantile(q));
  if (snmp >= 0) close(snmp);
  CloseAll(client);
  if (!external) CloseAll(server);
}

}  // namespace bench
