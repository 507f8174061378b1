// The async iterator behind recvMultishot / recvmsgMultishot / acceptMultishot: one kernel request
// yields many CQEs; it is re-armed transparently when the kernel ends it (ENOBUFS, no F_MORE) and
// cancelled when the consumer stops.
import type { BufferRing } from "./buffer-ring.js";
import { abortError, errnoError } from "./errors.js";
import { IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, errno } from "./uring-constants.js";
import type { IoUringStats } from "./uring/io-uring.js";

/**
 * A view into a buffer ring, valid until released. It goes back to the kernel on release(), or
 * automatically when the iterator is advanced (next iteration) or stopped — whichever comes first.
 */
export interface Lease {
  data: Buffer;
  bid: number;
  release(): void;
}

/** One datagram from recvmsgMultishot (with `bid`/`release` when leased). */
export interface Message {
  data: Buffer;
  address: string;
  port: number;
  /** the datagram was longer than the room for it in the ring buffer; `data` is its start */
  truncated: boolean;
  bid?: number;
  release?: () => void;
}

interface Hooks<T> {
  syscall: string;
  bufferRing: BufferRing | null;
  stats: IoUringStats;
  signal: AbortSignal | undefined;
  arm(onCqe: (res: number, flags: number) => void): { tag: number; error: Error | null };
  cancel(tag: number): void;
  toItem(res: number, flags: number): T;
}

type Releasable = { release?: () => void };

export class MultishotIterator<T> implements AsyncIterableIterator<T> {
  readonly #h: Hooks<T>;
  readonly #items: T[] = [];
  #head = 0;
  #tag = -1;
  #active = false;
  #finished = false;
  #error: unknown = null;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  #current: Releasable | null = null;
  #waitingForBuffers = false;
  readonly #onAbort: (() => void) | null = null;

  constructor(hooks: Hooks<T>) {
    this.#h = hooks;
    if (hooks.bufferRing) hooks.bufferRing.users++;
    if (hooks.signal) {
      if (hooks.signal.aborted) {
        this.#fail(abortError(hooks.signal));
        return;
      }
      this.#onAbort = () => this.#fail(abortError(hooks.signal!));
      hooks.signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    this.#arm();
  }

  #arm(): void {
    const { tag, error } = this.#h.arm((res, flags) => this.#onCqe(res, flags));
    if (error) return this.#fail(error);
    this.#tag = tag;
    this.#active = true;
  }

  #onCqe(res: number, flags: number): void {
    const more = (flags & IORING_CQE_F_MORE) !== 0;
    if (!more) this.#active = false;
    if (this.#finished && (flags & IORING_CQE_F_BUFFER) !== 0) {
      // Data that arrived after the consumer stopped: nobody will see it, the buffer goes back.
      this.#h.bufferRing?.recycle(flags >>> IORING_CQE_BUFFER_SHIFT);
    }
    if (res >= 0 && !this.#finished) {
      this.#push(this.#h.toItem(res, flags));
    } else if (res === -errno.ENOBUFS) {
      this.#h.stats.enobufs++;
    } else if (res < 0 && !this.#finished && res !== -errno.ECANCELED) {
      return this.#fail(errnoError(-res, this.#h.syscall));
    } else if (res === -errno.ECANCELED && !this.#finished) {
      return this.#end();
    }
    if (!more && !this.#finished) this.#rearm(res === -errno.ENOBUFS);
  }

  #rearm(noBuffers: boolean): void {
    this.#h.stats.rearms++;
    const br = this.#h.bufferRing;
    if (noBuffers && br) {
      // Re-arming with an empty ring would fail again at once: wait for buffers to come back.
      br.flush();
      if (this.#heldBuffers() >= br.count) {
        this.#waitingForBuffers = true;
        return;
      }
    }
    this.#arm();
  }

  #heldBuffers(): number {
    return this.#items.length - this.#head + (this.#current ? 1 : 0);
  }

  #push(item: T): void {
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      this.#current = item as Releasable;
      w.resolve({ done: false, value: item });
    } else {
      this.#items.push(item);
    }
  }

  #releaseCurrent(): void {
    const cur = this.#current;
    this.#current = null;
    cur?.release?.();
    if (this.#waitingForBuffers && !this.#finished) {
      this.#waitingForBuffers = false;
      this.#h.bufferRing?.flush();
      this.#arm();
    }
  }

  #cleanup(): void {
    this.#finished = true;
    if (this.#onAbort) this.#h.signal!.removeEventListener("abort", this.#onAbort);
    if (this.#active) this.#h.cancel(this.#tag);
    this.#releaseCurrent();
    for (let i = this.#head; i < this.#items.length; i++) (this.#items[i] as Releasable).release?.();
    this.#items.length = 0;
    this.#head = 0;
    if (this.#h.bufferRing) this.#h.bufferRing.users = Math.max(0, this.#h.bufferRing.users - 1);
  }

  #fail(err: unknown): void {
    if (this.#finished) return;
    this.#error = err;
    this.#cleanup();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      this.#error = null;
      w.reject(err);
    }
  }

  #end(): void {
    if (this.#finished) return;
    this.#cleanup();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve({ done: true, value: undefined });
    }
  }

  next(): Promise<IteratorResult<T>> {
    this.#releaseCurrent();
    if (this.#head < this.#items.length) {
      const item = this.#items[this.#head++]!;
      if (this.#head === this.#items.length) {
        this.#items.length = 0;
        this.#head = 0;
      }
      this.#current = item as Releasable;
      return Promise.resolve({ done: false, value: item });
    }
    if (this.#finished) {
      const err = this.#error;
      this.#error = null;
      return err ? Promise.reject(err) : Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Stop: cancels the kernel request and returns every held buffer. */
  return(): Promise<IteratorResult<T>> {
    this.#end();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
