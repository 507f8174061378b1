// Per-wake counters of a JS receiver: what one wake-up of the Node main thread costs, from the
// library's own counters (Epoll.stats, IoUring.stats, sys.counters) taken before and after a run.
import { sys } from "ringpoll";

/** Totals since the receiver started; null where that receiver has no such counter. */
export interface WakeTotals {
  /** JS calls that carried work (batches, or 'message' events for dgram) */
  calls: number;
  datagrams: number;
  /** events (epoll) or CQEs (io_uring) handed to JS */
  items: number | null;
  /** libuv's own epoll_wait calls (sys.counters().loopPolls: two per loop iteration that sleeps) */
  loopWaits: number;
  /** epoll_wait on the receiver's epoll fd */
  epollWaits: number | null;
  eventfdReads: number | null;
  /** io_uring_enter calls (submit and get-events) */
  enters: number | null;
  /** recvmmsg calls */
  recvCalls: number | null;
  /** io_uring: extra get-events rounds inside a wake-up (IoUring.stats.rechecks; included in enters) */
  rechecks?: number | null;
}

const KINDS = ["loopWaits", "epollWaits", "eventfdReads", "enters", "recvCalls"] as const;

/** The `extra` fields of a run: JS calls, then everything else per JS call (wake-up). */
export function perWake(start: WakeTotals, end: WakeTotals): Record<string, number | null> {
  const d = (k: keyof WakeTotals): number | null => {
    const a = start[k];
    const b = end[k];
    return a === null || b === null || a === undefined || b === undefined ? null : b - a;
  };
  const calls = d("calls")!;
  const per = (k: keyof WakeTotals): number | null => {
    const v = d(k);
    return v === null || calls === 0 ? null : v / calls;
  };
  const out: Record<string, number | null> = { jsCalls: calls, datagramsPerWake: per("datagrams"), itemsPerWake: per("items"), rechecksPerWake: start.rechecks === undefined ? null : per("rechecks") };
  let entries = 0;
  for (const k of KINDS) {
    const v = per(k);
    out[`${k}PerWake`] = v;
    entries += v ?? 0;
  }
  out.kernelEntriesPerWake = calls === 0 ? null : entries;
  return out;
}

/** sys's counters as a starting point; each receiver fills in its own. */
export function sysTotals(): Pick<WakeTotals, "loopWaits" | "recvCalls"> {
  const c = sys.counters();
  return { loopWaits: c.loopPolls, recvCalls: c.recvmmsgCalls };
}
