// udp-rr servers in JS on the Node main thread, written with the library's public API only: each
// answers every request with the same bytes on the socket it came in on. js-uring: recvBatches,
// replies queued as SEND from a registered buffer (one slot per flow: a flow has one request in
// flight). js-uring-coalesce: the same with IoUring.coalesce. js-epoll: Epoll, sys.recvmmsg and
// sys.sendmmsg on the connected socket.
import { Epoll, EPOLLIN, IORING_OP, SqeBatch, sys, type CoalesceOptions } from "ringpoll";
import { epollReceiver, type JsReceiver } from "./js-receivers.js";
import { JS_URING_COALESCE, openRing, receiver } from "./js-uring.js";

export const JS_RR_SERVERS = ["js-epoll", "js-uring", "js-uring-coalesce"] as const;
export type JsRrServer = (typeof JS_RR_SERVERS)[number];

function startUring(fds: number[], counter: Uint32Array, size: number, coalesce: CoalesceOptions | null): JsReceiver {
  const ring = openRing(coalesce);
  const slot = Math.max(size, 64);
  const buffers = ring.createBufferRing({ count: 4096, size: slot });
  const replies = Buffer.alloc(fds.length * slot);
  ring.registerBuffers([replies]);
  const sqes = new SqeBatch(buffers.count);
  let requests = 0;
  const rx = ring.recvBatches(fds, buffers, {
    onBatch: (b) => {
      for (let i = 0; i < b.length; i++) {
        const flow = b.sources[i]!;
        const off = b.offsets[i]!;
        const len = b.lengths[i]!;
        replies.set(b.buffer.subarray(off, off + len), flow * slot);
        sqes.push(IORING_OP.SEND, fds[flow]!, flow, { bufIndex: 0, bufOffset: flow * slot, len });
      }
      ring.queue(sqes);
      sqes.clear();
      counter[0] += b.length;
      requests += b.length;
    },
  });
  return receiver(ring, fds, () => requests, () => rx.stop());
}

function startEpoll(fds: number[], counter: Uint32Array, size: number): JsReceiver {
  const ep = new Epoll({ maxEvents: Math.min(Math.max(fds.length, 64), 4096) });
  const batch = new sys.DatagramBatch({ count: 64, slotSize: Math.max(size, 64) });
  for (let i = 0; i < fds.length; i++) ep.add(fds[i]!, EPOLLIN, i);
  let requests = 0;
  ep.start((events) => {
    for (let i = 0; i < events.length; i++) {
      const fd = fds[events.data[i]!]!;
      try {
        const n = sys.recvmmsg(fd, batch);
        if (n === null) continue;
        requests += n;
        counter[0] += n;
        sys.sendmmsg(fd, batch, n); // to the connected peer; a full send buffer drops (as UDP may)
      } catch (err) {
        // The client's sockets close at the end of the run: an ICMP port-unreachable comes back.
        if ((err as { code?: string }).code !== "ECONNREFUSED") throw err;
      }
    }
  });
  return epollReceiver(ep, fds, () => requests);
}

export function startJsRrServer(name: JsRrServer, fds: number[], counter: Uint32Array, size: number): JsReceiver {
  if (name === "js-epoll") return startEpoll(fds, counter, size);
  return startUring(fds, counter, size, name === "js-uring-coalesce" ? JS_URING_COALESCE : null);
}
