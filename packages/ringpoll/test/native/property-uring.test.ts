// Random operation sequences on IoUring and BufferRing (fast-check): every op kind on pipes, an
// eventfd and UDP sockets, with aborts, cancels, closes (also from a completion handler and with
// requests in flight), fds closed under ops, abandoned rings and GC. After each sequence: every
// Promise settled once, every error has a code, bytes read = bytes written, no fd left open.
// RINGPOLL_FC_SEED / RINGPOLL_FC_RUNS / RINGPOLL_FC_PATH replay or scale it (property.ts).
import fc from "fast-check";
import { IoUring, SqeBatch, sys, type BufferRing, type IoUringOptions } from "ringpoll";
import { describe, it } from "vitest";
import { Tracker, attempt, checkSequences, requireCode, tick } from "./property.js";
import { lacks } from "./uring-configs.js";

const EPOLLIN = 1;
const NOP = 0;
const ringConfigs: IoUringOptions[] = [{}, { coopTaskrun: true }, { entries: 4 }, ...(lacks.deferTaskrun ? [] : [{ singleIssuer: true, deferTaskrun: true }]), { sqpoll: { idleMs: 5 } }];

type Target = "pipe" | "efd" | "udp";
const target = fc.constantFrom<Target>("pipe", "efd", "udp");
const ringIx = fc.nat(2);
const sig = fc.nat(3); // 0..2: an AbortController of the sequence, 3: none
const linked = fc.option(fc.integer({ min: 0, max: 3 }), { freq: 4 });

const command = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("create" as const), config: fc.nat(ringConfigs.length - 1) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("nop" as const), ring: ringIx, sig }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("timeout" as const), ring: ringIx, ms: fc.integer({ min: 0, max: 2 }), sig }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("write" as const), ring: ringIx, t: target, n: fc.integer({ min: 4, max: 4096 }), sig, linked }), weight: 5 },
  { arbitrary: fc.record({ k: fc.constant("read" as const), ring: ringIx, t: target, n: fc.integer({ min: 4, max: 4096 }), sig, linked }), weight: 5 },
  { arbitrary: fc.record({ k: fc.constant("multishot" as const), ring: ringIx, lease: fc.boolean(), sig }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("stopMultishot" as const), which: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("poll" as const), ring: ringIx, t: target, sig }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("cancel" as const), ring: ringIx, which: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("cancelFd" as const), ring: ringIx, t: target }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("cancelAll" as const), ring: ringIx }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("abort" as const), sig: fc.nat(2) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("closeFd" as const), fd: fc.constantFrom("pipeR", "pipeW", "efd", "udpB") }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("closeRing" as const), ring: ringIx, inHandler: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("batch" as const), ring: ringIx, n: fc.integer({ min: 1, max: 8 }), closeInCallback: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("bufferRing" as const), ring: ringIx, count: fc.constantFrom(1, 2, 8) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("closeBufferRing" as const), ring: ringIx }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("abandon" as const), timeouts: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("gc" as const) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("tick" as const), how: fc.constantFrom("micro", "immediate", "timer") }), weight: 4 },
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

const gc = (globalThis as { gc?: () => void }).gc!;

/** Distinct payload bytes (never 0), so a read that reports bytes it did not get shows in the sums. */
const pattern = (seq: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => 1 + ((seq * 31 + i) % 251)));
const sum = (b: Uint8Array, n: number) => b.subarray(0, n).reduce((a, x) => a + x, 0);

/** A datagram: u32 id, then bytes derived from it; a truncated copy must be a prefix. */
function datagram(id: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  b.writeUInt32LE(id, 0);
  for (let i = 4; i < n; i++) b[i] = (id + i) & 0xff;
  return b;
}

interface RingSlot {
  ring: IoUring;
  closeOnNext: boolean;
  bufferRing: BufferRing | null;
  batchHandler: boolean;
  closeInBatch: boolean;
  batchTag: number;
  /** batch-API tags queued whose CQE has not been seen (close() may drop them: not checked) */
  batchQueued: Set<number>;
}

class Sequence {
  readonly t = new Tracker();
  readonly rings: Array<RingSlot | undefined> = [];
  readonly signals = [new AbortController(), new AbortController(), new AbortController()];
  readonly promises: Array<[number, Promise<unknown>]> = [];
  readonly iterators: Array<AsyncIterator<unknown>> = [];
  readonly open = new Map<string, number>();
  seq = 0;
  // accounting
  pipeW = 0;
  pipeWSum = 0;
  pipeR = 0;
  pipeRSum = 0;
  efdW = 0n;
  efdR = 0n;
  udpSent = 0;
  readonly udpIds = new Set<number>();
  readonly udpSentLen = new Map<number, number>();
  udpLossy = false; // a stopped multishot may drop datagrams it had queued

  constructor() {
    const [r, w] = sys.pipe();
    this.open.set("pipeR", r);
    this.open.set("pipeW", w);
    this.open.set("efd", sys.eventfd(0));
    const a = sys.udpSocket({ port: 0 });
    const b = sys.udpSocket({ port: 0 });
    sys.connect(a, sys.localPort(b));
    this.open.set("udpA", a);
    this.open.set("udpB", b);
  }

  ring(i: number): RingSlot | undefined {
    return this.rings[i % Math.max(1, this.rings.length)];
  }

  signal(i: number): AbortSignal | undefined {
    return i < 3 ? this.signals[i]!.signal : undefined;
  }

  create(config: IoUringOptions): void {
    if (this.rings.filter((r) => r && !r.ring.closed).length >= 3) return;
    const ring = attempt("new IoUring", () => new IoUring(config));
    if (ring) this.rings.push({ ring, closeOnNext: false, bufferRing: null, batchHandler: false, closeInBatch: false, batchTag: 0, batchQueued: new Set() });
  }

  /** Tracks an op's Promise; a ring marked closeOnNext is closed from inside its completion. */
  op<T>(slot: RingSlot, label: string, make: () => Promise<T>, onValue?: (v: T) => void): void {
    const p = attempt(label, make);
    if (p === undefined) return;
    const n = this.seq++;
    this.promises.push([this.rings.indexOf(slot), p]);
    const inHandler = () => {
      if (slot.closeOnNext) {
        slot.closeOnNext = false;
        this.closeRing(slot);
      }
    };
    this.t.track(`${label}#${n}`, p, (v) => {
      onValue?.(v);
      inHandler();
    }, inHandler);
  }

  closeRing(slot: RingSlot): void {
    this.t.track("close", slot.ring.close().then(() => {
      if (slot.ring.inflight !== 0) throw new Error(`close() resolved with ${slot.ring.inflight} in flight`);
    }));
  }

  fd(name: string): number | undefined {
    return this.open.get(name);
  }

  run(c: Command): Promise<void> | void {
    switch (c.k) {
      case "create":
        return this.create(ringConfigs[c.config]!);
      case "gc":
        return gc();
      case "tick":
        return tick(c.how);
      case "abort":
        return this.signals[c.sig]!.abort();
      case "closeFd": {
        const fd = this.fd(c.fd);
        if (fd === undefined) return;
        // Hand queued SQEs to the kernel first: the fd is then closed under requests in flight,
        // and its number (free for reuse) is never looked up again.
        for (const r of this.rings) if (r && !r.ring.closed) attempt("submit", () => r.ring.submit());
        this.open.delete(c.fd);
        sys.close(fd);
        return;
      }
      case "stopMultishot": {
        const it = this.iterators[c.which % Math.max(1, this.iterators.length)];
        if (it) {
          this.udpLossy = true;
          void it.return!();
        }
        return;
      }
      case "abandon": {
        // A ring nobody closes or references: its requests still settle, then GC takes its fd.
        const ring = attempt("new IoUring", () => new IoUring({ entries: 4 }));
        if (!ring) return;
        for (const ms of c.timeouts) this.t.track("abandoned timeout", ring.timeout(ms));
        this.t.track("abandoned nop", ring.nop());
        return;
      }
    }
    const slot = this.ring(c.ring);
    if (slot === undefined) return;
    const { ring } = slot;
    switch (c.k) {
      case "nop":
        return this.op(slot, "nop", () => ring.nop({ signal: this.signal(c.sig) }));
      case "timeout":
        return this.op(slot, "timeout", () => ring.timeout(c.ms, { signal: this.signal(c.sig) }));
      case "poll": {
        const fd = this.fd(c.t === "pipe" ? "pipeR" : c.t === "efd" ? "efd" : "udpB");
        if (fd === undefined) return;
        return this.op(slot, "poll", () => ring.pollAdd(fd, EPOLLIN, { signal: this.signal(c.sig) }), (mask) => {
          // EPOLLIN, or EPOLLHUP/EPOLLERR (always reported: the pipe's writer closed)
          if (mask === 0 || (mask & ~(EPOLLIN | 0x08 | 0x10)) !== 0) throw new Error(`poll resolved mask ${mask}`);
        });
      }
      case "write":
        return this.write(slot, c);
      case "read":
        return this.read(slot, c);
      case "multishot":
        return this.multishot(slot, c.lease, this.signal(c.sig));
      case "cancel": {
        const [, p] = this.promises[c.which % Math.max(1, this.promises.length)] ?? [];
        if (p === undefined) return;
        return this.op(slot, "cancel", () => ring.cancel(p), (n) => {
          if (n !== 0 && n !== 1) throw new Error(`cancel(promise) resolved ${n}`);
        });
      }
      case "cancelFd": {
        const fd = this.fd(c.t === "pipe" ? "pipeR" : c.t === "efd" ? "efd" : "udpB");
        if (fd === undefined) return;
        return this.op(slot, "cancel fd", () => ring.cancel({ fd }));
      }
      case "cancelAll":
        return this.op(slot, "cancel all", () => ring.cancel({ all: true }));
      case "closeRing":
        if (c.inHandler) slot.closeOnNext = true;
        else if (!ring.closed) this.closeRing(slot);
        return;
      case "batch":
        return this.batch(slot, c.n, c.closeInCallback);
      case "bufferRing":
        if (slot.bufferRing === null || slot.bufferRing.closed) slot.bufferRing = attempt("createBufferRing", () => ring.createBufferRing({ count: c.count, size: 1024 })) ?? null;
        return;
      case "closeBufferRing":
        if (slot.bufferRing) attempt("BufferRing.close", () => slot.bufferRing!.close());
        return;
    }
  }

  write(slot: RingSlot, c: Extract<Command, { k: "write" }>): void {
    const opts = { signal: this.signal(c.sig), timeoutMs: c.linked ?? undefined };
    if (c.t === "pipe") {
      const fd = this.fd("pipeW");
      if (fd === undefined) return;
      const data = pattern(this.seq, c.n);
      return this.op(slot, "write pipe", () => slot.ring.write(fd, data, opts), (n) => {
        this.pipeW += n;
        this.pipeWSum += sum(data, n);
      });
    }
    if (c.t === "efd") {
      const fd = this.fd("efd");
      if (fd === undefined) return;
      const data = Buffer.alloc(8);
      data.writeBigUInt64LE(BigInt(c.n));
      return this.op(slot, "write eventfd", () => slot.ring.write(fd, data, opts), (n) => {
        if (n !== 8) throw new Error(`eventfd write returned ${n}`);
        this.efdW += BigInt(c.n);
      });
    }
    const fd = this.fd("udpA")!;
    const id = this.seq;
    const data = datagram(id, Math.min(c.n, 512));
    this.op(slot, "send udp", () => slot.ring.send(fd, data, opts), (n) => {
      if (n !== data.length) throw new Error(`send of ${data.length} returned ${n}`);
      this.udpSent++;
      this.udpSentLen.set(id, n);
    });
  }

  /** A datagram (maybe cut to `n` bytes) must be one that was sent, once, with its bytes intact. */
  received(d: Uint8Array, n: number): void {
    if (n < 4) throw new Error(`datagram of ${n} bytes`);
    const id = Buffer.from(d.buffer, d.byteOffset, n).readUInt32LE(0);
    if (this.udpIds.has(id)) throw new Error(`datagram ${id} received twice`);
    this.udpIds.add(id);
    const want = datagram(id, n);
    if (Buffer.compare(want, Buffer.from(d.buffer, d.byteOffset, n)) !== 0) throw new Error(`datagram ${id} corrupted`);
  }

  read(slot: RingSlot, c: Extract<Command, { k: "read" }>): void {
    const opts = { signal: this.signal(c.sig), timeoutMs: c.linked ?? undefined };
    const name = c.t === "pipe" ? "pipeR" : c.t === "efd" ? "efd" : "udpB";
    const fd = this.fd(name);
    if (fd === undefined) return;
    const buf = Buffer.alloc(c.t === "efd" ? 8 : c.n);
    if (c.t === "pipe") {
      return this.op(slot, "read pipe", () => slot.ring.read(fd, buf, opts), (n) => {
        this.pipeR += n;
        this.pipeRSum += sum(buf, n);
      });
    }
    if (c.t === "efd") {
      return this.op(slot, "read eventfd", () => slot.ring.read(fd, buf, opts), (n) => {
        if (n !== 8) throw new Error(`eventfd read returned ${n}`);
        this.efdR += buf.readBigUInt64LE(0);
      });
    }
    this.op(slot, "recv udp", () => slot.ring.recv(fd, buf, opts), (n) => this.received(buf, n));
  }

  multishot(slot: RingSlot, lease: boolean, signal: AbortSignal | undefined): void {
    const fd = this.fd("udpB");
    if (fd === undefined) return;
    if (slot.bufferRing === null || slot.bufferRing.closed) this.run({ k: "bufferRing", ring: this.rings.indexOf(slot), count: 2 });
    const br = slot.bufferRing;
    if (br === null || br.closed) return;
    const it = attempt("recvMultishot", () => (lease ? slot.ring.recvMultishot(fd, br, { lease: true, signal }) : slot.ring.recvMultishot(fd, br, { signal })));
    if (it === undefined) return;
    this.iterators.push(it);
    const consume = async () => {
      for await (const m of it) {
        const data = Buffer.isBuffer(m) ? m : m.data;
        this.received(data, data.length);
        if (!Buffer.isBuffer(m) && data.length % 2 === 0) m.release();
      }
      // Ended by close() (ECANCELED): datagrams it had queued are dropped, as a destroyed stream's.
      this.udpLossy = true;
    };
    this.t.track("multishot", consume(), undefined, (e) => {
      // An abort or an error ends the iteration; what it had queued is dropped with it.
      this.udpLossy = true;
      requireCode(e, "multishot");
    });
  }

  batch(slot: RingSlot, n: number, closeInCallback: boolean): void {
    const { ring } = slot;
    slot.closeInBatch ||= closeInCallback;
    if (!slot.batchHandler) {
      const ok = attempt("onCompletions", () =>
        ring.onCompletions((batch) => {
          for (let i = 0; i < batch.length; i++) {
            const tag = batch.tag[i]!;
            if (tag >= 2 ** 31) continue; // lib/'s own requests (Promises) share the batch
            if (!slot.batchQueued.delete(tag)) this.t.failures.push(`batch tag ${tag} completed twice or never queued`);
            if (batch.res[i] !== 0) this.t.failures.push(`batch NOP ${tag} res ${batch.res[i]}`);
          }
          if (slot.closeInBatch) {
            slot.closeInBatch = false;
            this.closeRing(slot);
          }
        }),
      );
      if (ok === undefined) return;
      slot.batchHandler = true;
    }
    const b = new SqeBatch(n);
    for (let i = 0; i < n; i++) b.push(NOP, -1, slot.batchTag + i);
    const queued = attempt("queue", () => ring.queue(b));
    if (queued === undefined) return;
    if (queued !== n) this.t.failures.push(`queue(${n}) returned ${queued}`);
    for (let i = 0; i < n; i++) slot.batchQueued.add(slot.batchTag++);
  }

  /** Close everything, wait for every Promise, then check the byte and datagram accounting. */
  async finish(): Promise<void> {
    for (const s of this.rings) if (s && !s.ring.closed) this.closeRing(s);
    await this.t.settle(15_000);
    for (const s of this.rings) if (s && s.ring.inflight !== 0) this.t.failures.push(`inflight ${s.ring.inflight} after close`);
    const buf = Buffer.alloc(65536);
    const r = this.fd("pipeR");
    if (r !== undefined) {
      let n: number | null;
      if (this.fd("pipeW") !== undefined) sys.close(this.open.get("pipeW")!), this.open.delete("pipeW");
      while ((n = sys.read(r, buf)) !== null && n > 0) {
        this.pipeR += n;
        this.pipeRSum += sum(buf, n);
      }
      if (this.pipeR !== this.pipeW || this.pipeRSum !== this.pipeWSum) this.t.failures.push(`pipe: wrote ${this.pipeW} B (sum ${this.pipeWSum}), read ${this.pipeR} B (sum ${this.pipeRSum})`);
    } else if (this.pipeR > this.pipeW) this.t.failures.push(`pipe: read ${this.pipeR} B of ${this.pipeW} written`);
    const e = this.fd("efd");
    if (e !== undefined) {
      if (sys.read(e, buf, 0, 8) !== null) this.efdR += buf.readBigUInt64LE(0);
      if (this.efdR !== this.efdW) this.t.failures.push(`eventfd: wrote ${this.efdW}, read ${this.efdR}`);
    } else if (this.efdR > this.efdW) this.t.failures.push(`eventfd: read ${this.efdR} of ${this.efdW} written`);
    const b = this.fd("udpB");
    if (b !== undefined) {
      let n: number | null;
      while ((n = sys.read(b, buf)) !== null) this.received(buf, n);
    }
    const got = this.udpIds.size;
    if (got > this.udpSent || ((b !== undefined && !this.udpLossy) && got !== this.udpSent)) this.t.failures.push(`udp: sent ${this.udpSent}, received ${got}`);
    for (const fd of this.open.values()) sys.close(fd);
    this.open.clear();
    this.t.check();
  }
}

describe("property: random operation sequences on IoUring and BufferRing", () => {
  it("never crash, settle every Promise once with coded errors, lose no byte and leak no fd", { timeout: 600_000 }, async () => {
    await checkSequences("property-uring", command, { runs: 100, maxLength: 40 }, () => {
      const s = new Sequence();
      s.create({});
      return s;
    });
  });
});
