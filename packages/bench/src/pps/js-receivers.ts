// JS-level receivers on the Node main thread, fed by the same native sender: node:dgram (what a
// Node user has today), ringpoll Epoll in receive mode (the wake-up's own recvmmsg per ready
// socket), ringpoll IoUring multishot (recvBatches, and the raw batch API).
// Each bumps counter[0] once per datagram; the native coordinator samples it. Only the library's
// public API is used: a user can write each of these.
import dgram from "node:dgram";
import { Epoll, EPOLLIN, sys } from "ringpoll";
import { sysTotals, type WakeTotals } from "./js-counters.js";
import { JS_URING_COALESCE, startJsUring, startJsUringRaw } from "./js-uring.js";

export interface JsReceiver {
  /** Stops receiving and closes the sockets (the fds passed to start). */
  stop(): Promise<void>;
  /** Counters since the start, for the per-wake figures of the run. */
  totals(): WakeTotals;
}

export type JsReceiverName = "dgram" | "js-epoll" | "js-uring" | "js-uring-raw" | "js-uring-coalesce";
export const JS_RECEIVERS: readonly JsReceiverName[] = ["dgram", "js-epoll", "js-uring", "js-uring-raw", "js-uring-coalesce"];

async function startDgram(fds: number[], counter: Uint32Array): Promise<JsReceiver> {
  let messages = 0;
  const sockets = await Promise.all(
    fds.map(
      (fd) =>
        new Promise<dgram.Socket>((resolve, reject) => {
          const s = dgram.createSocket("udp4");
          s.once("error", reject);
          s.on("message", () => {
            counter[0]++;
            messages++;
          });
          // bind({ fd }) adopts the socket the engine created (possibly in another namespace).
          s.bind({ fd }, () => resolve(s));
        }),
    ),
  );
  return {
    stop: () => Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
    // One JS call per datagram; libuv's receive syscalls are not counted here.
    totals: () => ({ calls: messages, datagrams: messages, items: null, loopWaits: sysTotals().loopWaits, epollWaits: null, eventfdReads: null, enters: null, recvCalls: null }),
  };
}

const SLOT = 2048;
const BATCH = 256;

function startJsEpoll(fds: number[], counter: Uint32Array): JsReceiver {
  const ep = new Epoll({ maxEvents: Math.max(fds.length, 64) });
  const batch = new sys.DatagramBatch({ count: BATCH, slotSize: SLOT });
  for (let i = 0; i < fds.length; i++) ep.add(fds[i]!, EPOLLIN, i);
  let datagrams = 0;
  // Receive mode: the wake-up reads every ready socket into the batch itself (level-triggered:
  // a socket the batch had no room for comes again).
  ep.start(
    () => {
      datagrams += batch.length;
      counter[0] += batch.length;
    },
    { datagrams: batch },
  );
  return epollReceiver(ep, fds, () => datagrams);
}

/** stop() and totals() of a receiver (or udp-rr server) on an Epoll. */
export function epollReceiver(ep: Epoll, fds: number[], datagrams: () => number): JsReceiver {
  return {
    stop: async () => {
      ep.close();
      for (const fd of fds) sys.close(fd);
    },
    totals: () => {
      const s = ep.stats;
      return { calls: s.calls, datagrams: datagrams(), items: s.events, epollWaits: s.epollWaits, eventfdReads: 0, enters: 0, ...sysTotals() };
    },
  };
}

export async function startJsReceiver(name: JsReceiverName, fds: number[], counter: Uint32Array, size: number): Promise<JsReceiver> {
  if (name === "dgram") return startDgram(fds, counter);
  if (name === "js-epoll") return startJsEpoll(fds, counter);
  if (name === "js-uring-raw") return startJsUringRaw(fds, counter, size);
  return startJsUring(fds, counter, size, name === "js-uring-coalesce" ? JS_URING_COALESCE : null);
}
