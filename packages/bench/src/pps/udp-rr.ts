// udp-rr: neper-style request/response over 1000 flows, one server thread (epoll_wait with
// maxevents 1000, or io_uring), servers interleaved. Headline: transactions/s.
import type { Run, ScenarioResult } from "../schema.js";
import { engine } from "../engine.js";
import { summarize, type Progress } from "./run.js";

export const RR_SERVERS = ["epoll", "uring"] as const;
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
  const opts = (server: RrServer, seconds: number, injectNs: number) => ({
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
  const injectNs = new Map<string, number>();
  if (p.injectPercent > 0) {
    for (const s of p.servers) {
      progress(done, total, `calibrating ${s}`);
      const w = await engine.udpRr(opts(s, 1, 0));
      injectNs.set(s, w.secondary > 0 ? ((w.cpuNs / w.secondary) * p.injectPercent) / 100 : 0);
    }
  }
  const runs = new Map<string, Run[]>(p.servers.map((s) => [s, []]));
  for (let round = 0; round < p.runs; round++) {
    for (const s of p.servers) {
      progress(done, total, `${s} round ${round + 1}/${p.runs}`);
      const w = await engine.udpRr(opts(s, p.duration, injectNs.get(s) ?? 0));
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
        extra: { transactions: w.count, ...(p.injectPercent > 0 ? { injectNs: injectNs.get(s) ?? 0 } : {}) },
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
