import { afterEach, describe, expect, it } from "vitest";
import { sys, type Lease } from "ringpoll";
import { Fds, turns } from "./helpers.js";
import { Rings, eachConfig, lacks } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
afterEach(() => {
  rings.closeAll();
  fds.closeAll();
});

function send(from: number, port: number, count: number, prefix = "m"): string[] {
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    const msg = `${prefix}${i}`;
    sys.sendto(from, Buffer.from(msg), port);
    sent.push(msg);
  }
  return sent;
}

eachConfig("multishot", (options) => {
  it("recvMultishot yields every datagram as a copy, through ENOBUFS re-arms", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 4, size: 64 });
    const it = ring.recvMultishot(b.fd, br);
    const sent = send(a.fd, b.port, 30);
    const got: string[] = [];
    const kept: Buffer[] = [];
    for await (const data of it) {
      got.push(data.toString());
      kept.push(data);
      if (got.length === sent.length) break;
    }
    expect(got).toEqual(sent);
    // Copies stay intact after their ring buffers were reused.
    expect(kept.map((b) => b.toString())).toEqual(sent);
    expect(ring.stats.enobufs).toBeGreaterThan(0);
    expect(ring.stats.rearms).toBeGreaterThan(0);
  });

  it("recvmsgMultishot yields the payload and the peer address", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 16, size: 128 });
    const sent = send(a.fd, b.port, 5, "msg");
    const got: Array<{ data: string; address: string; port: number }> = [];
    for await (const m of ring.recvmsgMultishot(b.fd, br)) {
      got.push({ data: m.data.toString(), address: m.address, port: m.port });
      if (got.length === 5) break;
    }
    expect(got).toEqual(sent.map((data) => ({ data, address: "127.0.0.1", port: a.port })));
  });

  it("leases are views into the ring, returned on release() or at the next iteration", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 2, size: 64 });
    const sent = send(a.fd, b.port, 12);
    const got: string[] = [];
    let previous: Lease | null = null;
    for await (const lease of ring.recvMultishot(b.fd, br, { lease: true })) {
      expect(lease.data.buffer).toBe(br.buffer.buffer); // a view, not a copy
      got.push(lease.data.toString());
      if (got.length % 2 === 0) lease.release(); // explicit; the others go back at the next iteration
      previous = lease;
      if (got.length === sent.length) break;
    }
    expect(previous).not.toBeNull();
    expect(got).toEqual(sent);
  });

  it("breaking out of the loop cancels the request; the ring stays usable", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 8, size: 64 });
    send(a.fd, b.port, 1);
    for await (const _ of ring.recvMultishot(b.fd, br)) break;
    await new Promise((r) => setTimeout(r, 20));
    expect(ring.inflight).toBe(0);
    expect(br.users).toBe(0);
    // The next datagram is not consumed by a stale request.
    send(a.fd, b.port, 1, "after");
    const buf = Buffer.alloc(16);
    expect(buf.toString("utf8", 0, await ring.recv(b.fd, buf))).toBe("after0");
  });

  it("acceptMultishot yields a connection fd per client", async () => {
    const ring = rings.open(options);
    const server = fds.track(sys.tcpSocket({ port: 0 }));
    sys.listen(server);
    const port = sys.localPort(server);
    const clients = [0, 1, 2].map(() => {
      const c = fds.track(sys.tcpSocket());
      sys.connect(c, port);
      return c;
    });
    const accepted: number[] = [];
    for await (const fd of ring.acceptMultishot(server)) {
      accepted.push(fds.track(fd));
      if (accepted.length === clients.length) break;
    }
    expect(accepted.every((fd) => fd > 2)).toBe(true);
    expect(new Set(accepted).size).toBe(3);
  });

  it("an AbortSignal ends the iteration with an AbortError", async () => {
    const ring = rings.open(options);
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 4, size: 64 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 10);
    await expect(
      (async () => {
        for await (const _ of ring.recvMultishot(b.fd, br, { signal: ac.signal })) void _;
      })(),
    ).rejects.toMatchObject({ name: "AbortError" });
  });

  it("closing the ring ends a multishot loop", async () => {
    const ring = rings.open(options);
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 4, size: 64 });
    setTimeout(() => ring.close(), 10);
    const got: Buffer[] = [];
    for await (const data of ring.recvMultishot(b.fd, br)) got.push(data);
    expect(got).toEqual([]);
    expect(br.closed).toBe(true);
  });
}, lacks.multishot);

/** Kernel 6.8+ reports a buffer ring's head (IORING_REGISTER_PBUF_STATUS); older ones do not. */
function pbufStatus(): boolean {
  const ring = rings.open();
  const br = ring.createBufferRing({ count: 2, size: 8 });
  try {
    return br.available() === 2;
  } catch (err) {
    if ((err as { code?: string }).code === "EINVAL") return false;
    throw err;
  }
}
const hasPbufStatus = pbufStatus();
rings.closeAll();

eachConfig("multishot buffers after the loop ends", (options) => {
  it.skipIf(!hasPbufStatus)("data that arrives after break goes back to the ring (kernel 6.8+ for the count)", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 16, size: 64 });
    for (let round = 0; round < 8; round++) {
      send(a.fd, b.port, 4, `r${round}-`);
      for await (const _ of ring.recvMultishot(b.fd, br)) {
        // Datagrams sent now complete in the kernel after the loop has ended, before the cancel.
        send(a.fd, b.port, 4, `late${round}-`);
        break;
      }
      for (let i = 0; i < 400 && ring.inflight > 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(ring.inflight).toBe(0);
      expect(br.available()).toBe(br.count);
      // Whatever the cancelled request left in the socket.
      while (sys.read(b.fd, Buffer.alloc(64)) !== null);
    }
  });
}, lacks.multishot);

describe.skipIf(lacks.multishot !== undefined)(`BufferRing${lacks.multishot ? ` (skipped: ${lacks.multishot})` : ""}`, () => {
  it("recycle() refuses a bid outside the ring at once, not from a later microtask", async () => {
    const ring = rings.open();
    const br = ring.createBufferRing({ count: 2, size: 8 });
    for (const bid of [2, 7, -1, 1.5, 65536]) {
      expect(() => br.recycle(bid)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringMatching(/for bid/) }));
    }
    expect(() => br.recycle("1" as unknown as number)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    await turns(2); // a deferred error would surface here as an uncaught exception
    br.close();
  });

  it("refuses to unregister while a multishot request uses it, then unregisters", async () => {
    const ring = rings.open();
    const b = fds.udp();
    const br = ring.createBufferRing({ count: 4, size: 64 });
    const it = ring.recvMultishot(b.fd, br);
    expect(() => br.close()).toThrow(/in use/);
    await it.return();
    await new Promise((r) => setTimeout(r, 10));
    br.close();
    expect(br.closed).toBe(true);
    expect(() => ring.recvMultishot(b.fd, br)).toThrow(expect.objectContaining({ code: "ERR_RINGPOLL_CLOSED" }));
  });

  it("each ring gets its own group id", () => {
    const ring = rings.open();
    const x = ring.createBufferRing({ count: 2, size: 8 });
    const y = ring.createBufferRing({ count: 2, size: 8 });
    expect(x.bgid).not.toBe(y.bgid);
    const other = rings.open();
    expect(() => other.recvMultishot(0, x)).toThrow(/a BufferRing created by this IoUring/);
  });
});
