// JS-level receivers on the Node main thread, fed by the same native sender: node:dgram (what a
// Node user has today), ringpoll Epoll + batched recvmmsg, ringpoll IoUring multishot (batch API).
// Each bumps counter[0] once per datagram; the native coordinator samples it.
import dgram from "node:dgram";
import { Epoll, EPOLLIN, sys } from "ringpoll";
import { engine } from "../engine.js";
import { startJsUring } from "./js-uring.js";

export interface JsReceiver {
  /** Stops receiving and closes the sockets (the fds passed to start). */
  stop(): Promise<void>;
}

export type JsReceiverName = "dgram" | "js-epoll" | "js-uring";
export const JS_RECEIVERS: readonly JsReceiverName[] = ["dgram", "js-epoll", "js-uring"];

async function startDgram(fds: number[], counter: Uint32Array): Promise<JsReceiver> {
  const sockets = await Promise.all(
    fds.map(
      (fd) =>
        new Promise<dgram.Socket>((resolve, reject) => {
          const s = dgram.createSocket("udp4");
          s.once("error", reject);
          s.on("message", () => {
            counter[0]++;
          });
          // bind({ fd }) adopts the socket the engine created (possibly in another namespace).
          s.bind({ fd }, () => resolve(s));
        }),
    ),
  );
  return {
    stop: () => Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}

const SLOT = 2048;
const BATCH = 64;

function startJsEpoll(fds: number[], counter: Uint32Array): JsReceiver {
  const ep = new Epoll({ maxEvents: Math.max(fds.length, 64) });
  const buf = new Uint8Array(SLOT * BATCH);
  const lengths = new Uint32Array(BATCH);
  for (const fd of fds) ep.add(fd, EPOLLIN);
  // Level-triggered: drain each ready socket in recvmmsg batches until it runs dry.
  ep.start((batch) => {
    for (let i = 0; i < batch.length; i++) {
      const fd = batch.data[i]!;
      for (;;) {
        const n = engine.recvmmsg(fd, buf, SLOT, lengths);
        if (n <= 0) break;
        counter[0] += n;
        if (n < BATCH) break;
      }
    }
  });
  return {
    stop: async () => {
      ep.close();
      for (const fd of fds) sys.close(fd);
    },
  };
}

export async function startJsReceiver(name: JsReceiverName, fds: number[], counter: Uint32Array, size: number): Promise<JsReceiver> {
  if (name === "dgram") return startDgram(fds, counter);
  if (name === "js-epoll") return startJsEpoll(fds, counter);
  return startJsUring(fds, counter, size);
}
