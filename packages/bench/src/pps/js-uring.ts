// js-uring: ringpoll IoUring through its batch API (SqeBatch in, CqeBatch out, no Promise per
// datagram): one multishot RECV per socket selecting from one provided buffer ring, re-armed only
// when the kernel ends it (ENOBUFS or no IORING_CQE_F_MORE). js-uring-coalesce: the same with
// IoUring.coalesce (fuller wake-ups, each datagram held at most JS_URING_COALESCE.maxWaitUs).
import {
  IoUring,
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_BUFFER,
  IORING_CQE_F_MORE,
  IORING_OP,
  IORING_RECV_MULTISHOT,
  SqeBatch,
  sys,
  type CoalesceOptions,
} from "ringpoll";
import { sysTotals } from "./js-counters.js";
import type { JsReceiver } from "./js-receivers.js";

export const JS_URING_COALESCE: CoalesceOptions = { minBatch: 32, maxWaitUs: 250 };

export function startJsUring(fds: number[], counter: Uint32Array, size: number, coalesce: CoalesceOptions | null = null): JsReceiver {
  // DEFER_TASKRUN: completion work runs when the loop asks, not via IPIs from the softirq path.
  const ring = new IoUring({ entries: 4096, singleIssuer: true, deferTaskrun: true, fallback: true });
  if (coalesce) ring.coalesce(coalesce);
  const buffers = ring.createBufferRing({ count: 4096, size: Math.max(size, 64) });
  const batch = new SqeBatch(Math.max(fds.length, 16));
  const arm = (i: number): void => {
    batch.push(IORING_OP.RECV, fds[i]!, i, { len: 0, bufGroup: buffers.bgid, ioprio: IORING_RECV_MULTISHOT });
  };
  for (let i = 0; i < fds.length; i++) arm(i);
  ring.queue(batch);
  let datagrams = 0;
  ring.onCompletions((cqes) => {
    batch.clear();
    let got = 0;
    for (let j = 0; j < cqes.length; j++) {
      const flags = cqes.flags[j]!;
      if (flags & IORING_CQE_F_BUFFER) buffers.recycle(flags >>> IORING_CQE_BUFFER_SHIFT);
      if (cqes.res[j]! >= 0) got++;
      if ((flags & IORING_CQE_F_MORE) === 0) arm(cqes.tag[j]!);
    }
    counter[0] += got;
    datagrams += got;
    buffers.flush();
    if (batch.length > 0) ring.queue(batch);
  });
  return {
    stop: async () => {
      // close() reaps the cancelled requests; they must not be re-armed. The sockets go after.
      ring.onCompletions(null);
      await ring.close();
      for (const fd of fds) sys.close(fd);
    },
    totals: () => {
      const s = ring.stats;
      return { calls: s.calls, datagrams, items: s.cqes, epollWaits: 0, eventfdReads: s.eventfdReads, enters: s.enters, ...sysTotals() };
    },
  };
}
