// js-uring: ringpoll IoUring through its batch API (SqeBatch in, CqeBatch out, no Promise per
// datagram), receiving into one provided buffer ring.
// The batch API has no field for sqe->ioprio, where IORING_RECV_MULTISHOT lives, so each datagram
// is one single-shot RECV with buffer select, re-queued in the same batch as its completion.
import { IoUring, IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_OP, SqeBatch, sys } from "ringpoll";
import type { JsReceiver } from "./js-receivers.js";

export function startJsUring(fds: number[], counter: Uint32Array, size: number): JsReceiver {
  const ring = new IoUring({ entries: 4096 });
  const buffers = ring.createBufferRing({ count: 4096, size: Math.max(size, 64) });
  // Two recvs per socket in flight so a socket is never left without one between reaps.
  const perFd = 2;
  const batch = new SqeBatch(Math.max(fds.length * perFd, 4096));
  const arm = (i: number): void => {
    batch.push(IORING_OP.RECV, fds[i]!, i, { len: 0, bufGroup: buffers.bgid });
  };
  for (let k = 0; k < perFd; k++) for (let i = 0; i < fds.length; i++) arm(i);
  ring.queue(batch);
  ring.onCompletions((cqes) => {
    batch.clear();
    let got = 0;
    for (let j = 0; j < cqes.length; j++) {
      const flags = cqes.flags[j]!;
      if (flags & IORING_CQE_F_BUFFER) buffers.recycle(flags >>> IORING_CQE_BUFFER_SHIFT);
      if (cqes.res[j]! >= 0) got++;
      arm(cqes.tag[j]!);
    }
    counter[0] += got;
    buffers.flush();
    ring.queue(batch);
  });
  return {
    stop: async () => {
      // close() reaps the cancelled requests; they must not be re-armed.
      ring.onCompletions(null);
      ring.close();
      for (const fd of fds) sys.close(fd);
    },
  };
}
