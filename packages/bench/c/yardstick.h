/* Shared by the minimal C receivers: argument parsing, pinning, and the measured window.
 * Usage: <receiver> WARMUP_S DURATION_S CPU NFDS SIZE; the sockets are fds 3 .. 3+NFDS-1
 * (inherited from the bench). Prints {"packets":n,"seconds":s,"cpuNs":n} for the window. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

static double warmup_s, duration_s;
static int nfds, size;
static uint64_t packets, start_packets, start_cpu;
static int64_t start_ns, end_ns, window_start_ns;
static int phase; /* 0 warmup, 1 measuring, 2 done */

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void setup(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s WARMUP_S DURATION_S CPU NFDS SIZE\n", argv[0]);
    exit(2);
  }
  warmup_s = atof(argv[1]);
  duration_s = atof(argv[2]);
  int cpu = atoi(argv[3]);
  nfds = atoi(argv[4]);
  size = atoi(argv[5]);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  start_ns = now_ns(CLOCK_MONOTONIC);
  window_start_ns = start_ns + (int64_t)(warmup_s * 1e9);
  end_ns = window_start_ns + (int64_t)(duration_s * 1e9);
}

/* Called after every batch; returns 0 when the window is over. */
static int tick(void) {
  int64_t t = now_ns(CLOCK_MONOTONIC);
  if (phase == 0 && packets == 0) {
    /* The warm-up starts at the first packet, as in the bench engine (the bench kills a loop that
     * never sees one). */
    window_start_ns = t + (int64_t)(warmup_s * 1e9);
    end_ns = window_start_ns + (int64_t)(duration_s * 1e9);
  } else if (phase == 0 && t >= window_start_ns) {
    phase = 1;
    window_start_ns = t;
    start_packets = packets;
    start_cpu = (uint64_t)now_ns(CLOCK_THREAD_CPUTIME_ID);
  } else if (phase == 1 && t >= end_ns) {
    uint64_t cpu = (uint64_t)now_ns(CLOCK_THREAD_CPUTIME_ID) - start_cpu;
    printf("{\"packets\":%llu,\"seconds\":%.6f,\"cpuNs\":%llu}\n", (unsigned long long)(packets - start_packets),
           (t - window_start_ns) / 1e9, (unsigned long long)cpu);
    fflush(stdout);
    return 0;
  }
  return 1;
}

/* recvmmsg's batch: BATCH slots of SIZE bytes each. */
enum { BATCH = 64 };
static char buf[BATCH][2048] __attribute__((unused));
static struct iovec iov[BATCH] __attribute__((unused));
static struct mmsghdr msgs[BATCH] __attribute__((unused));

__attribute__((unused)) static void init_msgs(void) {
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = buf[i];
    iov[i].iov_len = size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
}

/* An epoll instance watching every socket for EPOLLIN, with the fd as its data. */
__attribute__((unused)) static int epoll_all(void) {
  int ep = epoll_create1(0);
  for (int i = 0; i < nfds; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = 3 + i};
    epoll_ctl(ep, EPOLL_CTL_ADD, 3 + i, &ev);
  }
  return ep;
}
