/* Yardstick: nonblocking recvmmsg over the sockets, poll() only when a round found nothing. */
#include "yardstick.h"
#include <poll.h>

int main(int argc, char **argv) {
  setup(argc, argv);
  init_msgs();
  struct pollfd pfds[4096];
  for (int i = 0; i < nfds; i++) pfds[i] = (struct pollfd){.fd = 3 + i, .events = POLLIN};
  for (;;) {
    int any = 0;
    for (int i = 0; i < nfds; i++) {
      int n = recvmmsg(3 + i, msgs, BATCH, MSG_DONTWAIT, NULL);
      if (n > 0) packets += n, any = 1;
    }
    if (!tick()) return 0;
    if (!any) poll(pfds, nfds, 100);
  }
}
