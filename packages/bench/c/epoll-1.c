/* Yardstick: epoll_wait(maxevents 1024), one recv per event (stresses epoll_put_uevent). */
#include "yardstick.h"

int main(int argc, char **argv) {
  setup(argc, argv);
  enum { MAXEV = 1024 };
  int ep = epoll_all();
  static struct epoll_event evs[MAXEV];
  for (;;) {
    int n = epoll_wait(ep, evs, MAXEV, 100);
    for (int i = 0; i < n; i++)
      if (recv(evs[i].data.fd, buf[0], size, MSG_DONTWAIT) >= 0) packets++;
    if (!tick()) return 0;
  }
}
