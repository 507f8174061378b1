import { afterEach, describe, expect, it } from "vitest";
import { sys } from "ringpoll";
import { Fds } from "./helpers.js";

const { DatagramBatch, MSG_TRUNC } = sys;
const fds = new Fds();
afterEach(() => fds.closeAll());

function send(to: number, ...payloads: string[]): void {
  const s = fds.track(sys.udpSocket());
  for (const p of payloads) expect(sys.sendto(s, Buffer.from(p), to)).toBe(p.length);
}

describe("DatagramBatch", () => {
  it("refuses bad options with the usual one-line errors", () => {
    expect(() => new DatagramBatch({ count: 0, slotSize: 64 })).toThrow("Expected integer between 1 and 1024 for options.count but received 0");
    expect(() => new DatagramBatch({ count: 4, slotSize: 1.5 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => new DatagramBatch({ count: 4, slotSize: 64, lengths: new Uint32Array(3) })).toThrow(
      "Expected Uint32Array of at least 4 entries (count) for options.lengths but received Uint32Array(3)",
    );
    expect(() => new DatagramBatch({ count: 4, slotSize: 64, lengths: [0, 0, 0, 0] as unknown as Uint32Array })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
    );
    expect(() => new DatagramBatch({ count: 4, slotSize: 64, buffer: new Uint8Array(255) })).toThrow(/at least 256 bytes/);
    expect(() => new DatagramBatch({ count: 4, slotSize: 64, addresses: "yes" as unknown as boolean })).toThrow(
      "Expected boolean for options.addresses but received \"yes\" of type string",
    );
    expect(() => new DatagramBatch({ count: 4, slotSize: 64, slots: 4 } as never)).toThrow(/options\.slots/);
    const b = new DatagramBatch({ count: 2, slotSize: 4 });
    expect(() => b.set(2, Buffer.from("x"))).toThrow(/for index/);
    expect(() => b.set(0, Buffer.from("12345"))).toThrow("Expected at most 4 bytes (slotSize) for data");
    expect(() => b.port(0)).toThrow(/options\.addresses/);
    const a = new DatagramBatch({ count: 2, slotSize: 4, addresses: true });
    expect(() => a.setAddress(0, 1, "300.0.0.1")).toThrow(/IPv4 address string for host/);
    expect(() => a.setAddress(0, 65536, "127.0.0.1")).toThrow(/for port/);
  });
});

describe("sys.recvmmsg", () => {
  it("receives several datagrams in one call, into caller-owned memory, with source addresses", () => {
    const r = fds.udp();
    const s = fds.track(sys.udpSocket({ port: 0 }));
    for (const p of ["one", "two!", "three"]) sys.sendto(s, Buffer.from(p), r.port);
    const buffer = new Uint8Array(4 * 16);
    const lengths = new Uint32Array(4);
    const batch = new DatagramBatch({ count: 4, slotSize: 16, buffer, lengths, addresses: true });
    const before = sys.counters();
    expect(sys.recvmmsg(r.fd, batch)).toBe(3);
    expect(batch.length).toBe(3);
    expect(batch.truncated).toBe(0);
    expect(batch.buffer).toBe(buffer);
    expect(Array.from(lengths.subarray(0, 3))).toEqual([3, 4, 5]);
    expect(Buffer.from(buffer.subarray(16, 20)).toString()).toBe("two!");
    expect(Buffer.from(batch.datagram(2)).toString()).toBe("three");
    expect(batch.host(0)).toBe("127.0.0.1");
    expect(batch.port(0)).toBe(sys.localPort(s));
    const after = sys.counters();
    expect(after.recvmmsgCalls - before.recvmmsgCalls).toBe(1);
    expect(after.recvmmsgDatagrams - before.recvmmsgDatagrams).toBe(3);
  });

  it("returns null when nothing waits, and stops at count datagrams", () => {
    const r = fds.udp();
    const batch = new DatagramBatch({ count: 2, slotSize: 8 });
    expect(sys.recvmmsg(r.fd, batch)).toBeNull();
    send(r.port, "a", "b", "c");
    expect(sys.recvmmsg(r.fd, batch)).toBe(2);
    expect(sys.recvmmsg(r.fd, batch)).toBe(1);
    expect(Buffer.from(batch.datagram(0)).toString()).toBe("c");
  });

  it("reports a datagram longer than its slot as truncated, not silently", () => {
    const r = fds.udp();
    send(r.port, "short", "much too long for the slot", "ok");
    const batch = new DatagramBatch({ count: 4, slotSize: 8 });
    expect(sys.recvmmsg(r.fd, batch)).toBe(3);
    expect(batch.truncated).toBe(1);
    expect(Array.from(batch.lengths.subarray(0, 3))).toEqual([5, 8, 2]);
    expect(batch.flags[1]! & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(batch.flags[0]! & MSG_TRUNC).toBe(0);
    expect(Buffer.from(batch.datagram(1)).toString()).toBe("much too");
  });

  it("calls with the same batch, another batch and a sendmmsg in between each land in their own batch's slots", () => {
    const r = fds.udp();
    const x = fds.track(sys.udpSocket({ port: 0 }));
    const y = fds.track(sys.udpSocket({ port: 0 }));
    const a = new DatagramBatch({ count: 4, slotSize: 16, addresses: true });
    const b = new DatagramBatch({ count: 4, slotSize: 16 });
    const out = new DatagramBatch({ count: 2, slotSize: 2, addresses: true });
    const texts = (batch: InstanceType<typeof DatagramBatch>): string[] => Array.from({ length: batch.length }, (_, i) => Buffer.from(batch.datagram(i)).toString());
    const from = (fd: number, ...payloads: string[]): void => {
      for (const p of payloads) sys.sendto(fd, Buffer.from(p), r.port);
    };
    from(x, "a1", "a2");
    expect(sys.recvmmsg(r.fd, a)).toBe(2);
    out.set(0, Buffer.from("s"));
    out.setAddress(0, sys.localPort(y), "127.0.0.1");
    expect(sys.sendmmsg(r.fd, out)).toBe(1);
    from(y, "from y, longer");
    expect(sys.recvmmsg(r.fd, a)).toBe(1);
    expect(texts(a)).toEqual(["from y, longer"]);
    expect(a.port(0)).toBe(sys.localPort(y));
    from(x, "b1");
    expect(sys.recvmmsg(r.fd, b)).toBe(1);
    expect(texts(b)).toEqual(["b1"]);
    from(x, "c1", "c2", "c3", "c4");
    expect(sys.recvmmsg(r.fd, a)).toBe(4);
    expect(texts(a)).toEqual(["c1", "c2", "c3", "c4"]);
    expect([0, 1, 2, 3].map((i) => a.port(i))).toEqual(Array(4).fill(sys.localPort(x)));
    expect(texts(b)).toEqual(["b1"]);
  });

  it("refuses bad arguments before any syscall, and reports kernel errors as SystemErrors", () => {
    const batch = new DatagramBatch({ count: 2, slotSize: 8 });
    expect(() => sys.recvmmsg(-1, batch)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => sys.recvmmsg(0, { buffer: new Uint8Array(8) } as never)).toThrow("Expected DatagramBatch for batch");
    const [rd] = fds.pipe();
    expect(() => sys.recvmmsg(rd, batch)).toThrow(expect.objectContaining({ code: "ENOTSOCK", syscall: "recvmmsg" }));
  });
});

describe("sys.sendmmsg", () => {
  it("sends several datagrams in one call to per-datagram addresses, and to a connected peer", () => {
    const a = fds.udp();
    const b = fds.udp();
    const s = fds.track(sys.udpSocket());
    const out = new DatagramBatch({ count: 3, slotSize: 16, addresses: true });
    out.set(0, Buffer.from("to a"));
    out.set(1, Buffer.from("to b"));
    out.set(2, Buffer.from("a again"));
    out.setAddress(0, a.port, "127.0.0.1");
    out.setAddress(1, b.port, "127.0.0.1");
    out.setAddress(2, a.port, "127.0.0.1");
    expect(out.length).toBe(3);
    expect(sys.sendmmsg(s, out)).toBe(3);
    const got = new DatagramBatch({ count: 4, slotSize: 16 });
    expect(sys.recvmmsg(a.fd, got)).toBe(2);
    expect([0, 1].map((i) => Buffer.from(got.datagram(i)).toString())).toEqual(["to a", "a again"]);
    expect(sys.recvmmsg(b.fd, got)).toBe(1);

    const c = fds.track(sys.udpSocket());
    sys.connect(c, b.port);
    const plain = new DatagramBatch({ count: 2, slotSize: 4 });
    plain.set(0, Buffer.from("x"));
    plain.set(1, Buffer.from("yz"));
    expect(sys.sendmmsg(c, plain, 2)).toBe(2);
    expect(sys.recvmmsg(b.fd, got)).toBe(2);
    expect(Array.from(got.lengths.subarray(0, 2))).toEqual([1, 2]);
  });

  it("refuses a count outside the batch and a length longer than the slot", () => {
    const s = fds.track(sys.udpSocket());
    const batch = new DatagramBatch({ count: 2, slotSize: 4 });
    expect(() => sys.sendmmsg(s, batch)).toThrow("Expected integer between 1 and 2 (the batch's count) for count but received 0");
    expect(() => sys.sendmmsg(s, batch, 3)).toThrow(/for count but received 3/);
    batch.lengths[0] = 5;
    expect(() => sys.sendmmsg(s, batch, 1)).toThrow("Expected at most 4 (slotSize) for batch.lengths[0] but received 5");
    batch.lengths[0] = 1;
    expect(() => sys.sendmmsg(s, batch, 1)).toThrow(expect.objectContaining({ code: "EDESTADDRREQ", syscall: "sendmmsg" }));
  });
});

describe("socket helpers", () => {
  it("refuse a non-boolean reuse", () => {
    expect(() => sys.udpSocket({ reuse: "yes" as unknown as boolean })).toThrow('Expected boolean for options.reuse but received "yes" of type string');
  });
});
