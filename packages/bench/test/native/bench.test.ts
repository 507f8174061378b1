// The bench engine and the `ringpoll bench` CLI: counts agree with the kernel's, bad input exits 2
// with one line, nothing is left behind, and result files are valid. No timing assertions.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sys } from "ringpoll";

const dist = (p: string): string => fileURLToPath(new URL(`../../dist/${p}`, import.meta.url));
const { engine } = (await import(dist("engine.js"))) as typeof import("../../src/engine.js");
const { loadResultFile } = (await import(dist("compare/input.js"))) as typeof import("../../src/compare/input.js");

const root = process.getuid?.() === 0;
const tmp = mkdtempSync(join(tmpdir(), "ringpoll-bench-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, [dist("cli.js"), ...args], { encoding: "utf8", timeout: 60_000, cwd: tmp });
}

function ourNamespaces(pid: number): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.startsWith(`rp${pid}-`));
}

const quick = {
  senderNetns: "", senderHost: "127.0.0.1", receiverNetns: "", receiverHost: "127.0.0.1", flows: 2, port: 0, size: 64,
  senders: 1, rate: 0, rcvbuf: 1 << 20, batch: 64, maxEvents: 64, injectNs: 0, senderCpus: [], receiverCpu: -1,
  warmup: 0.2, seconds: 0.4,
};

const { createNetnsPair, netnsAvailable } = (await import(dist("netns.js"))) as typeof import("../../src/netns.js");
const noNetns = netnsAvailable();

describe("native engine", () => {
  // Host-wide counters also count every other UDP user (other test files run in parallel), so the
  // comparison runs in a private pair of network namespaces, whose counters see only bench traffic.
  it.skipIf(noNetns !== null).each(["recvmmsg", "epoll", "epoll-1", "uring", "uring-recvmsg"])(`%s: received count matches snmp InDatagrams of the window${noNetns ? ` (skipped: ${noNetns})` : ""}`, async (receiver) => {
    const pair = createNetnsPair();
    let w;
    try {
      w = await engine.pps({
        ...quick,
        receiver,
        senderNetns: pair.sender.netns,
        senderHost: pair.sender.host,
        receiverNetns: pair.receiver.netns,
        receiverHost: pair.receiver.host,
      });
    } finally {
      pair.remove();
    }
    expect(w.count).toBeGreaterThan(0);
    expect(w.kernel).not.toBeNull();
    expect(Math.abs(w.count - w.kernel!.InDatagrams) / w.kernel!.InDatagrams).toBeLessThan(0.01);
    expect(w.cpuNs).toBeGreaterThan(0);
    expect(w.samples.length).toBeGreaterThan(0);
  });

  it("udp-rr: every transaction is a request the server saw", async () => {
    for (const server of ["epoll", "uring"] as const) {
      const w = await engine.udpRr({
        server, clientNetns: "", clientHost: "127.0.0.1", serverNetns: "", serverHost: "127.0.0.1", flows: 50, size: 64,
        clients: 1, maxEvents: 50, injectNs: 0, clientCpus: [], serverCpu: -1, warmup: 0.2, seconds: 0.3,
      });
      // Seen once in a loaded CI run: 0 transactions. The message keeps what the run saw.
      expect(w.count, JSON.stringify({ server, secondary: w.secondary, seconds: w.seconds, samples: w.samples, rtt: w.rttUs })).toBeGreaterThan(0);
      // Each flow has one request in flight, so the counts differ by the flow count plus what
      // completes between the two threads' reads of their counters (1 % is generous).
      expect(Math.abs(w.secondary - w.count)).toBeLessThanOrEqual(50 + 0.01 * w.count);
      // One round trip recorded per transaction of the window (the window's edges split a few).
      const rtt = w.rttUs!;
      expect(Math.abs(rtt.count - w.count)).toBeLessThanOrEqual(50 + 0.01 * w.count);
      expect(rtt.p50).toBeGreaterThan(0);
      expect(rtt.p50).toBeLessThanOrEqual(rtt.p99);
      expect(rtt.p99).toBeLessThanOrEqual(rtt.max);
    }
  });

  it("udp-rr JS servers (ringpoll's ring and epoll paths): each transaction was answered by the JS server, round trips recorded", () => {
    const out = join(tmp, "rr-js.json");
    const r = cli(["bench", "udp-rr", "--servers", "js-epoll,js-uring,js-uring-coalesce", "--flows", "8", "--duration", "0.5", "--warmup", "0.1", "--runs", "1", "--out", out, "--no-progress"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/coalesce added p50: -?\d+ µs/);
    const { data } = loadResultFile(out);
    expect(data.results.map((x) => x.receiver)).toEqual(["js-epoll", "js-uring", "js-uring-coalesce"]);
    for (const res of data.results) {
      const run = res.runs[0]!;
      const e = run.extra as Record<string, number>;
      expect(e.transactions, res.receiver).toBeGreaterThan(0);
      expect(Math.abs(run.packets - e.transactions)).toBeLessThanOrEqual(8 + 0.01 * e.transactions);
      expect(e.jsCalls).toBeGreaterThan(0);
      expect(e.rttP50Us).toBeGreaterThan(0);
      expect(e.rttP50Us).toBeLessThanOrEqual(e.rttP99Us!);
    }
  });

  it("rejects with the errno of a port already in use and leaves no fds open", async () => {
    const held = sys.udpSocket({ port: 0 });
    const port = sys.localPort(held);
    const before = readdirCount();
    await expect(engine.pps({ ...quick, receiver: "recvmmsg", flows: 1, port })).rejects.toMatchObject({ code: "EADDRINUSE", syscall: "bind" });
    expect(readdirCount()).toBe(before);
    sys.close(held);
  });

  it("iops on a regular file: reads complete in full (a short one fails the run) and the file's size is reported", async () => {
    const file = join(tmp, "iops.bin");
    writeFileSync(file, Buffer.alloc(8 << 20, 7));
    const w = await engine.iops({ path: file, blockSize: 4096, depth: 32, batchSubmit: 8, batchComplete: 8, fixedBuffers: false, fixedFiles: false, polled: false, cpu: -1, warmup: 0.1, seconds: 0.3 });
    expect(w.count).toBeGreaterThan(0);
    expect(w.bytes).toBe(8 << 20);
  });

  it("a receiver that counts nothing fails the run with ETIMEDOUT instead of measuring an empty window", async () => {
    // The socket is real and receives (the kernel queues the datagrams) but no loop reads it,
    // as when a path is down or a receiver never got scheduled.
    const deaf = sys.udpSocket({ port: 0, host: "127.0.0.1" });
    try {
      const started = Date.now();
      const run = engine.pps({ ...quick, receiver: "external", flows: 1, externalFds: [deaf], externalCounter: new Uint32Array(1), firstTimeout: 0.3 });
      await expect(run).rejects.toMatchObject({ code: "ETIMEDOUT", message: expect.stringMatching(/nothing was counted within 0\.3 s of the start \(secondary count [1-9]\d*\)/) });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      sys.close(deaf);
    }
  });
});

function readdirCount(): number {
  return readdirSync("/proc/self/fd").length;
}

describe("ringpoll bench CLI", () => {
  it.each([
    [["bench", "pps", "--receivers", "nope"], "Expected one of recvmmsg"],
    [["bench", "pps", "--duration", "0"], "Expected a number above 0"],
    [["bench", "udp-rr", "--flows", "-3"], "--flows"],
    [["bench", "iops"], "Expected exactly one of --file or --device"],
    [["bench", "iops", "--file", "/nonexistent/file"], "ENOENT"],
  ])("bad input %j exits 2 with one line", (args, message) => {
    const r = cli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("a port in use exits 2 naming EADDRINUSE", () => {
    const held = sys.udpSocket({ port: 0, host: "127.0.0.1" });
    try {
      const r = cli(["bench", "pps", "--receivers", "recvmmsg", "--port", String(sys.localPort(held)), "--flows", "1", "--duration", "0.2", "--runs", "1", "--no-progress"]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("EADDRINUSE");
    } finally {
      sys.close(held);
    }
  });

  it("writes a result file that validates against ringpoll.bench.v2, with its session, env and kernel counters", () => {
    const out = join(tmp, "pps.json");
    const r = cli(["bench", "pps", "--receivers", "recvmmsg,js-epoll,dgram", "--flows", "2", "--duration", "0.3", "--warmup", "0.1", "--runs", "2", "--out", out, "--no-progress"]);
    expect(r.status, r.stderr).toBe(0);
    const { data } = loadResultFile(out);
    expect(data.results.map((x) => x.receiver)).toEqual(["recvmmsg", "js-epoll", "dgram"]);
    // Interleaved: every receiver runs once per round, in a fixed slot, so runs of a round can be paired.
    expect(data.schema).toBe("ringpoll.bench.v2");
    expect(data.session).toMatchObject({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), interleaved: true });
    expect(data.results.map((res) => res.runs.map((x) => [x.round, x.slot]))).toEqual([
      [[0, 0], [1, 0]],
      [[0, 1], [1, 1]],
      [[0, 2], [1, 2]],
    ]);
    const raw = JSON.parse(readFileSync(out, "utf8"));
    expect(raw.env.kernel.release).toBeTypeOf("string");
    expect(raw.env.vulnerabilities).toBeTypeOf("object");
    expect(raw.results[0].runs[0].kernel).toHaveProperty("InDatagrams");
    expect(r.stdout).toContain("× dgram");
  });

  it("js-uring (recvBatches) and js-uring-raw (SqeBatch/CqeBatch) receive and record their per-wake counters", () => {
    const out = join(tmp, "js-uring.json");
    const r = cli(["bench", "pps", "--receivers", "js-uring,js-uring-raw", "--rate", "20000", "--flows", "2", "--duration", "0.3", "--warmup", "0.1", "--runs", "1", "--out", out, "--no-progress"]);
    expect(r.status, r.stderr).toBe(0);
    const { data } = loadResultFile(out);
    expect(data.results.map((x) => x.receiver)).toEqual(["js-uring", "js-uring-raw"]);
    for (const res of data.results) {
      const run = res.runs[0]!;
      // A sender starved by the machine's load may send nothing; what was received was counted.
      if (run.packets === 0) continue;
      expect(run.extra.jsCalls).toBeGreaterThan(0);
      expect(run.extra.datagramsPerWake).toBeGreaterThanOrEqual(1);
      expect(run.extra.entersPerWake).toBeGreaterThan(0);
    }
  });

  it.skipIf(!root)("--netns runs between two namespaces and removes them afterwards", () => {
    const r = cli(["bench", "pps", "--netns", "--receivers", "epoll", "--flows", "2", "--duration", "0.3", "--warmup", "0.1", "--runs", "1", "--out", join(tmp, "ns.json"), "--no-progress"]);
    expect(r.status, r.stderr).toBe(0);
    // Only this run's namespaces: other test files may have their own pair up at the same time.
    expect(ourNamespaces(r.pid)).toEqual([]);
  });

  it.skipIf(!root)("SIGINT during a --netns run removes the namespaces", async () => {
    const child = spawn(process.execPath, [dist("cli.js"), "bench", "pps", "--netns", "--receivers", "recvmmsg", "--duration", "30", "--runs", "1", "--no-progress"], { cwd: tmp, stdio: "ignore" });
    for (let i = 0; i < 100 && ourNamespaces(child.pid!).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(ourNamespaces(child.pid!)).toHaveLength(2);
    child.kill("SIGINT");
    // Cancelled, not waited out: the run stops within its next 50 ms poll (bounded here by the test timeout).
    await new Promise((r) => child.on("close", r));
    expect(ourNamespaces(child.pid!)).toEqual([]);
  });

  it.skipIf(root)("--netns without root exits 2 (skipped as root: needs an unprivileged user)", () => {
    const r = cli(["bench", "pps", "--netns", "--duration", "0.2", "--runs", "1"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("needs root");
  });
});
