// A datagram longer than the memory given for it is cut by the kernel. Every receive path that can
// say so must: a result that looks whole when it is not is a silent data loss.
import { afterEach, expect, it } from "vitest";
import { sys } from "ringpoll";
import { Fds } from "./helpers.js";
import { Rings, eachConfig, lacks } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
afterEach(() => {
  rings.closeAll();
  fds.closeAll();
});

const datagram = (n: number, fill = 0x61) => Buffer.alloc(n, fill);

eachConfig("truncation, Promise receives", (options) => {
  it("recvmsg into a 1-byte buffer reports an 11-byte datagram as truncated", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const buf = Buffer.alloc(1);
    const got = ring.recvmsg(b.fd, buf);
    sys.sendto(a.fd, Buffer.from("hello world"), b.port);
    expect(await got).toEqual({ bytes: 1, address: "127.0.0.1", port: a.port, truncated: true });
    expect(buf.toString()).toBe("h");
  });

  it("recvmsg of a datagram that fits exactly is not truncated; the next one is read whole", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    sys.sendto(a.fd, datagram(11), b.port);
    sys.sendto(a.fd, datagram(12, 0x62), b.port);
    const buf = Buffer.alloc(11);
    expect(await ring.recvmsg(b.fd, buf)).toMatchObject({ bytes: 11, truncated: false });
    // The cut datagram's tail is gone: the next receive starts at the next datagram.
    expect(await ring.recvmsg(b.fd, buf)).toMatchObject({ bytes: 11, truncated: true });
    sys.sendto(a.fd, datagram(3, 0x63), b.port);
    expect(await ring.recvmsg(b.fd, buf)).toMatchObject({ bytes: 3, truncated: false });
    expect(buf.toString("latin1", 0, 3)).toBe("ccc");
  });

  it("recvmsg with options.length counts the range, not the whole buffer", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const buf = Buffer.alloc(64);
    const got = ring.recvmsg(b.fd, buf, { offset: 8, length: 4 });
    sys.sendto(a.fd, datagram(5), b.port);
    expect(await got).toMatchObject({ bytes: 4, truncated: true });
  });

  it("recv cannot tell (no msg_flags in its CQE); with flags: MSG_TRUNC it resolves to the full length", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const buf = Buffer.alloc(4);
    sys.sendto(a.fd, datagram(11), b.port);
    sys.sendto(a.fd, datagram(11), b.port);
    expect(await ring.recv(b.fd, buf)).toBe(4);
    expect(await ring.recv(b.fd, buf, { flags: sys.MSG_TRUNC })).toBe(11);
    expect(buf.toString()).toBe("aaaa");
  });
});

eachConfig(
  "truncation, multishot receives",
  (options) => {
    it("recvmsgMultishot flags each datagram longer than the room in a ring buffer", async () => {
      const ring = rings.open(options);
      const a = fds.udp();
      const b = fds.udp();
      // 64-byte buffers: 16 bytes of io_uring_recvmsg_out, 16 of address, 32 for the payload.
      const br = ring.createBufferRing({ count: 8, size: 64 });
      for (const n of [32, 33, 100, 0]) sys.sendto(a.fd, datagram(n), b.port);
      const got: Array<[number, boolean]> = [];
      for await (const m of ring.recvmsgMultishot(b.fd, br)) {
        got.push([m.data.length, m.truncated]);
        expect(m.port).toBe(a.port);
        if (got.length === 4) break;
      }
      expect(got).toEqual([
        [32, false],
        [32, true],
        [32, true],
        [0, false],
      ]);
    });

    it("recvmsgMultishot leases carry the flag too", async () => {
      const ring = rings.open(options);
      const a = fds.udp();
      const b = fds.udp();
      const br = ring.createBufferRing({ count: 4, size: 40 });
      sys.sendto(a.fd, datagram(9), b.port);
      for await (const m of ring.recvmsgMultishot(b.fd, br, { lease: true })) {
        expect([m.data.length, m.truncated]).toEqual([8, true]);
        break;
      }
    });

    it("recvMultishot cuts a datagram to the ring buffer's size without a sign (documented: use recvmsgMultishot)", async () => {
      const ring = rings.open(options);
      const a = fds.udp();
      const b = fds.udp();
      const br = ring.createBufferRing({ count: 4, size: 8 });
      sys.sendto(a.fd, datagram(20), b.port);
      for await (const data of ring.recvMultishot(b.fd, br)) {
        expect(data.length).toBe(8);
        break;
      }
    });
  },
  lacks.multishot,
);

// sys.recvmmsg / DatagramBatch: MSG_TRUNC per datagram and batch.truncated are covered in sys-mmsg.test.ts.
