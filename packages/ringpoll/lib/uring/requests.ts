// Tracked requests: the table of pending Promises and multishot handlers keyed by tag, queueing one
// request (with its linked timeout or cancellation), and settling each batch of completions.
import { credentialsChangedError, currentIds, type Ids } from "../credentials.js";
import { abortError, closedError, errnoError } from "../errors.js";
import type { NativeRing } from "../native.js";
import { CqeBatch } from "../uring-batch.js";
import { EXTRA, IORING_CQE_F_MORE, IORING_OP, TRACKED, errno } from "../uring-constants.js";
import { iopollCause } from "../uring-iopoll.js";
import * as validate from "../validate.js";
import type { OpOptions } from "./args.js";

export interface Pending {
  multishot: boolean;
  syscall: string;
  resolve: (value: number) => void;
  reject: (err: unknown) => void;
  onCqe?: (res: number, flags: number) => void;
  /** turns the CQE result into the resolved value (the tag finds the request's native memory) */
  map?: (res: number, tag: number) => unknown;
  signal?: AbortSignal;
  onAbort?: () => void;
  aborted?: boolean;
  timeoutMs?: number;
  /** cancelled through IoUring.cancel(): ECANCELED, not the linked timeout's ETIMEDOUT */
  cancelled?: boolean;
  fd?: number;
  tag?: number;
}

export const noop = () => {};

export class Requests {
  /** null once the IoUring is closed (its requests may still be completing) */
  ring: NativeRing | null;
  onBatch: ((batch: CqeBatch) => void) | null = null;
  /** run once at the end of the completion pass that scheduled them (batch receivers deliver there) */
  readonly #passEnd: Array<(() => void) | null> = [];
  /** entries of #passEnd in use (not `length = 0` per pass: V8 stores Array length through a runtime call) */
  #passEnds = 0;
  readonly #byPromise = new WeakMap<Promise<unknown>, Pending>();
  readonly #pending: Array<Pending | undefined> = [];
  readonly #free: number[] = [];
  readonly #tags: Uint32Array;
  readonly #res: Int32Array;
  readonly #flags: Uint32Array;
  readonly #iopoll: boolean;
  /** the ids the ring was made with, for the message when they changed */
  readonly #ids: Ids = currentIds();

  constructor(ring: NativeRing, tags: Uint32Array, res: Int32Array, flags: Uint32Array, iopoll: boolean) {
    this.ring = ring;
    this.#tags = tags;
    this.#res = res;
    this.#flags = flags;
    this.#iopoll = iopoll;
  }

  open(): NativeRing {
    if (this.ring === null) throw closedError("IoUring");
    return this.ring;
  }

  /**
   * Why native prep/prepBatch refused a request (-errno). Its only -EPERM: the process's
   * credentials changed since the ring was made (native/credentials.hpp).
   */
  prepError(r: number, syscall: string, detail?: string): Error {
    return r === -errno.EPERM ? credentialsChangedError(syscall, this.#ids) : errnoError(-r, syscall, detail);
  }

  alloc(p: Pending): number {
    const idx = this.#free.length > 0 ? this.#free.pop()! : this.#pending.length;
    this.#pending[idx] = p;
    return idx;
  }

  release(idx: number): void {
    this.#pending[idx] = undefined;
    this.#free.push(idx);
  }

  /** True while a pass the ring's wake-up delivered runs (native code acts when it returns). */
  nativePass = false;

  /** `fromWake`: called by the ring's wake-up (IoUring's native handler), not by reap(). */
  complete(n: number, fromWake = false): void {
    const outer = this.nativePass;
    this.nativePass = fromWake;
    try {
      this.#complete(n);
    } finally {
      this.nativePass = outer;
    }
  }

  #complete(n: number): void {
    const tags = this.#tags;
    const res = this.#res;
    const flags = this.#flags;
    let untracked = false;
    for (let i = 0; i < n; i++) {
      const tag = tags[i]!;
      if (tag < TRACKED) {
        untracked = true;
        continue;
      }
      const idx = tag - TRACKED;
      const p = this.#pending[idx];
      if (p === undefined) continue;
      const r = res[i]!;
      const f = flags[i]!;
      if (p.multishot) {
        if ((f & IORING_CQE_F_MORE) === 0) this.release(idx);
        p.onCqe!(r, f);
        continue;
      }
      if (p.onAbort) p.signal!.removeEventListener("abort", p.onAbort);
      // An abort that came after the kernel completed the request changes nothing: the bytes were
      // read or written, so the Promise reports them rather than an AbortError.
      if (p.aborted && (r === -errno.ECANCELED || r === -errno.EINTR)) {
        this.release(idx);
        p.reject(abortError(p.signal!));
      } else if (r >= 0) {
        const value = p.map ? p.map(r, tag) : r;
        this.release(idx);
        p.resolve(value as number);
      } else {
        this.release(idx);
        p.reject(this.#error(p, -r));
      }
    }
    if (untracked && this.onBatch !== null) {
      this.onBatch(this.cqeBatch(n));
    }
    this.#runPassEnds();
  }

  #runPassEnds(): void {
    const ends = this.#passEnd;
    if (this.#passEnds === 1) {
      // The usual pass: one receiver to deliver (nothing after it to keep if it throws).
      const fn = ends[0]!;
      ends[0] = null;
      this.#passEnds = 0;
      return fn();
    }
    let i = 0;
    try {
      for (; i < this.#passEnds; i++) {
        const fn = ends[i]!;
        ends[i] = null;
        fn();
      }
    } finally {
      // One threw (a user callback): the ones after it still run, at the next pass.
      const left = this.#passEnds - Math.min(i + 1, this.#passEnds);
      for (let j = 0; j < left; j++) {
        ends[j] = ends[i + 1 + j]!;
        ends[i + 1 + j] = null;
      }
      this.#passEnds = left;
    }
  }

  /** Call `fn` when the completion pass now running ends (once per call of afterPass). */
  afterPass(fn: () => void): void {
    const i = this.#passEnds++;
    if (i < this.#passEnd.length) this.#passEnd[i] = fn;
    else this.#passEnd.push(fn);
  }

  // Views are valid only until the callback returns, so one CqeBatch per length can be reused:
  // no allocation per batch on the hot path.
  readonly #cqeBatches: Array<CqeBatch | undefined> = [];
  cqeBatch(n: number): CqeBatch {
    return (this.#cqeBatches[n] ??= new CqeBatch(n, this.#tags.subarray(0, n), this.#res.subarray(0, n), this.#flags.subarray(0, n)));
  }

  #error(p: Pending, err: number): Error {
    // close() cancelled it: a blocking read interrupted in an io-wq worker reports EINTR.
    if (this.ring === null && (err === errno.ECANCELED || err === errno.EINTR)) {
      return errnoError(errno.ECANCELED, p.syscall, "IoUring closed");
    }
    if (err === errno.ECANCELED && p.timeoutMs !== undefined && p.cancelled !== true) {
      return errnoError(errno.ETIMEDOUT, p.syscall, `linked timeout of ${p.timeoutMs} ms expired`);
    }
    if (err === errno.EOPNOTSUPP && this.#iopoll && p.fd !== undefined) {
      return errnoError(err, p.syscall, iopollCause(p.fd));
    }
    return errnoError(err, p.syscall);
  }

  /** Queue one tracked request; the Promise settles with its CQE. */
  op<T = number>(
    syscall: string,
    opcode: number,
    fd: number,
    buffer: Uint8Array | null,
    bufOffset: number,
    len: number,
    off: number,
    opFlags: number,
    sqeFlags: number,
    options: OpOptions | undefined,
    extra: number = EXTRA.none,
    a?: number,
    b?: string,
    map?: (res: number, tag: number) => T,
    bufIndex = 0,
  ): Promise<T> {
    const ring = this.open();
    let signal: AbortSignal | undefined;
    let timeoutMs: number | undefined;
    if (options !== undefined) {
      validate.object("options", options);
      signal = validate.abortSignal("options.signal", options.signal);
      if (options.timeoutMs !== undefined) timeoutMs = validate.integer("options.timeoutMs", options.timeoutMs, 0, validate.INT32_MAX, "non-negative integer");
      if (signal?.aborted) return Promise.reject(abortError(signal));
    }
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: Pending = { multishot: false, syscall, resolve: resolve as (v: number) => void, reject, map, fd: opcode === IORING_OP.READ || opcode === IORING_OP.WRITE || opcode === IORING_OP.READ_FIXED || opcode === IORING_OP.WRITE_FIXED ? fd : undefined };
    if (timeoutMs !== undefined) p.timeoutMs = timeoutMs;
    const idx = this.alloc(p);
    const tag = TRACKED + idx;
    p.tag = tag;
    // The linked timeout gets its own slot (its CQE arrives separately); native code queues both
    // SQEs or neither.
    const tidx = timeoutMs === undefined ? -1 : this.alloc({ multishot: false, syscall: "io_uring link_timeout", resolve: noop, reject: noop });
    const r = ring.prep(opcode, fd, buffer, bufOffset, len, off, opFlags, sqeFlags, 0, bufIndex, tag, extra, a, b, timeoutMs ?? -1, TRACKED + tidx);
    if (r < 0) {
      this.release(idx);
      if (tidx >= 0) this.release(tidx);
      // Like a closed ring, a ring that outlived a credentials change is a state error: thrown.
      if (r === -errno.EPERM) throw this.prepError(r, syscall);
      return Promise.reject(errnoError(-r, syscall));
    }
    if (signal !== undefined) {
      p.signal = signal;
      p.onAbort = () => {
        p.aborted = true;
        this.cancelTag(tag);
      };
      signal.addEventListener("abort", p.onAbort, { once: true });
    }
    this.#byPromise.set(promise, p);
    return promise;
  }

  /**
   * Queue one request whose CQE goes to `onCqe` (no Promise): for callers that keep their own
   * state per request. Returns 0 or -errno (nothing queued then).
   */
  opWith(syscall: string, opcode: number, fd: number, buffer: Uint8Array, offset: number, len: number, opFlags: number, onCqe: (res: number, flags: number) => void): number {
    const ring = this.open();
    // Completes like a multishot request whose first CQE is its last.
    const idx = this.alloc({ multishot: true, syscall, resolve: noop, reject: noop, onCqe });
    const r = ring.prep(opcode, fd, buffer, offset, len, 0, opFlags, 0, 0, 0, TRACKED + idx, EXTRA.none);
    if (r < 0) this.release(idx);
    return r;
  }

  /** opWith for IORING_OP_SENDMSG over several buffers (native prepSendv). */
  sendvWith(fd: number, buffers: Uint8Array[], firstOffset: number, msgFlags: number, onCqe: (res: number, flags: number) => void): number {
    const ring = this.open();
    const idx = this.alloc({ multishot: true, syscall: "io_uring sendmsg", resolve: noop, reject: noop, onCqe });
    const r = ring.prepSendv(fd, buffers, firstOffset, msgFlags, TRACKED + idx);
    if (r < 0) this.release(idx);
    return r;
  }

  /** The request behind a Promise an op returned: `undefined` when this ring did not make it. */
  requestOf(promise: Promise<unknown>): Pending | undefined {
    return this.#byPromise.get(promise);
  }

  /** `promise` (e.g. timeout()'s wrapper) settles with `p`: cancel(promise) finds it. */
  alias(promise: Promise<unknown>, of: Promise<unknown>): void {
    const p = this.#byPromise.get(of);
    if (p !== undefined) this.#byPromise.set(promise, p);
  }

  /** True while `p` has not settled (its slot was not released or reused). */
  isPending(p: Pending): boolean {
    return p.tag !== undefined && this.#pending[p.tag - TRACKED] === p;
  }

  /** Fire-and-forget IORING_OP_ASYNC_CANCEL of one tracked request (abort, multishot stop). */
  cancelTag(tag: number): void {
    const ring = this.ring;
    if (ring === null) return;
    const idx = this.alloc({ multishot: false, syscall: "io_uring async_cancel", resolve: noop, reject: noop });
    if (ring.prep(IORING_OP.ASYNC_CANCEL, -1, null, 0, 0, 0, 0, 0, 0, 0, TRACKED + idx, EXTRA.userData, tag) < 0) this.release(idx);
  }

  /** After the native ring released everything: a request still pending (none should be) ends with ECANCELED. */
  cancelAll(): void {
    for (let i = 0; i < this.#pending.length; i++) {
      const p = this.#pending[i];
      if (p === undefined) continue;
      this.release(i);
      if (p.multishot) p.onCqe!(-errno.ECANCELED, 0);
      else p.reject(errnoError(errno.ECANCELED, p.syscall, "IoUring closed"));
    }
  }
}
