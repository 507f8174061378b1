// udp-rr: neper-style request/response over 1000 flows, one server thread (epoll_wait with
// maxevents 1000, or io_uring) or a JS server on the Node main thread, servers interleaved.
// Headline: transactions/s; the client also records each transaction's round trip (p50…max).
import type { Run, ScenarioResult } from "../schema.js";
import { engine, type NativeWindow } from "../engine.js";
import { JS_RR_SERVERS, startJsRrServer, type JsRrServer } from "./js-rr-servers.js";
import { runJsWindow, summarize, type JsWindow, type Progress } from "./run.js";

export const RR_SERVERS = ["epoll", "uring", ...JS_RR_SERVERS] as const;
export type RrServer = (typeof RR_SERVERS)[number];

export interface RrParams {
  servers: RrServer[];
  duration: number;
  warmup: number;
  runs: number;
  flows: number;
  size: number;
  clients: number;
  maxEvents: number;
  injectPercent: number;
  cpuClient: number[];
  cpuServer: number;
  client: { netns: string; host: string };
  server: { netns: string; host: string };
}

export async function runRr(p: RrParams, progress: Progress): Promise<ScenarioResult[]> {
  const total = p.runs * p.servers.length;
  let done = 0;
  const opts = (server: "epoll" | "uring" | "external", seconds: number, injectNs: number) => ({
    server,
    clientNetns: p.client.netns,
    clientHost: p.client.host,
    serverNetns: p.server.netns,
    serverHost: p.server.host,
    flows: p.flows,
    size: p.size,
    clients: p.clients,
    maxEvents: p.maxEvents,
    injectNs,
    clientCpus: p.cpuClient,
    serverCpu: p.cpuServer,
    warmup: p.warmup,
    seconds,
  });
  const isJs = (s: RrServer): s is JsRrServer => (JS_RR_SERVERS as readonly string[]).includes(s);
  // A JS server answers on sockets opened in the server's namespace; the engine connects them.
  const window = (s: RrServer, seconds: number, inject: number): Promise<NativeWindow | JsWindow> => {
    if (!isJs(s)) return engine.udpRr(opts(s, seconds, inject));
    const fds = Array.from(engine.openReceivers({ netns: p.server.netns, host: p.server.host, flows: p.flows, port: 0, rcvbuf: 0 }));
    return runJsWindow(fds, p.cpuServer, (counter) => startJsRrServer(s, fds, counter, p.size), (counter) =>
      engine.udpRr({ ...opts("external", seconds, 0), externalFds: fds, externalCounter: counter }),
    );
  };
  const injectNs = new Map<string, number>();
  if (p.injectPercent > 0) {
    for (const s of p.servers.filter((x) => !isJs(x))) {
      progress(done, total, `calibrating ${s}`);
      const w = await engine.udpRr(opts(s as "epoll" | "uring", 1, 0));
      injectNs.set(s, w.secondary > 0 ? ((w.cpuNs / w.secondary) * p.injectPercent) / 100 : 0);
    }
  }
  const runs = new Map<string, Run[]>(p.servers.map((s) => [s, []]));
  for (let round = 0; round < p.runs; round++) {
    for (const s of p.servers) {
      progress(done, total, `${s} round ${round + 1}/${p.runs}`);
      const w = await window(s, p.duration, injectNs.get(s) ?? 0);
      const rtt = w.rttUs;
      // The server is the receiver here: its requests are the packets, its threads the CPU cost.
      runs.get(s)!.push({
        round,
        slot: p.servers.indexOf(s),
        tps: w.count / w.seconds,
        pps: w.secondary / w.seconds,
        packets: w.secondary,
        seconds: w.seconds,
        cpuNsPerPacket: w.secondary > 0 ? w.cpuNs / w.secondary : null,
        receiverBusy: w.cpuNs / (w.seconds * 1e9),
        kernel: w.kernel,
        samples: w.samples,
        extra: {
          transactions: w.count,
          ...(rtt ? { rttP50Us: rtt.p50, rttP90Us: rtt.p90, rttP99Us: rtt.p99, rttP999Us: rtt.p999, rttMaxUs: rtt.max } : {}),
          ...("wakes" in w ? w.wakes : {}),
          ...(p.injectPercent > 0 && !isJs(s) ? { injectNs: injectNs.get(s) ?? 0 } : {}),
        },
      });
      progress(++done, total, s);
    }
  }
  return p.servers.map((s) => ({
    scenario: "udp-rr" as const,
    receiver: s,
    params: { flows: p.flows, size: p.size, clients: p.clients, maxEvents: p.maxEvents, duration: p.duration, netns: p.server.netns !== "", injectPercent: p.injectPercent },
    runs: runs.get(s)!,
    summary: summarize(runs.get(s)!, "tps"),
  }));
}

/**
 * Round-trip lines for the table: each server's median p50/p99 over its runs, and what coalescing
 * added (js-uring-coalesce minus js-uring, paired by round: median of the differences).
 */
export function rttLines(results: ScenarioResult[]): string[] {
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const q = (r: ScenarioResult, k: string): number[] => r.runs.map((x) => x.extra?.[k]).filter((v): v is number => typeof v === "number");
  const lines = ["", "round trip (client side, µs)   p50     p99   (median over runs)"];
  for (const r of results) {
    const p50 = q(r, "rttP50Us");
    const p99 = q(r, "rttP99Us");
    if (p50.length > 0) lines.push(`  ${r.receiver.padEnd(28)} ${med(p50).toFixed(0).padStart(5)} ${med(p99).toFixed(0).padStart(7)}`);
  }
  const on = results.find((r) => r.receiver === "js-uring-coalesce");
  const off = results.find((r) => r.receiver === "js-uring");
  if (on && off) {
    for (const k of ["rttP50Us", "rttP99Us"]) {
      const byRound = new Map(off.runs.map((x) => [x.round, x.extra?.[k]]));
      const d = on.runs.map((x) => [x.extra?.[k], byRound.get(x.round)]).filter((v): v is [number, number] => typeof v[0] === "number" && typeof v[1] === "number").map(([a, b]) => a - b);
      if (d.length > 0) lines.push(`  coalesce added ${k === "rttP50Us" ? "p50" : "p99"}: ${med(d).toFixed(0)} µs (per-round differences ${d.map((x) => x.toFixed(0)).join(", ")})`);
    }
  }
  return lines;
}
