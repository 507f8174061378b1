// Added latency of IoUring.coalesce, measured directly: one datagram at a time over loopback, the
// time from sendto() to the JS callback that carries its completion, with and without coalescing.
// (A one-datagram wake-up never reaches minBatch, so each one waits the whole maxWaitUs: the worst
// case.) Bounded: `count` round trips per setting.
import { IoUring, IORING_CQE_BUFFER_SHIFT, IORING_OP, IORING_RECV_MULTISHOT, SqeBatch, sys, type CoalesceOptions } from "ringpoll";

export interface LatencyFigures {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export async function coalesceLatencyUs(coalesce: CoalesceOptions | null, count = 300): Promise<LatencyFigures> {
  const ring = new IoUring({ singleIssuer: true, deferTaskrun: true, fallback: true });
  const tx = sys.udpSocket({ port: 0 });
  const rx = sys.udpSocket({ port: 0 });
  try {
    const port = sys.localPort(rx);
    const buffers = ring.createBufferRing({ count: 64, size: 64 });
    const batch = new SqeBatch(1);
    batch.push(IORING_OP.RECV, rx, 0, { bufGroup: buffers.bgid, ioprio: IORING_RECV_MULTISHOT });
    ring.queue(batch);
    ring.coalesce(coalesce);
    const payload = Buffer.from("x");
    const us: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        ring.onCompletions((c) => {
          for (let k = 0; k < c.length; k++) buffers.recycle(c.flags[k]! >>> IORING_CQE_BUFFER_SHIFT);
          resolve();
        });
        sys.sendto(tx, payload, port);
      });
      us.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    us.sort((a, b) => a - b);
    const at = (q: number): number => us[Math.min(us.length - 1, Math.ceil(q * us.length) - 1)]!; // nearest rank
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: us[us.length - 1]! };
  } finally {
    ring.onCompletions(null);
    await ring.close();
    sys.close(tx);
    sys.close(rx);
  }
}
