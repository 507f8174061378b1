// Memory handed to the kernel: a detached (transferred) buffer is refused before any syscall, and
// zero bytes do what the kernel does with zero bytes (args.ts rangeArg says why each is allowed).
import { MessageChannel } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { sys } from "ringpoll";
import { Fds } from "./helpers.js";
import { Rings } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
afterEach(() => {
  rings.closeAll();
  fds.closeAll();
});

const abTransfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer) => ArrayBuffer }).transfer;

// Every way JS has to detach an ArrayBuffer; the views of it keep existing with length 0.
const detachers: Array<[string, ((ab: ArrayBuffer) => void) | undefined]> = [
  ["structuredClone transfer", (ab) => void structuredClone(ab, { transfer: [ab] })],
  [
    "MessagePort.postMessage transfer",
    (ab) => {
      const { port1, port2 } = new MessageChannel();
      port1.postMessage(ab, [ab]);
      port1.close();
      port2.close();
    },
  ],
  ["ArrayBuffer.prototype.transfer", abTransfer && ((ab) => void abTransfer.call(ab))],
];

const detachedArg = expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringMatching(/detached/) });

for (const [how, detacher] of detachers) {
  const detach = (ab: ArrayBuffer): void => detacher!(ab);
  const detached = (n = 8): Buffer => {
    const b = Buffer.from(new ArrayBuffer(n));
    detach(b.buffer as ArrayBuffer);
    expect(b.byteLength).toBe(0);
    return b;
  };

  const lacking = detacher === undefined ? ` (skipped: Node ${process.version} lacks ArrayBuffer.prototype.transfer, Node 22+)` : "";
  (lacking ? describe.skip : describe)(`detached buffers (${how})${lacking}`, () => {
    it("IoUring read/write/recv/send/recvmsg/sendmsg refuse it before any SQE is queued", async () => {
      const ring = rings.open();
      const [r, w] = fds.pipe();
      sys.write(w, Buffer.from("kept"));
      const a = fds.udp();
      const b = fds.udp();
      const calls: Array<[string, () => unknown]> = [
        ["read", () => ring.read(r, detached())],
        ["write", () => ring.write(w, detached())],
        ["recv", () => ring.recv(b.fd, detached())],
        ["send", () => ring.send(a.fd, detached())],
        ["recvmsg", () => ring.recvmsg(b.fd, detached())],
        ["sendmsg", () => ring.sendmsg(a.fd, detached(), b.port)],
        ["read with options", () => ring.read(r, detached(), { offset: 0, length: 0 })],
      ];
      for (const [name, call] of calls) expect(call, name).toThrow(detachedArg);
      expect(ring.inflight).toBe(0);
      // Nothing was read: the pipe still holds its bytes.
      const buf = Buffer.alloc(8);
      expect(buf.toString("utf8", 0, await ring.read(r, buf))).toBe("kept");
    });

    it("readFixed/writeFixed refuse a registered buffer detached after registration", () => {
      const ring = rings.open();
      const [r] = fds.pipe();
      const buf = Buffer.from(new ArrayBuffer(64));
      ring.registerBuffers([buf]);
      detach(buf.buffer as ArrayBuffer);
      expect(() => ring.readFixed(r, 0)).toThrow(detachedArg);
      expect(() => ring.writeFixed(r, 0)).toThrow(/registered buffer 0/);
      expect(ring.inflight).toBe(0);
    });

    it("registerBuffers refuses it", () => {
      const ring = rings.open();
      expect(() => ring.registerBuffers([Buffer.alloc(8), detached()])).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringMatching(/buffers\[1\].*detached/) }),
      );
    });

    it("sys.read/write/sendto refuse it, and the data stays queued", () => {
      const [r, w] = fds.pipe();
      sys.write(w, Buffer.from("kept"));
      const a = fds.udp();
      const b = fds.udp();
      expect(() => sys.read(r, detached())).toThrow(detachedArg);
      expect(() => sys.write(w, detached())).toThrow(detachedArg);
      expect(() => sys.sendto(a.fd, detached(), b.port)).toThrow(detachedArg);
      const buf = Buffer.alloc(8);
      expect(sys.read(r, buf)).toBe(4);
      expect(sys.read(b.fd, buf)).toBeNull(); // nothing was sent
    });

    it("sys.recvmmsg/sendmmsg refuse a batch whose caller-given buffer or lengths were detached (native code writes through them)", () => {
      const a = fds.udp();
      const b = fds.udp();
      sys.sendto(a.fd, Buffer.from("waiting"), b.port);
      // what the batch allocates itself is shared memory, which no transfer can take away
      const own = new sys.DatagramBatch({ count: 4, slotSize: 64, addresses: true });
      for (const part of ["buffer", "lengths", "flags", "addresses"] as const) expect(own[part]!.buffer, part).toBeInstanceOf(SharedArrayBuffer);
      const parts = ["buffer", "lengths"] as const;
      for (const part of parts) {
        const batch = new sys.DatagramBatch({ count: 4, slotSize: 64, addresses: true, buffer: new Uint8Array(256), lengths: new Uint32Array(4) });
        batch.set(0, Buffer.from("x"));
        batch.setAddress(0, b.port, "127.0.0.1");
        detach(batch[part].buffer as ArrayBuffer);
        const refused = expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringContaining(`batch.${part}`) });
        expect(() => sys.recvmmsg(b.fd, batch), part).toThrow(refused);
        expect(() => sys.sendmmsg(a.fd, batch, 1), part).toThrow(refused);
      }
      // The datagram was not consumed, and no refused sendmmsg sent anything.
      const fresh = new sys.DatagramBatch({ count: 8, slotSize: 64 });
      expect(sys.recvmmsg(b.fd, fresh)).toBe(1);
      expect(Buffer.from(fresh.datagram(0)).toString()).toBe("waiting");
    });

    it("DatagramBatch refuses detached memory as options.buffer and as set() data", () => {
      expect(() => new sys.DatagramBatch({ count: 2, slotSize: 4, buffer: detached() })).toThrow(detachedArg);
      const batch = new sys.DatagramBatch({ count: 2, slotSize: 4 });
      expect(() => batch.set(0, detached())).toThrow(detachedArg);
      expect(batch.length).toBe(0);
    });
  });
}

describe("zero-length buffers", () => {
  it("IoUring read of 0 bytes resolves 0 and leaves the data; a bad fd still reports its error", async () => {
    const ring = rings.open();
    const [r, w] = fds.pipe();
    sys.write(w, Buffer.from("abc"));
    expect(await ring.read(r, Buffer.alloc(0))).toBe(0);
    expect(await ring.read(r, Buffer.alloc(8), { length: 0 })).toBe(0);
    expect(sys.read(r, Buffer.alloc(8))).toBe(3);
    const closed = sys.pipe();
    sys.close(closed[0]);
    sys.close(closed[1]);
    await expect(ring.read(closed[0], Buffer.alloc(0))).rejects.toMatchObject({ code: "EBADF" });
  });

  it("send/sendmsg of 0 bytes is an empty datagram; recvmsg into 0 bytes takes one datagram and says it was cut", async () => {
    const ring = rings.open();
    const a = fds.udp();
    const b = fds.udp();
    expect(await ring.sendmsg(a.fd, Buffer.alloc(0), b.port)).toBe(0);
    expect(await ring.recvmsg(b.fd, Buffer.alloc(16))).toMatchObject({ bytes: 0, truncated: false, port: a.port });
    sys.connect(a.fd, b.port);
    expect(await ring.send(a.fd, new Uint8Array(0))).toBe(0);
    expect(await ring.recvmsg(b.fd, Buffer.alloc(16))).toMatchObject({ bytes: 0, truncated: false });
    sys.sendto(a.fd, Buffer.from("12345"), b.port);
    sys.sendto(a.fd, Buffer.from("next"), b.port);
    expect(await ring.recvmsg(b.fd, Buffer.alloc(0))).toMatchObject({ bytes: 0, truncated: true });
    // recv into 0 bytes with MSG_TRUNC: the length of the datagram it took.
    expect(await ring.recv(b.fd, Buffer.alloc(0), { flags: sys.MSG_TRUNC })).toBe(4);
    expect(sys.read(b.fd, Buffer.alloc(8))).toBeNull();
  });

  it("sys.read/write of 0 bytes return 0", () => {
    const [r, w] = fds.pipe();
    expect(sys.write(w, Buffer.alloc(0))).toBe(0);
    sys.write(w, Buffer.from("x"));
    expect(sys.read(r, Buffer.alloc(0))).toBe(0);
    expect(sys.read(r, Buffer.alloc(4))).toBe(1);
  });

  it("memory that cannot mean anything empty is refused where it is made", () => {
    const ring = rings.open();
    expect(() => ring.registerBuffers([Buffer.alloc(0)])).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => ring.createBufferRing({ count: 4, size: 0 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => new sys.DatagramBatch({ count: 4, slotSize: 0 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
  });
});
