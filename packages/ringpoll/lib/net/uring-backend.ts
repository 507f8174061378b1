// The io_uring backend: one ring per server; a multishot accept, one multishot receive per
// connection selecting buffers from one provided buffer ring (several per CQE where the kernel
// bundles receives), sends one at a time per connection
// (two sends in flight on one stream could reorder), and what a connection is sent during one batch
// or JS turn goes out as one (vectored) send. SQEs go out in the loop's one submit; every completion batch of
// the server is one JS call.
import { release } from "node:os";
import type { BufferRing } from "../buffer-ring.js";
import { errnoError } from "../errors.js";
import { native } from "../native.js";
import * as sys from "../sys.js";
import { IoUring } from "../uring/io-uring.js";
import { SqeBatch, type CqeBatch } from "../uring-batch.js";
import {
  IORING_ACCEPT_MULTISHOT,
  IORING_ASYNC_CANCEL_ALL,
  IORING_ASYNC_CANCEL_FD,
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_MORE,
  IORING_OP,
  IORING_RECV_MULTISHOT,
  IORING_RECVSEND_BUNDLE,
  TRACKED,
  errno,
} from "../uring-constants.js";
import type { Backend, BackendEvents } from "./backend.js";
import { Connections, SENDV_MAX, taken, type BaseConn, type Send } from "./connections.js";

/** Match the request by opcode (sqe->len) as well as by fd (Linux 6.6). */
const IORING_ASYNC_CANCEL_OP = 1 << 5;
const MSG_NOSIGNAL = 0x4000;
/**
 * Accepted sockets are blocking (close-on-exec only). io_uring tries every send and receive
 * without blocking first and waits on poll itself; but a send it retries from an io-wq worker (a
 * partial send whose retry found the socket full again, under CPU contention) takes O_NONBLOCK
 * at its word and completes with -EAGAIN (liburing #1601). On a blocking socket that worker
 * waits instead, and a cancel still interrupts it.
 */
const SOCK_CLOEXEC = 0o2000000;

// Tags: connection id << 2 | kind (batch-API tags stay below 2^31).
const ACCEPT = 0;
const RECV = 1;
const CANCEL = 2;
const LISTENER = 0x1fffffff;
/** at most this share of the provided buffers is held by sends of their own bytes (see send) */
const HOLD_SHARE = 4;
// A provided buffer's state (#bufState): in the kernel's hands, received in the running batch, or
// held after it by sends that go out of it.
const IN_RING = 0;
const IN_BATCH = 1;
const HELD = 2;
const noop = (): void => {};

export interface UringBackendOptions {
  /** provided buffers for receives: count (power of two) × size bytes */
  bufferCount: number;
  bufferSize: number;
  /** bundled receives: undefined = where the kernel has them, true = required */
  bundle?: boolean | undefined;
}

interface Conn extends BaseConn {
  recvArmed: boolean;
  paused: boolean;
  closing: boolean;
  /** cancel requests in flight that name this connection's id */
  cancels: number;
  sending: boolean;
  /** the first this many of `sends` are in the send in flight */
  inFlight: number;
  /** a send is queued and the connection waits for the flush to start it */
  starting: boolean;
  /** the one completion callback of this connection's sends (no closure per send) */
  onSent: (res: number) => void;
  onClosed: (() => void) | null;
}

/** Why io_uring cannot serve TCP here, or null when it can. */
export function uringUnsupported(): string | null {
  const [major = 0, minor = 0] = release().split(".").map((n) => Number.parseInt(n, 10));
  if (major < 6 || (major === 6 && minor < 6)) return `kernel ${release()} lacks IORING_ASYNC_CANCEL_OP (Linux 6.6)`;
  const ops = native.uringProbe.opcodes();
  if (typeof ops === "number") return null; // setup errors surface when the ring is created
  const missing = (["ACCEPT", "RECV", "SEND", "ASYNC_CANCEL"] as const).filter((n) => !ops.supported.includes(IORING_OP[n]));
  return missing.length > 0 ? `the kernel lacks IORING_OP_${missing.join(", IORING_OP_")}` : null;
}

export class UringBackend extends Connections<Conn> implements Backend {
  readonly name = "io_uring" as const;
  readonly ring: IoUring;
  readonly #br: BufferRing;
  readonly #events: BackendEvents;
  readonly #sqes = new SqeBatch(256);
  #flushScheduled = false;
  #accepting = false;
  #acceptArmed = false;
  #acceptRetry: NodeJS.Timeout | null = null;
  /** connections whose first queued send starts at the next flush */
  readonly #toStart: Array<[number, Conn]> = [];
  /** buffers received in the running batch: they go back to the ring at its end unless a send holds them */
  readonly #batchBids: number[] = [];
  #bufState!: Uint8Array;
  /** sends going out of each buffer */
  #holds!: Uint16Array;
  #heldTotal = 0;
  /** the buffers of one vectored send, handed to native code (which keeps its own list) */
  readonly #iov: Uint8Array[] = [];
  /** @internal sends handed to the kernel (one per SQE, vectored or not) */
  sendCalls = 0;
  #bundles: boolean;
  /** the ring's order is kept (bundles were on at the start; requests armed then may still bundle) */
  readonly #mirror: boolean;
  /** @internal receive CQEs that filled more than one buffer */
  multiBufferCqes = 0;
  // A bundled receive's CQE names only its first buffer; the others are those that followed it in
  // the ring. Every buffer goes back through #recycle, so the ring's order is known here:
  // #order[position & mask] is the buffer put at that position, #position[bid] where bid last went.
  #order!: Uint16Array;
  #position!: Uint32Array;
  #tail = 0;

  constructor(events: BackendEvents, options: UringBackendOptions) {
    super();
    this.#events = events;
    // allowCredentialChange: servers bind as root and then drop privileges; this ring only does
    // socket I/O on fds the server already holds, which the dropped ids would not change.
    // COOP_TASKRUN, not DEFER_TASKRUN: on Linux 6.18 here, a DEFER_TASKRUN ring's eventfd woke the
    // loop ~16 ms after a request reached an idle server (`bench tcp-rr --connections 1`: 62 txn/s
    // at p50 16 ms; without the flag 9.6k at 90 µs), and under load it was also slower (64 connections:
    // batch 1.11–1.14× node:net, against 1.35–1.39× with COOP_TASKRUN).
    this.ring = new IoUring({ entries: 512, cqEntries: 8192, singleIssuer: true, coopTaskrun: true, fallback: true, allowCredentialChange: true });
    try {
      this.#br = this.ring.createBufferRing({ count: options.bufferCount, size: options.bufferSize });
    } catch (err) {
      this.ring.close();
      throw err;
    }
    const hasBundles = this.ring.setup.features.includes("RECVSEND_BUNDLE");
    if (options.bundle === true && !hasBundles) {
      this.ring.close();
      const why = `options.recvBuffers.bundle: kernel ${release()} lacks IORING_FEAT_RECVSEND_BUNDLE (Linux 6.10)`;
      throw Object.assign(new Error(why), { code: "ERR_RINGPOLL_UNSUPPORTED" });
    }
    this.#bundles = hasBundles && options.bundle !== false;
    this.#mirror = this.#bundles;
    const n = this.#br.count;
    this.#bufState = new Uint8Array(n);
    this.#holds = new Uint16Array(n);
    // the buffer ring starts with buffer i at position i
    this.#order = new Uint16Array(n).map((_, i) => i);
    this.#position = new Uint32Array(n).map((_, i) => i);
    this.#tail = n;
    this.ring.ownFdResults((LISTENER << 2) | ACCEPT);
    this.ring.onCompletions((b) => this.#onBatch(b));
  }

  #push(opcode: number, fd: number, tag: number, fields: Parameters<SqeBatch["push"]>[3]): void {
    if (this.#sqes.length === this.#sqes.capacity) this.#flush();
    this.#sqes.push(opcode, fd, tag, fields);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushTask);
    }
  }

  readonly #flushTask = (): void => this.#flush();

  /** Hand queued SQEs to the ring; the ring submits them once per loop iteration. */
  #flush(): void {
    this.#flushScheduled = false;
    for (const [id, c] of this.#toStart.splice(0)) {
      c.starting = false;
      if (this.conns[id] === c && !c.sending) this.#sendNext(id, c);
    }
    if (this.#sqes.length === 0 || this.ring.closed) return;
    this.ring.queue(this.#sqes);
    this.#sqes.clear();
  }

  #onBatch(b: CqeBatch): void {
    const { tag, res, flags } = b;
    try {
      for (let i = 0; i < b.length; i++) {
        const t = tag[i]!;
        if (t >= TRACKED) continue;
        const id = t >>> 2;
        const kind = t & 3;
        if (kind === RECV) this.#onRecv(id, res[i]!, flags[i]!);
        else if (kind === ACCEPT) this.#onAccept(res[i]!, (flags[i]! & IORING_CQE_F_MORE) !== 0);
        else if (id !== LISTENER) this.#onCancel(id);
      }
      this.#events.batchEnd();
    } finally {
      // Views handed out in this batch are dead now: their buffers go back to the kernel (even when
      // a handler threw), except those a send of their own bytes holds until it ends.
      for (const bid of this.#batchBids) {
        if (this.#holds[bid] === 0) this.#recycle(bid);
        else this.#bufState[bid] = HELD;
      }
      this.#batchBids.length = 0;
    }
    this.#br.flush();
    this.#flush();
  }

  #onAccept(r: number, more: boolean): void {
    if (!more) this.#acceptArmed = false;
    if (r >= 0) {
      if (!this.#accepting) sys.close(r);
      else this.#open(r);
    } else if (r !== -errno.ECANCELED && this.#accepting) {
      this.#events.acceptError(errnoError(-r, "accept"));
    }
    if (this.#acceptArmed) return;
    if (!this.#accepting) return this.#closeListener();
    // After an error (EMFILE, …) an immediate re-arm would fail again at once.
    if (r < 0 && r !== -errno.ECANCELED) {
      this.#acceptRetry ??= setTimeout(() => {
        this.#acceptRetry = null;
        if (this.#accepting && !this.#acceptArmed) this.#armAccept();
      }, 50).unref();
    } else this.#armAccept();
  }

  #open(fd: number): void {
    const c: Conn = { fd, recvArmed: false, paused: false, eof: false, closing: false, cancels: 0, sending: false, inFlight: 0, starting: false, sends: [], shutdownPending: false, onSent: noop, onClosed: null };
    const id = this.add(c);
    c.onSent = (res) => this.#onSent(id, c, res);
    if (!this.#events.accept(id)) {
      this.remove(id);
      sys.close(fd);
      return;
    }
    if (!c.paused && !c.closing) this.#armRecv(id, c);
  }

  #onRecv(id: number, r: number, f: number): void {
    const c = this.conns[id];
    if (c === undefined) return;
    if ((f & IORING_CQE_F_MORE) === 0) c.recvArmed = false;
    if (r > 0) {
      const first = f >>> IORING_CQE_BUFFER_SHIFT;
      if (r <= this.#br.size) this.#received(id, c, first, r);
      else if (!this.#bundle(id, c, first, r)) return;
    } else if (r === 0) {
      c.eof = true;
      if (!c.closing) this.#events.end(id);
    } else if (r !== -errno.ENOBUFS && r !== -errno.ECANCELED && r !== -errno.EAGAIN) {
      // (ENOBUFS: every buffer is out; EAGAIN: see SOCK_CLOEXEC. Both re-arm below.)
      c.eof = true;
      if (!c.closing) this.#events.error(id, errnoError(-r, "read"));
    }
    if (!c.recvArmed) this.#afterRecv(id, c);
  }

  /** The receive request ended: close, or receive again. */
  #afterRecv(id: number, c: Conn): void {
    if (c.closing) this.#maybeClosed(id, c);
    else if (!c.paused && !c.eof) this.#armRecv(id, c);
  }

  /** Bytes in buffer `bid`: a view of them for this batch; the buffer goes back at its end. */
  #received(id: number, c: Conn, bid: number, length: number): void {
    this.#bufState[bid] = IN_BATCH;
    this.#batchBids.push(bid);
    if (!c.closing) this.#events.data(id, this.#br.view(bid, length));
  }

  /**
   * A bundled receive of `r` bytes: full buffers from `first` on in ring order, the last one partly
   * filled. False (the connection failed) when the ring's order here disagrees with the kernel's.
   */
  #bundle(id: number, c: Conn, first: number, r: number): boolean {
    const size = this.#br.size;
    const n = Math.ceil(r / size);
    const mask = this.#br.count - 1;
    const p = this.#position[first]!;
    let ok = this.#order[p & mask] === first && ((this.#tail - p) >>> 0) >= n;
    for (let k = 0; ok && k < n; k++) ok = this.#bufState[this.#order[(p + k) & mask]!] === IN_RING;
    if (!ok) {
      // Cannot happen while every buffer goes back through #recycle. Delivering bytes from the wrong
      // buffers would corrupt the stream: the connection fails instead, and bundles stop.
      this.#bundles = false;
      c.eof = true;
      if (!c.closing) this.#events.error(id, errnoError(errno.EIO, "read", "a bundled receive named buffers out of ring order"));
      if (!c.recvArmed) this.#afterRecv(id, c);
      return false;
    }
    this.multiBufferCqes++;
    for (let k = 0; k < n; k++) this.#received(id, c, this.#order[(p + k) & mask]!, Math.min(size, r - k * size));
    return true;
  }

  /** one receive may fill several buffers (IORING_RECVSEND_BUNDLE) */
  get bundles(): boolean {
    return this.#bundles;
  }

  #onCancel(id: number): void {
    const c = this.conns[id];
    if (c === undefined) return;
    c.cancels--;
    if (c.closing) this.#maybeClosed(id, c);
  }

  #armRecv(id: number, c: Conn): void {
    c.recvArmed = true;
    this.#push(IORING_OP.RECV, c.fd, (id << 2) | RECV, { bufGroup: this.#br.bgid, ioprio: this.#bundles ? IORING_RECV_MULTISHOT | IORING_RECVSEND_BUNDLE : IORING_RECV_MULTISHOT });
  }

  #armAccept(): void {
    this.#acceptArmed = true;
    this.#push(IORING_OP.ACCEPT, this.listenFd, (LISTENER << 2) | ACCEPT, { opFlags: SOCK_CLOEXEC, ioprio: IORING_ACCEPT_MULTISHOT });
  }

  #cancel(id: number, fd: number, flags: number, len = 0): void {
    this.#push(IORING_OP.ASYNC_CANCEL, fd, (id << 2) | CANCEL, { opFlags: flags, len });
  }

  startAccept(listenFd: number): void {
    this.listenFd = listenFd;
    this.#accepting = true;
    this.#armAccept();
  }

  stopAccept(): void {
    if (!this.#accepting) return;
    this.#accepting = false;
    if (this.#acceptRetry !== null) clearTimeout(this.#acceptRetry);
    this.#acceptRetry = null;
    // shutdown() stops a listening socket at once (new SYNs are refused, the armed accept ends), as
    // net's close() frees the port; the fd itself is closed once the accept request has ended.
    try {
      sys.shutdown(this.listenFd, 2);
    } catch {
      // not listening any more: nothing to stop
    }
    if (this.#acceptArmed) this.#cancel(LISTENER, this.listenFd, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL);
    else this.#closeListener();
  }

  #closeListener(): void {
    if (this.listenFd < 0) return;
    sys.close(this.listenFd);
    this.listenFd = -1;
    this.maybeDestroy();
  }

  pause(id: number): void {
    const c = this.conn(id);
    if (c.paused) return;
    c.paused = true;
    if (c.recvArmed && !c.closing) {
      c.cancels++;
      this.#cancel(id, c.fd, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_OP, IORING_OP.RECV);
    }
  }

  resume(id: number): void {
    const c = this.conn(id);
    if (!c.paused) return;
    c.paused = false;
    // A receive still being cancelled re-arms when its last CQE arrives.
    if (!c.recvArmed && !c.eof && !c.closing) this.#armRecv(id, c);
  }

  send(id: number, data: Uint8Array, cb: (err: Error | null) => void): void {
    const c = this.conn(id);
    let bid = -1;
    if (data.buffer === this.#br.buffer.buffer) {
      // A view of a buffer received in this batch (an echo): the buffer stays out of the ring until
      // the send ends, instead of a copy. Any other view (kept from an earlier batch, spanning
      // more than one buffer — the kernel could refill the others under the send — or too many
      // buffers held already, which would starve the receives) is copied.
      const at = data.byteOffset - this.#br.buffer.byteOffset;
      const b = Math.floor(at / this.#br.size);
      const within = at - b * this.#br.size + data.byteLength <= this.#br.size;
      if (within && this.#bufState[b] === IN_BATCH && this.#heldTotal < this.#br.count / HOLD_SHARE) {
        bid = b;
        this.#holds[b]!++;
        this.#heldTotal++;
      } else {
        data = Buffer.from(data);
      }
    }
    c.sends.push({ data, offset: 0, cb, bid });
    // Started at the flush (the SQE would wait for the loop's submit anyway), so that what else
    // this batch or turn sends the connection goes in the same send.
    if (!c.sending && !c.starting) {
      c.starting = true;
      this.#toStart.push([id, c]);
      this.#scheduleFlush();
    }
  }

  sendv(id: number, chunks: readonly Uint8Array[], cb: (err: Error | null) => void): void {
    // Queued together, they start at the flush as one vectored send (the stream fails as a whole,
    // so the last one's callback sees any error).
    for (let i = 0; i < chunks.length; i++) this.send(id, chunks[i]!, i === chunks.length - 1 ? cb : noop);
  }

  /**
   * The queued sends (up to SENDV_MAX) leave as one: a response written in pieces would otherwise
   * go out as several small segments, and Nagle holds each one after the first until the peer's
   * ACK, which the peer may delay by 40 ms. Several go as one IORING_OP_SENDMSG over all their
   * buffers (no copy; each stays pinned, and a held provided buffer held, until the CQE).
   */
  #sendNext(id: number, c: Conn): void {
    const s = c.sends[0];
    if (s === undefined || c.closing) {
      c.sending = false;
      if (c.closing) this.#maybeClosed(id, c);
      else if (c.shutdownPending) this.shutdownNow(c);
      return;
    }
    const n = Math.min(c.sends.length, SENDV_MAX);
    c.sending = true;
    c.inFlight = n;
    this.sendCalls++;
    let r: number;
    if (n === 1) {
      r = this.ring.sendWith(c.fd, s.data, s.offset, s.data.byteLength - s.offset, MSG_NOSIGNAL, c.onSent);
    } else {
      const bufs = this.#iov;
      for (let i = 0; i < n; i++) bufs[i] = c.sends[i]!.data;
      bufs.length = n;
      r = this.ring.sendvWith(c.fd, bufs, s.offset, MSG_NOSIGNAL, c.onSent);
      bufs.length = 0; // native code pins its own copy of the list
    }
    if (r < 0) queueMicrotask(() => c.onSent(r));
  }

  /**
   * The CQE of a connection's send: the sends the kernel took whole complete; a partial one
   * continues from the byte where the kernel stopped, before anything queued after it.
   */
  #onSent(id: number, c: Conn, res: number): void {
    c.sending = false;
    // Nothing was sent and nothing is wrong (see SOCK_CLOEXEC): the send goes again as a new
    // request, which io_uring parks on poll when the socket is still full.
    if (res === -errno.EAGAIN) res = 0;
    const n = c.inFlight;
    c.inFlight = 0;
    if (res < 0) {
      const e = errnoError(-res, "write");
      // The stream is broken: every queued send fails with it.
      const failed = c.sends.splice(0);
      for (const f of failed) this.#unhold(f);
      if (!c.closing) for (const f of failed) f.cb(e);
    } else {
      const done = taken(c.sends, n, res);
      const finished = c.sends.splice(0, done);
      for (const f of finished) this.#unhold(f);
      if (done < n && !c.closing) this.#sendNext(id, c);
      if (!c.closing) for (const f of finished) f.cb(null);
    }
    // the callback may have queued (and started) the next send itself
    if (!c.sending) this.#sendNext(id, c);
  }

  /** A send ended (or was copied): the buffer it went out of returns to the ring with its last send. */
  #unhold(s: Send): void {
    const bid = s.bid ?? -1;
    if (bid < 0) return;
    s.bid = -1;
    this.#heldTotal--;
    if (--this.#holds[bid]! === 0 && this.#bufState[bid] === HELD) this.#recycle(bid);
  }

  #recycle(bid: number): void {
    this.#bufState[bid] = IN_RING;
    if (this.#mirror) {
      // The ring's next position: the BufferRing hands buffers back in the order recycled.
      const t = this.#tail;
      this.#order[t & (this.#br.count - 1)] = bid;
      this.#position[bid] = t;
      this.#tail = (t + 1) >>> 0;
    }
    this.#br.recycle(bid);
  }

  protected busy(c: Conn): boolean {
    return c.sending;
  }

  close(id: number, cb: () => void): void {
    const c = this.conn(id);
    if (c.closing) return;
    // What was written before close() goes to the kernel ahead of the cancel, as if started at once
    // (net writes at once, so write() then destroy() still sends, e.g. an HTTP 400).
    if (c.starting && !c.sending) this.#sendNext(id, c);
    c.closing = true;
    c.onClosed = cb;
    if (c.recvArmed || c.sending) {
      c.cancels++;
      this.#cancel(id, c.fd, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL);
    }
    this.#maybeClosed(id, c);
  }

  /** The fd closes, and the id is reused, only once no request that names them is in flight. */
  #maybeClosed(id: number, c: Conn): void {
    if (c.recvArmed || c.sending || c.cancels > 0 || this.conns[id] !== c) return;
    // sends queued behind the one that ended never start
    for (const s of c.sends.splice(0)) this.#unhold(s);
    this.remove(id);
    this.closeFd(c.fd);
    const cb = c.onClosed;
    c.onClosed = null;
    if (cb !== null) process.nextTick(cb);
    this.maybeDestroy();
  }

  setRef(ref: boolean): void {
    if (this.ring.closed) return;
    if (ref) this.ring.ref();
    else this.ring.unref();
  }

  protected release(): void {
    // Not from inside the ring's own completion callback (close() drains the ring anyway).
    setImmediate(() => this.ring.close());
  }
}
