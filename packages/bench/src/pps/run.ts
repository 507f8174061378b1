// The pps scenario: one native sender, receivers run interleaved (A B C A B C …), each run one
// measured window with the kernel's counters for the same window.
import { cpus } from "node:os";
import { sys } from "ringpoll";
import type { Run, ScenarioResult } from "../schema.js";
import { engine, type NativeWindow, type PpsOptions } from "../engine.js";
import { median, cv } from "../stats/describe.js";
import { perWake } from "./js-counters.js";
import { JS_RECEIVERS, startJsReceiver, type JsReceiver, type JsReceiverName } from "./js-receivers.js";

export const NATIVE_RECEIVERS = ["recvmmsg", "epoll", "epoll-1", "uring", "uring-recvmsg"] as const;
export const PPS_RECEIVERS: readonly string[] = [...NATIVE_RECEIVERS, ...JS_RECEIVERS];

export interface PpsParams {
  receivers: string[];
  duration: number;
  warmup: number;
  runs: number;
  flows: number;
  size: number;
  senders: number;
  rate: number;
  port: number;
  rcvbuf: number;
  injectPercent: number;
  cpuSender: number[];
  cpuReceiver: number;
  sender: { netns: string; host: string };
  receiver: { netns: string; host: string };
}

export type Progress = (done: number, total: number, label: string) => void;

function isJs(name: string): name is JsReceiverName {
  return (JS_RECEIVERS as readonly string[]).includes(name);
}

export function baseOptions(p: PpsParams, receiver: string, seconds: number): PpsOptions {
  return {
    receiver,
    senderNetns: p.sender.netns,
    senderHost: p.sender.host,
    receiverNetns: p.receiver.netns,
    receiverHost: p.receiver.host,
    flows: p.flows,
    port: p.port,
    size: p.size,
    senders: p.senders,
    rate: p.rate,
    rcvbuf: p.rcvbuf,
    batch: 64,
    maxEvents: 1024,
    injectNs: 0,
    senderCpus: p.cpuSender,
    receiverCpu: p.cpuReceiver,
    warmup: p.warmup,
    seconds,
  };
}

/** A JS receiver's window, with its per-wake counters over the whole run (warm-up included). */
export type JsWindow = NativeWindow & { wakes: Record<string, number | null> };

/** A JS receiver on the Node main thread (pinned to the receiver CPU for the run). */
export function runJsReceiverWindow(p: PpsParams, name: JsReceiverName, seconds: number): Promise<JsWindow> {
  const fds = Array.from(engine.openReceivers({ netns: p.receiver.netns, host: p.receiver.host, flows: p.flows, port: p.port, rcvbuf: p.rcvbuf }));
  return runJsWindow(fds, p.cpuReceiver, (counter) => startJsReceiver(name, fds, counter, p.size), (counter) =>
    engine.pps({ ...baseOptions(p, "external", seconds), externalFds: fds, externalCounter: counter }),
  );
}

/**
 * Runs `run` while a JS receiver (or server) started on `fds` works on the Node main thread, pinned
 * to `cpu` (-1: unpinned); it bumps the counter once per datagram. The fds are closed afterwards.
 */
export async function runJsWindow(
  fds: number[],
  cpu: number,
  start: (counter: Uint32Array) => JsReceiver | Promise<JsReceiver>,
  run: (counter: Uint32Array) => Promise<NativeWindow>,
): Promise<JsWindow> {
  const counter = new Uint32Array(1);
  let receiver: JsReceiver;
  try {
    receiver = await start(counter);
  } catch (err) {
    for (const fd of fds) sys.close(fd);
    throw err;
  }
  if (cpu >= 0) engine.setAffinity([cpu]);
  try {
    const before = receiver.totals();
    const w = await run(counter);
    return { ...w, wakes: perWake(before, receiver.totals()) };
  } finally {
    if (cpu >= 0) engine.setAffinity(allCpus());
    await receiver.stop();
  }
}

function allCpus(): number[] {
  return Array.from({ length: cpus().length }, (_, i) => i);
}

export function toRun(w: NativeWindow, round: number, extra: Run["extra"] = {}): Run {
  return {
    round,
    pps: w.count / w.seconds,
    packets: w.count,
    seconds: w.seconds,
    cpuNsPerPacket: w.count > 0 ? w.cpuNs / w.count : null,
    receiverBusy: w.cpuNs / (w.seconds * 1e9),
    kernel: w.kernel,
    samples: w.samples,
    extra: {
      sent: w.secondary,
      countVsInDatagrams: w.kernel && w.kernel.InDatagrams > 0 ? (w.count - w.kernel.InDatagrams) / w.kernel.InDatagrams : null,
      ...extra,
    },
  };
}

export function summarize(runs: Run[], metric: "pps" | "tps" | "iops"): { median: number; cv: number } {
  const values = runs.map((r) => r[metric] ?? 0);
  return { median: median(values), cv: cv(values) };
}

export async function runPps(p: PpsParams, progress: Progress): Promise<ScenarioResult[]> {
  const total = p.runs * p.receivers.length;
  let done = 0;
  // --inject-percent: extra work = p % of the receiver's own per-packet CPU time, measured first.
  const injectNs = new Map<string, number>();
  if (p.injectPercent > 0) {
    for (const r of p.receivers.filter((n) => !isJs(n))) {
      progress(done, total, `calibrating ${r}`);
      const w = await engine.pps(baseOptions(p, r, 1));
      injectNs.set(r, w.count > 0 ? ((w.cpuNs / w.count) * p.injectPercent) / 100 : 0);
    }
  }
  const runs = new Map<string, Run[]>(p.receivers.map((r) => [r, []]));
  for (let round = 0; round < p.runs; round++) {
    for (const r of p.receivers) {
      progress(done, total, `${r} round ${round + 1}/${p.runs}`);
      const inject = injectNs.get(r) ?? 0;
      const w = isJs(r) ? await runJsReceiverWindow(p, r, p.duration) : await engine.pps({ ...baseOptions(p, r, p.duration), injectNs: inject });
      const extra = { ...(p.injectPercent > 0 ? { injectNs: isJs(r) ? null : inject } : {}), ...("wakes" in w ? (w as JsWindow).wakes : {}) };
      runs.get(r)!.push({ ...toRun(w, round, extra), slot: p.receivers.indexOf(r) });
      progress(++done, total, r);
    }
  }
  return p.receivers.map((r) => ({
    scenario: "pps" as const,
    receiver: r,
    params: {
      flows: p.flows,
      size: p.size,
      senders: p.senders,
      rate: p.rate,
      duration: p.duration,
      netns: p.receiver.netns !== "",
      injectPercent: isJs(r) ? 0 : p.injectPercent,
    },
    runs: runs.get(r)!,
    summary: summarize(runs.get(r)!, "pps"),
  }));
}
