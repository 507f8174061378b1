// A UDP receiver on io_uring: one multishot recv request over a provided buffer ring keeps
// delivering datagrams without re-submitting. It sends itself N datagrams on loopback.
import { IoUring, sys } from "ringpoll";

const N = Number(process.argv[2] ?? 100);

// singleIssuer + deferTaskrun suits a Node process (one submitting thread); fallback drops
// the flags an older kernel refuses instead of throwing.
const ring = new IoUring({ entries: 64, singleIssuer: true, deferTaskrun: true, fallback: true });
const receiver = sys.udpSocket({ port: 0, recvBufferSize: 1 << 20 });
const sender = sys.udpSocket();
const port = sys.localPort(receiver);

// 64 buffers of 2 KiB that the kernel picks from; when they run out the request re-arms itself.
const buffers = ring.createBufferRing({ count: 64, size: 2048 });

let received = 0;
let bytes = 0;
const done = (async () => {
  // lease: true yields views into the buffer ring (no copy); each goes back to the kernel
  // at the next iteration, so copy what you keep.
  for await (const lease of ring.recvMultishot(receiver, buffers, { lease: true })) {
    received++;
    bytes += lease.data.length;
    if (received === N) break; // breaking out cancels the request
  }
})();

for (let i = 0; i < N; i++) sys.sendto(sender, Buffer.from(`datagram ${i}`), port);

// Loopback does not drop small bursts, but never wait for ever in an example.
const timer = setTimeout(() => {
  console.error(`timed out: received ${received} of ${N}`);
  process.exit(1);
}, 5000);
await done;
clearTimeout(timer);

console.log(`received ${received} datagrams (${bytes} bytes) on port ${port} via recvMultishot`);
buffers.close();
sys.close(sender);
sys.close(receiver);
await ring.close(); // resolves when the kernel is done with the ring's memory
