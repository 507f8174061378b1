// js-uring: ringpoll IoUring's batch receive (IoUring.recvBatches, callback form): one multishot
// RECV per socket selecting from one provided buffer ring, one JS call per completion pass.
// js-uring-raw: the same written against the low-level batch API (SqeBatch in, CqeBatch out), as a
// yardstick for what recvBatches costs. js-uring-coalesce: js-uring with IoUring.coalesce (fuller
// wake-ups, each datagram held at most JS_URING_COALESCE.maxWaitUs).
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

export function openRing(coalesce: CoalesceOptions | null): IoUring {
  // DEFER_TASKRUN: completion work runs when the loop asks, not via IPIs from the softirq path.
  const ring = new IoUring({ entries: 4096, singleIssuer: true, deferTaskrun: true, fallback: true });
  if (coalesce) ring.coalesce(coalesce);
  return ring;
}

export function receiver(ring: IoUring, fds: number[], datagrams: () => number, stopReceiving: () => void): JsReceiver {
  return {
    stop: async () => {
      // close() reaps the cancelled requests; they must not be re-armed. The sockets go after.
      stopReceiving();
      await ring.close();
      for (const fd of fds) sys.close(fd);
    },
    totals: () => {
      const s = ring.stats;
      return { calls: s.calls, datagrams: datagrams(), items: s.cqes, epollWaits: 0, eventfdReads: s.eventfdReads, enters: s.enters, rechecks: s.rechecks, ...sysTotals() };
    },
  };
}

export function startJsUring(fds: number[], counter: Uint32Array, size: number, coalesce: CoalesceOptions | null = null): JsReceiver {
  const ring = openRing(coalesce);
  const buffers = ring.createBufferRing({ count: 4096, size: Math.max(size, 64) });
  let datagrams = 0;
  const rx = ring.recvBatches(fds, buffers, {
    onBatch: (batch) => {
      counter[0] += batch.length;
      datagrams += batch.length;
    },
  });
  return receiver(ring, fds, () => datagrams, () => rx.stop());
}

export function startJsUringRaw(fds: number[], counter: Uint32Array, size: number): JsReceiver {
  const ring = openRing(null);
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
  return receiver(ring, fds, () => datagrams, () => ring.onCompletions(null));
}
