// Thin fd helpers (sockets, eventfd, pipes) for code that brings its own fds to Epoll or IoUring.
// Errors are SystemErrors; on a nonblocking fd, "would block" returns null instead of throwing.
import { constants } from "node:os";
import { DatagramBatch, MSG_TRUNC } from "./datagram-batch.js";
import { errnoError, invalidArgType, invalidArgValue } from "./errors.js";
import { native } from "./native.js";
import * as validate from "./validate.js";

const { EAGAIN, EINPROGRESS } = constants.errno;
const fdn = native.fd;

function check(result: number, syscall: string): number {
  if (result < 0) throw errnoError(-result, syscall);
  return result;
}

// A detached buffer is refused, zero bytes are not (the rules of uring/args.ts rangeArg).
function range(buf: Uint8Array, offset: number, length: number | undefined): number {
  validate.bytes("buffer", buf);
  validate.integer("offset", offset, 0, buf.byteLength, `integer between 0 and ${buf.byteLength}`);
  const len = length ?? buf.byteLength - offset;
  validate.integer("length", len, 0, buf.byteLength - offset, `integer between 0 and ${buf.byteLength - offset}`);
  return len;
}

function port(value: number): number {
  return validate.integer("port", value, 0, 65535);
}

function host(value: string): string {
  if (typeof value !== "string") throw invalidArgType("host", "IPv4 address string", value);
  return value;
}

export interface SocketOptions {
  /** Bind to this port on `host` (0: any free port). */
  port?: number;
  /** IPv4 address to bind; default 127.0.0.1. */
  host?: string;
  /** SO_REUSEADDR + SO_REUSEPORT before bind. */
  reuse?: boolean;
  /** SO_RCVBUF in bytes. */
  recvBufferSize?: number;
}

function socket(type: 0 | 1, options: SocketOptions): number {
  validate.object("options", options);
  validate.knownKeys("options", options, ["port", "host", "reuse", "recvBufferSize"]);
  if (options.reuse !== undefined) validate.boolean("options.reuse", options.reuse);
  const fd = check(fdn.socket(type), "socket");
  try {
    if (options.reuse) check(fdn.setReuse(fd), "setsockopt");
    if (options.recvBufferSize !== undefined) {
      check(fdn.setBufferSize(fd, 0, validate.integer("options.recvBufferSize", options.recvBufferSize, 1, validate.INT32_MAX)), "setsockopt");
    }
    if (options.port !== undefined || options.host !== undefined) {
      check(fdn.bind(fd, port(options.port ?? 0), host(options.host ?? "127.0.0.1")), "bind");
    }
    return fd;
  } catch (err) {
    fdn.close(fd);
    throw err;
  }
}

/** A nonblocking, close-on-exec UDP (IPv4) socket fd, bound when `port` or `host` is given. */
export function udpSocket(options: SocketOptions = {}): number {
  return socket(0, options);
}

/** A nonblocking, close-on-exec TCP (IPv4) socket fd, bound when `port` or `host` is given. */
export function tcpSocket(options: SocketOptions = {}): number {
  return socket(1, options);
}

export function listen(fd: number, backlog = 511): void {
  check(fdn.listen(validate.fd("fd", fd), validate.integer("backlog", backlog, 0, validate.INT32_MAX)), "listen");
}

/** connect(); on a nonblocking socket EINPROGRESS is not an error. */
export function connect(fd: number, portNumber: number, hostName = "127.0.0.1"): void {
  const r = fdn.connect(validate.fd("fd", fd), port(portNumber), host(hostName));
  if (r < 0 && r !== -EINPROGRESS) check(r, "connect");
}

/**
 * accept4(); null when no connection is waiting. @internal `own`: the environment closes the new
 * fd if it ends first (ringpoll/net's servers in worker_threads).
 */
export function accept(fd: number, own = false): number | null {
  const r = fdn.accept(validate.fd("fd", fd), own);
  return r === -EAGAIN ? null : check(r, "accept4");
}

/** The port a socket is bound to. */
export function localPort(fd: number): number {
  return check(fdn.localPort(validate.fd("fd", fd)), "getsockname");
}

/** Linux socket options for setsockopt(): [level, name]. */
export const SOCKOPT = {
  SO_REUSEADDR: [0, 2],
  SO_KEEPALIVE: [0, 9],
  SO_REUSEPORT: [0, 15],
  TCP_NODELAY: [1, 1],
  TCP_KEEPIDLE: [1, 4],
  IPV6_V6ONLY: [2, 26],
} as const satisfies Record<string, readonly [0 | 1 | 2, number]>;

/** setsockopt() with an int value; `option` is one of SOCKOPT's names. */
export function setsockopt(fd: number, option: keyof typeof SOCKOPT, value: number | boolean): void {
  const [level, name] = SOCKOPT[option];
  const v = typeof value === "boolean" ? Number(value) : validate.integer("value", value, -(2 ** 31), validate.INT32_MAX);
  check(fdn.setsockopt(validate.fd("fd", fd), level, name, v), "setsockopt");
}

/** shutdown(): 0 = SHUT_RD, 1 = SHUT_WR, 2 = SHUT_RDWR. */
export function shutdown(fd: number, how: 0 | 1 | 2): void {
  check(fdn.shutdown(validate.fd("fd", fd), validate.integer("how", how, 0, 2) as 0 | 1 | 2), "shutdown");
}

export interface SocketAddress {
  family: "IPv4" | "IPv6";
  address: string;
  port: number;
}

function sockname(fd: number, peer: boolean): SocketAddress {
  const r = fdn.sockname(validate.fd("fd", fd), peer);
  if (typeof r === "number") throw errnoError(-r, peer ? "getpeername" : "getsockname");
  return { family: r[0] === 6 ? "IPv6" : "IPv4", address: r[1], port: r[2] };
}

/** getsockname(): the local address of a socket. */
export function localAddress(fd: number): SocketAddress {
  return sockname(fd, false);
}

/** getpeername(): the address of a connected socket's peer. */
export function remoteAddress(fd: number): SocketAddress {
  return sockname(fd, true);
}

/** A nonblocking, close-on-exec eventfd. */
export function eventfd(initval = 0): number {
  return check(fdn.eventfd(validate.uint32("initval", initval)), "eventfd");
}

/** A nonblocking, close-on-exec pipe: [readFd, writeFd]. */
export function pipe(): [number, number] {
  const out = new Int32Array(2);
  check(fdn.pipe(out), "pipe2");
  return [out[0]!, out[1]!];
}

/** read()/recv(); null when it would block. */
export function read(fd: number, buffer: Uint8Array, offset = 0, length?: number): number | null {
  const len = range(buffer, offset, length);
  const r = fdn.read(validate.fd("fd", fd), buffer, offset, len);
  return r === -EAGAIN ? null : check(r, "read");
}

/** write()/send(); null when it would block. */
export function write(fd: number, buffer: Uint8Array, offset = 0, length?: number): number | null {
  const len = range(buffer, offset, length);
  const r = fdn.write(validate.fd("fd", fd), buffer, offset, len);
  return r === -EAGAIN ? null : check(r, "write");
}

/** sendmsg() takes at most this many buffers (IOV_MAX). */
export const IOV_MAX = 1024;

/**
 * sendmsg() of several buffers in one syscall (a vectored send, no copy): `buffers[0]` from
 * `offset`, then every later buffer whole. `flags` are MSG_* flags (MSG_NOSIGNAL, MSG_DONTWAIT…).
 * Returns the bytes the kernel took (fewer when its buffer filled), or null when it would block.
 */
export function sendv(fd: number, buffers: readonly Uint8Array[], offset = 0, flags = 0): number | null {
  if (!Array.isArray(buffers)) throw invalidArgType("buffers", "Array of Buffer or Uint8Array", buffers);
  validate.integer("buffers.length", buffers.length, 1, IOV_MAX, `integer between 1 and ${IOV_MAX}`);
  for (let i = 0; i < buffers.length; i++) validate.bytes(`buffers[${i}]`, buffers[i]);
  validate.integer("offset", offset, 0, buffers[0]!.byteLength, `integer between 0 and ${buffers[0]!.byteLength}`);
  const r = fdn.sendv(validate.fd("fd", fd), buffers as Uint8Array[], offset, validate.uint32("flags", flags));
  return r === -EAGAIN ? null : check(r, "sendmsg");
}

/** sendto() a UDP datagram; null when it would block. */
export function sendto(fd: number, buffer: Uint8Array, portNumber: number, hostName = "127.0.0.1"): number | null {
  const r = fdn.sendto(validate.fd("fd", fd), buffer, 0, range(buffer, 0, undefined), port(portNumber), host(hostName));
  return r === -EAGAIN ? null : check(r, "sendto");
}

export function close(fd: number): void {
  check(fdn.close(validate.fd("fd", fd)), "close");
}

export { DatagramBatch, MSG_TRUNC, MAX_BATCH, type DatagramBatchOptions } from "./datagram-batch.js";

function datagramBatch(value: unknown): DatagramBatch {
  if (!(value instanceof DatagramBatch)) throw invalidArgType("batch", "DatagramBatch", value);
  return value;
}

/**
 * recvmmsg(): up to batch.count datagrams in one syscall, into the batch's slots. Returns how many
 * (also in batch.length), or null when none is waiting. A datagram longer than slotSize is cut to
 * it, flagged MSG_TRUNC in batch.flags and counted in batch.truncated.
 */
export function recvmmsg(fd: number, batch: DatagramBatch): number | null {
  const b = datagramBatch(batch);
  b.checkMemory();
  const r = fdn.recvmmsg(validate.fd("fd", fd), b.buffer, b.slotSize, b.count, b.lengths, b.flags, b.addresses);
  if (r === -EAGAIN) {
    b.length = 0;
    b.truncated = 0;
    return null;
  }
  b.length = check(r, "recvmmsg");
  let truncated = 0;
  for (let i = 0; i < r; i++) if ((b.flags[i]! & MSG_TRUNC) !== 0) truncated++;
  b.truncated = truncated;
  return r;
}

/**
 * sendmmsg(): datagrams 0 … count-1 of the batch (default batch.length) (lengths[i] bytes from slot i) in one syscall, to
 * each one's address when the batch has addresses, else to the connected peer. Returns how many
 * the kernel took (fewer when its buffer filled), or null when it would block.
 */
export function sendmmsg(fd: number, batch: DatagramBatch, count?: number): number | null {
  const b = datagramBatch(batch);
  b.checkMemory();
  count = validate.integer("count", count ?? b.length, 1, b.count, `integer between 1 and ${b.count} (the batch's count)`);
  for (let i = 0; i < count; i++) {
    if (b.lengths[i]! > b.slotSize) throw invalidArgValue(`batch.lengths[${i}]`, `at most ${b.slotSize} (slotSize)`, b.lengths[i]);
  }
  const r = fdn.sendmmsg(validate.fd("fd", fd), b.buffer, b.slotSize, count, b.lengths, b.addresses);
  return r === -EAGAIN ? null : check(r, "sendmmsg");
}

export interface SysCounters {
  recvmmsgCalls: number;
  recvmmsgDatagrams: number;
  sendmmsgCalls: number;
  sendmmsgDatagrams: number;
  /** Iterations of this thread's libuv loop. */
  loopIterations: number;
  /**
   * libuv's epoll_wait calls, estimated: Node turns on libuv's idle-time metrics, and an iteration
   * then polls once with timeout 0 and, when that finds nothing, once more to sleep.
   */
  loopPolls: number;
}

const counterValues = new Float64Array(6);

/**
 * Kernel entries made through sys by this thread since it loaded ringpoll (recvmmsg/sendmmsg calls
 * and datagrams), and its event loop's iterations: with Epoll.stats and IoUring.stats, what each
 * wake-up of a receiver costs.
 */
export function counters(): SysCounters {
  fdn.counters(counterValues);
  const [recvmmsgCalls, recvmmsgDatagrams, sendmmsgCalls, sendmmsgDatagrams, loopIterations, loopPolls] = counterValues;
  return {
    recvmmsgCalls: recvmmsgCalls!,
    recvmmsgDatagrams: recvmmsgDatagrams!,
    sendmmsgCalls: sendmmsgCalls!,
    sendmmsgDatagrams: sendmmsgDatagrams!,
    loopIterations: loopIterations!,
    loopPolls: loopPolls!,
  };
}
