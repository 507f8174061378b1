// How late does the event loop learn of a completion, per ring flag? Another process sends N
// datagrams, 10 ms apart, each carrying its send time (process.hrtime is CLOCK_MONOTONIC, the same
// clock in both processes); a multishot recv on each kind of ring reports the time from send to JS.
// On this project's machine (Linux 6.18.44, KVM guest) deferTaskrun rings were 9–16 ms late (p50)
// while the others took ~0.3 ms: check your host before choosing deferTaskrun for a server.
import { spawn } from "node:child_process";
import { IoUring, sys } from "ringpoll";

const N = Number(process.argv[2] ?? 30);
const modes = {
  deferTaskrun: { singleIssuer: true, deferTaskrun: true, fallback: true },
  coopTaskrun: { singleIssuer: true, coopTaskrun: true, fallback: true },
  plain: { singleIssuer: true, fallback: true },
};

// A child process, so the datagram's arrival is not this thread's own doing.
const SENDER = `
const d = require("node:dgram").createSocket("udp4");
const [port, n] = process.argv.slice(1).map(Number);
let i = 0;
const t = setInterval(() => {
  const last = ++i === n;
  if (last) clearInterval(t);
  d.send(String(process.hrtime.bigint()), port, "127.0.0.1", () => last && d.close());
}, 10);`;

async function measure(options) {
  const ring = new IoUring(options);
  const receiver = sys.udpSocket({ port: 0 });
  const buffers = ring.createBufferRing({ count: 16, size: 64 });
  const child = spawn(process.execPath, ["-e", SENDER, "--", String(sys.localPort(receiver)), String(N)], { stdio: "inherit" });
  const us = [];
  // Bounded: a datagram lost on the way would otherwise keep the loop waiting.
  const signal = AbortSignal.timeout(N * 10 + 5000);
  try {
    for await (const lease of ring.recvMultishot(receiver, buffers, { lease: true, signal })) {
      us.push(Number(process.hrtime.bigint() - BigInt(lease.data.toString())) / 1000);
      if (us.length === N) break;
    }
  } catch (err) {
    if (err.name !== "AbortError") throw err;
  } finally {
    child.kill();
    ring.close();
    sys.close(receiver);
  }
  if (us.length === 0) return "no datagram arrived";
  us.sort((a, b) => a - b);
  const at = (q) => us[Math.min(us.length - 1, Math.ceil(q * us.length) - 1)].toFixed(0);
  return `${us.length} datagrams, p50 ${at(0.5)} µs, p90 ${at(0.9)} µs`;
}

for (const [name, options] of Object.entries(modes)) console.log(`${name}: ${await measure(options)}`);
