/* Yardstick: epoll_wait(maxevents 1024), each ready socket drained with recvmmsg. */
#include "yardstick.h"
#include <sys/epoll.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  setup(argc, argv);
  enum { BATCH = 64, MAXEV = 1024 };
  static char buf[BATCH][2048];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH] = {0};
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = buf[i];
    iov[i].iov_len = size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int ep = epoll_create1(0);
  for (int i = 0; i < nfds; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = 3 + i};
    epoll_ctl(ep, EPOLL_CTL_ADD, 3 + i, &ev);
  }
  static struct epoll_event evs[MAXEV];
  for (;;) {
    int n = epoll_wait(ep, evs, MAXEV, 100);
    for (int i = 0; i < n; i++) {
      int got;
      do {
        got = recvmmsg(evs[i].data.fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got > 0) packets += got;
      } while (got == BATCH);
    }
    if (!tick()) return 0;
  }
}
