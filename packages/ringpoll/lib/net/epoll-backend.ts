// The epoll backend (where io_uring is refused): ringpoll's own Epoll over nonblocking sockets,
// level-triggered; the same contract as the io_uring backend (see backend.ts).
import { EPOLLIN, EPOLLOUT, EPOLLRDHUP, Epoll, type EpollBatch } from "../epoll.js";
import * as sys from "../sys.js";
import type { Backend, BackendEvents } from "./backend.js";
import { Connections, SENDV_MAX, taken, type BaseConn } from "./connections.js";

// Received bytes of one batch live in this arena until batchEnd() returns.
const ARENA = 256 * 1024;
const MIN_READ = 16 * 1024;
/** reads per connection per batch, so one busy peer cannot starve the others */
const READS_PER_BATCH = 4;
/** connections accepted per batch at most */
const ACCEPTS_PER_BATCH = 64;
const MSG_DONTWAIT = 0x40;
const noop = (): void => {};
const MSG_NOSIGNAL = 0x4000;

interface Conn extends BaseConn {
  /** events the epoll watches now (0: not in the epoll) */
  mask: number;
  paused: boolean;
  flushing: boolean;
  /** has sends queued during this batch, sent when it ends */
  deferred: boolean;
}

export class EpollBackend extends Connections<Conn> implements Backend {
  readonly name = "epoll" as const;
  readonly #ep = new Epoll({ maxEvents: 1024 });
  readonly #events: BackendEvents;
  readonly #arena = Buffer.allocUnsafeSlow(ARENA);
  #used = 0;
  /** what the server asks (setRef) */
  #wantRef = true;
  #refed = true;
  /** connections in the epoll: receiving or waiting to send (the io_uring backend's "in flight") */
  #watched = 0;
  /** the buffers of one vectored send */
  readonly #iov: Uint8Array[] = [];
  /** @internal send syscalls made (one per write or sendmsg) */
  sendCalls = 0;
  /** inside a batch: sends wait for its end (see #kick) */
  #inBatch = false;
  /** ids of the connections with deferred sends (a closed one's id may be reused meanwhile) */
  readonly #deferred: number[] = [];

  constructor(events: BackendEvents) {
    super();
    this.#events = events;
    this.#ep.start((b) => this.#onBatch(b));
  }

  #onBatch(b: EpollBatch): void {
    this.#used = 0;
    this.#inBatch = true;
    try {
      this.#deliver(b);
    } finally {
      this.#inBatch = false;
      this.#sendDeferred();
    }
  }

  #deliver(b: EpollBatch): void {
    for (let i = 0; i < b.length; i++) {
      const token = b.data[i]!;
      if (token === 0) {
        this.#acceptSome();
        continue;
      }
      const id = token - 1;
      const c = this.conns[id];
      if (c === undefined) continue;
      const ev = b.events[i]!;
      if ((ev & EPOLLOUT) !== 0 || (c.sends.length > 0 && (ev & ~EPOLLIN) !== 0)) this.#flushSends(id, c);
      if (this.conns[id] === c && !c.paused && !c.eof) this.#readSome(id, c);
    }
    this.#events.batchEnd();
  }

  #acceptSome(): void {
    for (let n = 0; n < ACCEPTS_PER_BATCH && this.listenFd >= 0; n++) {
      let fd: number | null;
      try {
        fd = sys.accept(this.listenFd, true);
      } catch (err) {
        this.#events.acceptError(err as Error);
        return;
      }
      if (fd === null) return;
      const c: Conn = { fd, mask: 0, paused: false, eof: false, sends: [], flushing: false, deferred: false, shutdownPending: false };
      const id = this.add(c);
      if (!this.#events.accept(id)) {
        this.remove(id);
        sys.close(fd);
        continue;
      }
      if (this.conns[id] === c) this.#watch(id, c);
    }
  }

  #readSome(id: number, c: Conn): void {
    for (let n = 0; n < READS_PER_BATCH; n++) {
      if (ARENA - this.#used < MIN_READ) return; // the rest next batch (level-triggered)
      const off = this.#used;
      let r: number | null;
      try {
        r = sys.read(c.fd, this.#arena, off, ARENA - off);
      } catch (err) {
        c.eof = true;
        this.#watch(id, c);
        this.#events.error(id, err as Error);
        return;
      }
      if (r === null) return;
      if (r === 0) {
        c.eof = true;
        this.#watch(id, c);
        this.#events.end(id);
        return;
      }
      this.#used += r;
      this.#events.data(id, this.#arena.subarray(off, off + r));
      if (this.conns[id] !== c || c.paused) return;
    }
  }

  /** Watch what the connection needs now; out of the epoll when nothing (EPOLLHUP would spin). */
  #watch(id: number, c: Conn): void {
    if (this.conns[id] !== c) return; // closed by a callback meanwhile
    const want = (c.paused || c.eof ? 0 : EPOLLIN | EPOLLRDHUP) | (c.sends.length > 0 ? EPOLLOUT : 0);
    if (want === c.mask) return;
    if (want === 0) this.#ep.remove(c.fd);
    else if (c.mask === 0) this.#ep.add(c.fd, want, id + 1);
    else this.#ep.modify(c.fd, want, id + 1);
    if ((want === 0) !== (c.mask === 0)) this.#watched += want === 0 ? -1 : 1;
    c.mask = want;
    this.#updateRef();
  }

  /**
   * Like libuv's handles: the loop stays alive while the listener accepts or a connection receives
   * or waits to send, not for a connection with nothing to do (ended, or paused by a full reader).
   */
  #updateRef(): void {
    const ref = this.#wantRef && (this.listenFd >= 0 || this.#watched > 0);
    if (ref === this.#refed || this.#ep.closed) return;
    this.#refed = ref;
    if (ref) this.#ep.ref();
    else this.#ep.unref();
  }

  startAccept(listenFd: number): void {
    this.listenFd = listenFd;
    this.#ep.add(listenFd, EPOLLIN, 0);
    this.#updateRef();
  }

  stopAccept(): void {
    if (this.listenFd < 0) return;
    this.#ep.remove(this.listenFd);
    sys.close(this.listenFd);
    this.listenFd = -1;
    this.#updateRef();
    this.maybeDestroy();
  }

  pause(id: number): void {
    const c = this.conn(id);
    c.paused = true;
    this.#watch(id, c);
  }

  resume(id: number): void {
    const c = this.conn(id);
    c.paused = false;
    this.#watch(id, c);
  }

  send(id: number, data: Uint8Array, cb: (err: Error | null) => void): void {
    const c = this.conn(id);
    this.#queue(c, data, cb);
    if (c.sends.length === 1) this.#kick(id, c);
  }

  sendv(id: number, chunks: readonly Uint8Array[], cb: (err: Error | null) => void): void {
    const c = this.conn(id);
    const idle = c.sends.length === 0;
    for (let i = 0; i < chunks.length; i++) this.#queue(c, chunks[i]!, i === chunks.length - 1 ? cb : noop);
    if (idle && c.sends.length > 0) this.#kick(id, c);
  }

  /**
   * Sends made while a batch is delivered leave when it ends, a connection's together as one
   * sendmsg() (as the io_uring backend submits once per batch): a response sent in pieces would
   * otherwise go out as several segments, and Nagle holds each after the first until the peer's
   * ACK, which the peer may delay by 40 ms. Outside a batch (a timer, a callback) they leave at once.
   */
  #kick(id: number, c: Conn): void {
    if (!this.#inBatch) return this.#flushSends(id, c);
    if (c.deferred) return;
    c.deferred = true;
    this.#deferred.push(id);
  }

  #sendDeferred(): void {
    // (a send's callback may queue more: outside the batch now, that one leaves at once)
    for (let i = 0; i < this.#deferred.length; i++) {
      const id = this.#deferred[i]!;
      const c = this.conns[id];
      if (c === undefined || !c.deferred) continue;
      c.deferred = false;
      this.#flushSends(id, c);
    }
    this.#deferred.length = 0;
  }

  #queue(c: Conn, data: Uint8Array, cb: (err: Error | null) => void): void {
    // A view of the arena is overwritten by the next batch: a send that waits needs a copy.
    if (data.buffer === this.#arena.buffer) data = Buffer.from(data);
    c.sends.push({ data, offset: 0, cb });
  }

  /**
   * Send what is queued until the kernel's buffer is full: several queued sends go in one
   * sendmsg() over all their buffers (no copy); a partial send continues from the byte where the
   * kernel stopped.
   */
  #flushSends(id: number, c: Conn): void {
    if (c.flushing) return;
    c.flushing = true;
    for (;;) {
      const s = c.sends[0];
      if (s === undefined) break;
      const n = Math.min(c.sends.length, SENDV_MAX);
      let r: number | null;
      this.sendCalls++;
      try {
        if (n === 1) r = sys.write(c.fd, s.data, s.offset, s.data.byteLength - s.offset);
        else {
          const bufs = this.#iov;
          for (let i = 0; i < n; i++) bufs[i] = c.sends[i]!.data;
          bufs.length = n;
          try {
            r = sys.sendv(c.fd, bufs, s.offset, MSG_NOSIGNAL | MSG_DONTWAIT);
          } finally {
            bufs.length = 0;
          }
        }
      } catch (err) {
        const failed = c.sends.splice(0);
        for (const f of failed) f.cb(err as Error);
        if (this.conns[id] !== c) return;
        break;
      }
      if (r === null) break; // EPOLLOUT tells when there is room
      for (const f of c.sends.splice(0, taken(c.sends, n, r))) {
        f.cb(null);
        if (this.conns[id] !== c) return;
      }
    }
    c.flushing = false;
    if (c.sends.length === 0 && c.shutdownPending) this.shutdownNow(c);
    this.#watch(id, c);
  }

  protected busy(c: Conn): boolean {
    return c.flushing;
  }

  close(id: number, cb: () => void): void {
    const c = this.conns[id];
    if (c === undefined) return;
    if (c.deferred) {
      // What was sent before close() goes out first, as if sent at once (e.g. an HTTP 400).
      c.deferred = false;
      this.#flushSends(id, c);
      // a send's callback may have closed it meanwhile
      if (this.conns[id] !== c) return process.nextTick(cb);
    }
    this.remove(id);
    if (c.mask !== 0) {
      this.#ep.remove(c.fd);
      this.#watched--;
      this.#updateRef();
    }
    this.closeFd(c.fd);
    c.sends.length = 0;
    process.nextTick(cb);
    this.maybeDestroy();
  }

  setRef(ref: boolean): void {
    this.#wantRef = ref;
    this.#updateRef();
  }

  protected release(): void {
    this.#ep.close();
  }
}
