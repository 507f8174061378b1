// Batch receive on the ring (IoUring.recvBatches): one multishot receive per socket, and every
// datagram one completion pass brought handed over as one RecvBatch — one callback or iterator
// step per batch, views into the buffer ring valid until that step ends, then every buffer of the
// batch goes back to the kernel in one call.
import type { BufferRing } from "./buffer-ring.js";
import { MSG_TRUNC } from "./datagram-batch.js";
import { abortError, errnoError } from "./errors.js";
import { IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, errno } from "./uring-constants.js";
import type { IoUringStats } from "./uring/io-uring.js";

// IORING_OP_RECVMSG multishot writes struct io_uring_recvmsg_out { u32 namelen, controllen,
// payloadlen, flags } at the start of the buffer, then the address, the control data, the payload.
const RECVMSG_OUT = 16;

/** The datagrams of one completion pass. Valid until the callback returns or the iterator moves on. */
export class RecvBatch {
  /** datagrams in this batch */
  length = 0;
  /** the buffer ring's data area (BufferRing.buffer): datagram i is buffer[offsets[i], offsets[i] + lengths[i]) */
  readonly buffer: Uint8Array;
  /** byte offset of each datagram's payload in `buffer` */
  readonly offsets: Uint32Array;
  /** bytes of each datagram in `buffer` (at most what fitted) */
  readonly lengths: Uint32Array;
  /** 1 when the datagram was longer than its buffer: `lengths[i]` bytes were kept, the rest dropped */
  readonly truncated: Uint8Array;
  /** index, in the fds given to recvBatches, of the socket each datagram came from */
  readonly sources: Uint32Array;
  /** @internal buffer id of each datagram */
  readonly bids: Uint16Array;
  /** @internal offset of each datagram's sockaddr_in in `buffer` (addresses: true), else null */
  readonly names: Uint32Array | null;

  /** @internal */
  constructor(buffer: Uint8Array, capacity: number, addresses: boolean) {
    this.buffer = buffer;
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.truncated = new Uint8Array(capacity);
    this.sources = new Uint32Array(capacity);
    this.bids = new Uint16Array(capacity);
    this.names = addresses ? new Uint32Array(capacity) : null;
  }

  /** Datagram `i` as a Buffer view (no copy: copy it to keep it past this step). */
  data(i: number): Buffer {
    return Buffer.from(this.buffer.buffer, this.buffer.byteOffset + this.offsets[i]!, this.lengths[i]!);
  }

  /** The sender's UDP port (recvBatches with `addresses: true`). */
  port(i: number): number {
    const o = this.#name(i) + 2;
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!;
  }

  /** The sender's IPv4 address (recvBatches with `addresses: true`). */
  address(i: number): string {
    const b = this.buffer;
    const o = this.#name(i) + 4;
    return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  }

  #name(i: number): number {
    if (this.names === null) throw new TypeError("recvBatches was called without { addresses: true }: no sender addresses");
    if (!(i >= 0 && i < this.length)) throw new RangeError(`datagram index ${i} is outside this batch (length ${this.length})`);
    return this.names[i]!;
  }
}

/** @internal what IoUring lends a RecvBatches */
export interface RecvBatchHooks {
  syscall: string;
  count: number;
  bufferRing: BufferRing;
  addresses: boolean;
  stats: IoUringStats;
  signal: AbortSignal | undefined;
  onBatch: ((batch: RecvBatch) => void) | null;
  /** arm the multishot receive of fds[index]; -1 and an error when it could not be queued */
  arm(index: number, onCqe: (res: number, flags: number) => void): { tag: number; error: Error | null };
  cancel(tag: number): void;
  afterPass(fn: () => void): void;
  /** true while the pass running was delivered by the ring's wake-up (its buffers can go back after it) */
  inWake(): boolean;
}

const ARMED = 0;
const NO_BUFFERS = 1;
const ENDED = 2;

/**
 * The receiver behind IoUring.recvBatches: an async iterator of RecvBatch, or (with `onBatch`) a
 * callback per batch. Stops on return()/stop(), abort, or when the ring closes.
 */
export class RecvBatches implements AsyncIterableIterator<RecvBatch> {
  readonly #h: RecvBatchHooks;
  readonly #tags: Int32Array;
  readonly #state: Uint8Array;
  readonly #onCqe: Array<(res: number, flags: number) => void> = [];
  #filling: RecvBatch;
  #spare: RecvBatch | null;
  #delivered: RecvBatch | null = null;
  #ended = 0;
  /** sockets whose receive ended for want of buffers (NO_BUFFERS): re-armed after a step */
  #starved = 0;
  #scheduled = false;
  #finished = false;
  #error: unknown = null;
  #waiter: { resolve: (r: IteratorResult<RecvBatch>) => void; reject: (e: unknown) => void } | null = null;
  readonly #onAbort: (() => void) | null = null;
  readonly #closed: Promise<void>;
  #settleClosed!: (err: unknown) => void;
  readonly #passEnd = (): void => this.#endOfPass();

  /** @internal created by IoUring.recvBatches */
  constructor(hooks: RecvBatchHooks) {
    this.#h = hooks;
    const br = hooks.bufferRing;
    // Every datagram held holds a buffer: a batch never has more entries than the ring has buffers.
    this.#filling = new RecvBatch(br.buffer, br.count, hooks.addresses);
    this.#spare = new RecvBatch(br.buffer, br.count, hooks.addresses);
    this.#tags = new Int32Array(hooks.count).fill(-1);
    this.#state = new Uint8Array(hooks.count);
    this.#closed = new Promise<void>((resolve, reject) => {
      this.#settleClosed = (err) => (err === null ? resolve() : reject(err));
    });
    br.users++;
    if (hooks.signal) {
      if (hooks.signal.aborted) {
        this.#finish(abortError(hooks.signal));
        return;
      }
      this.#onAbort = () => this.#finish(abortError(hooks.signal!));
      hooks.signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    for (let i = 0; i < hooks.count && !this.#finished; i++) {
      this.#onCqe.push((res, flags) => this.#cqe(i, res, flags));
      this.#arm(i);
    }
  }

  /**
   * Callback form: resolves when the receiver stops (stop(), abort, the ring closed); rejects with
   * the error a receive failed with.
   */
  get closed(): Promise<void> {
    return this.#closed;
  }

  #arm(i: number): void {
    const { tag, error } = this.#h.arm(i, this.#onCqe[i]!);
    if (error) return this.#fail(error);
    this.#tags[i] = tag;
    if (this.#state[i] === NO_BUFFERS) this.#starved--;
    this.#state[i] = ARMED;
  }

  #cqe(i: number, res: number, flags: number): void {
    const more = (flags & IORING_CQE_F_MORE) !== 0;
    if (!more) this.#tags[i] = -1;
    if ((flags & IORING_CQE_F_BUFFER) !== 0) {
      const bid = flags >>> IORING_CQE_BUFFER_SHIFT;
      if (this.#finished) this.#h.bufferRing.recycle(bid); // arrived after the consumer stopped
      else this.#add(i, bid, res);
    } else if (res === -errno.ENOBUFS) {
      this.#h.stats.enobufs++;
      if (this.#state[i] !== NO_BUFFERS) this.#starved++;
      this.#state[i] = NO_BUFFERS;
    } else if (res === -errno.ECANCELED) {
      if (this.#state[i] === NO_BUFFERS) this.#starved--;
      this.#state[i] = ENDED;
      this.#ended++;
    } else if (res === -errno.ECONNREFUSED) {
      // A connected UDP socket reports an ICMP port-unreachable once; it can still receive.
    } else if (res < 0 && !this.#finished && this.#error === null) {
      this.#error = errnoError(-res, this.#h.syscall);
    }
    if (!more && !this.#finished && this.#state[i] === ARMED && this.#error === null) {
      // The kernel ended the request (e.g. CQ overflow): receive again at once.
      this.#h.stats.rearms++;
      this.#arm(i);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#h.afterPass(this.#passEnd);
    }
  }

  #add(source: number, bid: number, res: number): void {
    const b = this.#filling;
    const n = b.length++;
    const size = this.#h.bufferRing.size;
    const offset = bid * size;
    b.bids[n] = bid;
    b.sources[n] = source;
    if (b.names === null) {
      // Received with MSG_TRUNC: res is the datagram's length, even when the buffer held less.
      b.offsets[n] = offset;
      b.lengths[n] = res < size ? res : size;
      b.truncated[n] = res > size ? 1 : 0;
      return;
    }
    const v = this.#h.bufferRing.buffer;
    const u32 = (o: number): number => (v[o]! | (v[o + 1]! << 8) | (v[o + 2]! << 16) | (v[o + 3]! << 24)) >>> 0;
    const start = RECVMSG_OUT + u32(offset) + u32(offset + 4); // after namelen + controllen bytes
    b.names[n] = offset + RECVMSG_OUT;
    b.offsets[n] = offset + start;
    b.lengths[n] = Math.max(0, Math.min(u32(offset + 8), res - start));
    b.truncated[n] = (u32(offset + 12) & MSG_TRUNC) !== 0 ? 1 : 0; // the kernel's msg_flags
  }

  #endOfPass(): void {
    this.#scheduled = false;
    if (this.#finished) return;
    const cb = this.#h.onBatch;
    if (cb !== null) {
      const batch = this.#filling;
      try {
        if (batch.length > 0) cb(batch);
      } finally {
        this.#recycle(batch, this.#h.inWake());
        this.#afterStep();
      }
      return;
    }
    if (this.#waiter !== null && this.#filling.length > 0) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve({ done: false, value: this.#handOver() });
      return;
    }
    if (this.#waiter !== null) this.#afterStep();
  }

  /** After a step: re-arm sockets that ran out of buffers, and end when nothing more can come. */
  #afterStep(): void {
    if (this.#finished) return;
    if (this.#error !== null) return this.#fail(this.#error);
    if (this.#starved > 0) this.#rearmStarved();
    if (this.#ended === this.#state.length && this.#filling.length === 0) this.#finish(null);
  }

  /** Re-arm the sockets that ran out of buffers, while the batches held leave some free. */
  #rearmStarved(): void {
    const held = this.#filling.length + (this.#delivered?.length ?? 0);
    for (let i = 0; this.#starved > 0 && i < this.#state.length; i++) {
      if (this.#state[i] === NO_BUFFERS && held < this.#h.bufferRing.count) {
        this.#h.stats.rearms++;
        this.#arm(i);
      }
    }
  }

  #handOver(): RecvBatch {
    const b = this.#filling;
    this.#filling = this.#spare!;
    this.#spare = null;
    this.#delivered = b;
    return b;
  }

  #recycle(b: RecvBatch, afterPass = false): void {
    if (afterPass) this.#h.bufferRing.recycleAfterPass(b.bids, b.length);
    else if (b.length > 0) this.#h.bufferRing.recycleAll(b.bids, b.length);
    b.length = 0;
  }

  #releaseDelivered(): void {
    const d = this.#delivered;
    if (d === null) return;
    this.#delivered = null;
    this.#recycle(d);
    this.#spare = d;
  }

  #fail(err: unknown): void {
    this.#finish(err);
  }

  /** Stop: cancel every receive, give every held buffer back, settle the waiter and `closed`. */
  #finish(err: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#error = null;
    const h = this.#h;
    if (this.#onAbort) h.signal!.removeEventListener("abort", this.#onAbort);
    for (let i = 0; i < this.#tags.length; i++) {
      if (this.#tags[i]! >= 0) h.cancel(this.#tags[i]!);
      this.#tags[i] = -1;
    }
    this.#releaseDelivered();
    this.#recycle(this.#filling);
    h.bufferRing.users = Math.max(0, h.bufferRing.users - 1);
    const w = this.#waiter;
    this.#waiter = null;
    if (w !== null) {
      if (err === null) w.resolve({ done: true, value: undefined });
      else w.reject(err);
    } else if (err !== null) {
      this.#error = err; // for the next next()
    }
    this.#settleClosed(h.onBatch !== null && err !== null && !isAbort(err) ? err : null);
  }

  next(): Promise<IteratorResult<RecvBatch>> {
    if (this.#h.onBatch !== null) return Promise.reject(new TypeError("recvBatches was given onBatch: batches go to the callback, not the iterator"));
    this.#releaseDelivered();
    if (!this.#finished && this.#filling.length > 0) return Promise.resolve({ done: false, value: this.#handOver() });
    this.#afterStep();
    if (this.#finished) {
      const err = this.#error;
      this.#error = null;
      return err !== null ? Promise.reject(err) : Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Stop receiving: cancels the kernel requests and returns every held buffer. */
  return(): Promise<IteratorResult<RecvBatch>> {
    this.#finish(null);
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Stop receiving (the callback form's name for return()). */
  stop(): void {
    this.#finish(null);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function isAbort(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "AbortError";
}
