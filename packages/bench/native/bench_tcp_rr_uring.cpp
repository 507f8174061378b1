// The io_uring tcp-rr client: per wake-up it reaps every completed receive, checks it, and queues
// the next requests as sends that go out with the re-armed receives in the one io_uring_enter that
// also waits for the next completions. Receives are multishot from a provided buffer ring where
// the kernel has both (probed: the registration, then the first completion), plain recv otherwise.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "bench_tcp_rr.hpp"
#include "bench_tcp_rr_run.hpp"
#include "bench_uring.hpp"

namespace bench {

namespace {

constexpr unsigned kBufferSize = 16384;
constexpr uint64_t kSend = 1ULL << 32;  // user_data: kSend | connection index, or the index (a receive)

}  // namespace

TcpRrResult RunTcpRrUringClient(const TcpRrConfig& cfg, Failure& failure) {
  TcpRrResult out;
  const unsigned n = static_cast<unsigned>(cfg.connections);
  const unsigned size = static_cast<unsigned>(cfg.size);
  io_uring ring;
  if (!InitClientRing(&ring, 2 * n + 8, failure)) return out;
  // Enough buffers for every connection's response in pieces, twice over: a pass recycles what it used.
  const unsigned chunks = (size + kBufferSize - 1) / kBufferSize;
  auto bufs = std::make_unique<BufRing>();
  bool multishot = cfg.multishot && bufs->Setup(&ring, std::clamp(PowerOfTwoAtLeast(2 * n * chunks), 256u, 32768u), kBufferSize, 0) == 0;
  if (!multishot) bufs = nullptr;
  std::vector<std::unique_ptr<char[]>> own(n);  // plain recv: a buffer per connection
  std::vector<RrConn> conns(n);
  std::vector<uint32_t> queued;  // connections whose request goes out with the next enter
  const sockaddr_in sa = ServerAddress(cfg);
  auto run = std::make_unique<RrRun>(cfg, NowNs());
  unsigned inflight = 0;
  auto armRecv = [&](uint32_t i) {
    io_uring_sqe* sqe = NextSqe(&ring);
    if (multishot) {
      io_uring_prep_recv_multishot(sqe, conns[i].fd, nullptr, 0, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = 0;
    } else {
      if (!own[i]) own[i] = std::make_unique<char[]>(kBufferSize);
      io_uring_prep_recv(sqe, conns[i].fd, own[i].get(), kBufferSize, 0);
    }
    io_uring_sqe_set_data64(sqe, i);
    inflight++;
  };
  // MSG_WAITALL: the kernel continues a partial send itself, and fails one it cannot finish.
  auto sendRequest = [&](uint32_t i) {
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_send(sqe, conns[i].fd, run->Request(conns[i], 0), size, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(sqe, kSend | i);
    inflight++;
    queued.push_back(i);
  };
  for (uint32_t i = 0; i < n && !failure.Failed(); i++) {
    conns[i].fd = ConnectTcp(sa, i, failure);
    if (conns[i].fd < 0) break;
    armRecv(i);
    sendRequest(i);
  }
  bool probed = !multishot;
  while (!failure.Failed()) {
    uint64_t sentAt = NowNs();
    for (uint32_t i : queued) conns[i].sentAt = sentAt;
    queued.clear();
    uint64_t now = 0;
    if (!EnterAndTick(&ring, cfg.spin, *run, &now, failure)) break;
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      if (failure.Failed()) continue;
      const uint64_t ud = cqe->user_data;
      const bool final = (cqe->flags & IORING_CQE_F_MORE) == 0;
      if (final) inflight--;
      if ((ud & kSend) != 0) {
        if (cqe->res < 0) failure.Record(-cqe->res, "send");
        else if (static_cast<unsigned>(cqe->res) != size) failure.Record(EPROTO, "send", "a short send");
        continue;
      }
      const auto i = static_cast<uint32_t>(ud);
      if (cqe->res > 0) {
        probed = true;
        const char* data = own[i].get();
        unsigned bid = 0;
        if (multishot) {
          bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
          data = bufs->Buffer(bid);
        }
        bool complete = run->Received(conns[i], data, static_cast<size_t>(cqe->res), now, failure);
        if (multishot) bufs->Recycle(bid);
        if (complete && run->Sending()) sendRequest(i);
      } else if (cqe->res == 0) {
        failure.Record(ECONNRESET, "recv", "the server closed a connection");
      } else if (cqe->res == -EINVAL && !probed) {
        multishot = false;  // buffer rings without multishot receive (5.19)
      } else if (cqe->res != -ENOBUFS) {
        failure.Record(-cqe->res, "recv");
      }
      if (final && !failure.Failed()) armRecv(i);
    }
    io_uring_cq_advance(&ring, seen);
    if (seen > 0) out.passes++;
    if (bufs) bufs->Commit();
  }
  out.client = multishot ? "io_uring multishot" : "io_uring recv";
  unsigned left = Quiesce(&ring, inflight, [](io_uring_cqe* c) { return c->user_data != kQuiesceCancel && (c->flags & IORING_CQE_F_MORE) == 0; });
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  io_uring_queue_exit(&ring);
  out = run->Finish(out);
  if (bufs) bufs->RingExited(left);
  if (left > 0) {
    // Requests that never completed may still read the pattern or write the buffers: keep them.
    (void)bufs.release();
    (void)run.release();
    for (auto& b : own) (void)b.release();
  }
  return out;
}

}  // namespace bench
