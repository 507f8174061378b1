/* Yardstick: epoll_wait(maxevents 1024), one recv per event (stresses epoll_put_uevent). */
#include "yardstick.h"
#include <sys/epoll.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  setup(argc, argv);
  enum { MAXEV = 1024 };
  static char buf[2048];
  int ep = epoll_create1(0);
  for (int i = 0; i < nfds; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = 3 + i};
    epoll_ctl(ep, EPOLL_CTL_ADD, 3 + i, &ev);
  }
  static struct epoll_event evs[MAXEV];
  for (;;) {
    int n = epoll_wait(ep, evs, MAXEV, 100);
    for (int i = 0; i < n; i++)
      if (recv(evs[i].data.fd, buf, size, MSG_DONTWAIT) >= 0) packets++;
    if (!tick()) return 0;
  }
}
