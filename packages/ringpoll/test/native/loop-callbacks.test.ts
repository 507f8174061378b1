// Handlers called from the event loop (Epoll and IoUring wake-ups) behave like Node's own loop
// callbacks: the async context they belong to, a throw reported as 'uncaughtException'.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const fixture = new URL("./fixtures/loop-callbacks.mjs", import.meta.url);

describe("handlers called from the event loop", () => {
  it("see the async context they belong to (Epoll: start(); IoUring: its construction) and report a throw as 'uncaughtException' without ending the watch", () => {
    const out = JSON.parse(execFileSync(process.execPath, [fixture.pathname], { timeout: 20_000 }).toString());
    expect(out).toEqual({
      uncaught: ["epoll handler threw", "uring handler threw"],
      epollStore: "epoll store",
      epollSeen: ["first", "second"],
      uringStore: "uring store",
      uringSeen: ["one", "two"],
    });
  });
});
