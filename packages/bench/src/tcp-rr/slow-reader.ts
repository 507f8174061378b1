// The slow-reader case: the server writes `bytes` (a pattern both sides can compute) to a client
// that reads nothing for `stall` seconds, then everything. A server that honours write() keeps its
// memory bounded while the client stalls; every byte must then arrive, in order.
import net from "node:net";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { processRssKiB } from "../http/proc.js";
import { startServer, stopServer } from "../http/run.js";
import { summarize } from "../pps/run.js";
import type { Run, ScenarioResult } from "../schema.js";
import type { TcpRrServerName } from "./server.js";

const CHUNK = 64 * 1024;
const SPAN = 1024 * 1024;

/** SPAN + CHUNK pseudo-random bytes from a fixed seed (xorshift32): the same in every process. */
function patternBlock(): Buffer {
  const b = Buffer.allocUnsafe(SPAN + CHUNK);
  let x = 0x9e3779b9;
  for (let i = 0; i < b.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

/** The j-th chunk of the stream: a window of the block that moves by a prime step. */
const chunkOffset = (j: number): number => (j * 4099) % SPAN;

/** Server side: write `bytes` of the pattern, waiting for 'drain' whenever write() says so. */
export async function writePattern(w: Writable, bytes: number): Promise<void> {
  const block = patternBlock();
  for (let j = 0, sent = 0; sent < bytes; j++) {
    const piece = block.subarray(chunkOffset(j), chunkOffset(j) + Math.min(CHUNK, bytes - sent));
    sent += piece.length;
    if (!w.write(piece)) await once(w, "drain");
  }
  w.end();
}

/** Client side: checks each received byte against the pattern; `at` is how many arrived. */
class PatternCheck {
  readonly #block = patternBlock();
  at = 0;
  intact = true;

  take(d: Buffer): void {
    for (let off = 0; off < d.length && this.intact; ) {
      const j = Math.floor(this.at / CHUNK);
      const within = this.at % CHUNK;
      const n = Math.min(CHUNK - within, d.length - off);
      const want = this.#block.subarray(chunkOffset(j) + within, chunkOffset(j) + within + n);
      if (!d.subarray(off, off + n).equals(want)) this.intact = false;
      off += n;
      this.at += n;
    }
  }
}

export interface SlowReaderResult {
  server: TcpRrServerName;
  backend: string;
  bytes: number;
  received: number;
  intact: boolean;
  /** server RSS before the client connected, the most while it stalled, the most overall (KiB) */
  rssBeforeKiB: number;
  rssStalledMaxKiB: number;
  rssMaxKiB: number;
  /** seconds from resume to the last byte */
  drainSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSlowReader(server: TcpRrServerName, bytes: number, stallSeconds: number, cpu: number, host: string): Promise<SlowReaderResult> {
  const s = await startServer(server, cpu, host, new URL("./server.js", import.meta.url).pathname, [String(bytes)]);
  const pid = s.child.pid!;
  const rss = () => processRssKiB(pid).rss;
  try {
    const rssBeforeKiB = rss();
    const c = net.connect(s.port, host);
    c.pause();
    await once(c, "connect");
    let rssStalledMaxKiB = 0;
    for (const until = Date.now() + stallSeconds * 1000; Date.now() < until; await sleep(50)) rssStalledMaxKiB = Math.max(rssStalledMaxKiB, rss());
    let rssMaxKiB = rssStalledMaxKiB;
    const sampler = setInterval(() => (rssMaxKiB = Math.max(rssMaxKiB, rss())), 50);
    const check = new PatternCheck();
    c.on("data", (d: Buffer) => check.take(d));
    const t0 = process.hrtime.bigint();
    const ended = once(c, "end");
    c.resume();
    await ended;
    const drainSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    clearInterval(sampler);
    c.destroy();
    return { server, backend: s.backend, bytes, received: check.at, intact: check.intact && check.at === bytes, rssBeforeKiB, rssStalledMaxKiB, rssMaxKiB, drainSeconds };
  } finally {
    await stopServer(s);
  }
}

/**
 * The result file's entries: one per server, one run per round. A run's packets are the bytes
 * received, its seconds the drain after the stall, its pps the drain rate in bytes/s; the
 * memory figures and whether every byte arrived intact are in extra.
 */
export function slowReaderResults(rows: SlowReaderResult[], servers: readonly TcpRrServerName[], stallSeconds: number): ScenarioResult[] {
  return servers.map((server) => {
    const runs: Run[] = rows
      .filter((r) => r.server === server)
      .map((r, round) => ({
        round,
        slot: servers.indexOf(server),
        pps: r.received / r.drainSeconds,
        packets: r.received,
        seconds: r.drainSeconds,
        cpuNsPerPacket: null,
        receiverBusy: null,
        kernel: null,
        extra: { backend: r.backend, intact: r.intact, rssBeforeKiB: r.rssBeforeKiB, rssStalledMaxKiB: r.rssStalledMaxKiB, rssMaxKiB: r.rssMaxKiB },
      }));
    return { scenario: "slow-reader" as const, receiver: server, params: { bytes: rows[0]?.bytes ?? 0, stall: stallSeconds }, runs, summary: summarize(runs, "pps") };
  });
}

export function formatSlowReader(rows: SlowReaderResult[]): string {
  const mib = (k: number) => `${(k / 1024).toFixed(0)} MiB`;
  const head = ["server", "backend", "bytes", "received", "intact", "rss before", "rss max stalled", "rss max", "drain"];
  const body = rows.map((r) => [
    r.server,
    r.backend,
    `${(r.bytes / 2 ** 20).toFixed(0)} MiB`,
    `${(r.received / 2 ** 20).toFixed(0)} MiB`,
    r.intact ? "yes" : "NO",
    mib(r.rssBeforeKiB),
    mib(r.rssStalledMaxKiB),
    mib(r.rssMaxKiB),
    `${r.drainSeconds.toFixed(2)} s (${(r.received / 2 ** 20 / r.drainSeconds).toFixed(0)} MiB/s)`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, widths.map((w) => "-".repeat(w)), ...body].map((cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}
