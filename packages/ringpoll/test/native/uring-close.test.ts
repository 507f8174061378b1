// Closing and cancelling: close() never blocks the loop, requests it cancels reject with ECANCELED,
// and cancel() reports what the kernel found (issue 16 items 2-4).
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, expect, it } from "vitest";
import { IoUring } from "ringpoll";
import { Fds, openFdCount } from "./helpers.js";
import { Rings, eachConfig } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
const dir = mkdtempSync(join(tmpdir(), "ringpoll-close-"));
afterEach(async () => {
  await rings.closeAll();
  fds.closeAll();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

eachConfig("close", (options) => {
  it("close() returns before the kernel has answered; the Promise it returns resolves once every CQE is in", async () => {
    const ring = rings.open(options);
    const b = fds.udp();
    const pending = Promise.allSettled([ring.recv(b.fd, Buffer.alloc(8)), ring.timeout(60_000), ring.nop()]);
    ring.submit();
    const closing = ring.close();
    // Nothing was reaped yet: the cancellations arrive through the event loop, not a blocking wait.
    expect(ring.inflight).toBeGreaterThan(0);
    expect(ring.closed).toBe(true);
    expect(ring.close()).toBe(closing);
    await closing;
    expect(ring.inflight).toBe(0);
    const settled = await pending;
    expect(settled.map((s) => (s.status === "rejected" ? (s.reason as { code: string }).code : s.value))).toEqual(["ECANCELED", "ECANCELED", 0]);
  });

  it("a request with a linked timeout rejects with ECANCELED at close, not ETIMEDOUT", async () => {
    const ring = rings.open(options);
    const b = fds.udp();
    const p = expect(ring.recv(b.fd, Buffer.alloc(8), { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: "ECANCELED",
      message: expect.stringContaining("IoUring closed"),
    });
    ring.submit();
    await ring.close();
    await p;
  });

  it("a blocking FIFO read (io-wq) rejects with ECANCELED at close, not EINTR", async () => {
    const ring = rings.open(options);
    const path = join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
    execFileSync("mkfifo", [path]);
    const fd = fds.track(openSync(path, "r+"));
    const p = expect(ring.read(fd, Buffer.alloc(8))).rejects.toMatchObject({ code: "ECANCELED" });
    ring.submit();
    await new Promise((r) => setTimeout(r, 20)); // let it reach a worker
    await ring.close();
    await p;
  });

  it("cancel() takes a timeout()'s Promise, says 0 for a request already settled, and refuses { all: false }", async () => {
    const ring = rings.open(options);
    const t = ring.timeout(60_000);
    expect(await ring.cancel(t)).toBe(1);
    await expect(t).rejects.toMatchObject({ code: "ECANCELED" });
    const done = ring.nop();
    await done;
    const b = fds.udp();
    const other = ring.recv(b.fd, Buffer.alloc(8)); // may reuse the settled request's slot
    expect(await ring.cancel(done)).toBe(0);
    expect(ring.inflight).toBe(1);
    await expect(ring.cancel({ all: false } as unknown as { all: true })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    expect(ring.inflight).toBe(1);
    expect(await ring.cancel(other)).toBe(1);
    await expect(other).rejects.toMatchObject({ code: "ECANCELED" });
  });

  it("cancel() of a request with a linked timeout rejects it with ECANCELED, not ETIMEDOUT", async () => {
    const ring = rings.open(options);
    const b = fds.udp();
    const p = ring.recv(b.fd, Buffer.alloc(8), { timeoutMs: 10_000 });
    expect(await ring.cancel(p)).toBe(1);
    await expect(p).rejects.toMatchObject({ code: "ECANCELED" });
  });
});

it("a closing ring keeps the process alive until its requests are cancelled, then lets it exit", () => {
  const out = execFileSync(
    process.execPath,
    ["--input-type=module", "-e", `import { IoUring, sys } from "ringpoll";
      const r = new IoUring(); const fd = sys.udpSocket({ port: 0 });
      r.recv(fd, Buffer.alloc(8)).catch((e) => console.log(e.code));
      r.submit(); r.close().then(() => console.log("closed", r.inflight));`],
    { encoding: "utf8", timeout: 10_000 },
  );
  expect(out).toBe("ECANCELED\nclosed 0\n");
});

it("await using waits for the drain", async () => {
  const b = fds.udp();
  let p: Promise<void>;
  {
    await using ring = new IoUring();
    p = expect(ring.recv(b.fd, Buffer.alloc(8))).rejects.toMatchObject({ code: "ECANCELED" });
    ring.submit();
  }
  await p;
});

it("a worker terminated while its ring drains after close() crashes nothing and leaks no fd", async () => {
  const udp = fds.udp().fd;
  const before = openFdCount();
  for (let round = 0; round < 3; round++) {
    const w = new Worker(new URL("./fixtures/worker.mjs", import.meta.url), { workerData: { mode: "closing", udp } });
    // Listen for 'exit' first: a worker whose drain already finished may exit by itself, and Node
    // emits its last message and 'exit' in one turn, before code after `await once(w, "message")` runs.
    const exited = once(w, "exit");
    await once(w, "message");
    await w.terminate();
    await exited;
  }
  expect(openFdCount()).toBe(before);
});
