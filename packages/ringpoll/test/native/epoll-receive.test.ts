// Epoll receive mode (start/batches with `datagrams`): the wake-up reads every ready socket into
// one DatagramBatch in the same native call as its epoll_wait.
import { constants } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { Epoll, EPOLLIN, sys, type EpollBatch } from "ringpoll";
import { Fds } from "./helpers.js";

const { DatagramBatch, MSG_TRUNC } = sys;
type Batch = InstanceType<typeof DatagramBatch>;
const fds = new Fds();
const epolls: Epoll[] = [];
afterEach(() => {
  for (const ep of epolls.splice(0)) ep.close();
  fds.closeAll();
});

function epoll(): Epoll {
  const ep = new Epoll({ maxEvents: 16 });
  epolls.push(ep);
  return ep;
}

function send(to: number, ...payloads: string[]): void {
  const s = fds.track(sys.udpSocket());
  for (const p of payloads) expect(sys.sendto(s, Buffer.from(p), to)).toBe(p.length);
}

/** The datagrams of one delivered batch, grouped by the token of the event they came from. */
function byToken(events: EpollBatch, batch: Batch): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  let j = 0;
  for (let i = 0; i < events.length; i++) {
    const got = Math.max(events.received[i]!, 0);
    out[events.data[i]!] = Array.from({ length: got }, (_, k) => Buffer.from(batch.datagram(j + k)).toString());
    j += got;
  }
  expect(j).toBe(batch.length);
  return out;
}

function nextBatch(ep: Epoll, batch: Batch): Promise<{ events: EpollBatch; got: Record<number, string[]> }> {
  return new Promise((resolve, reject) => {
    ep.start(
      (events) => {
        ep.stop();
        resolve({ events, got: byToken(events, batch) });
      },
      { datagrams: batch, onError: reject },
    );
  });
}

describe("Epoll receive mode", () => {
  it("reads every ready socket in the wake-up: known datagrams give known counts, truncation reported", async () => {
    const ep = epoll();
    const [a, b, c] = [fds.udp(), fds.udp(), fds.udp()];
    ep.add(a.fd, EPOLLIN, 10);
    ep.add(b.fd, EPOLLIN, 11);
    ep.add(c.fd, EPOLLIN, 12);
    send(a.port, "a1", "a2");
    send(c.port, "c1", "this one is longer than its slot", "c3");
    const batch = new DatagramBatch({ count: 8, slotSize: 8 });
    const before = sys.counters();
    const statsBefore = ep.stats;
    const { events, got } = await nextBatch(ep, batch);
    expect(got).toEqual({ 10: ["a1", "a2"], 12: ["c1", "this one", "c3"] });
    expect(batch.length).toBe(5);
    expect(batch.truncated).toBe(1);
    const longOne = Array.from(events.data).indexOf(12) === 0 ? 1 : 3;
    expect(batch.flags[longOne]! & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(batch.lengths[longOne]).toBe(8);
    // one recvmmsg per ready socket, no JS call of its own; one JS call for the whole wake-up
    const after = sys.counters();
    expect(after.recvmmsgCalls - before.recvmmsgCalls).toBe(2);
    expect(after.recvmmsgDatagrams - before.recvmmsgDatagrams).toBe(5);
    expect(ep.stats.calls - statsBefore.calls).toBe(1);
    expect(sys.recvmmsg(a.fd, batch)).toBeNull(); // drained
    expect(sys.recvmmsg(c.fd, batch)).toBeNull();
  });

  it("receives into the caller's plain (detachable) memory too, looked up on every wake-up", async () => {
    const ep = epoll();
    const a = fds.udp();
    ep.add(a.fd, EPOLLIN, 7);
    const buffer = new Uint8Array(3 * 8);
    const batch = new DatagramBatch({ count: 3, slotSize: 8, buffer, lengths: new Uint32Array(3) });
    for (const round of [["x", "yy"], ["zzz"]]) {
      send(a.port, ...round);
      expect((await nextBatch(ep, batch)).got).toEqual({ 7: round });
    }
    expect(Buffer.from(buffer.subarray(0, 3)).toString()).toBe("zzz");
  });

  it("a batch that fills leaves the rest ready for the next wake-up (level-triggered)", async () => {
    const ep = epoll();
    const a = fds.udp();
    ep.add(a.fd, EPOLLIN);
    send(a.port, "1", "2", "3", "4", "5");
    const batch = new DatagramBatch({ count: 2, slotSize: 4 });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { events, got } = await nextBatch(ep, batch);
      expect(events.received[0]).toBe(i < 2 ? 2 : 1);
      seen.push(...got[a.fd]!);
    }
    expect(seen).toEqual(["1", "2", "3", "4", "5"]);
  });

  it("works with the iterator form, and reports a failed recvmmsg per event as -errno", async () => {
    const ep = epoll();
    const a = fds.udp();
    const [rd, wr] = fds.pipe();
    ep.add(a.fd, EPOLLIN, 1);
    ep.add(rd, EPOLLIN, 2);
    sys.write(wr, Buffer.from("x"));
    send(a.port, "hello");
    const batch = new DatagramBatch({ count: 4, slotSize: 16, addresses: true });
    const it = ep.batches({ datagrams: batch });
    const { value: events } = await it.next();
    const at = (token: number): number => events!.received[Array.from(events!.data).indexOf(token)]!;
    expect(at(1)).toBe(1);
    expect(at(2)).toBe(-constants.errno.ENOTSOCK);
    expect(batch.length).toBe(1);
    expect(Buffer.from(batch.datagram(0)).toString()).toBe("hello");
    expect(batch.host(0)).toBe("127.0.0.1");
    await it.return!();
    // wait() does not receive: its batches say 0
    expect(Array.from(ep.wait(0).received)).toEqual([0]);
  });

  it("refuses a batch that is not a DatagramBatch, and stops with the usual error when the batch's memory is transferred away", async () => {
    const ep = epoll();
    expect(() => ep.start(() => {}, { datagrams: { count: 4 } as never })).toThrow("Expected DatagramBatch for options.datagrams");
    expect(() => ep.batches({ datagrams: new Uint8Array(4) as never })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    const a = fds.udp();
    ep.add(a.fd, EPOLLIN);
    // memory of the caller's over plain ArrayBuffers, which can be transferred away (and freed)
    const plain = (): Batch => new DatagramBatch({ count: 4, slotSize: 16, buffer: new Uint8Array(64), lengths: new Uint32Array(4) });
    const batch = plain();
    structuredClone(batch.buffer.buffer, { transfer: [batch.buffer.buffer as ArrayBuffer] });
    expect(() => ep.start(() => {}, { datagrams: batch })).toThrow("Expected Uint8Array of at least 64 bytes (count × slotSize) for batch.buffer");
    const later = plain();
    let calls = 0;
    const failed = new Promise<Error>((resolve) => ep.start(() => calls++, { datagrams: later, onError: resolve }));
    structuredClone(later.lengths.buffer, { transfer: [later.lengths.buffer as ArrayBuffer] });
    send(a.port, "never read into freed memory");
    const err = await failed;
    expect(err).toMatchObject({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringContaining("for batch.lengths") });
    expect(calls).toBe(0);
    expect(later.length).toBe(0);
    // the watch stopped, so another consumer can start; the datagram is still waiting
    const fresh = new DatagramBatch({ count: 4, slotSize: 64 });
    expect((await nextBatch(ep, fresh)).got[a.fd]).toEqual(["never read into freed memory"]);
  });
});
