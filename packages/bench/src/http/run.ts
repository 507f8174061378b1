// The http scenario: the same node:http handler served by each server process in turn (A B C A B C
// per case), load from wrk on its own CPU. Server CPU and RSS come from /proc for the wrk window.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Progress } from "../pps/run.js";
import { summarize } from "../pps/run.js";
import type { Run, ScenarioResult } from "../schema.js";
import { processCpuNs, processRssKiB, processUserSysNs } from "./proc.js";
import type { HttpServerName } from "./servers.js";
import { countSyscalls } from "./syscalls.js";
import { runWrk, type WrkResult } from "./wrk.js";

export const HTTP_MODES = ["keep-alive", "close"] as const;
export type HttpMode = (typeof HTTP_MODES)[number];

export interface HttpCase {
  mode: HttpMode;
  connections: number;
  body: number;
}

export interface HttpParams {
  servers: HttpServerName[];
  cases: HttpCase[];
  duration: number;
  warmup: number;
  runs: number;
  wrkThreads: number;
  cpuClient: number[];
  cpuServer: number;
  host: string;
  /** one more window per server and case under strace: syscalls per request */
  syscalls: boolean;
}

export interface ServerProcess<N extends string = HttpServerName> {
  name: N;
  child: ChildProcessByStdio<Writable, Readable, null>;
  port: number;
  backend: string;
}

const serverScript = fileURLToPath(new URL("./server.js", import.meta.url));

/** Starts `script` (default: the HTTP bench's server) as `name`, pinned to `cpu`; it prints { port, backend }. */
/** `nice`: the server's nice value (0: inherited; below 0 needs CAP_SYS_NICE) */
export async function startServer<N extends string = HttpServerName>(name: N, cpu: number, host: string, script = serverScript, extra: string[] = [], nice = 0): Promise<ServerProcess<N>> {
  const argv = [process.execPath, script, name, host, ...extra];
  const pinned = cpu >= 0 ? ["taskset", "-c", String(cpu), ...argv] : argv;
  const [cmd, ...args] = nice !== 0 ? ["nice", "-n", String(nice), ...pinned] : pinned;
  const child = spawn(cmd!, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    once(lines, "line").then(([l]) => l as string),
    once(child, "exit").then(([code]) => Promise.reject(new Error(`the ${name} server exited with ${code} before listening`))),
  ]);
  lines.close();
  const { port, backend } = JSON.parse(first) as { port: number; backend: string };
  return { name, child, port, backend };
}

export async function stopServer(s: ServerProcess<string>): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = once(s.child, "exit");
  s.child.stdin.end();
  const timer = setTimeout(() => s.child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

function path(body: number): string {
  return body === 13 ? "/" : "/16k";
}

export function caseParams(c: HttpCase, p: HttpParams): Record<string, number | string | boolean> {
  return { mode: c.mode, connections: c.connections, body: c.body, duration: p.duration, wrkThreads: Math.min(p.wrkThreads, c.connections) };
}

function toRun(w: WrkResult, cpuNs: number, userSys: { user: number; sys: number }, rssKiB: number, round: number, backend: string): Run {
  const errors = w.errors.connect + w.errors.read + w.errors.write + w.errors.timeout;
  return {
    round,
    tps: w.requests / w.seconds,
    packets: w.requests,
    seconds: w.seconds,
    cpuNsPerPacket: w.requests > 0 ? cpuNs / w.requests : null,
    receiverBusy: cpuNs / (w.seconds * 1e9),
    kernel: null,
    extra: {
      p50Us: w.latencyUs.p50,
      p90Us: w.latencyUs.p90,
      p99Us: w.latencyUs.p99,
      p999Us: w.latencyUs.p999,
      maxUs: w.latencyUs.max,
      meanUs: w.latencyUs.mean,
      // where the server's time goes: user space (JS, node:http, V8) or the kernel
      userNsPerRequest: w.requests > 0 ? Math.round(userSys.user / w.requests) : null,
      sysNsPerRequest: w.requests > 0 ? Math.round(userSys.sys / w.requests) : null,
      rssKiB,
      bytes: w.bytes,
      socketErrors: errors,
      non2xx: w.errors.status,
      backend,
    },
  };
}

/** Per request: all syscalls, and each one that reaches 0.01 per request (futex: threads waking, not I/O). */
function syscallDiagnostics(calls: Record<string, number>, requests: number): ScenarioResult["diagnostics"] {
  const perRequest: Record<string, number> = {};
  let all = 0;
  for (const [name, n] of Object.entries(calls)) {
    all += n;
    if (requests > 0 && n / requests >= 0.01) perRequest[name] = Number((n / requests).toFixed(3));
  }
  return { straceRequests: requests, syscallsPerRequest: requests > 0 ? Number((all / requests).toFixed(3)) : null, syscallsPerRequestByName: perRequest };
}

export async function runHttp(p: HttpParams, progress: Progress): Promise<ScenarioResult[]> {
  const servers: ServerProcess[] = [];
  try {
    for (const name of p.servers) servers.push(await startServer(name, p.cpuServer, p.host));
    const total = (p.runs + (p.syscalls ? 1 : 0)) * p.cases.length * servers.length;
    let done = 0;
    const runs = new Map<string, Run[]>();
    const key = (c: HttpCase, s: string) => `${c.mode}/${c.connections}/${c.body}/${s}`;
    for (let round = 0; round < p.runs; round++) {
      for (const [ci, c] of p.cases.entries()) {
        for (const [i, s] of servers.entries()) {
          progress(done, total, `${s.name} ${c.mode} c=${c.connections} ${c.body} B round ${round + 1}/${p.runs}`);
          const load = { url: `http://${p.host}:${s.port}${path(c.body)}`, connections: c.connections, threads: p.wrkThreads, close: c.mode === "close", cpus: p.cpuClient };
          if (p.warmup > 0) await runWrk({ ...load, seconds: p.warmup });
          const pid = s.child.pid!;
          const cpuBefore = processCpuNs(pid);
          const usBefore = processUserSysNs(pid);
          const w = await runWrk({ ...load, seconds: p.duration });
          const cpuNs = processCpuNs(pid) - cpuBefore;
          const usAfter = processUserSysNs(pid);
          const userSys = { user: usAfter.user - usBefore.user, sys: usAfter.sys - usBefore.sys };
          const run = { ...toRun(w, cpuNs, userSys, processRssKiB(pid).rss, round, s.backend), slot: ci * servers.length + i };
          const k = key(c, s.name);
          runs.set(k, [...(runs.get(k) ?? []), run]);
          progress(++done, total, s.name);
        }
      }
    }
    const diagnostics = new Map<string, ScenarioResult["diagnostics"]>();
    if (p.syscalls) {
      for (const c of p.cases) {
        for (const s of servers) {
          progress(done, total, `${s.name} ${c.mode} c=${c.connections} ${c.body} B under strace`);
          const load = { url: `http://${p.host}:${s.port}${path(c.body)}`, connections: c.connections, threads: p.wrkThreads, close: c.mode === "close", cpus: p.cpuClient, seconds: p.duration };
          const { result: w, calls } = await countSyscalls(s.child.pid!, () => runWrk(load));
          diagnostics.set(key(c, s.name), syscallDiagnostics(calls, w.requests));
          progress(++done, total, s.name);
        }
      }
    }
    return p.cases.flatMap((c) =>
      servers.map((s) => {
        const r = runs.get(key(c, s.name))!;
        const d = diagnostics.get(key(c, s.name));
        return { scenario: "http" as const, receiver: s.name, params: caseParams(c, p), runs: r, summary: summarize(r, "tps"), ...(d ? { diagnostics: d } : {}) };
      }),
    );
  } finally {
    await Promise.all(servers.map(stopServer));
  }
}
