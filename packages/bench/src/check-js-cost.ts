// bench:check, issue 10's goals: at fixed offered loads (100 and 200 kpps by default), interleaved
// in one run, the JS receivers' CPU cost per packet against the native loops beside them and
// against node:dgram, with the per-wake counters that explain what remains of the gap.
import { engine, type NativeWindow } from "./engine.js";
import { coalesceLatencyUs, type LatencyFigures } from "./pps/js-latency.js";
import { JS_URING_COALESCE } from "./pps/js-uring.js";
import { baseOptions, runJsReceiverWindow, type JsWindow, type PpsParams } from "./pps/run.js";
import { median, cv } from "./stats/describe.js";

const RECEIVERS = ["uring", "js-uring", "js-uring-coalesce", "epoll", "js-epoll", "dgram"] as const;
type Name = (typeof RECEIVERS)[number];

export async function runJsCostGoals(p: PpsParams, rates: number[], runs: number, duration: number): Promise<void> {
  const windows = new Map<string, Array<NativeWindow | JsWindow>>();
  const key = (r: Name, rate: number): string => `${r}@${rate}`;
  for (let round = 0; round < runs; round++) {
    for (const rate of rates) {
      const q = { ...p, rate };
      for (const r of RECEIVERS) {
        process.stderr.write(`js cost round ${round + 1}/${runs}: ${r}@${rate / 1000}k `);
        const w = r === "uring" || r === "epoll" ? await engine.pps(baseOptions(q, r, duration)) : await runJsReceiverWindow(q, r, duration);
        (windows.get(key(r, rate)) ?? windows.set(key(r, rate), []).get(key(r, rate))!).push(w);
      }
      process.stderr.write("\n");
    }
  }
  const nsPer = (k: string): number[] => windows.get(k)!.map((w) => w.cpuNs / Math.max(w.count, 1));
  const med = (k: string): number => median(nsPer(k));
  const spread = (k: string): string => {
    const v = nsPer(k);
    return `${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)}, cv ${(cv(v) * 100).toFixed(0)} %`;
  };
  console.log(`\nJS receivers at fixed rates, CPU ns per packet, medians of ${runs} interleaved runs of ${duration} s (flows ${p.flows}, ${p.size} B):`);
  for (const rate of rates) {
    const k = (r: Name): string => key(r, rate);
    const ratio = (a: Name, b: Name): number => med(k(a)) / med(k(b));
    const goal = (name: string, value: number, ok: boolean, want: string): void =>
      console.log(`  ${name.padEnd(34)} ${value.toFixed(3)} (goal ${want}) ${ok ? "met" : "NOT met"}`);
    console.log(` ${rate / 1000} kpps offered:`);
    goal("js-uring / native uring", ratio("js-uring", "uring"), ratio("js-uring", "uring") <= 1.25, "≤ 1.25");
    goal("js-epoll / native epoll", ratio("js-epoll", "epoll"), ratio("js-epoll", "epoll") <= 1.25, "≤ 1.25");
    goal("dgram / js-uring", ratio("dgram", "js-uring"), ratio("dgram", "js-uring") >= 2, "≥ 2");
    goal("dgram / js-epoll", ratio("dgram", "js-epoll"), ratio("dgram", "js-epoll") >= 2, "≥ 2");
    console.log(`  ${"ceiling of the ≥ 2 goal".padEnd(34)} ${ceilingLine(ratio("dgram", "uring"), ratio("dgram", "epoll"))}`);
    console.log(`  ${"js-uring-coalesce / js-uring".padEnd(34)} ${ratio("js-uring-coalesce", "js-uring").toFixed(3)} (coalescing ${JSON.stringify(JS_URING_COALESCE)}; informational)`);
    for (const r of RECEIVERS) {
      const ws = windows.get(k(r))!;
      const kpps = median(ws.map((w) => w.count / w.seconds)) / 1e3;
      const wakes = "wakes" in ws[0]! ? perWakeLine(ws as JsWindow[]) : "";
      console.log(`    ${r.padEnd(17)} ${med(k(r)).toFixed(0).padStart(5)} ns/pkt (${spread(k(r))})  ${kpps.toFixed(1)} kpps${wakes}`);
    }
  }
  await printCoalesceLatency();
}

/**
 * The "≥ 2× cheaper than dgram" goal measured against what the native loops themselves reach in
 * the same run: a JS receiver with the default latency (no coalescing) costs at least the native
 * loop that waits the same way, so dgram / native is its ceiling.
 */
function ceilingLine(uring: number, epoll: number): string {
  const best = Math.max(uring, epoll);
  const verdict = best >= 2 ? "reachable" : `out of reach with the default latency: dgram / native is only ${best.toFixed(2)} here`;
  return `dgram / native uring ${uring.toFixed(3)}, dgram / native epoll ${epoll.toFixed(3)} (${verdict})`;
}

/** What coalescing adds to latency: send-to-callback of single datagrams, without and with it. */
export async function printCoalesceLatency(): Promise<void> {
  const fmt = (f: LatencyFigures): string => `p50 ${f.p50.toFixed(0)}, p90 ${f.p90.toFixed(0)}, p99 ${f.p99.toFixed(0)}, max ${f.max.toFixed(0)} µs`;
  const off = await coalesceLatencyUs(null);
  const on = await coalesceLatencyUs(JS_URING_COALESCE);
  console.log(`  added latency, one datagram at a time (send to JS callback, 300 each; a lone datagram waits the whole maxWaitUs):`);
  console.log(`    coalescing off: ${fmt(off)}`);
  console.log(`    coalescing on:  ${fmt(on)}`);
}

/** Medians of the per-wake counters: what one JS call carries and costs in kernel entries. */
function perWakeLine(ws: JsWindow[]): string {
  const m = (f: string): string => {
    const v = ws.map((w) => w.wakes[f]).filter((x): x is number => typeof x === "number");
    return v.length === 0 ? "–" : median(v).toFixed(2);
  };
  return `  per JS call: ${m("datagramsPerWake")} datagrams, ${m("kernelEntriesPerWake")} kernel entries (libuv wait ${m("loopWaitsPerWake")}, epoll_wait ${m("epollWaitsPerWake")}, enter ${m("entersPerWake")}, eventfd read ${m("eventfdReadsPerWake")}, recvmmsg ${m("recvCallsPerWake")})`;
}
