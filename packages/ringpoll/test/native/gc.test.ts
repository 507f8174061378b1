// Objects nobody references are collected with their kernel objects: a ring or epoll dropped
// without close() must not leak its fds (the native side holds its JS handlers weakly when idle).
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Epoll, IoUring } from "ringpoll";
import { collect } from "./helpers.js";

const gc = (globalThis as { gc?: () => void }).gc;
const openFds = () => readdirSync("/proc/self/fd").length;

describe("garbage collection", () => {
  it("IoUring and Epoll dropped without close() release their fds", async () => {
    expect(gc, "tests run with --expose-gc").toBeTypeOf("function");
    await collect();
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const ring = new IoUring({ entries: 8 });
      await ring.nop();
      ring.createBufferRing({ count: 4, size: 16 });
      ring.registerBuffers([Buffer.alloc(16)]);
      const ep = new Epoll();
      ep.start(() => {});
      ep.stop();
    }
    expect(openFds()).toBeGreaterThanOrEqual(before + 40);
    await collect();
    expect(openFds()).toBeLessThanOrEqual(before + 2);
  });

  it("a dropped IoUring with a request in flight stays alive until the request completes", async () => {
    const pending = new IoUring().timeout(30).then(() => "fired");
    gc!();
    await new Promise((r) => setTimeout(r, 5));
    gc!();
    expect(await pending).toBe("fired");
  });
});
