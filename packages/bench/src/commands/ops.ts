// `ringpoll ops`: a quick throughput check of IoUring operations through the Promise API and
// through the batch API, measured in the same run (ratios, not absolute goals).
import type { Command } from "commander";
import { IORING_CQE_BUFFER_SHIFT, IORING_OP, IoUring, SqeBatch, sys, type CqeBatch } from "ringpoll";

interface Row {
  op: string;
  api: string;
  ops: number;
  seconds: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

async function nopPromise(ring: IoUring, total: number, depth: number): Promise<Row> {
  const t0 = now();
  for (let done = 0; done < total; done += depth) {
    const batch: Array<Promise<number>> = [];
    for (let i = 0; i < depth; i++) batch.push(ring.nop());
    await Promise.all(batch);
  }
  return { op: "nop", api: "promise", ops: total, seconds: now() - t0 };
}

function nopBatch(ring: IoUring, total: number, depth: number): Promise<Row> {
  const sqes = new SqeBatch(depth);
  sqes.pushNops(depth);
  return new Promise((resolve) => {
    let done = 0;
    let queued = 0;
    const t0 = now();
    ring.onCompletions((c: CqeBatch) => {
      done += c.length;
      if (done >= total) {
        ring.onCompletions(null);
        resolve({ op: "nop", api: "batch", ops: done, seconds: now() - t0 });
      } else if (done === queued) {
        queued += ring.queue(sqes);
      }
    });
    queued += ring.queue(sqes);
  });
}

/** The sender fills the socket with `depth` datagrams, the receiver drains them; repeat. */
async function recvPromise(ring: IoUring, tx: number, rx: number, port: number, total: number, depth: number): Promise<Row> {
  const payload = Buffer.alloc(64, 1);
  const bufs = Array.from({ length: depth }, () => Buffer.alloc(2048));
  let t = 0;
  for (let done = 0; done < total; done += depth) {
    for (let i = 0; i < depth; i++) sys.sendto(tx, payload, port);
    const t0 = now();
    await Promise.all(bufs.map((b) => ring.recv(rx, b)));
    t += now() - t0;
  }
  return { op: "recv", api: "promise", ops: total, seconds: t };
}

async function recvBatch(ring: IoUring, tx: number, rx: number, port: number, total: number, depth: number): Promise<Row> {
  const payload = Buffer.alloc(64, 1);
  const br = ring.createBufferRing({ count: 1024, size: 2048 });
  const sqes = new SqeBatch(depth);
  for (let i = 0; i < depth; i++) sqes.push(IORING_OP.RECV, rx, i, { bufGroup: br.bgid, len: 2048 });
  let t = 0;
  for (let done = 0; done < total; done += depth) {
    for (let i = 0; i < depth; i++) sys.sendto(tx, payload, port);
    const t0 = now();
    await new Promise<void>((resolve) => {
      let got = 0;
      ring.onCompletions((c) => {
        for (let i = 0; i < c.length; i++) br.recycle(c.flags[i]! >>> IORING_CQE_BUFFER_SHIFT);
        br.flush();
        got += c.length;
        if (got === depth) resolve();
      });
      ring.queue(sqes);
    });
    t += now() - t0;
  }
  ring.onCompletions(null);
  br.close();
  return { op: "recv", api: "batch", ops: total, seconds: t };
}

export function registerOps(program: Command): void {
  program
    .command("ops")
    .description("quick throughput check: IoUring nop and UDP recv, Promise API vs batch API (same run)")
    .option("--ops <n>", "operations per measurement", "200000")
    .option("--depth <n>", "requests in flight", "256")
    .option("--rounds <n>", "interleaved rounds (median reported)", "3")
    .option("--json", "print JSON")
    .action(async (opts: { ops: string; depth: string; rounds: string; json?: boolean }) => {
      const total = Number(opts.ops);
      const depth = Number(opts.depth);
      const rounds = Number(opts.rounds);
      if (!Number.isInteger(total) || total <= 0 || !Number.isInteger(depth) || depth <= 0 || depth > 1024 || !Number.isInteger(rounds) || rounds <= 0) {
        console.error("ringpoll ops: --ops, --rounds must be positive integers and --depth 1..1024");
        process.exitCode = 2;
        return;
      }
      const ring = new IoUring({ entries: 1024 });
      const tx = sys.udpSocket({ port: 0 });
      const rx = sys.udpSocket({ port: 0, recvBufferSize: 4 << 20 });
      const port = sys.localPort(rx);
      const recvTotal = Math.max(depth, Math.floor(total / 4 / depth) * depth);
      const rows: Row[][] = [[], [], [], []];
      try {
        for (let r = 0; r < rounds; r++) {
          rows[0]!.push(await nopPromise(ring, total, depth));
          rows[1]!.push(await nopBatch(ring, total, depth));
          rows[2]!.push(await recvPromise(ring, tx, rx, port, recvTotal, depth));
          rows[3]!.push(await recvBatch(ring, tx, rx, port, recvTotal, depth));
        }
      } finally {
        ring.close();
        sys.close(tx);
        sys.close(rx);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const out = rows.map((rs) => {
        const rates = rs.map((x) => x.ops / x.seconds);
        return { op: rs[0]!.op, api: rs[0]!.api, opsPerSecond: Math.round(median(rates)), min: Math.round(Math.min(...rates)), max: Math.round(Math.max(...rates)) };
      });
      if (opts.json) {
        console.log(JSON.stringify({ depth, rounds, results: out }, null, 2));
        return;
      }
      console.log(`depth ${depth}, ${rounds} interleaved rounds, median (min–max) ops/s`);
      for (const o of out) console.log(`${o.op.padEnd(5)} ${o.api.padEnd(8)} ${String(o.opsPerSecond).padStart(10)}  (${o.min}–${o.max})`);
      console.log(`batch/promise: nop ${(out[1]!.opsPerSecond / out[0]!.opsPerSecond).toFixed(2)}×, recv ${(out[3]!.opsPerSecond / out[2]!.opsPerSecond).toFixed(2)}×`);
    });
}
