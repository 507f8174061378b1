#include "bench_iops.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "bench_cpu.hpp"
#include "bench_uring.hpp"

namespace bench {

namespace {

uint64_t SizeOf(int fd, Failure& failure) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    failure.Record(errno, "fstat");
    return 0;
  }
  if (S_ISBLK(st.st_mode)) {
    uint64_t bytes = 0;
    if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) failure.Record(errno, "ioctl", "BLKGETSIZE64");
    return bytes;
  }
  return static_cast<uint64_t>(st.st_size);
}

// Reaps up to ~1 s of completions for reads still in flight; returns how many never completed.
// (Closing the ring does not wait for them: the kernel finishes its teardown asynchronously.)
int Drain(io_uring* ring, int inflight) {
  for (int i = 0; i < 100 && inflight > 0; i++) {
    io_uring_cqe* cqe;
    __kernel_timespec ts{0, 10'000'000};
    if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) != 0) continue;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) seen++;
    io_uring_cq_advance(ring, seen);
    inflight -= static_cast<int>(seen);
  }
  return inflight;
}

// The reading thread: keeps `depth` reads in flight, submitting up to batchSubmit at a time and
// waiting for at least batchComplete (or what is in flight) per io_uring_enter. Returns how many
// reads are still in flight (only after an io_uring_enter error that outlived a drain).
int Reader(const IopsConfig& cfg, int fd, uint64_t blocks, io_uring* ring, const std::vector<char*>& bufs,
            Counter& done, Failure& failure, const Stop& stop) {
  std::vector<int> freeSlots;
  for (int i = cfg.depth - 1; i >= 0; i--) freeSlots.push_back(i);
  uint64_t rng = 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(MonotonicNs());
  uint64_t total = 0;
  int inflight = 0;
  const int target = cfg.fixedFiles ? 0 : fd;
  // After stop or a failed read, no new reads: drain what is in flight, then return.
  for (;;) {
    bool stopping = stop.Requested() || failure.Failed();
    int prepared = 0;
    while (!stopping && !freeSlots.empty() && prepared < cfg.batchSubmit) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (sqe == nullptr) break;
      int slot = freeSlots.back();
      freeSlots.pop_back();
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      uint64_t off = (rng % blocks) * static_cast<uint64_t>(cfg.blockSize);
      if (cfg.fixedBuffers) io_uring_prep_read_fixed(sqe, target, bufs[slot], cfg.blockSize, off, slot);
      else io_uring_prep_read(sqe, target, bufs[slot], cfg.blockSize, off);
      if (cfg.fixedFiles) sqe->flags |= IOSQE_FIXED_FILE;
      io_uring_sqe_set_data64(sqe, static_cast<uint64_t>(slot));
      prepared++;
    }
    inflight += prepared;
    if (inflight == 0) break;
    // As t/io_uring: fill the queue first, then wait for a batch of completions per enter.
    unsigned wait = !stopping && inflight + cfg.batchSubmit < cfg.depth
                        ? 0
                        : static_cast<unsigned>(std::min(cfg.batchComplete, inflight));
    int r = io_uring_submit_and_wait(ring, wait);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      failure.Record(-r, "io_uring_enter");
      return Drain(ring, inflight);
    }
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      seen++;
      freeSlots.push_back(static_cast<int>(cqe->user_data));
      if (cqe->res == cfg.blockSize) {
        total++;
      } else if (cqe->res < 0) {
        failure.Record(-cqe->res, cfg.polled ? "io_uring read (IOPOLL)" : "io_uring read",
                       cfg.polled && cqe->res == -EOPNOTSUPP ? "the device has no poll queues (queue/io_poll is 0)" : "");
      } else {
        failure.Record(EIO, "io_uring read", "short read of " + std::to_string(cqe->res) + " bytes");
      }
    }
    io_uring_cq_advance(ring, seen);
    inflight -= static_cast<int>(seen);
    done.Publish(total);
  }
  return 0;
}

// Everything touching the ring happens on the reader thread: SINGLE_ISSUER binds the ring to the
// thread that creates it.
void ReaderThread(const IopsConfig& cfg, int fd, uint64_t blocks, IopsResult& out, std::atomic<bool>& ready,
                  Counter& done, Failure& failure, const Stop& stop) {
  io_uring ring;
  int r = InitRing(&ring, static_cast<unsigned>(cfg.depth), cfg.polled ? IORING_SETUP_IOPOLL : 0, &out.ringFlags);
  if (r < 0) return failure.Record(-r, "io_uring_setup");
  std::vector<char*> bufs;
  for (int i = 0; i < cfg.depth && !failure.Failed(); i++) {
    void* p = nullptr;
    int err = posix_memalign(&p, 4096, cfg.blockSize);
    if (err != 0) failure.Record(err, "posix_memalign");
    else bufs.push_back(static_cast<char*>(p));
  }
  if (!failure.Failed() && cfg.fixedBuffers) {
    std::vector<iovec> iov;
    for (char* b : bufs) iov.push_back({b, static_cast<size_t>(cfg.blockSize)});
    r = io_uring_register_buffers(&ring, iov.data(), static_cast<unsigned>(iov.size()));
    if (r < 0) failure.Record(-r, "io_uring_register_buffers");
  }
  if (!failure.Failed() && cfg.fixedFiles) {
    r = io_uring_register_files(&ring, &fd, 1);
    if (r < 0) failure.Record(-r, "io_uring_register_files");
  }
  int left = 0;
  if (!failure.Failed()) {
    ready.store(true);
    left = Reader(cfg, fd, blocks, &ring, bufs, done, failure, stop);
  }
  io_uring_queue_exit(&ring);
  // Reads that never completed may still write into their buffers: keep them (leak) in that case.
  if (left == 0) {
    for (char* b : bufs) free(b);
  }
}

}  // namespace

void RunIops(const IopsConfig& cfg, IopsResult& out, Failure& failure) {
  int fd = open(cfg.path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return failure.Record(err, "open", err == EINVAL ? cfg.path + " does not support O_DIRECT" : cfg.path);
  }
  out.bytes = SizeOf(fd, failure);
  uint64_t blocks = out.bytes / static_cast<uint64_t>(cfg.blockSize);
  if (!failure.Failed() && blocks == 0) failure.Record(EINVAL, "bench", cfg.path + " is smaller than one block");
  if (!failure.Failed()) {
    Stop stop;
    Counter done;
    std::atomic<bool> ready{false};
    std::thread t([&] { ReaderThread(cfg, fd, blocks, out, ready, done, failure, stop); });
    int err = PinThread(t.native_handle(), cfg.cpu);
    if (err != 0) failure.Record(err, "pthread_setaffinity_np", "cpu " + std::to_string(cfg.cpu));
    int64_t deadline = MonotonicNs() + 5000000000;
    while (!ready.load() && !failure.Failed() && MonotonicNs() < deadline) std::this_thread::yield();
    if (ready.load() && !failure.Failed()) {
      Plan plan;
      plan.count = [&] { return done.Read(); };
      plan.receiverThreads.push_back(t.native_handle());
      plan.timing = cfg.timing;
      out.window = Measure(plan, failure);
    }
    stop.Request();
    t.join();
  }
  close(fd);
}

}  // namespace bench
