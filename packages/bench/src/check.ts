#!/usr/bin/env node
// npm run bench:check — the issue's speed goals as ratios of medians from ONE interleaved run:
// native receivers vs the minimal C loops, js-uring/js-epoll vs dgram, js-uring vs native uring,
// bench count vs /proc/net/snmp InDatagrams, native IOPS vs fio's io_uring engine, and (printed
// first) the JS receivers' cost per packet at fixed rates (check-js-cost.ts).
// Each goal uses PPS when the receivers are saturated and CPU cost per packet when they are not.
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { engine, type NativeWindow } from "./engine.js";
import { fioAvailable, runIops } from "./iops/run.js";
import { createNetnsPair, netnsAvailable } from "./netns.js";
import { runJsCostGoals } from "./check-js-cost.js";
import { runJsReceiverWindow } from "./pps/run.js";
import type { PpsParams } from "./pps/run.js";
import { median } from "./stats/describe.js";
import { compileYardsticks, runYardstick } from "./yardstick.js";

const runs = Number(process.env.RINGPOLL_CHECK_RUNS ?? 3);
const duration = Number(process.env.RINGPOLL_CHECK_DURATION ?? 2);
const two = availableParallelism() >= 2;
const p: PpsParams = {
  receivers: [],
  duration,
  warmup: 0.5,
  runs,
  flows: 8,
  size: 64,
  senders: 1,
  rate: 0,
  port: 0,
  rcvbuf: 4 << 20,
  injectPercent: 0,
  cpuSender: two ? [0] : [],
  cpuReceiver: two ? 1 : -1,
  sender: { netns: "", host: "127.0.0.1" },
  receiver: { netns: "", host: "127.0.0.1" },
};

// Two namespaces over veth when root: the receiver's /proc/net/snmp then counts only bench traffic
// (on loopback, every other UDP user of the host shows up in InDatagrams too).
const pair = netnsAvailable() === null && process.env.RINGPOLL_CHECK_LOOPBACK === undefined ? createNetnsPair() : null;
if (pair) {
  p.sender = pair.sender;
  p.receiver = pair.receiver;
}

const kinds = ["recvmmsg", "epoll", "epoll-1", "uring"];
const js = ["js-epoll", "js-uring", "dgram"] as const;
const windows = new Map<string, NativeWindow[]>();
const push = (k: string, w: NativeWindow): void => void (windows.get(k) ?? windows.set(k, []).get(k)!).push(w);

const c = compileYardsticks();
try {
  for (let round = 0; round < runs; round++) {
    for (const k of kinds) {
      process.stderr.write(`round ${round + 1}/${runs}: ${k} `);
      push(k, await engine.pps({ ...ppsOptions(k), injectNs: 0 }));
      process.stderr.write(`c-${k} `);
      push(`c-${k}`, await runYardstick(c.binaries.get(k)!, p));
    }
    for (const k of js) {
      process.stderr.write(`${k} `);
      push(k, await runJsReceiverWindow(p, k, duration));
    }
    process.stderr.write("\n");
  }
  const rates = (process.env.RINGPOLL_CHECK_RATES ?? "100000,200000").split(",").map(Number);
  await runJsCostGoals(p, rates, runs, duration);
} finally {
  c.remove();
  pair?.remove();
}

function ppsOptions(receiver: string) {
  return {
    receiver, senderNetns: p.sender.netns, senderHost: p.sender.host, receiverNetns: p.receiver.netns, receiverHost: p.receiver.host, flows: p.flows,
    port: 0, size: p.size, senders: 1, rate: 0, rcvbuf: p.rcvbuf, batch: 64, maxEvents: 1024, injectNs: 0,
    senderCpus: p.cpuSender, receiverCpu: p.cpuReceiver, warmup: p.warmup, seconds: duration,
  };
}

const pps = (k: string): number => median(windows.get(k)!.map((w) => w.count / w.seconds));
const nsPer = (k: string): number => median(windows.get(k)!.map((w) => w.cpuNs / Math.max(w.count, 1)));
const busy = (k: string): number => median(windows.get(k)!.map((w) => w.cpuNs / (w.seconds * 1e9)));

function goal(name: string, a: string, b: string, target: number): void {
  const saturated = busy(a) > 0.9 || busy(b) > 0.9;
  const byPps = pps(a) / pps(b);
  const byCpu = nsPer(b) / nsPer(a);
  const ratio = saturated ? byPps : byCpu;
  const verdict = ratio >= target ? "met" : `NOT met (${((1 - ratio / target) * 100).toFixed(1)} % short)`;
  console.log(
    `${name.padEnd(28)} ${ratio.toFixed(3)} (goal ≥ ${target}) ${verdict.padEnd(22)} by ${saturated ? "pps" : "cpu/pkt"}; ` +
      `pps ${byPps.toFixed(3)}, cpu ${byCpu.toFixed(3)}, busy ${(busy(a) * 100).toFixed(0)} %/${(busy(b) * 100).toFixed(0)} %`,
  );
}

console.log(`\nspeed goals, medians of ${runs} interleaved runs of ${duration} s (flows ${p.flows}, ${p.size} B):`);
for (const k of kinds) goal(`${k} vs C ${k}`, k, `c-${k}`, 0.98);
goal("js-uring vs dgram", "js-uring", "dgram", 2.5);
goal("js-epoll vs dgram", "js-epoll", "dgram", 1.8);
goal("js-uring vs native uring", "js-uring", "uring", 0.9);
let worst = 0;
let worstAt = "";
for (const [k, ws] of windows) {
  if (k.startsWith("c-")) continue; // the C loops keep their own window
  for (const w of ws) {
    if (!w.kernel || w.kernel.InDatagrams === 0) continue;
    const skew = Math.abs(w.count - w.kernel.InDatagrams) / w.kernel.InDatagrams;
    if (skew > worst) [worst, worstAt] = [skew, k];
  }
}
console.log(`${"count vs snmp InDatagrams".padEnd(28)} worst ${(worst * 100).toFixed(3)} % (${worstAt || "–"}; goal ≤ 0.5 %) ${worst <= 0.005 ? "met" : "NOT met"}` +
  (pair ? " [netns]" : " [loopback: other UDP traffic on the host counts too]"));
for (const k of [...kinds, ...js]) {
  console.log(`  ${k.padEnd(10)} ${(pps(k) / 1e3).toFixed(1)} kpps  ${nsPer(k).toFixed(0)} ns/pkt  busy ${(busy(k) * 100).toFixed(0)} %` +
    (windows.has(`c-${k}`) ? `   C: ${(pps(`c-${k}`) / 1e3).toFixed(1)} kpps  ${nsPer(`c-${k}`).toFixed(0)} ns/pkt  busy ${(busy(`c-${k}`) * 100).toFixed(0)} %` : ""));
}

if (fioAvailable()) {
  // A 256 MiB file of real data next to the temp dir (tmpfs would refuse O_DIRECT).
  const path = join(process.env.RINGPOLL_IOPS_DIR ?? tmpdir(), `ringpoll-iops-${process.pid}`);
  try {
    const fd = openSync(path, "w");
    const chunk = Buffer.alloc(1 << 20, 0xa5);
    for (let i = 0; i < 256; i++) writeSync(fd, chunk);
    closeSync(fd);
    const res = await runIops(
      { path, engines: ["io_uring", "fio"], blockSize: 4096, depth: 128, batch: 32, fixedBuffers: true, fixedFiles: true, polled: false, duration, warmup: 0.5, runs, cpu: p.cpuReceiver },
      () => undefined,
    );
    const [ours, fio] = res;
    const ratio = ours!.summary.median / fio!.summary.median;
    console.log(`${"IOPS vs fio io_uring".padEnd(28)} ${ratio.toFixed(3)} (goal ≥ 0.97) ${ratio >= 0.97 ? "met" : "NOT met"}; ` +
      `${(ours!.summary.median / 1e3).toFixed(1)} k vs ${(fio!.summary.median / 1e3).toFixed(1)} k IOPS (-d128 -s32 -c32 -B1 -F1, non-polled)`);
  } finally {
    rmSync(path, { force: true });
  }
} else {
  console.log("IOPS vs fio: skipped, fio is not installed");
}
