// Loads the addon once per thread and hands it the JS error factory.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { errnoError } from "./errors.js";

if (process.platform !== "linux") {
  throw new Error(`ringpoll supports Linux only (epoll and io_uring are Linux interfaces); this is ${process.platform}`);
}

export interface NativeEpoll {
  readonly fd: number;
  ctl(op: number, fd: number, events: number, data: number): void;
  wait(timeoutMs: number): number;
  start(onBatch: (n: number) => void): void;
  stop(): void;
  close(): void;
  setRef(ref: boolean): void;
  /** [JS calls, events, epoll_wait calls, empty wake-ups] */
  counters(out: Float64Array): void;
  /** receive mode on (shared: received per event, then datagrams, truncated, memory fault) or off (null) */
  receive(buffer: Uint8Array | null, slotSize?: number, count?: number, lengths?: Uint32Array, flags?: Uint32Array, addresses?: Uint32Array | null, shared?: Int32Array, pinned?: boolean): void;
}

export interface NativeFd {
  /** own: the environment closes the fd if it ends first (worker_threads) */
  socket(type: 0 | 1, family?: 4 | 6, own?: boolean): number;
  setReuse(fd: number): number;
  /** level: 0 SOL_SOCKET, 1 IPPROTO_TCP, 2 IPPROTO_IPV6 */
  setsockopt(fd: number, level: 0 | 1 | 2, name: number, value: number): number;
  shutdown(fd: number, how: 0 | 1 | 2): number;
  /** [family, address, port] of getsockname (peer false) or getpeername, or -errno */
  sockname(fd: number, peer: boolean): [4 | 6, string, number] | number;
  setBufferSize(fd: number, which: 0 | 1, size: number): number;
  bind(fd: number, port: number, host: string): number;
  connect(fd: number, port: number, host: string): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number, own?: boolean): number;
  /** the environment closes `fd` if it ends first (until close() through this addon) */
  own(fd: number): void;
  localPort(fd: number): number;
  eventfd(initval: number): number;
  pipe(out: Int32Array): number;
  read(fd: number, buf: Uint8Array, offset: number, length: number): number;
  write(fd: number, buf: Uint8Array, offset: number, length: number): number;
  /** sendmsg() from buffers[0] at firstOffset, then each later buffer whole (at most IOV_MAX) */
  sendv(fd: number, buffers: Uint8Array[], firstOffset: number, msgFlags: number): number;
  sendto(fd: number, buf: Uint8Array, offset: number, length: number, port: number, host: string): number;
  close(fd: number): number;
  recvmmsg(fd: number, buf: Uint8Array, slotSize: number, count: number, lengths: Uint32Array, flags: Uint32Array, addresses: Uint32Array | null): number;
  sendmmsg(fd: number, buf: Uint8Array, slotSize: number, count: number, lengths: Uint32Array, addresses: Uint32Array | null): number;
  counters(out: Float64Array): void;
}

export interface NativeUringProbe {
  /** io_uring_setup with these flags, ring closed at once; result 0 or -errno. */
  setup(
    entries: number,
    flags: number,
    cqEntries: number,
    sqThreadCpu: number,
    sqThreadIdle: number,
  ): { result: number; flags: number; features: number; sqEntries: number; cqEntries: number };
  /** IORING_REGISTER_PROBE on a fresh ring: supported opcode numbers, or -errno. */
  opcodes(): { lastOp: number; supported: number[] } | number;
}

export interface NativeBufferRing {
  recycle(bids: Uint16Array, count: number): number;
  /** bids queued by lib/ (count in queued[0]) go back to the kernel after each JS call of the ring's wake-up */
  setRecycleQueue(bids: Uint16Array, queued: Int32Array): number;
  unregister(): number;
  available(): number;
}

// Native methods return -errno on failure (lib/ turns it into a SystemError); constructors throw one.
export interface NativeRing {
  /** [flags, features, sqEntries, cqEntries] */
  params(): [number, number, number, number] | number;
  prep(
    opcode: number,
    fd: number,
    buffer: Uint8Array | null,
    bufOffset: number,
    len: number,
    off: number,
    opFlags: number,
    sqeFlags: number,
    ioprio: number,
    bufIndexOrGroup: number,
    tag: number,
    extraKind: number,
    a?: number,
    b?: string,
    /** >= 0: link an IORING_OP_LINK_TIMEOUT of this many ms (tagged linkTimeoutTag) */
    linkTimeoutMs?: number,
    linkTimeoutTag?: number,
  ): number;
  /** table: SqeBatch's columns in one buffer (lib/uring-batch.ts) */
  prepBatch(count: number, capacity: number, table: Uint8Array): number;
  /** IORING_OP_SENDMSG from buffers[0] at firstOffset, then each later buffer whole (at most IOV_MAX); all pinned until the CQE */
  prepSendv(fd: number, buffers: Uint8Array[], firstOffset: number, msgFlags: number, tag: number): number;
  submit(): number;
  reap(): number;
  takeAddress(tag: number): [number, string, number] | null;
  start(onCompletions: (n: number) => void): number;
  setRef(ref: boolean): void;
  registerBuffers(buffers: Uint8Array[]): number;
  unregisterBuffers(): number;
  registerFiles(fds: Int32Array): number;
  unregisterFiles(): number;
  createBufferRing(count: number, size: number, bgid: number, data: Uint8Array): NativeBufferRing | number;
  inflight(): number;
  submits(): number;
  /** [submits, JS calls, CQEs, io_uring_enter calls, eventfd reads, empty wake-ups] */
  counters(out: Float64Array): void;
  /** 0 or -errno; minBatch <= 1: off */
  setCoalesce(minBatch: number, maxWaitUs: number): number;
  /** CQEs of this tag with res >= 0 carry a new fd (accept): the environment owns it at once */
  ownFdResults(tag: number): void;
  /** Cancels everything in flight and returns at once; onClosed runs once every CQE is in. */
  close(onClosed?: () => void): void;
  /** prep/prepBatch stop refusing (-EPERM) after the process's credentials changed. */
  allowCredentialChange(): void;
}

/** Ring.batchRules: what the batch API may hand the kernel (native/ring_batch_rules.hpp). */
export interface NativeBatchRules {
  /** allowed opcodes → their rule bits */
  ops: Record<number, number>;
  rule: { data: number; fixed: number; select: number; position: number; lenValue: number };
  /** allowed IOSQE_* flags */
  sqeFlags: number;
  /** largest file position */
  maxPosition: number;
}

export interface NativeAddon {
  Ring: {
    new (
      entries: number,
      flags: number,
      cqEntries: number,
      sqThreadIdle: number,
      sqThreadCpu: number,
      tags: Uint32Array,
      res: Int32Array,
      flags2: Uint32Array,
    ): NativeRing;
    readonly batchRules: NativeBatchRules;
  };
  setErrorFactory(factory: (errno: number, syscall: string, detail?: string) => Error): void;
  Epoll: new (maxEvents: number, events: Uint32Array, data: Uint32Array) => NativeEpoll;
  fd: NativeFd;
  /** changed(): the process's credentials may have changed (rings compare their ids on next prep) */
  credentials: { changed(): void };
  /** ArrayBuffer or -errno */
  memory: { alignedBuffer(size: number, alignment: number): ArrayBuffer | number };
  uringProbe: NativeUringProbe;
  liburingVersion: string;
}

const require = createRequire(import.meta.url);
const bindings = require("bindings") as (opts: { bindings: string; module_root: string }) => unknown;
const root = fileURLToPath(new URL("../..", import.meta.url));

function load(): NativeAddon {
  try {
    return bindings({ bindings: "ringpoll", module_root: root }) as NativeAddon;
  } catch (err) {
    throw new Error(
      `ringpoll: the native addon is not built (${(err as Error).message.split("\n")[0]}); run \`npm run build:native\``,
      { cause: err },
    );
  }
}

export const native: NativeAddon = load();
native.setErrorFactory(errnoError);
