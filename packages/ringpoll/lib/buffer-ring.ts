// A provided buffer ring: the kernel picks a free buffer for each received message. Buffers go
// back to the kernel in batches (one native call per flush), never one call per packet.
import { closedError, errnoError, stateError } from "./errors.js";
import type { NativeBufferRing } from "./native.js";
import { errno } from "./uring-constants.js";
import * as validate from "./validate.js";

export interface BufferRingOptions {
  /** number of buffers, a power of two up to 32768 */
  count: number;
  /** bytes per buffer */
  size: number;
}

/** `bytes` of zeroed shared memory (not detachable); ENOMEM when the allocation fails. */
export function sharedBytes(bytes: number, what: string): Uint8Array {
  try {
    return new Uint8Array(new SharedArrayBuffer(bytes));
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw errnoError(errno.ENOMEM, "io_uring_register_buf_ring", `cannot allocate ${bytes} bytes for ${what}`);
  }
}

export class BufferRing {
  /** buffer group id the kernel knows this ring by (assigned by the IoUring) */
  readonly bgid: number;
  readonly count: number;
  readonly size: number;
  /**
   * The whole data area; buffer `bid` is bytes [bid*size, (bid+1)*size). A SharedArrayBuffer: it
   * cannot be transferred or detached, so the kernel never writes into memory JS gave away.
   */
  readonly buffer: Uint8Array;
  #native: NativeBufferRing | null;
  readonly #onClose: (br: BufferRing) => void;
  readonly #pending: Uint16Array;
  #pendingCount = 0;
  /** recycled during a completion pass; native code hands them back when the pass's JS call returns */
  readonly #queue: Uint16Array;
  readonly #queued: Int32Array;
  #flushScheduled = false;
  /** multishot requests currently selecting from this ring */
  users = 0;

  /** @internal created by IoUring.createBufferRing */
  constructor(native: NativeBufferRing, bgid: number, count: number, size: number, data: Uint8Array, onClose: (br: BufferRing) => void) {
    this.#native = native;
    this.#onClose = onClose;
    this.bgid = bgid;
    this.count = count;
    this.size = size;
    this.buffer = data;
    this.#pending = new Uint16Array(count);
    this.#queue = new Uint16Array(sharedBytes(count * 2, "the recycle queue").buffer);
    this.#queued = new Int32Array(sharedBytes(4, "the recycle queue").buffer);
    const r = native.setRecycleQueue(this.#queue, this.#queued);
    if (r < 0) throw errnoError(-r, "io_uring buf_ring_add");
  }

  get closed(): boolean {
    return this.#native === null;
  }

  /** A view of buffer `bid`'s first `length` bytes (valid until the buffer is recycled). */
  view(bid: number, length: number): Buffer {
    return Buffer.from(this.buffer.buffer, this.buffer.byteOffset + bid * this.size, length);
  }

  /** Give buffer `bid` back to the kernel (batched: flushed before the loop next waits). */
  recycle(bid: number): void {
    validate.integer("bid", bid, 0, this.count - 1);
    if (this.#native === null) return;
    this.#pending[this.#pendingCount++] = bid;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Hand every recycled buffer back to the kernel now, in one call. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#native === null || this.#pendingCount === 0) return;
    const r = this.#native.recycle(this.#pending, this.#pendingCount);
    this.#pendingCount = 0;
    if (r < 0) throw errnoError(-r, "io_uring buf_ring_add");
  }

  /** @internal give `count` buffers (ids from `bids`, checked by the caller) back in one native call */
  recycleAll(bids: Uint16Array, count: number): void {
    this.flush();
    if (this.#native === null || count === 0) return;
    const r = this.#native.recycle(bids, count);
    if (r < 0) throw errnoError(-r, "io_uring buf_ring_add");
  }

  /**
   * @internal like recycleAll, from inside a completion pass the ring's wake-up delivered: the
   * buffers go back when that JS call returns, without a native call of their own.
   */
  recycleAfterPass(bids: Uint16Array, count: number): void {
    const q = this.#queued[0]!;
    if (this.#native === null || q + count > this.count) return this.recycleAll(bids, count);
    const queue = this.#queue;
    for (let i = 0; i < count; i++) queue[q + i] = bids[i]!;
    this.#queued[0] = q + count;
  }

  /**
   * Buffers the kernel can pick now (recycled ones flushed first): `count` when none is held.
   * Needs Linux 6.8 (IORING_REGISTER_PBUF_STATUS); EINVAL before.
   */
  available(): number {
    this.requireOpen();
    this.flush();
    const r = this.#native!.available();
    if (r < 0) throw errnoError(-r, "io_uring_register_pbuf_status");
    return r;
  }

  /** @internal the IoUring unregisters its rings when it closes */
  detach(): void {
    this.#native = null;
  }

  /**
   * Unregister from the kernel; the memory is released as soon as no request that may select from
   * it is in flight (batch-API ones included). Refused while a multishot iterator uses it.
   */
  close(): void {
    const n = this.#native;
    if (n === null) return;
    if (this.users > 0) throw stateError("BufferRing is in use by a multishot request");
    const r = n.unregister();
    if (r < 0) throw errnoError(-r, "io_uring_unregister_buf_ring");
    this.#native = null;
    this.#onClose(this);
  }

  /** @internal */
  requireOpen(): void {
    if (this.#native === null) throw closedError("BufferRing");
  }
}
