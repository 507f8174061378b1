// IoUring: one io_uring instance. Operations return Promises; SQEs queued in one loop iteration are
// submitted together, and every CQE found is handed to JS in one call per batch.
import { constants } from "node:buffer";
import { BufferRing, sharedBytes, type BufferRingOptions } from "../buffer-ring.js";
import { closedError, errnoError, invalidArgValue, stateError } from "../errors.js";
import { CqeBatch, SqeBatch } from "../uring-batch.js";
import {
  EXTRA,
  IORING_ACCEPT_MULTISHOT,
  IORING_ASYNC_CANCEL_ALL,
  IORING_ASYNC_CANCEL_ANY,
  IORING_ASYNC_CANCEL_FD,
  IORING_CQE_BUFFER_SHIFT,
  IORING_FSYNC_DATASYNC,
  IORING_OP,
  IORING_RECV_MULTISHOT,
  IOSQE_BUFFER_SELECT,
  TRACKED,
  errno,
} from "../uring-constants.js";
import { IORING_SETUP } from "../uring-probe.js";
import { MultishotIterator, type Lease, type Message } from "../uring-multishot.js";
import { MSG_TRUNC } from "../datagram-batch.js";
import { RecvBatches, type RecvBatch } from "../uring-recv-batch.js";
import type { NativeBufferRing, NativeRing } from "../native.js";
import * as validate from "../validate.js";
import { OP_KEYS, RANGE_KEYS, RW_KEYS, fdArg, optionsArg, positionArg, rangeArg, type Fd, type OpOptions, type RwOptions } from "./args.js";
import { Requests, noop } from "./requests.js";
import { openRing, type IoUringOptions, type IoUringSetup } from "./setup.js";

export interface CoalesceOptions {
  /** Completions one wake-up should carry, 2 or more. */
  minBatch: number;
  /** The longest a wake-up waits for them, in microseconds (1 to 100000). */
  maxWaitUs: number;
}

/** What recvmsg() resolves to. */
export interface ReceivedMessage {
  /** bytes stored in the buffer */
  bytes: number;
  /** the sender's IPv4 address and port */
  address: string;
  port: number;
  /** the datagram was longer than the buffer: the kernel stored `bytes` and discarded the rest */
  truncated: boolean;
}

export interface IoUringStats {
  /** times queued SQEs were handed to the kernel (one per loop iteration with work, or SQ full) */
  submits: number;
  /** multishot requests re-armed after the kernel ended them (ENOBUFS or no IORING_CQE_F_MORE) */
  rearms: number;
  /** multishot completions that found the buffer ring empty */
  enobufs: number;
  /** completion batches handed to JS by the event loop (wake-ups that found CQEs) */
  calls: number;
  /** CQEs in those batches */
  cqes: number;
  /** io_uring_enter calls: submits that entered the kernel, and get-events (DEFER_TASKRUN, IOPOLL, CQ overflow) */
  enters: number;
  /** reads of the eventfd that wakes the loop (DEFER_TASKRUN rings) */
  eventfdReads: number;
  /** wake-ups that found no CQE (no JS call) */
  emptyWakes: number;
  /** times the event loop found the ring ready (libuv's epoll_wait reported its fd) */
  wakeups: number;
  /**
   * extra get-events rounds inside a wake-up: with deferTaskrun, completion work that was queued
   * while the wake-up ran is reaped at once (one io_uring_enter) instead of on a new loop wake-up
   */
  rechecks: number;
}

export interface RecvBatchesOptions {
  /** stops the receiver (the iterator then rejects with an AbortError) */
  signal?: AbortSignal;
  /** receive with IORING_OP_RECVMSG: each datagram's sender address (batch.address(i), batch.port(i)) */
  addresses?: boolean;
  /** get each batch in this callback instead of iterating (valid until it returns) */
  onBatch?: (batch: RecvBatch) => void;
}

/** A buffer must go back to the kernel exactly once: a second add would hand it out twice. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

const MAX_LENGTH = constants.MAX_LENGTH;

// Why queue() refused a batch (native/ring_batch_rules.hpp).
const QUEUE_REFUSED: Record<number, string> = {
  [errno.EINVAL]: "an entry breaks the batch rules: an opcode outside BATCH_OPCODES, a flag outside BATCH_SQE_FLAGS, or a field its opcode does not take; nothing was queued",
  [errno.EFAULT]: "an entry's bufOffset + len is outside its registered buffer; nothing was queued",
};

export class IoUring implements Disposable {
  static readonly SETUP = IORING_SETUP;
  static readonly OP = IORING_OP;

  readonly setup: IoUringSetup;
  readonly #stats: IoUringStats = { submits: 0, rearms: 0, enobufs: 0, calls: 0, cqes: 0, enters: 0, eventfdReads: 0, emptyWakes: 0, wakeups: 0, rechecks: 0 };
  readonly #counters = new Float64Array(8);
  readonly #req: Requests;
  /** open buffer rings (close() detaches them); closed ones are dropped, not kept until the ring closes */
  #bufferRings: BufferRing[] = [];
  readonly #createdRings = new WeakSet<BufferRing>();
  #registeredBuffers: Uint8Array[] = [];
  // Native code holds this weakly while nothing is in flight, so the IoUring can be collected.
  readonly #onNative = (n: number): void => this.#req.complete(n, true);
  /** close() was called: resolves once the kernel has returned every CQE and the memory is released */
  #closing: Promise<void> | null = null;
  /** the native ring while it drains after close() */
  #draining: NativeRing | null = null;

  constructor(options: IoUringOptions = {}) {
    const { ring, setup, iopoll, tags, res, flags } = openRing(options);
    this.#req = new Requests(ring, tags, res, flags, iopoll);
    this.setup = setup;
    const r = ring.start(this.#onNative);
    if (r < 0) throw errnoError(-r, "io_uring_setup");
  }

  get closed(): boolean {
    return this.#req.ring === null;
  }

  /** Counters: submits, multishot re-arms and ENOBUFS, and what the wake-ups cost (kept after close). */
  get stats(): IoUringStats {
    const ring = this.#req.ring ?? this.#draining;
    if (ring !== null) this.#readCounters(ring);
    return this.#stats;
  }

  #readCounters(ring: NativeRing): void {
    ring.counters(this.#counters);
    const [submits, calls, cqes, enters, eventfdReads, emptyWakes, wakeups, rechecks] = this.#counters;
    Object.assign(this.#stats, { submits, calls, cqes, enters, eventfdReads, emptyWakes, wakeups, rechecks });
  }

  /**
   * Coalescing, for receivers that prefer fewer, fuller wake-ups: a wake-up that finds fewer than
   * `minBatch` completions waits up to `maxWaitUs` for more before calling JS (one io_uring_enter
   * with a timeout; the Node thread sleeps meanwhile). The wait ends after maxWaitUs at the latest
   * (the thread may then wait for its CPU); `null` turns it off (the default: no wait).
   */
  coalesce(options: CoalesceOptions | null): this {
    const ring = this.#req.open();
    if (options === null) {
      ring.setCoalesce(0, 0);
      return this;
    }
    validate.object("options", options);
    validate.knownKeys("options", options, ["minBatch", "maxWaitUs"]);
    const minBatch = validate.integer("options.minBatch", options.minBatch, 2, validate.INT32_MAX, "integer of at least 2");
    const maxWaitUs = validate.integer("options.maxWaitUs", options.maxWaitUs, 1, 100_000);
    const r = ring.setCoalesce(minBatch, maxWaitUs);
    if (r < 0) throw errnoError(-r, "io_uring coalesce", "needs IORING_FEAT_EXT_ARG (Linux 5.11)");
    return this;
  }

  /** Requests handed to the kernel whose final completion has not arrived (also while closing). */
  get inflight(): number {
    return (this.#req.ring ?? this.#draining)?.inflight() ?? 0;
  }

  /** IORING_OP_NOP: a round trip through the ring. */
  nop(options?: OpOptions): Promise<number> {
    optionsArg(options, OP_KEYS);
    return this.#req.op("io_uring nop", IORING_OP.NOP, -1, null, 0, 0, 0, 0, 0, options);
  }

  /** IORING_OP_READ into `buffer` from `position` (-1: current position). Resolves to bytes read. */
  read(fd: Fd, buffer: Uint8Array, options?: RwOptions): Promise<number> {
    optionsArg(options, RW_KEYS);
    const [f, sf] = fdArg(fd);
    const [offset, length] = rangeArg(buffer, options);
    return this.#req.op("io_uring read", IORING_OP.READ, f, buffer, offset, length, positionArg(options), 0, sf, options);
  }

  /** IORING_OP_WRITE from `buffer` at `position` (-1: current position). Resolves to bytes written. */
  write(fd: Fd, buffer: Uint8Array, options?: RwOptions): Promise<number> {
    optionsArg(options, RW_KEYS);
    const [f, sf] = fdArg(fd);
    const [offset, length] = rangeArg(buffer, options);
    return this.#req.op("io_uring write", IORING_OP.WRITE, f, buffer, offset, length, positionArg(options), 0, sf, options);
  }

  /** Register buffers for readFixed/writeFixed; they stay pinned until unregistered or closed. */
  registerBuffers(buffers: Uint8Array[]): void {
    const ring = this.#req.open();
    if (!Array.isArray(buffers) || buffers.length === 0) throw invalidArgValue("buffers", "non-empty array of Buffers", buffers);
    buffers.forEach((b, i) => {
      if (!(b instanceof Uint8Array) || b.byteLength === 0) throw invalidArgValue(`buffers[${i}]`, "non-empty Buffer or Uint8Array", b);
    });
    const r = ring.registerBuffers(buffers);
    if (r < 0) throw errnoError(-r, "io_uring_register_buffers");
    this.#registeredBuffers = buffers.slice();
  }

  unregisterBuffers(): void {
    const r = this.#req.open().unregisterBuffers();
    if (r < 0) throw errnoError(-r, "io_uring_unregister_buffers");
    this.#registeredBuffers = [];
  }

  #fixed(index: number, options: RwOptions | undefined): [Uint8Array, number, number] {
    this.#req.open(); // after close() the registered buffers are gone: say closed, not "none registered"
    const i = validate.integer("bufferIndex", index, 0, Math.max(0, this.#registeredBuffers.length - 1));
    const buffer = this.#registeredBuffers[i];
    if (buffer === undefined) throw stateError("no buffers are registered (registerBuffers)");
    const [offset, length] = rangeArg(buffer, options, `registered buffer ${i}`);
    return [buffer, offset, length];
  }

  /** IORING_OP_READ_FIXED into registered buffer `bufferIndex`. */
  readFixed(fd: Fd, bufferIndex: number, options?: RwOptions): Promise<number> {
    optionsArg(options, RW_KEYS);
    const [f, sf] = fdArg(fd);
    const [buffer, offset, length] = this.#fixed(bufferIndex, options);
    return this.#req.op("io_uring read_fixed", IORING_OP.READ_FIXED, f, buffer, offset, length, positionArg(options), 0, sf, options, EXTRA.none, undefined, undefined, undefined, bufferIndex);
  }

  /** IORING_OP_WRITE_FIXED from registered buffer `bufferIndex`. */
  writeFixed(fd: Fd, bufferIndex: number, options?: RwOptions): Promise<number> {
    optionsArg(options, RW_KEYS);
    const [f, sf] = fdArg(fd);
    const [buffer, offset, length] = this.#fixed(bufferIndex, options);
    return this.#req.op("io_uring write_fixed", IORING_OP.WRITE_FIXED, f, buffer, offset, length, positionArg(options), 0, sf, options, EXTRA.none, undefined, undefined, undefined, bufferIndex);
  }

  /** Register fds; ops then accept `{ fixed: index }` as the fd. */
  registerFiles(fds: number[]): void {
    const ring = this.#req.open();
    if (!Array.isArray(fds) || fds.length === 0) throw invalidArgValue("fds", "non-empty array of fds", fds);
    fds.forEach((fd, i) => validate.integer(`fds[${i}]`, fd, -1, validate.INT32_MAX, "fd or -1"));
    const r = ring.registerFiles(Int32Array.from(fds));
    if (r < 0) throw errnoError(-r, "io_uring_register_files");
  }

  unregisterFiles(): void {
    const r = this.#req.open().unregisterFiles();
    if (r < 0) throw errnoError(-r, "io_uring_unregister_files");
  }

  /** IORING_OP_FSYNC (datasync: IORING_FSYNC_DATASYNC). */
  fsync(fd: Fd, options?: OpOptions & { datasync?: boolean }): Promise<number> {
    optionsArg(options, [...OP_KEYS, "datasync"]);
    const [f, sf] = fdArg(fd);
    const datasync = options?.datasync === undefined ? false : validate.boolean("options.datasync", options.datasync);
    return this.#req.op("io_uring fsync", IORING_OP.FSYNC, f, null, 0, 0, 0, datasync ? IORING_FSYNC_DATASYNC : 0, sf, options);
  }

  /**
   * IORING_OP_RECV into `buffer`; `flags` are MSG_* flags. Resolves to bytes received. The CQE of a
   * recv carries no msg_flags, so a UDP datagram longer than the buffer is cut without a sign: use
   * recvmsg() (reports `truncated`), or pass `flags: MSG_TRUNC`, with which UDP resolves to the
   * datagram's full length (more than the buffer holds when it was cut; on TCP MSG_TRUNC discards data).
   */
  recv(fd: Fd, buffer: Uint8Array, options?: RwOptions & { flags?: number }): Promise<number> {
    optionsArg(options, [...RANGE_KEYS, "flags"]);
    const [f, sf] = fdArg(fd);
    const [offset, length] = rangeArg(buffer, options);
    const flags = options?.flags === undefined ? 0 : validate.uint32("options.flags", options.flags);
    return this.#req.op("io_uring recv", IORING_OP.RECV, f, buffer, offset, length, 0, flags, sf, options);
  }

  /** IORING_OP_SEND from `buffer`. Resolves to bytes sent. */
  send(fd: Fd, buffer: Uint8Array, options?: RwOptions & { flags?: number }): Promise<number> {
    optionsArg(options, [...RANGE_KEYS, "flags"]);
    const [f, sf] = fdArg(fd);
    const [offset, length] = rangeArg(buffer, options);
    const flags = options?.flags === undefined ? 0 : validate.uint32("options.flags", options.flags);
    return this.#req.op("io_uring send", IORING_OP.SEND, f, buffer, offset, length, 0, flags, sf, options);
  }

  /**
   * @internal IORING_OP_SEND whose completion goes to `onCqe(res)` instead of a Promise (the hot
   * path of ringpoll/net; arguments are trusted). Returns 0 or -errno (then nothing was queued).
   */
  sendWith(fd: number, buffer: Uint8Array, offset: number, length: number, flags: number, onCqe: (res: number) => void): number {
    return this.#req.opWith("io_uring send", IORING_OP.SEND, fd, buffer, offset, length, flags, onCqe);
  }

  /**
   * @internal One IORING_OP_SENDMSG over `buffers` (from `firstOffset` in the first, each later one
   * whole; at most IOV_MAX) whose completion goes to `onCqe(res)`: a vectored send with no copy.
   * Every buffer stays pinned until the CQE. Arguments are trusted (detached buffers refused by
   * the caller). Returns 0 or -errno (then nothing was queued).
   */
  sendvWith(fd: number, buffers: Uint8Array[], firstOffset: number, flags: number, onCqe: (res: number) => void): number {
    return this.#req.sendvWith(fd, buffers, firstOffset, flags, onCqe);
  }

  /**
   * @internal CQEs of untracked `tag` with a result >= 0 carry a new fd (a multishot accept): the
   * environment owns it from the moment it is reaped, so a worker terminated before JS saw it still
   * closes it.
   */
  ownFdResults(tag: number): void {
    this.#req.open().ownFdResults(tag);
  }

  /**
   * IORING_OP_RECVMSG (UDP): resolves to the bytes stored, the peer's IPv4 address, and whether the
   * datagram was longer than the buffer (`truncated`: the kernel cut it and discarded the rest;
   * MSG_TRUNC in the msg_flags it writes back).
   */
  recvmsg(fd: Fd, buffer: Uint8Array, options?: RwOptions): Promise<ReceivedMessage> {
    optionsArg(options, RANGE_KEYS);
    const [f, sf] = fdArg(fd);
    const [offset, length] = rangeArg(buffer, options);
    return this.#req.op("io_uring recvmsg", IORING_OP.RECVMSG, f, buffer, offset, length, 0, 0, sf, options, EXTRA.msgRecv, undefined, undefined, (bytes, tag) => {
      const a = (this.#req.ring ?? this.#draining)?.takeAddress(tag) ?? [0, "", 0];
      return { bytes, port: a[0], address: a[1], truncated: (a[2] & MSG_TRUNC) !== 0 };
    });
  }

  /** IORING_OP_SENDMSG (UDP) to `port` at IPv4 `host`. Resolves to bytes sent. */
  sendmsg(fd: Fd, buffer: Uint8Array, port: number, host = "127.0.0.1", options?: RwOptions): Promise<number> {
    optionsArg(options, RANGE_KEYS);
    const [f, sf] = fdArg(fd);
    const [offset, length] = rangeArg(buffer, options);
    validate.integer("port", port, 0, 65535);
    if (typeof host !== "string") throw invalidArgValue("host", "IPv4 address string", host);
    return this.#req.op("io_uring sendmsg", IORING_OP.SENDMSG, f, buffer, offset, length, 0, 0, sf, options, EXTRA.msgSend, port, host);
  }

  /** IORING_OP_ACCEPT: resolves to the new connection's fd (nonblocking, close-on-exec). */
  accept(fd: Fd, options?: OpOptions): Promise<number> {
    optionsArg(options, OP_KEYS);
    const [f, sf] = fdArg(fd);
    return this.#req.op("io_uring accept", IORING_OP.ACCEPT, f, null, 0, 0, 0, 0o4000 | 0o2000000, sf, options);
  }

  /** IORING_OP_CONNECT to `port` at IPv4 `host`. */
  connect(fd: Fd, port: number, host = "127.0.0.1", options?: OpOptions): Promise<number> {
    optionsArg(options, OP_KEYS);
    const [f, sf] = fdArg(fd);
    validate.integer("port", port, 0, 65535);
    if (typeof host !== "string") throw invalidArgValue("host", "IPv4 address string", host);
    return this.#req.op("io_uring connect", IORING_OP.CONNECT, f, null, 0, 0, 0, 0, sf, options, EXTRA.sockaddr, port, host);
  }

  /** IORING_OP_POLL_ADD: resolves to the ready mask (EPOLLIN, …) once `events` are ready. */
  pollAdd(fd: Fd, events: number, options?: OpOptions): Promise<number> {
    optionsArg(options, OP_KEYS);
    const [f, sf] = fdArg(fd);
    const mask = validate.mask("events", events);
    return this.#req.op("io_uring poll_add", IORING_OP.POLL_ADD, f, null, 0, 0, 0, mask, sf, options);
  }

  /** IORING_OP_TIMEOUT: resolves after `ms` milliseconds (the kernel's -ETIME is success here). */
  timeout(ms: number, options?: OpOptions): Promise<void> {
    optionsArg(options, OP_KEYS);
    validate.integer("ms", ms, 0, validate.INT32_MAX, "non-negative integer");
    const op = this.#req.op("io_uring timeout", IORING_OP.TIMEOUT, -1, null, 0, 0, 0, 0, 0, options, EXTRA.timespec, ms);
    const done = op.then(
      () => {},
      (err: { errno?: number }) => {
        if (err.errno !== -errno.ETIME) throw err;
      },
    );
    this.#req.alias(done, op);
    return done;
  }

  /**
   * IORING_OP_ASYNC_CANCEL: a request (a Promise an op returned), every request on an fd (`{ fd }`),
   * or every request (`{ all: true }`). Resolves to the number the kernel found: for a Promise, 1
   * (cancelled, or cancellation under way for a request already running) or 0 (it had already
   * completed). A cancelled request's Promise rejects with ECANCELED.
   */
  async cancel(target: Promise<unknown> | { fd: Fd } | { all: true }): Promise<number> {
    this.#req.open();
    if (target instanceof Promise) {
      const p = this.#req.requestOf(target);
      if (p === undefined) throw invalidArgValue("target", "a Promise returned by this IoUring", target);
      if (!this.#req.isPending(p)) return 0;
      p.cancelled = true;
      return this.#req.op("io_uring async_cancel", IORING_OP.ASYNC_CANCEL, -1, null, 0, 0, 0, 0, 0, undefined, EXTRA.userData, p.tag).then(
        () => 1,
        (e: { errno?: number }) => {
          if (e.errno === -errno.ENOENT) return 0;
          if (e.errno === -errno.EALREADY) return 1;
          throw e;
        },
      );
    }
    validate.object("target", target);
    if ("all" in target) {
      validate.knownKeys("target", target, ["all"]);
      if (target.all !== true) throw invalidArgValue("target.all", "true", target.all);
      return this.#req.op("io_uring async_cancel", IORING_OP.ASYNC_CANCEL, -1, null, 0, 0, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY, 0, undefined).catch(this.#none);
    }
    validate.knownKeys("target", target, ["fd"]);
    const [f, sf] = fdArg(target.fd);
    return this.#req.op("io_uring async_cancel", IORING_OP.ASYNC_CANCEL, f, null, 0, 0, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD, sf, undefined).catch(this.#none);
  }

  readonly #none = (e: { errno?: number }): number => {
    if (e.errno === -errno.ENOENT) return 0;
    throw e;
  };

  /** A provided buffer ring for multishot receives; the IoUring assigns its group id. */
  createBufferRing(options: BufferRingOptions): BufferRing {
    const ring = this.#req.open();
    validate.options("options", options, ["count", "size"]);
    const count = validate.integer("options.count", options.count, 1, 32768);
    if ((count & (count - 1)) !== 0) throw invalidArgValue("options.count", "power of two up to 32768", count);
    // The data area is one Uint8Array (bufferRing.buffer).
    const maxSize = Math.min(1 << 20, Math.floor(MAX_LENGTH / count));
    const size = validate.integer("options.size", options.size, 1, maxSize, `integer from 1 to ${maxSize} (count × size up to ${MAX_LENGTH} bytes)`);
    const data = sharedBytes(count * size, `${count} buffers of ${size} bytes`);
    const taken = new Set(this.#bufferRings.map((b) => b.bgid));
    // The lowest group id free here; EEXIST: a closed ring of that group still waits for its requests.
    let r: NativeBufferRing | number = -errno.EEXIST;
    let bgid = -1;
    while (r === -errno.EEXIST && bgid < 0xffff) {
      bgid++;
      if (!taken.has(bgid)) r = ring.createBufferRing(count, size, bgid, data);
    }
    if (typeof r === "number") throw errnoError(-r, "io_uring_register_buf_ring");
    const br = new BufferRing(r, bgid, count, size, data, this.#forget);
    this.#bufferRings.push(br);
    this.#createdRings.add(br);
    return br;
  }

  readonly #forget = (br: BufferRing): void => {
    this.#bufferRings = this.#bufferRings.filter((b) => b !== br);
  };

  #multishot<T>(syscall: string, bufferRing: BufferRing | null, arm: (tag: number) => number, toItem: (res: number, flags: number) => T, signal: AbortSignal | undefined): MultishotIterator<T> {
    this.#req.open();
    const it = new MultishotIterator<T>({
      syscall,
      bufferRing,
      stats: this.#stats,
      signal,
      arm: (onCqe) => {
        const ring = this.#req.ring;
        if (ring === null) return { tag: -1, error: closedError("IoUring") };
        const idx = this.#req.alloc({ multishot: true, syscall, resolve: noop, reject: noop, onCqe });
        const r = arm(TRACKED + idx);
        if (r < 0) {
          this.#req.release(idx);
          return { tag: -1, error: this.#req.prepError(r, syscall) };
        }
        return { tag: TRACKED + idx, error: null };
      },
      cancel: (tag) => this.#req.cancelTag(tag),
      toItem,
    });
    return it;
  }

  /**
   * Multishot IORING_OP_RECV selecting buffers from `bufferRing`: one request, a message per CQE.
   * Yields copies by default; with `lease: true`, views into the ring (see Lease). A UDP datagram
   * longer than a ring buffer is cut to its size and the CQE does not say so (a recv CQE carries
   * no msg_flags): for datagrams use recvmsgMultishot(), which reports `truncated`.
   */
  recvMultishot(fd: Fd, bufferRing: BufferRing, options: { lease: true; signal?: AbortSignal }): MultishotIterator<Lease>;
  recvMultishot(fd: Fd, bufferRing: BufferRing, options?: { lease?: false; signal?: AbortSignal }): MultishotIterator<Buffer>;
  recvMultishot(fd: Fd, bufferRing: BufferRing, options: { lease?: boolean; signal?: AbortSignal } = {}): MultishotIterator<Buffer> | MultishotIterator<Lease> {
    const [f, sf] = fdArg(fd);
    const { lease, signal } = this.#multishotOptions(bufferRing, options);
    return this.#multishot<Buffer | Lease>("io_uring recv", bufferRing, (tag) =>
      this.#req.ring!.prep(IORING_OP.RECV, f, null, 0, 0, 0, 0, sf | IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT, bufferRing.bgid, tag, EXTRA.none),
      (res, flags) => {
        const bid = flags >>> IORING_CQE_BUFFER_SHIFT;
        if (lease) return { data: bufferRing.view(bid, res), bid, release: once(() => bufferRing.recycle(bid)) } as Lease;
        const copy: Buffer = Buffer.from(bufferRing.view(bid, res));
        bufferRing.recycle(bid);
        return copy;
      },
      signal,
    ) as MultishotIterator<Buffer> | MultishotIterator<Lease>;
  }

  /**
   * Multishot IORING_OP_RECVMSG (UDP): yields { data, address, port, truncated } per datagram. Each
   * ring buffer holds a 16-byte io_uring_recvmsg_out header and the 16-byte address before the
   * payload, so a datagram longer than size - 32 bytes is cut: `truncated` (MSG_TRUNC in the
   * header's flags, which the kernel fills in from the receive's msg_flags) says so.
   */
  recvmsgMultishot(fd: Fd, bufferRing: BufferRing, options: { lease?: boolean; signal?: AbortSignal } = {}): MultishotIterator<Message> {
    const [f, sf] = fdArg(fd);
    const { lease, signal } = this.#multishotOptions(bufferRing, options);
    return this.#multishot<Message>("io_uring recvmsg", bufferRing, (tag) =>
      this.#req.ring!.prep(IORING_OP.RECVMSG, f, null, 0, 0, 0, 0, sf | IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT, bufferRing.bgid, tag, EXTRA.msgRecv),
      (res, flags) => {
        const bid = flags >>> IORING_CQE_BUFFER_SHIFT;
        const view = bufferRing.view(bid, res);
        // struct io_uring_recvmsg_out { u32 namelen, controllen, payloadlen, flags }, name, payload
        const namelen = view.readUInt32LE(0);
        const controllen = view.readUInt32LE(4);
        const payloadlen = view.readUInt32LE(8);
        const truncated = (view.readUInt32LE(12) & MSG_TRUNC) !== 0;
        const port = view.readUInt16BE(16 + 2);
        const address = `${view[20]}.${view[21]}.${view[22]}.${view[23]}`;
        const start = 16 + namelen + controllen;
        const payload = view.subarray(start, start + Math.min(payloadlen, res - start));
        if (lease) return { data: payload, address, port, truncated, bid, release: once(() => bufferRing.recycle(bid)) };
        const data: Buffer = Buffer.from(payload);
        bufferRing.recycle(bid);
        return { data, address, port, truncated };
      },
      signal,
    );
  }

  /**
   * Batch receive: one multishot receive per socket in `fds`, selecting buffers from `bufferRing`;
   * every datagram one completion pass brought comes as one RecvBatch (offsets, lengths, truncation
   * flags and source socket per datagram, views into the ring). Iterate it (`for await`), or pass
   * `onBatch` to get each batch in a callback. A batch is valid until the callback returns or the
   * iterator moves on; its buffers then go back to the kernel in one call. `addresses: true`
   * receives with IORING_OP_RECVMSG, so each datagram's sender is known (batch.address(i), port(i)).
   */
  recvBatches(fds: Fd | Fd[], bufferRing: BufferRing, options: RecvBatchesOptions = {}): RecvBatches {
    this.#req.open();
    const list = Array.isArray(fds) ? fds : [fds];
    if (list.length === 0) throw invalidArgValue("fds", "an fd or a non-empty array of fds", fds);
    const parsed = list.map((fd, i) => fdArg(fd, Array.isArray(fds) ? `fds[${i}]` : "fds"));
    this.#bufferRingArg(bufferRing);
    validate.options("options", options, ["signal", "addresses", "onBatch"]);
    const addresses = options.addresses === undefined ? false : validate.boolean("options.addresses", options.addresses);
    const onBatch = options.onBatch === undefined ? null : validate.func<(batch: RecvBatch) => void>("options.onBatch", options.onBatch);
    const signal = validate.abortSignal("options.signal", options.signal);
    const syscall = addresses ? "io_uring recvmsg" : "io_uring recv";
    const [opcode, extra, opFlags] = addresses ? [IORING_OP.RECVMSG, EXTRA.msgRecv, 0] : [IORING_OP.RECV, EXTRA.none, MSG_TRUNC];
    return new RecvBatches({
      syscall,
      count: parsed.length,
      bufferRing,
      addresses,
      stats: this.#stats,
      signal,
      onBatch,
      arm: (index, onCqe) => {
        const ring = this.#req.ring;
        if (ring === null) return { tag: -1, error: closedError("IoUring") };
        const idx = this.#req.alloc({ multishot: true, syscall, resolve: noop, reject: noop, onCqe });
        const [f, sf] = parsed[index]!;
        const r = ring.prep(opcode, f, null, 0, 0, 0, opFlags, sf | IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT, bufferRing.bgid, TRACKED + idx, extra);
        if (r < 0) {
          this.#req.release(idx);
          return { tag: -1, error: this.#req.prepError(r, syscall) };
        }
        return { tag: TRACKED + idx, error: null };
      },
      cancel: (tag) => this.#req.cancelTag(tag),
      afterPass: (fn) => this.#req.afterPass(fn),
      inWake: () => this.#req.nativePass,
    });
  }

  /** Multishot IORING_OP_ACCEPT: yields each new connection's fd. */
  acceptMultishot(fd: Fd, options: { signal?: AbortSignal } = {}): MultishotIterator<number> {
    const [f, sf] = fdArg(fd);
    validate.options("options", options, ["signal"]);
    const signal = validate.abortSignal("options.signal", options.signal);
    return this.#multishot("io_uring accept", null, (tag) =>
      this.#req.ring!.prep(IORING_OP.ACCEPT, f, null, 0, 0, 0, 0o4000 | 0o2000000, sf, IORING_ACCEPT_MULTISHOT, 0, tag, EXTRA.none),
      (res) => res,
      signal,
    );
  }

  #bufferRingArg(bufferRing: BufferRing): void {
    if (!(bufferRing instanceof BufferRing) || !this.#createdRings.has(bufferRing)) {
      throw invalidArgValue("bufferRing", "a BufferRing created by this IoUring", bufferRing);
    }
    bufferRing.requireOpen();
  }

  #multishotOptions(bufferRing: BufferRing, options: { lease?: boolean; signal?: AbortSignal }): { lease: boolean; signal: AbortSignal | undefined } {
    this.#req.open();
    this.#bufferRingArg(bufferRing);
    validate.options("options", options, ["lease", "signal"]);
    const lease = options.lease === undefined ? false : validate.boolean("options.lease", options.lease);
    return { lease, signal: validate.abortSignal("options.signal", options.signal) };
  }

  /**
   * Batch API: queue every SQE of `batch` in one native call (no Promise per op). Only opcodes in
   * BATCH_OPCODES and flags in BATCH_SQE_FLAGS are accepted, and data only from registered buffers
   * or buffer selection; a batch with any entry that breaks these rules queues nothing. Completions of
   * these tags arrive through onCompletions(). Returns how many were queued.
   */
  queue(batch: SqeBatch): number {
    const ring = this.#req.open();
    if (!(batch instanceof SqeBatch)) throw invalidArgValue("batch", "SqeBatch", batch);
    const r = ring.prepBatch(batch.length, batch.capacity, batch.table);
    if (r < 0) throw this.#req.prepError(r, "io_uring queue", QUEUE_REFUSED[-r]);
    return r;
  }

  /** Submit queued SQEs now (otherwise they go once per loop iteration). Returns the count. */
  submit(): number {
    const r = this.#req.open().submit();
    if (r < 0) throw errnoError(-r, "io_uring_enter");
    return r;
  }

  /**
   * Batch API: receive each completion batch (views valid until the callback returns). close()
   * cancels batch-API requests without handing their CQEs to the callback.
   */
  onCompletions(callback: ((batch: CqeBatch) => void) | null): void {
    this.#req.open();
    this.#req.onBatch = callback === null ? null : validate.func<(batch: CqeBatch) => void>("callback", callback);
  }

  /** Reap the CQEs that are ready now, synchronously (for code that drives its own loop). */
  reap(): CqeBatch {
    const n = this.#req.open().reap();
    if (n < 0) throw errnoError(-n, "io_uring reap");
    const batch = this.#req.cqeBatch(n);
    // Tracked requests (Promises) found here settle too.
    this.#req.complete(n);
    return batch;
  }

  /** Let the process exit while requests are in flight (like socket.unref()). */
  unref(): this {
    this.#req.open().setRef(false);
    return this;
  }

  ref(): this {
    this.#req.open().setRef(true);
    return this;
  }

  /**
   * Close without blocking the event loop: every request in flight is cancelled and close() returns
   * at once. Pending Promises settle as the kernel reports each one (ECANCELED when close() cancelled
   * it); the ring and every buffer it pinned are released when the last completion has arrived,
   * which the returned Promise (the same on every call) reports. Using the ring after close() throws.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    const ring = this.#req.ring!;
    this.#req.ring = null;
    // Batch-API requests end with the ring; their cancellations are not handed to onCompletions.
    this.#req.onBatch = null;
    this.#draining = ring;
    this.#closing = new Promise<void>((resolve) => {
      ring.close(() => {
        this.#readCounters(ring); // kept after close
        this.#draining = null;
        this.#req.cancelAll();
        resolve();
      });
    });
    for (const br of this.#bufferRings) br.detach();
    this.#bufferRings.length = 0;
    this.#registeredBuffers = [];
    return this.#closing;
  }

  [Symbol.dispose](): void {
    void this.close();
  }

  /** `await using ring = new IoUring()`: waits until the kernel is done with the ring's memory. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

export { SqeBatch, CqeBatch };
