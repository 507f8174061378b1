// The tcp-rr scenario: each echo server in its own process, the native client (one pinned thread,
// N connections with one request outstanding each) against each in turn (A B C A B C per case).
// The client reads the server's CPU (/proc) at the edges of its window and its own; a server less
// than fully busy was waiting for the client. RSS comes from /proc after the window.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { engine } from "../engine.js";
import { processRssKiB } from "../http/proc.js";
import { startServer, stopServer, type ServerProcess } from "../http/run.js";
import type { Progress } from "../pps/run.js";
import { summarize } from "../pps/run.js";
import type { Run, ScenarioResult } from "../schema.js";
import type { TcpRrServerName } from "./server.js";

export interface TcpRrCase {
  connections: number;
  size: number;
  /** connection churn: connect, one request, close (a transaction is a connection) */
  churn: boolean;
}

export interface TcpRrParams {
  servers: TcpRrServerName[];
  cases: TcpRrCase[];
  duration: number;
  warmup: number;
  runs: number;
  cpuClient: number;
  cpuServer: number;
  host: string;
  /** the client's loop in rr mode */
  client: TcpRrClient;
  /** the client's loop in churn mode */
  churnClient: TcpChurnClient;
  /** nice value of the servers and the client thread (0: unchanged) */
  nice: number;
}

export const TCP_RR_CLIENTS = ["io_uring", "io_uring-spin", "epoll"] as const;
export type TcpRrClient = (typeof TCP_RR_CLIENTS)[number];
export const TCP_CHURN_CLIENTS = ["io_uring", "epoll"] as const;
export type TcpChurnClient = (typeof TCP_CHURN_CLIENTS)[number];

const serverScript = fileURLToPath(new URL("./server.js", import.meta.url));

export function caseParams(c: TcpRrCase, p: TcpRrParams): Record<string, number | string> {
  // mode/body keep the http table's layout (bench/http/table.ts)
  return { mode: c.churn ? "churn" : "rr", connections: c.connections, body: c.size, duration: p.duration, client: c.churn ? p.churnClient : p.client };
}

/**
 * With sched autogroup (the default on most distributions) a nice value only ranks tasks within
 * their session's group, and the groups share the CPUs equally: the group's own nice
 * (/proc/self/autogroup) is what other sessions' processes are ranked against. The servers are
 * children in this session. Returns how to restore it (a no-op without autogroup).
 */
function niceAutogroup(nice: number): () => void {
  const path = "/proc/self/autogroup";
  let before: number;
  try {
    before = Number(/nice (-?\d+)/.exec(readFileSync(path, "utf8"))?.[1] ?? 0);
  } catch {
    return () => {};
  }
  writeFileSync(path, String(nice));
  return () => writeFileSync(path, String(before));
}

export async function runTcpRr(p: TcpRrParams, progress: Progress): Promise<ScenarioResult[]> {
  const servers: Array<ServerProcess<TcpRrServerName>> = [];
  const restoreNice = p.nice !== 0 ? niceAutogroup(p.nice) : () => {};
  try {
    for (const name of p.servers) servers.push(await startServer(name, p.cpuServer, p.host, serverScript, [], p.nice));
    const total = p.runs * p.cases.length * servers.length;
    let done = 0;
    const runs = new Map<string, Run[]>();
    const key = (c: TcpRrCase, s: string) => `${c.churn}/${c.connections}/${c.size}/${s}`;
    for (let round = 0; round < p.runs; round++) {
      for (const [ci, c] of p.cases.entries()) {
        for (const [i, s] of servers.entries()) {
          progress(done, total, `${s.name}${c.churn ? " churn" : ""} c=${c.connections} ${c.size} B round ${round + 1}/${p.runs}`);
          const pid = s.child.pid!;
          const r = await engine.tcpRr({
            host: p.host,
            port: s.port,
            connections: c.connections,
            size: c.size,
            warmup: p.warmup,
            seconds: p.duration,
            cpu: p.cpuClient,
            churn: c.churn,
            epoll: c.churn ? p.churnClient === "epoll" : p.client === "epoll",
            spin: !c.churn && p.client === "io_uring-spin",
            nice: p.nice,
            serverPid: pid,
          });
          const cpuNs = r.serverCpuNs >= 0 ? r.serverCpuNs : null;
          const run: Run = {
            round,
            slot: ci * servers.length + i,
            tps: r.transactions / r.seconds,
            packets: r.transactions,
            seconds: r.seconds,
            cpuNsPerPacket: cpuNs !== null && r.transactions > 0 ? cpuNs / r.transactions : null,
            receiverBusy: cpuNs !== null ? cpuNs / (r.seconds * 1e9) : null,
            kernel: null,
            extra: {
              p50Us: r.p50Us,
              p99Us: r.p99Us,
              p999Us: r.p999Us,
              maxUs: r.maxUs,
              rssKiB: processRssKiB(pid).rss,
              backend: s.backend,
              client: r.client,
              serverWait: r.serverWaitNs >= 0 ? r.serverWaitNs / (r.seconds * 1e9) : null,
              clientBusy: r.clientCpuNs / (r.seconds * 1e9),
              clientCpuNsPerTxn: r.transactions > 0 ? r.clientCpuNs / r.transactions : null,
              responsesPerPass: r.passes > 0 ? r.responses / r.passes : null,
            },
          };
          const k = key(c, s.name);
          runs.set(k, [...(runs.get(k) ?? []), run]);
          progress(++done, total, s.name);
        }
      }
    }
    return p.cases.flatMap((c) =>
      servers.map((s) => {
        const r = runs.get(key(c, s.name))!;
        return { scenario: "tcp-rr" as const, receiver: s.name, params: caseParams(c, p), runs: r, summary: summarize(r, "tps") };
      }),
    );
  } finally {
    await Promise.all(servers.map(stopServer));
    restoreNice();
  }
}
