// Memory the kernel may write besides a request's own buffer — provided buffer rings and
// registered buffers — cannot be taken away by JS, stays alive while a request that may use it is
// in flight, and is released as soon as none is (not when the whole ring goes idle).
import { afterEach, describe, expect, it } from "vitest";
import { IORING_OP, IORING_RECV_MULTISHOT, SqeBatch, sys, type IoUring } from "ringpoll";
import { Fds, collect } from "./helpers.js";
import { Rings } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
afterEach(() => {
  rings.closeAll();
  fds.closeAll();
});

async function settled(ring: IoUring, inflight = 0): Promise<void> {
  for (let i = 0; i < 400 && ring.inflight > inflight; i++) await new Promise((r) => setTimeout(r, 5));
  expect(ring.inflight).toBe(inflight);
}

/** A multishot receive that stays in flight for the whole test (as a server's would). */
function longLived(ring: IoUring): void {
  const b = fds.udp();
  const br = ring.createBufferRing({ count: 2, size: 16 });
  const batch = new SqeBatch(1);
  batch.push(IORING_OP.RECV, b.fd, 99, { bufGroup: br.bgid, ioprio: IORING_RECV_MULTISHOT });
  ring.queue(batch);
  ring.submit();
}

describe("buffer ring memory", () => {
  it("cannot be detached: transferring it is refused, so the kernel never writes into freed memory", async () => {
    const ring = rings.open();
    const a = fds.udp();
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 4, size: 64 });
    const memory = br.buffer.buffer;
    expect(() => structuredClone(memory, { transfer: [memory as ArrayBuffer] })).toThrow();
    const { port1, port2 } = new MessageChannel();
    expect(() => port1.postMessage(memory, [memory as ArrayBuffer])).toThrow();
    port1.close();
    port2.close();
    expect(br.buffer.byteLength).toBe(4 * 64);
    sys.sendto(a.fd, Buffer.from("still here"), b.port);
    for await (const lease of ring.recvMultishot(b.fd, br, { lease: true })) {
      expect(lease.data.buffer).toBe(memory);
      expect(() => structuredClone(lease.data.buffer, { transfer: [lease.data.buffer as ArrayBuffer] })).toThrow();
      expect(lease.data.toString()).toBe("still here");
      break;
    }
  });

  it("stays alive after close() while a batch-API request may select from it, and goes when it completes", async () => {
    const ring = rings.open();
    const a = fds.udp();
    const b = fds.udp();
    let completions = 0;
    ring.onCompletions((c) => (completions += c.length));
    const weak = ((): WeakRef<object> => {
      const br = ring.createBufferRing({ count: 4, size: 64 });
      const batch = new SqeBatch(1);
      batch.push(IORING_OP.RECV, b.fd, 1, { bufGroup: br.bgid, len: 64 });
      ring.queue(batch);
      ring.submit();
      br.close(); // no multishot iterator uses it: allowed, but the batch request is in flight
      return new WeakRef(br.buffer.buffer);
    })();
    await collect();
    expect(ring.inflight).toBe(1);
    expect(weak.deref()).toBeDefined();
    sys.sendto(a.fd, Buffer.from("x"), b.port); // completes the receive (ENOBUFS: the group is gone)
    await settled(ring);
    expect(completions).toBe(1);
    await collect();
    expect(weak.deref()).toBeUndefined();
  });

  it("a closed BufferRing is released at once while its IoUring stays open and busy", async () => {
    const ring = rings.open();
    longLived(ring);
    // Built in a function of its own: a suspended async frame may keep its last locals.
    const weaks = ((): Array<WeakRef<object>> =>
      Array.from({ length: 20 }, () => {
        const br = ring.createBufferRing({ count: 16, size: 4096 });
        br.close();
        return new WeakRef(br.buffer.buffer);
      }))();
    await collect();
    expect(weaks.map((w, i) => (w.deref() === undefined ? -1 : i)).filter((i) => i >= 0)).toEqual([]);
    expect(ring.inflight).toBe(1);
  });

  it("group ids of closed rings are reused, so create/close cycles never run out", () => {
    const ring = rings.open();
    const first = ring.createBufferRing({ count: 2, size: 8 });
    const bgid = first.bgid;
    first.close();
    for (let i = 0; i < 70_000; i += 1000) {
      const br = ring.createBufferRing({ count: 2, size: 8 });
      expect(br.bgid).toBe(bgid);
      br.close();
    }
  });
});

describe("registered buffers", () => {
  it("unregisterBuffers() keeps a buffer while a batch-API request using it is in flight, then releases it", async () => {
    const ring = rings.open();
    longLived(ring); // in flight throughout: must not keep unregistered buffers alive
    const [r, w] = fds.pipe();
    const weak = ((): WeakRef<object> => {
      const buf = Buffer.alloc(64);
      ring.registerBuffers([buf]);
      const batch = new SqeBatch(1);
      batch.push(IORING_OP.READ_FIXED, r, 1, { bufIndex: 0, len: 64, off: -1 });
      ring.queue(batch);
      ring.submit();
      return new WeakRef(buf);
    })();
    ring.unregisterBuffers();
    await collect();
    expect(ring.inflight).toBe(2);
    expect(weak.deref()).toBeDefined();
    sys.write(w, Buffer.from("done"));
    await settled(ring, 1);
    await collect();
    expect(weak.deref()).toBeUndefined();
  });

  it("unregisterBuffers() releases them at once when no request uses them, whatever else is in flight", async () => {
    const ring = rings.open();
    longLived(ring);
    const weak = ((): WeakRef<object> => {
      const buf = Buffer.alloc(1 << 16);
      ring.registerBuffers([buf]);
      return new WeakRef(buf);
    })();
    ring.unregisterBuffers();
    await collect();
    expect(weak.deref()).toBeUndefined();
    expect(ring.inflight).toBe(1);
  });
});

describe("memory JS transfers away while the kernel may still use it", () => {
  const MiB = 1 << 20;
  const arrayBuffers = () => process.memoryUsage().arrayBuffers;

  it("a request's buffer: its bytes stay allocated until the CQE although the new owner was collected", async () => {
    const ring = rings.open();
    const [r, w] = fds.pipe();
    const ab = new ArrayBuffer(32 * MiB);
    const read = ring.read(r, new Uint8Array(ab));
    await collect();
    const held = arrayBuffers();
    // the ArrayBuffer moves to a clone nobody keeps: the read's view is left detached
    structuredClone(ab, { transfer: [ab] });
    expect(ab.byteLength).toBe(0);
    await collect();
    expect(arrayBuffers()).toBeGreaterThan(held - MiB);
    sys.write(w, Buffer.from("done"));
    expect(await read).toBe(4);
    await collect();
    expect(arrayBuffers()).toBeLessThan(held - 16 * MiB);
  });

  it("registered buffers: their bytes stay allocated until unregistered", async () => {
    const ring = rings.open();
    const ab = new ArrayBuffer(32 * MiB);
    ring.registerBuffers([new Uint8Array(ab)]);
    await collect();
    const held = arrayBuffers();
    structuredClone(ab, { transfer: [ab] });
    await collect();
    expect(arrayBuffers()).toBeGreaterThan(held - MiB);
    ring.unregisterBuffers();
    await collect();
    expect(arrayBuffers()).toBeLessThan(held - 16 * MiB);
  });
});
