// Random operation sequences on Epoll with sys (fast-check): add/modify/remove with level, edge and
// one-shot triggers, start/stop, batch iterators with aborts, wait(), close (also from inside a
// batch callback), fds closed while watched, abandoned Epolls and GC, with data flowing through a
// pipe, an eventfd and UDP sockets (sys.sendmmsg/recvmmsg). After each sequence: no callback after
// close, tokens only of watched fds, every error coded, bytes received = bytes sent, no fd left open.
import fc from "fast-check";
import { EPOLLET, EPOLLIN, EPOLLONESHOT, EPOLLOUT, Epoll, sys, type EpollBatch } from "ringpoll";
import { describe, it } from "vitest";
import { Tracker, attempt, checkSequences, requireCode, tick } from "./property.js";

const NAMES = ["pipeR", "efd", "udpB", "pipeW"] as const;
type Name = (typeof NAMES)[number];
const name = fc.constantFrom<Name>(...NAMES);
const events = fc.constantFrom(EPOLLIN, EPOLLIN | EPOLLET, EPOLLIN | EPOLLONESHOT, EPOLLOUT, EPOLLIN | EPOLLOUT | EPOLLET);
const ep = fc.nat(1);

const command = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("add" as const), ep, fd: name, events }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant("modify" as const), ep, fd: name, events }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("remove" as const), ep, fd: name }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("start" as const), ep, closeInside: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("stop" as const), ep }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("iterate" as const), ep, batches: fc.integer({ min: 1, max: 4 }), abort: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("wait" as const), ep }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("abort" as const) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("send" as const), to: fc.constantFrom("pipe", "efd", "udp"), n: fc.integer({ min: 1, max: 8 }) }), weight: 6 },
  { arbitrary: fc.record({ k: fc.constant("closeFd" as const), fd: name }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("closeEpoll" as const), ep }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("create" as const), maxEvents: fc.constantFrom(1, 2, 64) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("abandon" as const), started: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("gc" as const) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("tick" as const), how: fc.constantFrom("micro", "immediate", "timer") }), weight: 4 },
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

const gc = (globalThis as { gc?: () => void }).gc!;
const TOKEN = 1000; // token of fd `name` = TOKEN + its index in NAMES

class Sequence {
  readonly t = new Tracker();
  readonly eps: Epoll[] = [];
  readonly open = new Map<Name | "udpA", number>();
  readonly ac = new AbortController();
  readonly out = new sys.DatagramBatch({ count: 8, slotSize: 256 });
  readonly in = new sys.DatagramBatch({ count: 4, slotSize: 256 });
  readonly buf = Buffer.alloc(65536);
  sent = { pipe: 0, efd: 0n, udp: 0, udpBytes: 0 };
  got = { pipe: 0, efd: 0n, udp: 0, udpBytes: 0 };
  next = 0;

  constructor() {
    const [r, w] = sys.pipe();
    const a = sys.udpSocket({ port: 0 });
    const b = sys.udpSocket({ port: 0 });
    sys.connect(a, sys.localPort(b));
    this.open.set("pipeR", r).set("pipeW", w).set("efd", sys.eventfd(0)).set("udpA", a).set("udpB", b);
    this.create(64);
  }

  create(maxEvents: number): void {
    if (this.eps.filter((e) => !e.closed).length < 2) this.eps.push(new Epoll({ maxEvents }));
  }

  /** What a batch says is ready gets consumed, so level-triggered fds do not spin. */
  onBatch(e: Epoll, batch: EpollBatch): void {
    if (e.closed) this.t.failures.push("a batch was delivered after close()");
    for (let i = 0; i < batch.length; i++) {
      const n = NAMES[batch.data[i]! - TOKEN];
      if (n === undefined) this.t.failures.push(`event with unknown token ${batch.data[i]}`);
      else if ((batch.events[i]! & EPOLLIN) !== 0) this.drain(n);
    }
  }

  drain(n: Name): void {
    const fd = this.open.get(n);
    if (fd === undefined) return;
    if (n === "pipeR") {
      let r: number | null;
      while ((r = sys.read(fd, this.buf)) !== null && r > 0) this.got.pipe += r;
    } else if (n === "efd") {
      if (sys.read(fd, this.buf, 0, 8) !== null) this.got.efd += this.buf.readBigUInt64LE(0);
    } else if (n === "udpB") {
      let r: number | null;
      while ((r = sys.recvmmsg(fd, this.in)) !== null) {
        this.got.udp += r;
        for (let i = 0; i < r; i++) {
          const d = this.in.datagram(i);
          this.got.udpBytes += d.length;
          if (d.some((x) => x !== (d.length & 0xff))) this.t.failures.push(`datagram of ${d.length} B corrupted`);
        }
      }
    }
  }

  run(c: Command): Promise<void> | void {
    switch (c.k) {
      case "gc":
        return gc();
      case "tick":
        return tick(c.how);
      case "abort":
        return this.ac.abort();
      case "create":
        return this.create(c.maxEvents);
      case "send":
        return this.send(c.to, c.n);
      case "closeFd": {
        const fd = this.open.get(c.fd);
        if (fd === undefined) return;
        this.open.delete(c.fd);
        sys.close(fd);
        return;
      }
      case "abandon": {
        // Dropped without close(): a started one stays until GC finds it unreferenced.
        const e = new Epoll();
        const fd = this.open.get("efd");
        if (fd !== undefined) e.add(fd, EPOLLIN, TOKEN + 1);
        if (c.started) e.start(() => {}).stop();
        return;
      }
    }
    const e = this.eps[c.ep % this.eps.length]!;
    switch (c.k) {
      case "add":
      case "modify": {
        const fd = this.open.get(c.fd);
        if (fd === undefined) return;
        attempt(c.k, () => e[c.k](fd, c.events, TOKEN + NAMES.indexOf(c.fd)));
        return;
      }
      case "remove": {
        const fd = this.open.get(c.fd);
        if (fd !== undefined) attempt("remove", () => e.remove(fd));
        return;
      }
      case "start":
        attempt("start", () =>
          e.start(
            (batch) => {
              this.onBatch(e, batch);
              if (c.closeInside) e.close();
            },
            { onError: (err) => requireCode(err, "epoll_wait") },
          ),
        );
        return;
      case "stop":
        attempt("stop", () => e.stop());
        return;
      case "wait": {
        const batch = attempt("wait", () => e.wait(0));
        if (batch) this.onBatch(e, batch);
        return;
      }
      case "closeEpoll":
        return e.close();
      case "iterate": {
        const it = attempt("batches", () => e.batches(c.abort ? { signal: this.ac.signal } : {}));
        if (it === undefined) return;
        const loop = async () => {
          let n = 0;
          for await (const batch of it) {
            this.onBatch(e, batch);
            if (++n === c.batches) break;
          }
        };
        // Nothing may be ready: the sequence's end (close) finishes the iteration.
        this.t.track("iterate", loop());
        return;
      }
    }
  }

  send(to: "pipe" | "efd" | "udp", n: number): void {
    if (to === "pipe") {
      const fd = this.open.get("pipeW");
      if (fd === undefined) return;
      const r = sys.write(fd, Buffer.alloc(n * 100, 7));
      if (r !== null) this.sent.pipe += r;
    } else if (to === "efd") {
      const fd = this.open.get("efd");
      if (fd === undefined) return;
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(BigInt(n));
      if (sys.write(fd, v) !== null) this.sent.efd += BigInt(n);
    } else {
      const fd = this.open.get("udpA")!;
      for (let i = 0; i < n; i++) {
        const len = 1 + ((this.next++ * 37) % 255);
        this.out.set(i, Buffer.alloc(len, len & 0xff));
      }
      const r = attempt("sendmmsg", () => sys.sendmmsg(fd, this.out, n));
      for (let i = 0; i < (r ?? 0); i++) {
        this.sent.udp++;
        this.sent.udpBytes += this.out.lengths[i]!;
      }
    }
  }

  async finish(): Promise<void> {
    for (const e of this.eps) e.close();
    await this.t.settle(10_000);
    for (const n of ["pipeR", "efd", "udpB"] as const) this.drain(n);
    const { sent, got } = this;
    const readable = (n: Name) => this.open.has(n);
    if (readable("pipeR") ? got.pipe !== sent.pipe : got.pipe > sent.pipe) this.t.failures.push(`pipe: sent ${sent.pipe} B, received ${got.pipe}`);
    if (readable("efd") ? got.efd !== sent.efd : got.efd > sent.efd) this.t.failures.push(`eventfd: sent ${sent.efd}, received ${got.efd}`);
    const udpOk = readable("udpB") ? got.udp === sent.udp && got.udpBytes === sent.udpBytes : got.udp <= sent.udp;
    if (!udpOk) this.t.failures.push(`udp: sent ${sent.udp} (${sent.udpBytes} B), received ${got.udp} (${got.udpBytes} B)`);
    for (const fd of this.open.values()) sys.close(fd);
    this.open.clear();
    this.t.check();
  }
}

describe("property: random operation sequences on Epoll and sys", () => {
  it("never crash, no callback after close, coded errors, no byte lost, no fd leaked", { timeout: 600_000 }, async () => {
    await checkSequences("property-epoll", command, { runs: 150, maxLength: 40 }, () => new Sequence());
  });
});
