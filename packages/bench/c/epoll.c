/* Yardstick: epoll_wait(maxevents 1024), each ready socket drained with recvmmsg. */
#include "yardstick.h"

int main(int argc, char **argv) {
  setup(argc, argv);
  enum { MAXEV = 1024 };
  init_msgs();
  int ep = epoll_all();
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
