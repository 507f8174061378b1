#!/usr/bin/env node
// Soak: datagrams through the JS receive paths (io_uring recvMultishot, epoll + sys.recvmmsg) and
// operations through the IoUring Promise API, bounded in count and time. Reports RSS growth after
// warm-up and, per path, the datagrams received against the kernel's Udp counters (/proc/net/snmp:
// InDatagrams, InErrors, RcvbufErrors, OutDatagrams). Run as root it re-runs itself in a network
// namespace of its own (unshare -n), so the counters hold only its traffic; elsewhere they are the
// host's and other traffic shows in the figures (said in the output).
//
//   npm run soak -- [--datagrams 10000000] [--ops 1000000] [--seconds 900] [--json]
// (test/native/soak.test.ts runs a short version: 200,000 datagrams per path, 300,000 operations.)
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { parseArgs } from "node:util";
import { EPOLLIN, Epoll, IoUring, sys } from "ringpoll";

const SIZE = 64;

function udpCounters() {
  const lines = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Udp:"));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

// The sender (a worker thread): sendmmsg batches to `port` until `stop`, keeping at most `window`
// datagrams ahead of what the receiver has taken plus what the kernel dropped (RcvbufErrors).
function sender({ port, shared, window }) {
  const state = new Float64Array(shared); // [0] received, [1] stop, [2] sent
  const fd = sys.udpSocket();
  sys.connect(fd, port);
  const batch = new sys.DatagramBatch({ count: 256, slotSize: SIZE });
  for (let i = 0; i < batch.count; i++) batch.set(i, Buffer.alloc(SIZE, i & 0xff));
  const dropped0 = udpCounters().RcvbufErrors;
  let dropped = 0;
  let sent = 0;
  let spins = 0;
  while (state[1] === 0) {
    if (sent - state[0] - dropped > window) {
      if (++spins % 64 === 0) dropped = udpCounters().RcvbufErrors - dropped0;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0.05);
      continue;
    }
    const n = sys.sendmmsg(fd, batch, batch.count);
    if (n !== null) sent += n;
    state[2] = sent;
  }
  sys.close(fd);
  parentPort.postMessage(sent);
}

function rssMiB() {
  return process.memoryUsage.rss() / 2 ** 20;
}

async function settle() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * One receive path: `receive(fd, onCount, done)` starts receiving and calls onCount(n) per batch;
 * done() resolves when it has stopped. RSS is sampled after the warm-up (a tenth of the datagrams).
 */
async function datagramPath(name, total, deadline, receive) {
  const fd = sys.udpSocket({ port: 0, recvBufferSize: 4 << 20 });
  const port = sys.localPort(fd);
  const shared = new SharedArrayBuffer(24);
  const state = new Float64Array(shared);
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { port, shared, window: 8192 } });
  const before = udpCounters();
  let received = 0;
  let warm = null;
  let stopSending;
  const sending = new Promise((r) => (stopSending = r));
  const start = performance.now();
  const stopped = receive(fd, (n) => {
    received += n;
    state[0] = received;
    if (warm === null && received >= total / 10) warm = -1; // sampled outside the callback
    if ((received >= total || performance.now() > deadline) && state[1] === 0) {
      state[1] = 1;
      stopSending();
    }
  });
  const sample = setInterval(() => {
    if (warm === -1) {
      globalThis.gc?.();
      warm = rssMiB();
    }
  }, 10);
  await sending;
  const [sent] = await Promise.all([new Promise((r) => worker.once("message", r)), new Promise((r) => worker.once("exit", r))]);
  // The sender is gone: let the receiver read what is queued, take any rest with recvmmsg, then
  // stop it (a multishot cancelled with datagrams queued could take some the iterator then drops).
  let last = -1;
  while (last !== received) {
    last = received;
    await new Promise((r) => setTimeout(r, 50));
  }
  const rest = new sys.DatagramBatch({ count: 256, slotSize: 2048 });
  let n;
  while ((n = sys.recvmmsg(fd, rest)) !== null) received += n;
  await stopped.stop();
  clearInterval(sample);
  const seconds = (performance.now() - start) / 1000;
  sys.close(fd);
  await settle();
  const after = udpCounters();
  const d = (k) => after[k] - before[k];
  return {
    path: name,
    sent,
    received,
    seconds: +seconds.toFixed(1),
    pps: Math.round(received / seconds),
    kernel: { InDatagrams: d("InDatagrams"), InErrors: d("InErrors"), RcvbufErrors: d("RcvbufErrors"), OutDatagrams: d("OutDatagrams") },
    rssWarmMiB: +(warm ?? rssMiB()).toFixed(1),
    rssEndMiB: +rssMiB().toFixed(1),
  };
}

function uringReceiver(fd, onCount) {
  const ring = new IoUring({ entries: 256 });
  const br = ring.createBufferRing({ count: 1024, size: 2048 });
  const it = ring.recvMultishot(fd, br, { lease: true });
  const loop = (async () => {
    for await (const lease of it) {
      lease.release();
      onCount(1);
    }
  })();
  return {
    async stop() {
      await it.return();
      await loop;
      await ring.close();
    },
  };
}

function epollReceiver(fd, onCount) {
  const ep = new Epoll({ maxEvents: 8 });
  const batch = new sys.DatagramBatch({ count: 256, slotSize: 2048 });
  ep.add(fd, EPOLLIN);
  ep.start(() => {
    let n;
    while ((n = sys.recvmmsg(fd, batch)) !== null) onCount(n);
  });
  return {
    async stop() {
      ep.close();
    },
  };
}

/** `total` Promise-API operations in rounds of 1000: nops, and writes and reads of a pipe. */
async function promiseOps(total, deadline) {
  const ring = new IoUring({ entries: 1024 });
  const [r, w] = sys.pipe();
  const data = Buffer.alloc(16, 7);
  let done = 0;
  let warm = null;
  let bytes = 0;
  const start = performance.now();
  while (done < total && performance.now() < deadline) {
    const ops = [];
    for (let i = 0; i < 250; i++) {
      ops.push(ring.write(w, data), ring.read(r, Buffer.alloc(16)).then((n) => (bytes += n)), ring.nop(), ring.nop());
    }
    await Promise.all(ops);
    done += ops.length;
    // RSS climbs for the first ~100k operations (V8's heap and malloc arenas settle), then stays.
    if (warm === null && done >= Math.min(total / 2, Math.max(total / 10, 150_000))) {
      await settle();
      warm = rssMiB();
    }
  }
  const seconds = (performance.now() - start) / 1000;
  await ring.close();
  sys.close(r);
  sys.close(w);
  await settle();
  return { path: "promise ops", ops: done, bytesRead: bytes, seconds: +seconds.toFixed(1), opsPerSec: Math.round(done / seconds), rssWarmMiB: +(warm ?? rssMiB()).toFixed(1), rssEndMiB: +rssMiB().toFixed(1) };
}

function canUnshare() {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("unshare", ["-n", "true"], { stdio: "ignore" });
    execFileSync("ip", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      datagrams: { type: "string", default: "10000000" },
      ops: { type: "string", default: "1000000" },
      seconds: { type: "string", default: "900" },
      json: { type: "boolean", default: false },
      "in-netns": { type: "boolean", default: false },
      "no-netns": { type: "boolean", default: false },
    },
  });
  if (!values["in-netns"] && !values["no-netns"] && canUnshare()) {
    // A namespace of its own: /proc/net/snmp then counts this traffic only.
    const args = process.argv.slice(2).map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const flags = process.execArgv.join(" ");
    const r = spawnSync("unshare", ["-n", "sh", "-c", `ip link set lo up && exec '${process.execPath}' ${flags} '${fileURLToPath(import.meta.url)}' --in-netns ${args}`], { stdio: "inherit" });
    process.exitCode = r.status ?? 1;
    return;
  }
  const datagrams = Number(values.datagrams);
  const ops = Number(values.ops);
  const deadline = performance.now() + Number(values.seconds) * 1000;
  const results = {
    node: process.version,
    loadavg: loadavg().map((l) => +l.toFixed(2)),
    counters: values["in-netns"] ? "own network namespace" : "host-wide (other UDP traffic on this host is counted too)",
    paths: [],
  };
  // Each path gets a share of the time left, so one slow path cannot starve the others.
  const share = (n) => performance.now() + (deadline - performance.now()) / n;
  results.paths.push(await datagramPath("io_uring recvMultishot", datagrams, share(3), uringReceiver));
  results.paths.push(await datagramPath("epoll sys.recvmmsg", datagrams, share(2), epollReceiver));
  results.paths.push(await promiseOps(ops, deadline));
  results.loadavgEnd = loadavg().map((l) => +l.toFixed(2));
  if (values.json) {
    console.log(JSON.stringify(results));
    return;
  }
  console.log(`node ${results.node}, load average ${results.loadavg.join(" ")} -> ${results.loadavgEnd.join(" ")}; counters: ${results.counters}`);
  for (const p of results.paths) {
    const growth = (p.rssEndMiB - p.rssWarmMiB).toFixed(1);
    if (p.kernel) {
      const k = p.kernel;
      console.log(`${p.path}: received ${p.received} of ${p.sent} sent in ${p.seconds} s (${p.pps}/s); kernel InDatagrams ${k.InDatagrams}, InErrors ${k.InErrors} (RcvbufErrors ${k.RcvbufErrors}), OutDatagrams ${k.OutDatagrams}; RSS ${p.rssWarmMiB} -> ${p.rssEndMiB} MiB (${growth})`);
    } else {
      console.log(`${p.path}: ${p.ops} ops in ${p.seconds} s (${p.opsPerSec}/s), ${p.bytesRead} B read; RSS ${p.rssWarmMiB} -> ${p.rssEndMiB} MiB (${growth})`);
    }
  }
}

if (isMainThread) await main();
else sender(workerData);
