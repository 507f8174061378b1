// Epoll: one epoll fd; events arrive in batches (typed arrays), one JS call per batch.
import { constants } from "node:os";
import { DatagramBatch } from "./datagram-batch.js";
import { abortError, closedError, errnoError, invalidArgType, stateError } from "./errors.js";
import { native, type NativeEpoll } from "./native.js";
import * as validate from "./validate.js";

// uapi <sys/epoll.h>
export const EPOLLIN = 0x001;
export const EPOLLPRI = 0x002;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000;
/** Wake one of the epoll instances sharing the fd (add only; the kernel refuses it on modify). */
export const EPOLLEXCLUSIVE = 2 ** 28;
/** Disable the fd after one event until re-armed with modify(). */
export const EPOLLONESHOT = 2 ** 30;
/** Edge-triggered: report a change of readiness once, not while it lasts. */
export const EPOLLET = 2 ** 31;

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;

export interface EpollOptions {
  /** The most events one batch can hold (epoll_wait maxevents). Default 1024. */
  maxEvents?: number;
}

/** A batch of ready events. The views are valid until the callback returns / the next iteration. */
export class EpollBatch {
  constructor(
    /** number of events */
    readonly length: number,
    /** the event mask of each event (EPOLLIN, …) */
    readonly events: Uint32Array,
    /** the 32-bit token given to add()/modify() for each event */
    readonly data: Uint32Array,
    /**
     * Receive mode (the `datagrams` option of start() or batches()): datagrams read from each
     * event's fd, stored in the batch's slots in event order (event 0's first), or -errno when
     * its recvmmsg failed. 0 for events whose fd was not read and outside receive mode.
     */
    readonly received: Int32Array,
  ) {}
}

export interface ReceiveOptions {
  /**
   * Receive mode, for UDP sockets: before each batch is delivered, every ready fd (EPOLLIN or
   * EPOLLERR) is read with recvmmsg into the next free slots of this batch, in the same native
   * call as the epoll_wait — no JS-to-native call per socket. `batch.length` is the number of
   * datagrams in all, `batch.truncated` how many were cut to slotSize (MSG_TRUNC in batch.flags),
   * and `received[i]` of the EpollBatch how many came from event i. Each fd is read once per
   * batch: one that filled the rest of the slots, or was not read because none was left, is
   * still ready and comes again (level-triggered; with EPOLLET read it yourself with
   * sys.recvmmsg). The slots are valid until the next batch.
   */
  datagrams?: DatagramBatch;
}

export interface StartOptions extends ReceiveOptions {
  /** Called if watching fails; without it the error is thrown as an uncaught exception. */
  onError?: (err: Error) => void;
}

export interface BatchesOptions extends ReceiveOptions {
  /** Ends the iteration with an AbortError when aborted. */
  signal?: AbortSignal;
}

/** What the wake-ups of one Epoll cost, since it was made. */
export interface EpollStats {
  /** batches handed to JS (calls of the start() callback or iterator steps) */
  calls: number;
  /** events in those batches */
  events: number;
  /** epoll_wait calls on this epoll fd (one per wake-up, plus wait()) */
  epollWaits: number;
  /** wake-ups whose epoll_wait found nothing (no JS call) */
  emptyWakes: number;
}

type Consumer = "callback" | "iterator" | null;

export class Epoll implements AsyncIterable<EpollBatch>, Disposable {
  static readonly EPOLLIN = EPOLLIN;
  static readonly EPOLLPRI = EPOLLPRI;
  static readonly EPOLLOUT = EPOLLOUT;
  static readonly EPOLLERR = EPOLLERR;
  static readonly EPOLLHUP = EPOLLHUP;
  static readonly EPOLLRDHUP = EPOLLRDHUP;
  static readonly EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;
  static readonly EPOLLONESHOT = EPOLLONESHOT;
  static readonly EPOLLET = EPOLLET;

  readonly maxEvents: number;
  #native: NativeEpoll | null;
  readonly #events: Uint32Array;
  readonly #data: Uint32Array;
  readonly #shared: Int32Array;
  readonly #received: Int32Array;
  #consumer: Consumer = null;

  constructor(options: EpollOptions = {}) {
    validate.options("options", options, ["maxEvents"]);
    this.maxEvents = validate.integer("options.maxEvents", options.maxEvents ?? 1024, 1, 1 << 20);
    // SharedArrayBuffers cannot be detached, so native code keeps raw pointers to them.
    this.#events = new Uint32Array(new SharedArrayBuffer(4 * this.maxEvents));
    this.#data = new Uint32Array(new SharedArrayBuffer(4 * this.maxEvents));
    // Receive mode: received per event, then [datagrams, truncated, memory fault] of the batch.
    this.#shared = new Int32Array(new SharedArrayBuffer(4 * (this.maxEvents + 3)));
    this.#received = this.#shared.subarray(0, this.maxEvents);
    this.#native = new native.Epoll(this.maxEvents, this.#events, this.#data);
  }

  /** The epoll fd (-1 once closed). */
  get fd(): number {
    return this.#native?.fd ?? -1;
  }

  get closed(): boolean {
    return this.#native === null;
  }

  readonly #counters = new Float64Array(4);
  readonly #stats: EpollStats = { calls: 0, events: 0, epollWaits: 0, emptyWakes: 0 };

  /** Counters of the wake-ups so far (kept after close). */
  get stats(): EpollStats {
    if (this.#native !== null) this.#readCounters(this.#native);
    return { ...this.#stats };
  }

  #readCounters(ep: NativeEpoll): void {
    ep.counters(this.#counters);
    const [calls, events, epollWaits, emptyWakes] = this.#counters;
    Object.assign(this.#stats, { calls, events, epollWaits, emptyWakes });
  }

  #open(): NativeEpoll {
    if (this.#native === null) throw closedError("Epoll");
    return this.#native;
  }

  /** EPOLL_CTL_ADD: watch `fd` for `events`; `data` (default: fd) comes back with each event. */
  add(fd: number, events: number, data: number = fd): void {
    this.#ctl(EPOLL_CTL_ADD, fd, events, data);
  }

  /** EPOLL_CTL_MOD: change the events (and token) of a watched fd; re-arms EPOLLONESHOT. */
  modify(fd: number, events: number, data: number = fd): void {
    this.#ctl(EPOLL_CTL_MOD, fd, events, data);
  }

  /** EPOLL_CTL_DEL: stop watching `fd`. */
  remove(fd: number): void {
    validate.fd("fd", fd);
    this.#open().ctl(EPOLL_CTL_DEL, fd, 0, 0);
  }

  #ctl(op: number, fd: number, events: number, data: number): void {
    validate.fd("fd", fd);
    const mask = validate.mask("events", events);
    validate.uint32("data", data);
    this.#open().ctl(op, fd, mask, data);
  }

  /**
   * epoll_wait now, synchronously, for code that drives its own loop. Blocks up to `timeoutMs`
   * (0: no wait); an infinite (negative) timeout is refused because it would block Node.
   */
  wait(timeoutMs = 0): EpollBatch {
    validate.integer("timeoutMs", timeoutMs, 0, validate.INT32_MAX, "non-negative integer");
    const ep = this.#open();
    if (this.#consumer === "iterator") throw stateError("Epoll is being iterated; wait() would overwrite its batch");
    const n = ep.wait(timeoutMs);
    this.#received.fill(0, 0, n); // wait() does not receive
    return this.#batch(n);
  }

  // Views are valid only until the callback returns / the next iteration, so one EpollBatch per
  // length can be reused: no allocation per batch on the hot path.
  readonly #batches: Array<EpollBatch | undefined> = [];
  #batch(n: number): EpollBatch {
    return (this.#batches[n] ??= new EpollBatch(n, this.#events.subarray(0, n), this.#data.subarray(0, n), this.#received.subarray(0, n)));
  }

  /** Turn receive mode on (into `datagrams`) or off before watching. */
  #receiveInto(ep: NativeEpoll, value: unknown): DatagramBatch | null {
    if (value === undefined) {
      ep.receive(null);
      return null;
    }
    if (!(value instanceof DatagramBatch)) throw invalidArgType("options.datagrams", "DatagramBatch", value);
    value.checkMemory();
    ep.receive(value.buffer, value.slotSize, value.count, value.lengths, value.flags, value.addresses, this.#shared, value.pinned);
    return value;
  }

  /** After a receive-mode wake-up: the batch's totals, or the error that ends the watch. */
  #takeReceived(batch: DatagramBatch): Error | null {
    const at = this.maxEvents;
    batch.length = this.#shared[at]!;
    batch.truncated = this.#shared[at + 1]!;
    if (this.#shared[at + 2] === 0) return null;
    batch.length = 0;
    try {
      batch.checkMemory(); // says which array lost its memory (transferred away)
    } catch (err) {
      return err as Error;
    }
    return errnoError(constants.errno.EFAULT, "recvmmsg");
  }

  /** Deliver batches through the Node event loop: one call of `onBatch` per epoll_wait. */
  start(onBatch: (batch: EpollBatch) => void, options: StartOptions = {}): this {
    validate.func("onBatch", onBatch);
    validate.options("options", options, ["onError", "datagrams"]);
    const onError = options.onError === undefined ? undefined : validate.func<(e: Error) => void>("options.onError", options.onError);
    const ep = this.#open();
    if (this.#consumer === "iterator") throw stateError("Epoll is being iterated; it has one consumer at a time");
    const datagrams = this.#receiveInto(ep, options.datagrams);
    this.#consumer = "callback";
    const fail = (err: Error): void => {
      this.#consumer = null;
      if (onError) onError(err);
      else throw err;
    };
    ep.start((n) => {
      if (n >= 0 && datagrams !== null) {
        const err = this.#takeReceived(datagrams);
        if (err !== null) {
          ep.stop();
          return fail(err);
        }
      }
      if (n >= 0) return onBatch(this.#batch(n));
      fail(errnoError(-n, "epoll_wait"));
    });
    return this;
  }

  /** Stop delivering batches (events stay queued in the kernel). */
  stop(): this {
    const ep = this.#open();
    if (this.#consumer === "callback") {
      ep.stop();
      this.#consumer = null;
    }
    return this;
  }

  /** Let the process exit while this Epoll is watching (like socket.unref()). */
  unref(): this {
    this.#open().setRef(false);
    return this;
  }

  ref(): this {
    this.#open().setRef(true);
    return this;
  }

  /** Stop watching and close the epoll fd. Idempotent; every later call throws ERR_RINGPOLL_CLOSED. */
  close(): void {
    const ep = this.#native;
    if (ep === null) return;
    this.#readCounters(ep);
    this.#native = null;
    ep.close();
    this.#wake?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #wake: (() => void) | null = null;

  /** Batches as an async iterator; each batch's views are valid until the next iteration. */
  batches(options: BatchesOptions = {}): AsyncIterableIterator<EpollBatch> {
    validate.options("options", options, ["signal", "datagrams"]);
    const signal = validate.abortSignal("options.signal", options.signal);
    const ep = this.#open();
    if (this.#consumer !== null) throw stateError("Epoll already has a consumer (start() or another iterator)");
    const datagrams = this.#receiveInto(ep, options.datagrams);
    this.#consumer = "iterator";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.#wake = null;
      signal?.removeEventListener("abort", onAbort);
      if (this.#native !== null) ep.stop();
      if (this.#consumer === "iterator") this.#consumer = null;
    };
    let reject: ((err: unknown) => void) | null = null;
    const onAbort = () => {
      const r = reject;
      finish();
      r?.(abortError(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const iterator: AsyncIterableIterator<EpollBatch> = {
      next: () => {
        if (signal?.aborted && !done) {
          finish();
          return Promise.reject(abortError(signal));
        }
        if (done || this.#native === null) {
          finish();
          return Promise.resolve({ done: true, value: undefined });
        }
        return new Promise<IteratorResult<EpollBatch>>((resolve, rej) => {
          reject = rej;
          // Closing the Epoll ends the iteration.
          this.#wake = () => {
            finish();
            resolve({ done: true, value: undefined });
          };
          // Watch until one batch arrives, then pause: the next batch must not overwrite this one.
          ep.start((n) => {
            ep.stop();
            reject = null;
            const err = n >= 0 && datagrams !== null ? this.#takeReceived(datagrams) : null;
            if (n >= 0 && err === null) return resolve({ done: false, value: this.#batch(n) });
            finish();
            rej(err ?? errnoError(-n, "epoll_wait"));
          });
        });
      },
      return: () => {
        finish();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<EpollBatch> {
    return this.batches();
  }
}

