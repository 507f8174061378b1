// IoUring: one io_uring instance. Operations return Promises; SQEs queued in one loop iteration are
// submitted together, and every CQE found is handed to JS in one call per batch.
import { release } from "node:os";
import { BufferRing, type BufferRingOptions } from "./buffer-ring.js";
import { abortError, closedError, errnoError, invalidArgType, invalidArgValue, stateError } from "./errors.js";
import { native, type NativeRing } from "./native.js";
import { CqeBatch, SqeBatch } from "./uring-batch.js";
import {
  EXTRA,
  IORING_ACCEPT_MULTISHOT,
  IORING_ASYNC_CANCEL_ALL,
  IORING_ASYNC_CANCEL_ANY,
  IORING_ASYNC_CANCEL_FD,
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_MORE,
  IORING_FSYNC_DATASYNC,
  IORING_OP,
  IORING_RECV_MULTISHOT,
  IOSQE_BUFFER_SELECT,
  IOSQE_FIXED_FILE,
  IOSQE_IO_LINK,
  TRACKED,
  errno,
} from "./uring-constants.js";
import { iopollCause } from "./uring-iopoll.js";
import { IORING_SETUP, featureNames, readSetupContext, setupErrorCause, type SetupFlagName } from "./uring-probe.js";
import { MultishotIterator, type Lease, type Message } from "./uring-multishot.js";
import * as validate from "./validate.js";

export interface IoUringOptions {
  /** SQ size (rounded up to a power of two by the kernel). Default 256. */
  entries?: number;
  /** CQ size (IORING_SETUP_CQSIZE); default twice the SQ. */
  cqEntries?: number;
  /** A kernel thread polls the SQ (IORING_SETUP_SQPOLL): submission without syscalls. */
  sqpoll?: boolean | { idleMs?: number; cpu?: number };
  /** Busy-poll the device for completions (IORING_SETUP_IOPOLL; O_DIRECT on devices with poll queues); 'hybrid' adds IORING_SETUP_HYBRID_IOPOLL (6.13+). */
  iopoll?: boolean | "hybrid";
  /** IORING_SETUP_SINGLE_ISSUER: only this thread submits. */
  singleIssuer?: boolean;
  /** IORING_SETUP_DEFER_TASKRUN (implies singleIssuer): completion work runs when this thread asks. */
  deferTaskrun?: boolean;
  /** IORING_SETUP_COOP_TASKRUN: no IPI to interrupt this thread for completion work. */
  coopTaskrun?: boolean;
  /** IORING_SETUP_SUBMIT_ALL: keep submitting a batch after one SQE fails. */
  submitAll?: boolean;
  /** Drop optional flags the kernel refuses instead of failing (see `setup.dropped`). */
  fallback?: boolean;
  /** CQEs handed to JS per call at most. Default 1024. */
  batchSize?: number;
}

export interface IoUringSetup {
  /** IORING_SETUP_* names the kernel granted */
  flags: string[];
  /** IORING_FEAT_* names */
  features: string[];
  sqEntries: number;
  cqEntries: number;
  /** flags asked for but dropped because the kernel refused them (fallback: true) */
  dropped: string[];
}

export interface OpOptions {
  /** Cancel the request (IORING_OP_ASYNC_CANCEL); the Promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Linked timeout (IOSQE_IO_LINK + IORING_OP_LINK_TIMEOUT): the Promise rejects with ETIMEDOUT. */
  timeoutMs?: number;
}

export interface RwOptions extends OpOptions {
  /** file position; -1 (default) = the fd's current position */
  position?: number;
  /** start in the buffer (default 0) */
  offset?: number;
  /** bytes (default: the rest of the buffer) */
  length?: number;
}

/** A registered file: pass `{ fixed: index }` as the fd (IOSQE_FIXED_FILE). */
export interface FixedFile {
  fixed: number;
}
export type Fd = number | FixedFile;

export interface IoUringStats {
  /** times queued SQEs were handed to the kernel (one per loop iteration with work, or SQ full) */
  submits: number;
  /** multishot requests re-armed after the kernel ended them (ENOBUFS or no IORING_CQE_F_MORE) */
  rearms: number;
  /** multishot completions that found the buffer ring empty */
  enobufs: number;
}

const OPTIONAL: SetupFlagName[] = ["HYBRID_IOPOLL", "DEFER_TASKRUN", "SINGLE_ISSUER", "COOP_TASKRUN", "SUBMIT_ALL", "SQPOLL", "SQ_AFF"];

interface Pending {
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
  fd?: number;
}

const noop = () => {};

/** A buffer must go back to the kernel exactly once: a second add would hand it out twice. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function flagNames(flags: number): SetupFlagName[] {
  return (Object.keys(IORING_SETUP) as SetupFlagName[]).filter((k) => (flags & IORING_SETUP[k]) !== 0);
}

export class IoUring implements Disposable {
  static readonly SETUP = IORING_SETUP;
  static readonly OP = IORING_OP;

  readonly setup: IoUringSetup;
  readonly #stats: IoUringStats = { submits: 0, rearms: 0, enobufs: 0 };
  #native: NativeRing | null;
  readonly #tags: Uint32Array;
  readonly #res: Int32Array;
  readonly #flags: Uint32Array;
  readonly #pending: Array<Pending | undefined> = [];
  readonly #free: number[] = [];
  readonly #bufferRings: BufferRing[] = [];
  readonly #byPromise = new WeakMap<Promise<unknown>, number>();
  #nextBgid = 0;
  #registeredBuffers: Uint8Array[] = [];
  #onBatch: ((batch: CqeBatch) => void) | null = null;
  // Native code holds this weakly while nothing is in flight, so the IoUring can be collected.
  readonly #onNative = (n: number): void => this.#complete(n);
  readonly #iopoll: boolean;

  constructor(options: IoUringOptions = {}) {
    validate.object("options", options);
    validate.knownKeys("options", options, [
      "entries", "cqEntries", "sqpoll", "iopoll", "singleIssuer", "deferTaskrun", "coopTaskrun", "submitAll", "fallback", "batchSize",
    ]);
    const entries = validate.integer("options.entries", options.entries ?? 256, 1, 32768);
    const cqEntries = validate.integer("options.cqEntries", options.cqEntries ?? 0, 0, 65536);
    const batchSize = validate.integer("options.batchSize", options.batchSize ?? 1024, 1, 1 << 20);
    let flags = 0;
    let sqIdle = 0;
    let sqCpu = -1;
    if (options.sqpoll !== undefined && options.sqpoll !== false) {
      flags |= IORING_SETUP.SQPOLL;
      if (typeof options.sqpoll === "object") {
        validate.knownKeys("options.sqpoll", options.sqpoll, ["idleMs", "cpu"]);
        sqIdle = validate.integer("options.sqpoll.idleMs", options.sqpoll.idleMs ?? 0, 0, validate.UINT32_MAX);
        if (options.sqpoll.cpu !== undefined) sqCpu = validate.integer("options.sqpoll.cpu", options.sqpoll.cpu, 0, 4095);
      } else validate.boolean("options.sqpoll", options.sqpoll);
    }
    if (options.iopoll !== undefined && options.iopoll !== false) {
      if (options.iopoll !== true && options.iopoll !== "hybrid") throw invalidArgValue("options.iopoll", "true, false or 'hybrid'", options.iopoll);
      flags |= IORING_SETUP.IOPOLL | (options.iopoll === "hybrid" ? IORING_SETUP.HYBRID_IOPOLL : 0);
    }
    const bool = (name: keyof IoUringOptions) => (options[name] === undefined ? false : validate.boolean(`options.${name}`, options[name]));
    if (bool("singleIssuer")) flags |= IORING_SETUP.SINGLE_ISSUER;
    if (bool("deferTaskrun")) flags |= IORING_SETUP.DEFER_TASKRUN | IORING_SETUP.SINGLE_ISSUER;
    if (bool("coopTaskrun")) flags |= IORING_SETUP.COOP_TASKRUN;
    if (bool("submitAll")) flags |= IORING_SETUP.SUBMIT_ALL;
    const fallback = bool("fallback");

    // SharedArrayBuffers cannot be detached, so native code keeps raw pointers to them.
    this.#tags = new Uint32Array(new SharedArrayBuffer(4 * batchSize));
    this.#res = new Int32Array(new SharedArrayBuffer(4 * batchSize));
    this.#flags = new Uint32Array(new SharedArrayBuffer(4 * batchSize));
    const dropped: string[] = [];
    const create = (f: number) =>
      new native.Ring(entries, f, cqEntries, sqIdle, (f & IORING_SETUP.SQPOLL) !== 0 ? sqCpu : -1, this.#tags, this.#res, this.#flags);
    let ring: NativeRing | null = null;
    for (;;) {
      try {
        ring = create(flags);
        break;
      } catch (err) {
        const e = err as { errno?: number; code?: string };
        const errnoValue = -(e.errno ?? 0);
        if (e.code !== "EINVAL") {
          throw errnoError(errnoValue, "io_uring_setup", setupErrorCause(errnoValue, readSetupContext()));
        }
        const refused = this.#refusedFlags(entries, flags, cqEntries);
        // Each flag alone is fine but not together: drop optional flags one at a time.
        const droppable = refused.length > 0 ? refused.filter((n) => OPTIONAL.includes(n)) : OPTIONAL.filter((n) => (flags & IORING_SETUP[n]) !== 0).slice(0, 1);
        if (!fallback || droppable.length === 0 || (refused.length > 0 && refused.length !== droppable.length)) {
          const names = refused.length > 0 ? refused.map((n) => `IORING_SETUP_${n}`).join(", ") : `the combination ${flagNames(flags).map((n) => `IORING_SETUP_${n}`).join("|")}`;
          throw errnoError(errno.EINVAL, "io_uring_setup", `${names} refused by the running kernel ${release()}${fallback ? "" : "; pass fallback: true to drop optional flags"}`);
        }
        for (const n of droppable) {
          flags &= ~IORING_SETUP[n];
          dropped.push(n);
          if (n === "SINGLE_ISSUER") flags &= ~IORING_SETUP.DEFER_TASKRUN;
          if (n === "SQPOLL") flags &= ~IORING_SETUP.SQ_AFF;
        }
      }
    }
    this.#native = ring;
    const [gotFlags, features, sqEntries, cqGot] = ring.params();
    this.#iopoll = (gotFlags & IORING_SETUP.IOPOLL) !== 0;
    this.setup = { flags: flagNames(gotFlags), features: featureNames(features), sqEntries, cqEntries: cqGot, dropped };
    ring.start(this.#onNative);
  }

  /** Which of `flags` the kernel refuses when asked alone (with what each one requires). */
  #refusedFlags(entries: number, flags: number, cqEntries: number): SetupFlagName[] {
    const needs: Partial<Record<SetupFlagName, number>> = {
      DEFER_TASKRUN: IORING_SETUP.SINGLE_ISSUER,
      HYBRID_IOPOLL: IORING_SETUP.IOPOLL,
      SQ_AFF: IORING_SETUP.SQPOLL,
    };
    const refused: SetupFlagName[] = [];
    for (const name of flagNames(flags)) {
      const f = IORING_SETUP[name] | (needs[name] ?? 0);
      const r = native.uringProbe.setup(Math.min(entries, 8), f, cqEntries, -1, 0);
      if (r.result === -errno.EINVAL) refused.push(name);
    }
    return refused;
  }

  get closed(): boolean {
    return this.#native === null;
  }

  /** Counters: submits, multishot re-arms and ENOBUFS. */
  get stats(): IoUringStats {
    if (this.#native !== null) this.#stats.submits = this.#native.submits();
    return this.#stats;
  }

  /** Requests handed to the kernel whose final completion has not arrived. */
  get inflight(): number {
    return this.#native?.inflight() ?? 0;
  }

  #open(): NativeRing {
    if (this.#native === null) throw closedError("IoUring");
    return this.#native;
  }

  #alloc(p: Pending): number {
    const idx = this.#free.length > 0 ? this.#free.pop()! : this.#pending.length;
    this.#pending[idx] = p;
    return idx;
  }

  #release(idx: number): void {
    this.#pending[idx] = undefined;
    this.#free.push(idx);
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
        if ((f & IORING_CQE_F_MORE) === 0) this.#release(idx);
        p.onCqe!(r, f);
        continue;
      }
      if (p.onAbort) p.signal!.removeEventListener("abort", p.onAbort);
      if (p.aborted) {
        this.#release(idx);
        p.reject(abortError(p.signal!));
      } else if (r >= 0) {
        const value = p.map ? p.map(r, tag) : r;
        this.#release(idx);
        p.resolve(value as number);
      } else {
        this.#release(idx);
        p.reject(this.#error(p, -r));
      }
    }
    if (untracked && this.#onBatch !== null) {
      this.#onBatch(this.#cqeBatch(n));
    }
  }

  // Views are valid only until the callback returns, so one CqeBatch per length can be reused:
  // no allocation per batch on the hot path.
  readonly #cqeBatches: Array<CqeBatch | undefined> = [];
  #cqeBatch(n: number): CqeBatch {
    return (this.#cqeBatches[n] ??= new CqeBatch(n, this.#tags.subarray(0, n), this.#res.subarray(0, n), this.#flags.subarray(0, n)));
  }

  #error(p: Pending, err: number): Error {
    if (err === errno.ECANCELED && p.timeoutMs !== undefined) {
      return errnoError(errno.ETIMEDOUT, p.syscall, `linked timeout of ${p.timeoutMs} ms expired`);
    }
    if (err === errno.EOPNOTSUPP && this.#iopoll && p.fd !== undefined) {
      return errnoError(err, p.syscall, iopollCause(p.fd));
    }
    if (err === errno.ECANCELED && this.#native === null) return errnoError(err, p.syscall, "IoUring closed");
    return errnoError(err, p.syscall);
  }

  #fd(fd: Fd): [number, number] {
    if (typeof fd === "object" && fd !== null) {
      return [validate.integer("fd.fixed", fd.fixed, 0, validate.INT32_MAX, "non-negative integer"), IOSQE_FIXED_FILE];
    }
    return [validate.fd("fd", fd), 0];
  }

  /** Queue one tracked request; the Promise settles with its CQE. */
  #op<T = number>(
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
    const ring = this.#open();
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
    const idx = this.#alloc(p);
    const tag = TRACKED + idx;
    const r = ring.prep(opcode, fd, buffer, bufOffset, len, off, opFlags, sqeFlags | (timeoutMs !== undefined ? IOSQE_IO_LINK : 0), 0, bufIndex, tag, extra, a, b);
    if (r < 0) {
      this.#release(idx);
      return Promise.reject(errnoError(-r, syscall));
    }
    if (timeoutMs !== undefined) {
      const tidx = this.#alloc({ multishot: false, syscall: "io_uring link_timeout", resolve: noop, reject: noop });
      ring.prep(IORING_OP.LINK_TIMEOUT, -1, null, 0, 0, 0, 0, 0, 0, 0, TRACKED + tidx, EXTRA.timespec, timeoutMs);
    }
    if (signal !== undefined) {
      p.signal = signal;
      p.onAbort = () => {
        p.aborted = true;
        this.#cancelTag(tag);
      };
      signal.addEventListener("abort", p.onAbort, { once: true });
    }
    this.#byPromise.set(promise, tag);
    return promise;
  }

  #cancelTag(tag: number): void {
    const ring = this.#native;
    if (ring === null) return;
    const idx = this.#alloc({ multishot: false, syscall: "io_uring async_cancel", resolve: noop, reject: noop });
    ring.prep(IORING_OP.ASYNC_CANCEL, -1, null, 0, 0, 0, 0, 0, 0, 0, TRACKED + idx, EXTRA.userData, tag);
  }

  #range(buffer: Uint8Array, options: RwOptions | undefined): [number, number] {
    if (!(buffer instanceof Uint8Array)) throw invalidArgType("buffer", "Buffer or Uint8Array", buffer);
    const offset = options?.offset === undefined ? 0 : validate.integer("options.offset", options.offset, 0, buffer.byteLength, `integer between 0 and ${buffer.byteLength}`);
    const max = buffer.byteLength - offset;
    const length = options?.length === undefined ? max : validate.integer("options.length", options.length, 0, max, `integer between 0 and ${max}`);
    return [offset, length];
  }

  #position(options: RwOptions | undefined): number {
    return options?.position === undefined ? -1 : validate.integer("options.position", options.position, -1, Number.MAX_SAFE_INTEGER, "integer >= -1");
  }

  /** IORING_OP_NOP: a round trip through the ring. */
  nop(options?: OpOptions): Promise<number> {
    return this.#op("io_uring nop", IORING_OP.NOP, -1, null, 0, 0, 0, 0, 0, options);
  }

  /** IORING_OP_READ into `buffer` from `position` (-1: current position). Resolves to bytes read. */
  read(fd: Fd, buffer: Uint8Array, options?: RwOptions): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const [offset, length] = this.#range(buffer, options);
    return this.#op("io_uring read", IORING_OP.READ, f, buffer, offset, length, this.#position(options), 0, sf, options);
  }

  /** IORING_OP_WRITE from `buffer` at `position` (-1: current position). Resolves to bytes written. */
  write(fd: Fd, buffer: Uint8Array, options?: RwOptions): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const [offset, length] = this.#range(buffer, options);
    return this.#op("io_uring write", IORING_OP.WRITE, f, buffer, offset, length, this.#position(options), 0, sf, options);
  }

  /** Register buffers for readFixed/writeFixed; they stay pinned until unregistered or closed. */
  registerBuffers(buffers: Uint8Array[]): void {
    const ring = this.#open();
    if (!Array.isArray(buffers) || buffers.length === 0) throw invalidArgValue("buffers", "non-empty array of Buffers", buffers);
    buffers.forEach((b, i) => {
      if (!(b instanceof Uint8Array) || b.byteLength === 0) throw invalidArgValue(`buffers[${i}]`, "non-empty Buffer or Uint8Array", b);
    });
    const r = ring.registerBuffers(buffers);
    if (r < 0) throw errnoError(-r, "io_uring_register_buffers");
    this.#registeredBuffers = buffers.slice();
  }

  unregisterBuffers(): void {
    const r = this.#open().unregisterBuffers();
    if (r < 0) throw errnoError(-r, "io_uring_unregister_buffers");
    this.#registeredBuffers = [];
  }

  #fixed(index: number, options: RwOptions | undefined): [Uint8Array, number, number] {
    const i = validate.integer("bufferIndex", index, 0, Math.max(0, this.#registeredBuffers.length - 1));
    const buffer = this.#registeredBuffers[i];
    if (buffer === undefined) throw stateError("no buffers are registered (registerBuffers)");
    const [offset, length] = this.#range(buffer, options);
    return [buffer, offset, length];
  }

  /** IORING_OP_READ_FIXED into registered buffer `bufferIndex`. */
  readFixed(fd: Fd, bufferIndex: number, options?: RwOptions): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const [buffer, offset, length] = this.#fixed(bufferIndex, options);
    return this.#op("io_uring read_fixed", IORING_OP.READ_FIXED, f, buffer, offset, length, this.#position(options), 0, sf, options, EXTRA.none, undefined, undefined, undefined, bufferIndex);
  }

  /** IORING_OP_WRITE_FIXED from registered buffer `bufferIndex`. */
  writeFixed(fd: Fd, bufferIndex: number, options?: RwOptions): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const [buffer, offset, length] = this.#fixed(bufferIndex, options);
    return this.#op("io_uring write_fixed", IORING_OP.WRITE_FIXED, f, buffer, offset, length, this.#position(options), 0, sf, options, EXTRA.none, undefined, undefined, undefined, bufferIndex);
  }

  /** Register fds; ops then accept `{ fixed: index }` as the fd. */
  registerFiles(fds: number[]): void {
    const ring = this.#open();
    if (!Array.isArray(fds) || fds.length === 0) throw invalidArgValue("fds", "non-empty array of fds", fds);
    fds.forEach((fd, i) => validate.integer(`fds[${i}]`, fd, -1, validate.INT32_MAX, "fd or -1"));
    const r = ring.registerFiles(Int32Array.from(fds));
    if (r < 0) throw errnoError(-r, "io_uring_register_files");
  }

  unregisterFiles(): void {
    const r = this.#open().unregisterFiles();
    if (r < 0) throw errnoError(-r, "io_uring_unregister_files");
  }

  /** IORING_OP_FSYNC (datasync: IORING_FSYNC_DATASYNC). */
  fsync(fd: Fd, options?: OpOptions & { datasync?: boolean }): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const datasync = options?.datasync === undefined ? false : validate.boolean("options.datasync", options.datasync);
    return this.#op("io_uring fsync", IORING_OP.FSYNC, f, null, 0, 0, 0, datasync ? IORING_FSYNC_DATASYNC : 0, sf, options);
  }

  /** IORING_OP_RECV into `buffer`; `flags` are MSG_* flags. Resolves to bytes received. */
  recv(fd: Fd, buffer: Uint8Array, options?: RwOptions & { flags?: number }): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const [offset, length] = this.#range(buffer, options);
    const flags = options?.flags === undefined ? 0 : validate.uint32("options.flags", options.flags);
    return this.#op("io_uring recv", IORING_OP.RECV, f, buffer, offset, length, 0, flags, sf, options);
  }

  /** IORING_OP_SEND from `buffer`. Resolves to bytes sent. */
  send(fd: Fd, buffer: Uint8Array, options?: RwOptions & { flags?: number }): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const [offset, length] = this.#range(buffer, options);
    const flags = options?.flags === undefined ? 0 : validate.uint32("options.flags", options.flags);
    return this.#op("io_uring send", IORING_OP.SEND, f, buffer, offset, length, 0, flags, sf, options);
  }

  /** IORING_OP_RECVMSG (UDP): resolves to the bytes received and the peer's IPv4 address. */
  recvmsg(fd: Fd, buffer: Uint8Array, options?: RwOptions): Promise<{ bytes: number; address: string; port: number }> {
    const [f, sf] = this.#fd(fd);
    const [offset, length] = this.#range(buffer, options);
    return this.#op("io_uring recvmsg", IORING_OP.RECVMSG, f, buffer, offset, length, 0, 0, sf, options, EXTRA.msgRecv, undefined, undefined, (bytes, tag) => {
      const a = this.#native?.takeAddress(tag) ?? [0, ""];
      return { bytes, port: a[0], address: a[1] };
    });
  }

  /** IORING_OP_SENDMSG (UDP) to `port` at IPv4 `host`. Resolves to bytes sent. */
  sendmsg(fd: Fd, buffer: Uint8Array, port: number, host = "127.0.0.1", options?: RwOptions): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const [offset, length] = this.#range(buffer, options);
    validate.integer("port", port, 0, 65535);
    if (typeof host !== "string") throw invalidArgValue("host", "IPv4 address string", host);
    return this.#op("io_uring sendmsg", IORING_OP.SENDMSG, f, buffer, offset, length, 0, 0, sf, options, EXTRA.msgSend, port, host);
  }

  /** IORING_OP_ACCEPT: resolves to the new connection's fd (nonblocking, close-on-exec). */
  accept(fd: Fd, options?: OpOptions): Promise<number> {
    const [f, sf] = this.#fd(fd);
    return this.#op("io_uring accept", IORING_OP.ACCEPT, f, null, 0, 0, 0, 0o4000 | 0o2000000, sf, options);
  }

  /** IORING_OP_CONNECT to `port` at IPv4 `host`. */
  connect(fd: Fd, port: number, host = "127.0.0.1", options?: OpOptions): Promise<number> {
    const [f, sf] = this.#fd(fd);
    validate.integer("port", port, 0, 65535);
    if (typeof host !== "string") throw invalidArgValue("host", "IPv4 address string", host);
    return this.#op("io_uring connect", IORING_OP.CONNECT, f, null, 0, 0, 0, 0, sf, options, EXTRA.sockaddr, port, host);
  }

  /** IORING_OP_POLL_ADD: resolves to the ready mask (EPOLLIN, …) once `events` are ready. */
  pollAdd(fd: Fd, events: number, options?: OpOptions): Promise<number> {
    const [f, sf] = this.#fd(fd);
    const mask = validate.mask("events", events);
    return this.#op("io_uring poll_add", IORING_OP.POLL_ADD, f, null, 0, 0, 0, mask, sf, options);
  }

  /** IORING_OP_TIMEOUT: resolves after `ms` milliseconds (the kernel's -ETIME is success here). */
  timeout(ms: number, options?: OpOptions): Promise<void> {
    validate.integer("ms", ms, 0, validate.INT32_MAX, "non-negative integer");
    this.#open();
    return new Promise<void>((resolve, reject) => {
      this.#op("io_uring timeout", IORING_OP.TIMEOUT, -1, null, 0, 0, 0, 0, 0, options, EXTRA.timespec, ms).then(
        () => resolve(),
        (err: { errno?: number }) => (err.errno === -errno.ETIME ? resolve() : reject(err)),
      );
    });
  }

  /**
   * IORING_OP_ASYNC_CANCEL: a request (the Promise an op returned), every request on an fd
   * (`{ fd }`), or every request (`{ all: true }`). Resolves to the number cancelled.
   */
  async cancel(target: Promise<unknown> | { fd: Fd } | { all: true }): Promise<number> {
    this.#open();
    if (target instanceof Promise) {
      const tag = this.#byPromise.get(target);
      if (tag === undefined) throw invalidArgValue("target", "a Promise returned by this IoUring", target);
      const r = await this.#op("io_uring async_cancel", IORING_OP.ASYNC_CANCEL, -1, null, 0, 0, 0, 0, 0, undefined, EXTRA.userData, tag).catch((e: { errno?: number }) => {
        if (e.errno === -errno.ENOENT || e.errno === -errno.EALREADY) return 0;
        throw e;
      });
      return r === 0 ? 1 : r;
    }
    validate.object("target", target);
    if ("all" in target) {
      return this.#op("io_uring async_cancel", IORING_OP.ASYNC_CANCEL, -1, null, 0, 0, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY, 0, undefined).catch(this.#none);
    }
    const [f, sf] = this.#fd(target.fd);
    return this.#op("io_uring async_cancel", IORING_OP.ASYNC_CANCEL, f, null, 0, 0, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD, sf, undefined).catch(this.#none);
  }

  readonly #none = (e: { errno?: number }): number => {
    if (e.errno === -errno.ENOENT) return 0;
    throw e;
  };

  /** A provided buffer ring for multishot receives; the IoUring assigns its group id. */
  createBufferRing(options: BufferRingOptions): BufferRing {
    const ring = this.#open();
    validate.object("options", options);
    validate.knownKeys("options", options, ["count", "size"]);
    const count = validate.integer("options.count", options.count, 1, 32768);
    if ((count & (count - 1)) !== 0) throw invalidArgValue("options.count", "power of two up to 32768", count);
    const size = validate.integer("options.size", options.size, 1, 1 << 20);
    const bgid = this.#nextBgid++;
    const data = new ArrayBuffer(count * size);
    const r = ring.createBufferRing(count, size, bgid, data);
    if (typeof r === "number") throw errnoError(-r, "io_uring_register_buf_ring");
    const br = new BufferRing(r, bgid, count, size, data);
    this.#bufferRings.push(br);
    return br;
  }

  #multishot<T>(syscall: string, bufferRing: BufferRing | null, arm: (tag: number) => number, toItem: (res: number, flags: number) => T, signal: AbortSignal | undefined): MultishotIterator<T> {
    this.#open();
    const it = new MultishotIterator<T>({
      syscall,
      bufferRing,
      stats: this.#stats,
      signal,
      arm: (onCqe) => {
        const ring = this.#native;
        if (ring === null) return { tag: -1, error: closedError("IoUring") };
        const idx = this.#alloc({ multishot: true, syscall, resolve: noop, reject: noop, onCqe });
        const r = arm(TRACKED + idx);
        if (r < 0) {
          this.#release(idx);
          return { tag: -1, error: errnoError(-r, syscall) };
        }
        return { tag: TRACKED + idx, error: null };
      },
      cancel: (tag) => this.#cancelTag(tag),
      toItem,
    });
    return it;
  }

  /**
   * Multishot IORING_OP_RECV selecting buffers from `bufferRing`: one request, a message per CQE.
   * Yields copies by default; with `lease: true`, views into the ring (see Lease).
   */
  recvMultishot(fd: Fd, bufferRing: BufferRing, options: { lease: true; signal?: AbortSignal }): MultishotIterator<Lease>;
  recvMultishot(fd: Fd, bufferRing: BufferRing, options?: { lease?: false; signal?: AbortSignal }): MultishotIterator<Buffer>;
  recvMultishot(fd: Fd, bufferRing: BufferRing, options: { lease?: boolean; signal?: AbortSignal } = {}): MultishotIterator<Buffer> | MultishotIterator<Lease> {
    const [f, sf] = this.#fd(fd);
    const { lease, signal } = this.#multishotOptions(bufferRing, options);
    return this.#multishot<Buffer | Lease>("io_uring recv", bufferRing, (tag) =>
      this.#native!.prep(IORING_OP.RECV, f, null, 0, 0, 0, 0, sf | IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT, bufferRing.bgid, tag, EXTRA.none),
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

  /** Multishot IORING_OP_RECVMSG (UDP): yields { data, address, port } per datagram. */
  recvmsgMultishot(fd: Fd, bufferRing: BufferRing, options: { lease?: boolean; signal?: AbortSignal } = {}): MultishotIterator<Message> {
    const [f, sf] = this.#fd(fd);
    const { lease, signal } = this.#multishotOptions(bufferRing, options);
    return this.#multishot<Message>("io_uring recvmsg", bufferRing, (tag) =>
      this.#native!.prep(IORING_OP.RECVMSG, f, null, 0, 0, 0, 0, sf | IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT, bufferRing.bgid, tag, EXTRA.msgRecv),
      (res, flags) => {
        const bid = flags >>> IORING_CQE_BUFFER_SHIFT;
        const view = bufferRing.view(bid, res);
        // struct io_uring_recvmsg_out { u32 namelen, controllen, payloadlen, flags }, name, payload
        const namelen = view.readUInt32LE(0);
        const controllen = view.readUInt32LE(4);
        const payloadlen = view.readUInt32LE(8);
        const port = view.readUInt16BE(16 + 2);
        const address = `${view[20]}.${view[21]}.${view[22]}.${view[23]}`;
        const start = 16 + namelen + controllen;
        const payload = view.subarray(start, start + Math.min(payloadlen, res - start));
        if (lease) return { data: payload, address, port, bid, release: once(() => bufferRing.recycle(bid)) };
        const data: Buffer = Buffer.from(payload);
        bufferRing.recycle(bid);
        return { data, address, port };
      },
      signal,
    );
  }

  /** Multishot IORING_OP_ACCEPT: yields each new connection's fd. */
  acceptMultishot(fd: Fd, options: { signal?: AbortSignal } = {}): MultishotIterator<number> {
    const [f, sf] = this.#fd(fd);
    validate.object("options", options);
    const signal = validate.abortSignal("options.signal", options.signal);
    return this.#multishot("io_uring accept", null, (tag) =>
      this.#native!.prep(IORING_OP.ACCEPT, f, null, 0, 0, 0, 0o4000 | 0o2000000, sf, IORING_ACCEPT_MULTISHOT, 0, tag, EXTRA.none),
      (res) => res,
      signal,
    );
  }

  #multishotOptions(bufferRing: BufferRing, options: { lease?: boolean; signal?: AbortSignal }): { lease: boolean; signal: AbortSignal | undefined } {
    if (!(bufferRing instanceof BufferRing) || !this.#bufferRings.includes(bufferRing)) {
      throw invalidArgValue("bufferRing", "a BufferRing created by this IoUring", bufferRing);
    }
    bufferRing.requireOpen();
    validate.object("options", options);
    validate.knownKeys("options", options, ["lease", "signal"]);
    const lease = options.lease === undefined ? false : validate.boolean("options.lease", options.lease);
    return { lease, signal: validate.abortSignal("options.signal", options.signal) };
  }

  /**
   * Batch API: queue every SQE of `batch` in one native call (no Promise per op). Completions of
   * these tags arrive through onCompletions(). Returns how many were queued.
   */
  queue(batch: SqeBatch): number {
    const ring = this.#open();
    if (!(batch instanceof SqeBatch)) throw invalidArgValue("batch", "SqeBatch", batch);
    const r = ring.prepBatch(batch.length, batch.capacity, batch.table);
    if (r < 0) throw errnoError(-r, "io_uring queue");
    return r;
  }

  /** Submit queued SQEs now (otherwise they go once per loop iteration). Returns the count. */
  submit(): number {
    const r = this.#open().submit();
    if (r < 0) throw errnoError(-r, "io_uring_enter");
    return r;
  }

  /**
   * Batch API: receive each completion batch (views valid until the callback returns). close()
   * cancels batch-API requests without handing their CQEs to the callback.
   */
  onCompletions(callback: ((batch: CqeBatch) => void) | null): void {
    this.#open();
    this.#onBatch = callback === null ? null : validate.func<(batch: CqeBatch) => void>("callback", callback);
  }

  /** Reap the CQEs that are ready now, synchronously (for code that drives its own loop). */
  reap(): CqeBatch {
    const n = this.#open().reap();
    if (n < 0) throw errnoError(-n, "io_uring reap");
    const batch = this.#cqeBatch(n);
    // Tracked requests (Promises) found here settle too.
    this.#complete(n);
    return batch;
  }

  /** Let the process exit while requests are in flight (like socket.unref()). */
  unref(): this {
    this.#open().setRef(false);
    return this;
  }

  ref(): this {
    this.#open().setRef(true);
    return this;
  }

  /**
   * Cancel every request in flight and wait for all their completions, then release the ring and
   * every buffer it pinned. Pending Promises reject with ECANCELED. Idempotent.
   */
  close(): void {
    const ring = this.#native;
    if (ring === null) return;
    this.#native = null;
    // Batch-API requests end with the ring; their cancellations are not handed to onCompletions.
    this.#onBatch = null;
    ring.close();
    for (const br of this.#bufferRings) br.detach();
    this.#bufferRings.length = 0;
    this.#registeredBuffers = [];
    for (let i = 0; i < this.#pending.length; i++) {
      const p = this.#pending[i];
      if (p === undefined) continue;
      this.#release(i);
      if (p.multishot) p.onCqe!(-errno.ECANCELED, 0);
      else p.reject(errnoError(errno.ECANCELED, p.syscall, "IoUring closed"));
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export { SqeBatch, CqeBatch };
