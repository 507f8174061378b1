// createServer() options and listen() arguments, validated with lib/'s one message shape.
import { invalidArgType, invalidArgValue } from "../errors.js";
import * as validate from "../validate.js";
import { batchHandler, type BatchHandler } from "./batch.js";
import type { BackendChoice } from "./choose-backend.js";
import type { ListenSpec } from "./listen.js";

export interface ServerOptions {
  /** Keep the write side open after the peer ended (default false, as net). */
  allowHalfOpen?: boolean;
  /** Do not read from new connections until socket.resume() / read(). */
  pauseOnConnect?: boolean;
  /** TCP_NODELAY on every new connection (default false, as net). */
  noDelay?: boolean;
  /** SO_KEEPALIVE on every new connection. */
  keepAlive?: boolean;
  /** TCP_KEEPIDLE for keepAlive, in milliseconds. */
  keepAliveInitialDelay?: number;
  /** Readable and writable high-water mark of each socket, in bytes. */
  highWaterMark?: number;
  /** 'auto' (default): io_uring where the kernel allows it, else epoll. */
  backend?: BackendChoice;
  /**
   * io_uring: the provided buffers receives select from (count a power of two). Default 256 × 16 KiB.
   * `bundle`: one receive may fill several buffers (IORING_RECVSEND_BUNDLE, Linux 6.10); default:
   * where the kernel has it; true on a kernel without it is an error.
   */
  recvBuffers?: { count?: number; size?: number; bundle?: boolean };
  /** Batch mode: no sockets; this handler gets each batch's bytes, and sends go through server.send(). */
  batch?: BatchHandler;
}

export interface ResolvedOptions {
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  highWaterMark: number | undefined;
  backend: BackendChoice;
  bufferCount: number;
  bufferSize: number;
  /** undefined: where the kernel has bundles */
  bundle: boolean | undefined;
  batch: BatchHandler | null;
}

const KEYS = ["allowHalfOpen", "pauseOnConnect", "noDelay", "keepAlive", "keepAliveInitialDelay", "highWaterMark", "backend", "recvBuffers", "batch"];

export function serverOptions(options: ServerOptions): ResolvedOptions {
  validate.object("options", options);
  validate.knownKeys("options", options, KEYS);
  const bool = (name: "allowHalfOpen" | "pauseOnConnect" | "noDelay" | "keepAlive") =>
    options[name] === undefined ? false : validate.boolean(`options.${name}`, options[name]);
  const backend = options.backend ?? "auto";
  if (backend !== "auto" && backend !== "io_uring" && backend !== "epoll") throw invalidArgValue("options.backend", "'auto', 'io_uring' or 'epoll'", backend);
  const rb = options.recvBuffers ?? {};
  validate.object("options.recvBuffers", rb);
  validate.knownKeys("options.recvBuffers", rb, ["count", "size", "bundle"]);
  const bufferCount = validate.integer("options.recvBuffers.count", rb.count ?? 256, 1, 32768);
  if ((bufferCount & (bufferCount - 1)) !== 0) throw invalidArgValue("options.recvBuffers.count", "power of two up to 32768", bufferCount);
  return {
    allowHalfOpen: bool("allowHalfOpen"),
    pauseOnConnect: bool("pauseOnConnect"),
    noDelay: bool("noDelay"),
    keepAlive: bool("keepAlive"),
    keepAliveInitialDelay: validate.integer("options.keepAliveInitialDelay", options.keepAliveInitialDelay ?? 0, 0, validate.INT32_MAX, "non-negative integer"),
    highWaterMark: options.highWaterMark === undefined ? undefined : validate.integer("options.highWaterMark", options.highWaterMark, 1, validate.INT32_MAX),
    backend,
    bufferCount,
    bufferSize: validate.integer("options.recvBuffers.size", rb.size ?? 16384, 64, 1 << 20),
    bundle: rb.bundle === undefined ? undefined : validate.boolean("options.recvBuffers.bundle", rb.bundle),
    batch: options.batch === undefined ? null : batchHandler(options.batch),
  };
}

function port(value: unknown): number {
  // net accepts numeric strings too
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number") throw invalidArgType("port", ">= 0 and <= 65535", value);
  return validate.integer("port", n, 0, 65535, ">= 0 and <= 65535");
}

function host(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidArgType("host", "string", value);
  return value;
}

/** listen(port?, host?, backlog?, cb?) or listen({ port, host, backlog, reusePort, ipv6Only }, cb?) */
export function listenArgs(args: unknown[]): { spec: ListenSpec; cb: (() => void) | undefined } {
  const last = args[args.length - 1];
  const cb = typeof last === "function" ? (args.pop() as () => void) : undefined;
  const spec: ListenSpec = { port: 0, host: undefined, backlog: 511, reusePort: false, ipv6Only: false };
  const first = args[0];
  if (first !== null && typeof first === "object") {
    const o = first as Record<string, unknown>;
    validate.knownKeys("options", o, ["port", "host", "backlog", "reusePort", "ipv6Only", "exclusive"]);
    if (o.port !== undefined) spec.port = port(o.port);
    spec.host = host(o.host);
    if (o.backlog !== undefined) spec.backlog = validate.integer("options.backlog", o.backlog, 0, validate.INT32_MAX, "non-negative integer");
    if (o.reusePort !== undefined) spec.reusePort = validate.boolean("options.reusePort", o.reusePort);
    if (o.ipv6Only !== undefined) spec.ipv6Only = validate.boolean("options.ipv6Only", o.ipv6Only);
    return { spec, cb };
  }
  if (first !== undefined) spec.port = port(first);
  spec.host = host(args[1]);
  if (args[2] !== undefined) spec.backlog = validate.integer("backlog", args[2], 0, validate.INT32_MAX, "non-negative integer");
  return { spec, cb };
}
