import { closeSync, openSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  Epoll,
  EPOLLERR,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLOUT,
  EPOLLPRI,
  EPOLLRDHUP,
  sys,
  type EpollBatch,
} from "ringpoll";
import { Fds, one, openFdCount, turns } from "./helpers.js";

const fds = new Fds();
const epolls: Epoll[] = [];
function epoll(maxEvents?: number): Epoll {
  const ep = new Epoll(maxEvents === undefined ? {} : { maxEvents });
  epolls.push(ep);
  return ep;
}
afterEach(() => {
  for (const ep of epolls.splice(0)) ep.close();
  fds.closeAll();
});

function pairs(batch: EpollBatch): Array<[number, number]> {
  return Array.from({ length: batch.length }, (_, i) => [batch.data[i]!, batch.events[i]!]);
}

describe("constants", () => {
  it("match the kernel uapi values, as named exports and static properties", () => {
    expect([EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP]).toEqual([1, 2, 4, 8, 16, 0x2000]);
    expect([EPOLLEXCLUSIVE, EPOLLONESHOT, EPOLLET]).toEqual([1 << 28, 1 << 30, 0x80000000]);
    expect(Epoll.EPOLLIN).toBe(EPOLLIN);
    expect(Epoll.EPOLLET).toBe(EPOLLET);
    expect(Epoll.EPOLLEXCLUSIVE).toBe(EPOLLEXCLUSIVE);
  });
});

describe("wait()", () => {
  it("returns an empty batch when nothing is ready", () => {
    const ep = epoll();
    ep.add(fds.eventfd(), EPOLLIN);
    const batch = ep.wait();
    expect(batch.length).toBe(0);
    expect(batch.events.length).toBe(0);
  });

  it("reports a readable fd with its data token, and EPOLLOUT for writable", () => {
    const ep = epoll();
    const efd = fds.eventfd(1);
    ep.add(efd, EPOLLIN | EPOLLOUT, 0xfffffffe);
    const batch = ep.wait();
    expect(pairs(batch)).toEqual([[0xfffffffe, EPOLLIN | EPOLLOUT]]);
  });

  it("uses the fd as the default token", () => {
    const ep = epoll();
    const efd = fds.eventfd(1);
    ep.add(efd, EPOLLIN);
    expect(ep.wait().data[0]).toBe(efd);
  });

  it("level-triggered: reports readiness on every wait until drained", () => {
    const ep = epoll();
    const [r, w] = fds.pipe();
    ep.add(r, EPOLLIN);
    sys.write(w, Buffer.from("abc"));
    expect(ep.wait().length).toBe(1);
    expect(ep.wait().length).toBe(1);
    sys.read(r, Buffer.alloc(16));
    expect(ep.wait().length).toBe(0);
  });

  it("edge-triggered: reports a change once, again only after new data", () => {
    const ep = epoll();
    const [r, w] = fds.pipe();
    ep.add(r, EPOLLIN | EPOLLET);
    sys.write(w, Buffer.from("a"));
    expect(ep.wait().length).toBe(1);
    expect(ep.wait().length).toBe(0); // still readable, but no new edge
    sys.write(w, Buffer.from("b"));
    expect(ep.wait().length).toBe(1);
  });

  it("EPOLLONESHOT: disabled after one event, re-armed by modify()", () => {
    const ep = epoll();
    const efd = fds.eventfd(1);
    ep.add(efd, EPOLLIN | EPOLLONESHOT, 7);
    expect(pairs(ep.wait())).toEqual([[7, EPOLLIN]]);
    expect(ep.wait().length).toBe(0);
    ep.modify(efd, EPOLLIN | EPOLLONESHOT, 8);
    expect(pairs(ep.wait())).toEqual([[8, EPOLLIN]]);
  });

  it("modify() changes the event mask and the token", () => {
    const ep = epoll();
    const efd = fds.eventfd(0);
    ep.add(efd, EPOLLIN, 1);
    expect(ep.wait().length).toBe(0);
    ep.modify(efd, EPOLLOUT, 2);
    expect(pairs(ep.wait())).toEqual([[2, EPOLLOUT]]);
  });

  it("remove() stops events", () => {
    const ep = epoll();
    const efd = fds.eventfd(1);
    ep.add(efd, EPOLLIN);
    expect(ep.wait().length).toBe(1);
    ep.remove(efd);
    expect(ep.wait().length).toBe(0);
  });

  it("EPOLLEXCLUSIVE is accepted on add and refused on modify, as the kernel does", () => {
    const ep = epoll();
    const efd = fds.eventfd(1);
    ep.add(efd, EPOLLIN | EPOLLEXCLUSIVE);
    expect(ep.wait().length).toBe(1);
    expect(() => ep.modify(efd, EPOLLIN | EPOLLEXCLUSIVE)).toThrow(
      expect.objectContaining({ code: "EINVAL", syscall: "epoll_ctl" }),
    );
  });

  it("delivers many ready fds in one batch, every token once", () => {
    const ep = epoll();
    const sender = fds.udp();
    const tokens = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const s = fds.udp();
      ep.add(s.fd, EPOLLIN, 1000 + i);
      tokens.add(1000 + i);
      sys.sendto(sender.fd, Buffer.from("x"), s.port);
    }
    const batch = ep.wait(1000);
    expect(batch.length).toBe(200);
    expect(new Set(batch.data)).toEqual(tokens);
    expect(batch.events.every((e) => e === EPOLLIN)).toBe(true);
  });

  it("never returns more than maxEvents", () => {
    const ep = epoll(4);
    for (let i = 0; i < 10; i++) ep.add(fds.eventfd(1), EPOLLIN);
    expect(ep.wait().length).toBe(4);
  });

  it("blocks up to timeoutMs waiting for an event that does not come", () => {
    const ep = epoll();
    ep.add(fds.eventfd(0), EPOLLIN);
    expect(ep.wait(20).length).toBe(0);
  });
});

describe("errors", () => {
  it("a kernel error is a SystemError with code, errno and syscall", () => {
    const ep = epoll();
    const err = (() => {
      try {
        ep.add(1_000_000, EPOLLIN);
      } catch (e) {
        return e as NodeJS.ErrnoException;
      }
      throw new Error("add did not throw");
    })();
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe("EBADF");
    expect(err.errno).toBe(-9);
    expect(err.syscall).toBe("epoll_ctl");
    expect(err.message).toBe("epoll_ctl EBADF: bad file descriptor");
  });

  it("EEXIST on a second add, ENOENT on modify/remove of an unwatched fd, EPERM for a regular file", () => {
    const ep = epoll();
    const efd = fds.eventfd();
    ep.add(efd, EPOLLIN);
    expect(() => ep.add(efd, EPOLLIN)).toThrow(expect.objectContaining({ code: "EEXIST" }));
    const other = fds.eventfd();
    expect(() => ep.modify(other, EPOLLIN)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => ep.remove(other)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    const file = openSync("/proc/self/status", "r");
    try {
      expect(() => ep.add(file, EPOLLIN)).toThrow(expect.objectContaining({ code: "EPERM" }));
    } finally {
      closeSync(file);
    }
  });

  it("invalid arguments are refused before any syscall, with one message shape", () => {
    const ep = epoll();
    expect(() => ep.add(-1, EPOLLIN)).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_ARG_VALUE",
        message: "Expected non-negative integer for fd but received -1",
      }),
    );
    expect(() => ep.add("3" as unknown as number, EPOLLIN)).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_ARG_TYPE",
        message: 'Expected non-negative integer for fd but received "3" of type string',
      }),
    );
    expect(() => ep.add(0, 1.5)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => ep.add(0, 2 ** 32)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => ep.add(0, EPOLLIN, -1)).toThrow(
      expect.objectContaining({ message: "Expected 32-bit unsigned integer for data but received -1" }),
    );
    expect(() => ep.wait(-1)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => ep.start(null as unknown as () => void)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    expect(() => new Epoll({ maxEvents: 0 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => new Epoll({ maxEvent: 5 } as unknown as object)).toThrow(/options\.maxEvent/);
  });

  it("start() and batches() refuse option keys they do not know (a typo is not ignored)", () => {
    const ep = epoll();
    const unknown = (key: string) => expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringContaining(`for options.${key} `) });
    expect(() => ep.start(() => {}, { onErorr: () => {} } as never)).toThrow(unknown("onErorr"));
    expect(() => ep.batches({ sginal: undefined } as never)).toThrow(unknown("sginal"));
    // Nothing was started by the refused calls: the Epoll still takes a consumer.
    ep.start(() => {}, { onError: () => {} }).stop();
  });
});

describe("close()", () => {
  it("closes the epoll fd, is idempotent, and every later call throws ERR_RINGPOLL_CLOSED", () => {
    const before = openFdCount();
    const ep = new Epoll();
    expect(openFdCount()).toBe(before + 1);
    expect(ep.fd).toBeGreaterThan(2);
    ep.close();
    ep.close();
    expect(openFdCount()).toBe(before);
    expect(ep.closed).toBe(true);
    expect(ep.fd).toBe(-1);
    const closed = expect.objectContaining({ code: "ERR_RINGPOLL_CLOSED", message: "Epoll is closed" });
    expect(() => ep.add(0, EPOLLIN)).toThrow(closed);
    expect(() => ep.modify(0, EPOLLIN)).toThrow(closed);
    expect(() => ep.remove(0)).toThrow(closed);
    expect(() => ep.wait()).toThrow(closed);
    expect(() => ep.start(() => {})).toThrow(closed);
    expect(() => ep.stop()).toThrow(closed);
    expect(() => ep.batches()).toThrow(closed);
  });

  it("Symbol.dispose closes", () => {
    const ep = new Epoll();
    ep[Symbol.dispose]();
    expect(ep.closed).toBe(true);
  });
});

describe("delivery through the event loop", () => {
  it("start(): one JS call for all the fds ready at once", async () => {
    const ep = epoll();
    const batches: number[][] = [];
    for (let i = 0; i < 50; i++) ep.add(fds.eventfd(1), EPOLLIN | EPOLLET, i);
    ep.start((batch) => batches.push(Array.from(batch.data)));
    await turns();
    expect(batches.length).toBe(1);
    expect(batches[0]!.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("start() delivers events that arrive later, stop() pauses without losing them", async () => {
    const ep = epoll();
    const [r, w] = fds.pipe();
    ep.add(r, EPOLLIN | EPOLLET, 5);
    const seen: number[] = [];
    ep.start((b) => seen.push(...b.data));
    await turns();
    expect(seen).toEqual([]);
    sys.write(w, Buffer.from("a"));
    await turns();
    expect(seen).toEqual([5]);
    ep.stop();
    sys.write(w, Buffer.from("b"));
    await turns();
    expect(seen).toEqual([5]);
    ep.start((b) => seen.push(...b.data));
    await turns();
    expect(seen).toEqual([5, 5]);
  });

  it("more ready fds than maxEvents arrive over several batches", async () => {
    const ep = epoll(8);
    for (let i = 0; i < 20; i++) ep.add(fds.eventfd(1), EPOLLIN | EPOLLONESHOT, i);
    const lengths: number[] = [];
    const seen = new Set<number>();
    ep.start((b) => {
      lengths.push(b.length);
      b.data.forEach((d) => seen.add(d));
    });
    await turns(10);
    expect(seen.size).toBe(20);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(8);
  });

  it("close() inside the callback stops delivery", async () => {
    const ep = epoll();
    ep.add(fds.eventfd(1), EPOLLIN);
    let calls = 0;
    ep.start(() => {
      calls++;
      ep.close();
    });
    await turns(5);
    expect(calls).toBe(1);
  });

  it("for await yields batches; break ends the iteration and frees the consumer", async () => {
    const ep = epoll();
    const efd = fds.eventfd(0);
    ep.add(efd, EPOLLIN | EPOLLET, 3);
    setImmediate(() => sys.write(efd, one));
    const got: number[][] = [];
    for await (const batch of ep) {
      got.push(Array.from(batch.data));
      if (got.length === 2) break;
      setImmediate(() => sys.write(efd, one));
    }
    expect(got).toEqual([[3], [3]]);
    expect(() => ep.start(() => {})).not.toThrow();
  });

  it("close() ends a pending for-await loop", async () => {
    const ep = epoll();
    ep.add(fds.eventfd(0), EPOLLIN);
    setImmediate(() => ep.close());
    const got: EpollBatch[] = [];
    for await (const batch of ep) got.push(batch);
    expect(got).toEqual([]);
  });

  it("an AbortSignal ends the iteration with an AbortError", async () => {
    const ep = epoll();
    ep.add(fds.eventfd(0), EPOLLIN);
    const ac = new AbortController();
    setImmediate(() => ac.abort());
    await expect(
      (async () => {
        for await (const _ of ep.batches({ signal: ac.signal })) void _;
      })(),
    ).rejects.toMatchObject({ name: "AbortError", code: "ABORT_ERR" });
    expect(() => ep.start(() => {})).not.toThrow();
  });

  it("one consumer at a time", () => {
    const ep = epoll();
    const it = ep.batches();
    expect(() => ep.start(() => {})).toThrow(expect.objectContaining({ code: "ERR_RINGPOLL_INVALID_STATE" }));
    void it.return?.();
    ep.start(() => {});
    expect(() => ep.batches()).toThrow(expect.objectContaining({ code: "ERR_RINGPOLL_INVALID_STATE" }));
  });
});

describe("stats (per-wake counters)", () => {
  it("a known number of datagrams gives the known counts: one JS call, one epoll_wait and one recvmmsg per ready socket", async () => {
    const ep = epoll();
    const receivers = [fds.udp(), fds.udp(), fds.udp()];
    const sender = fds.track(sys.udpSocket());
    receivers.forEach((r, i) => ep.add(r.fd, EPOLLIN, i));
    const batch = new sys.DatagramBatch({ count: 8, slotSize: 64 });
    let datagrams = 0;
    ep.start((b) => {
      for (let i = 0; i < b.length; i++) datagrams += sys.recvmmsg(receivers[b.data[i]!]!.fd, batch) ?? 0;
    });
    const sys0 = sys.counters();
    for (const r of receivers) for (let k = 0; k < 2; k++) sys.sendto(sender, Buffer.from("x"), r.port);
    await turns();
    expect(datagrams).toBe(6);
    expect(ep.stats).toEqual({ calls: 1, events: 3, epollWaits: 1, emptyWakes: 0 });
    const sys1 = sys.counters();
    expect(sys1.recvmmsgCalls - sys0.recvmmsgCalls).toBe(3);
    expect(sys1.recvmmsgDatagrams - sys0.recvmmsgDatagrams).toBe(6);
    expect(sys1.loopIterations).toBeGreaterThan(sys0.loopIterations);
    expect(sys1.loopPolls - sys0.loopPolls).toBeGreaterThanOrEqual(sys1.loopIterations - sys0.loopIterations);

    sys.sendto(sender, Buffer.from("y"), receivers[1]!.port);
    await turns();
    expect(ep.stats).toEqual({ calls: 2, events: 4, epollWaits: 2, emptyWakes: 0 });
    ep.wait();
    expect(ep.stats.epollWaits).toBe(3);
    ep.close();
    expect(ep.stats.calls).toBe(2);
  });
});
