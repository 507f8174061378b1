// An event loop over epoll: two UDP sockets and a TCP listener (plus the connections it
// accepts) in one Epoll; each wake-up hands JS one batch of ready fds as typed arrays.
import { Epoll, EPOLLIN, sys } from "ringpoll";

const ep = new Epoll({ maxEvents: 64 });
const udp = [sys.udpSocket({ port: 0 }), sys.udpSocket({ port: 0 })];
const listener = sys.tcpSocket({ port: 0 });
sys.listen(listener);

// The 32-bit data token is how a batch says which fd is ready; here it is the fd itself.
for (const fd of [...udp, listener]) ep.add(fd, EPOLLIN, fd);

const buf = Buffer.alloc(2048);
const got = [];
const expected = 3; // one datagram per UDP socket, one TCP message
let wakeups = 0;

ep.start((batch) => {
  wakeups++;
  for (let i = 0; i < batch.length; i++) {
    const fd = batch.data[i];
    if (fd === listener) {
      let conn;
      while ((conn = sys.accept(listener)) !== null) ep.add(conn, EPOLLIN, conn);
      continue;
    }
    // Nonblocking reads: null means "nothing more now" (EAGAIN), 0 means the peer closed.
    let n;
    while ((n = sys.read(fd, buf)) !== null && n > 0) got.push(buf.toString("utf8", 0, n));
    if (n === 0) {
      ep.remove(fd);
      sys.close(fd);
    }
  }
  if (got.length === expected) finish();
});

const sender = sys.udpSocket();
udp.forEach((fd, i) => sys.sendto(sender, Buffer.from(`udp ${i}`), sys.localPort(fd)));
const client = sys.tcpSocket();
sys.connect(client, sys.localPort(listener));
// The connect completes asynchronously: write returns null (EAGAIN) until it has.
const timer = setInterval(() => {
  if (sys.write(client, Buffer.from("tcp hello")) !== null) clearInterval(timer);
}, 5);
const guard = setTimeout(() => { console.error(`timed out with ${got.length} of ${expected}`); process.exit(1); }, 5000);

function finish() {
  clearTimeout(guard);
  console.log(`epoll: ${got.length} messages [${got.sort().join(", ")}] in ${wakeups} wake-ups`);
  ep.close(); // closing the epoll fd does not close the watched fds
  for (const fd of [...udp, listener, sender, client]) sys.close(fd);
}
