// worker_threads: per-environment addon state; terminating a busy worker crashes nothing and leaks no fd.
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { Fds, openFdCount } from "./helpers.js";

const fixture = new URL("./fixtures/worker.mjs", import.meta.url);
const fds = new Fds();
afterEach(() => fds.closeAll());

describe("worker_threads", () => {
  it("Epoll and IoUring work in several workers at once", async () => {
    const workers = [1, 2, 3, 4].map((token) => new Worker(fixture, { workerData: { mode: "roundtrip", token } }));
    const results = await Promise.all(workers.map(async (w) => (await once(w, "message"))[0] as { data: number[]; nop: number }));
    expect(results.map((r) => r.data)).toEqual([[1], [2], [3], [4]]);
    expect(results.every((r) => r.nop === 0)).toBe(true);
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it("terminating a worker with a started Epoll and a ring with requests in flight leaks no fd", async () => {
    const udp = fds.udp().fd;
    const udp2 = fds.udp().fd;
    const efd = fds.eventfd();
    const before = openFdCount();
    for (let round = 0; round < 3; round++) {
      const w = new Worker(fixture, { workerData: { mode: "busy", udp, udp2, efd } });
      const exited = once(w, "exit");
      await once(w, "message");
      expect(openFdCount()).toBeGreaterThan(before); // epoll fd, ring fd, its eventfd are open
      await w.terminate();
      await exited;
    }
    expect(openFdCount()).toBe(before);
  });

  it("terminating workers while they are inside throwing native calls does not abort the process", () => {
    // In its own process: before the fix this aborted ("terminate called after throwing Napi::Error").
    const script = new URL("./fixtures/terminate-throwing.mjs", import.meta.url);
    const r = spawnSync(process.execPath, [script.pathname, "20"], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    expect(r.stdout.trim()).toBe("survived 20");
  });
});
