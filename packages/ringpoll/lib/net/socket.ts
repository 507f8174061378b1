// A server-side connection as a stream.Duplex with the net.Socket surface a server uses. Writes
// complete when the kernel has taken every byte; a full reader pauses the backend's receive.
import { Duplex } from "node:stream";
import { isDetached } from "../detached.js";
import * as sys from "../sys.js";
import * as validate from "../validate.js";
import type { Backend } from "./backend.js";

/**
 * A chunk whose ArrayBuffer was transferred away after write() (while corked, say) has no memory
 * left to send: the write fails with the usual error instead of sending nothing.
 */
function detachedChunk(chunk: Buffer): Error | null {
  if (!isDetached(chunk)) return null;
  try {
    validate.bytes("chunk", chunk);
  } catch (err) {
    return err as Error;
  }
  return null;
}

export interface SocketOptions {
  allowHalfOpen: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

/** @internal what the server hands each socket */
export interface SocketHost {
  backend: Backend;
  /** the socket is gone (fd closed): the server forgets it */
  closed(socket: Socket, id: number): void;
  /** this socket was ref'd (true) or unref'd (false) */
  refChanged(refed: boolean): void;
  /** the socket corked itself for the batch being delivered: uncork it after the batch */
  corked(socket: Socket): void;
}

export class Socket extends Duplex {
  readonly #host: SocketHost;
  readonly #backend: Backend;
  /** @internal connection id in the backend (-1 once closed) */
  id: number;
  bytesRead = 0;
  bytesWritten = 0;
  /** net.Socket says connecting while a client connects; a server's sockets are connected */
  readonly connecting = false;
  #paused = false;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #local: sys.SocketAddress | null = null;
  #remote: sys.SocketAddress | null = null;
  /** @internal */
  refed = true;
  /** @internal corked while a batch of completions is delivered (the server uncorks it after) */
  batchCorked = false;

  constructor(host: SocketHost, id: number, options: SocketOptions) {
    super({
      allowHalfOpen: options.allowHalfOpen,
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
      // net.Socket emits 'close' after 'error' and ends both sides itself.
      emitClose: true,
      autoDestroy: true,
    });
    this.#host = host;
    this.#backend = host.backend;
    this.id = id;
  }

  /** @internal bytes from the backend (a view valid only now: copied) */
  onData(view: Buffer): void {
    this.bytesRead += view.length;
    this.#touch();
    // What 'data' handlers write during this batch leaves in one send after it: an answer written
    // in pieces would otherwise go out as small segments that Nagle holds back.
    if (!this.batchCorked) {
      this.batchCorked = true;
      this.cork();
      this.#host.corked(this);
    }
    const copy = Buffer.allocUnsafe(view.length);
    view.copy(copy);
    if (!this.push(copy) && !this.#paused && this.id >= 0) {
      this.#paused = true;
      this.#backend.pause(this.id);
    }
  }

  /** @internal pauseOnConnect: nothing is received until the socket is read */
  holdReceive(): void {
    this.pause();
    this.#paused = true;
    this.#backend.pause(this.id);
  }

  /** @internal the peer ended its side */
  onEnd(): void {
    this.push(null);
  }

  /** @internal */
  onError(err: Error): void {
    this.destroy(err);
  }

  override _read(): void {
    if (this.#paused && this.id >= 0) {
      this.#paused = false;
      this.#backend.resume(this.id);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.id < 0) return cb(new Error("socket is closed"));
    const bad = detachedChunk(chunk);
    if (bad !== null) return cb(bad);
    this.#backend.send(this.id, chunk, (err) => this.#sent(err, chunk.length, cb));
  }

  // Everything written while corked leaves in one vectored send (no copy).
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    if (chunks.length === 1) return this._write(chunks[0]!.chunk, "latin1", cb);
    if (this.id < 0) return cb(new Error("socket is closed"));
    const bufs = new Array<Buffer>(chunks.length);
    let bytes = 0;
    for (let i = 0; i < chunks.length; i++) {
      const b = chunks[i]!.chunk;
      const bad = detachedChunk(b);
      if (bad !== null) return cb(bad);
      bufs[i] = b;
      bytes += b.length;
    }
    this.#backend.sendv(this.id, bufs, (err) => this.#sent(err, bytes, cb));
  }

  #sent(err: Error | null, bytes: number, cb: (err?: Error | null) => void): void {
    if (err === null) {
      this.bytesWritten += bytes;
      this.#touch();
    }
    cb(err);
  }

  // The write side ends: shutdown(SHUT_WR) once every send has completed. Once the peer's end was
  // read to 'end', autoDestroy closes the socket right after 'finish', and that close() sends the
  // same FIN (nothing is left unread): no shutdown() first.
  override _final(cb: (err?: Error | null) => void): void {
    if (this.id < 0) return cb();
    if (this.readableEnded && this.#backend.peerEnded(this.id) && !this.#backend.sendsPending(this.id)) return cb();
    const err = this.#backend.shutdown(this.id) as (Error & { code?: string }) | null;
    // The peer may be gone already; net ignores that too.
    cb(err !== null && err.code !== "ENOTCONN" ? err : null);
  }

  // Writes held by the batch cork reach the backend first: net hands a write to the kernel at once,
  // so write() then destroy() sends (node:http answers a bad request that way).
  override destroy(error?: Error): this {
    if (this.batchCorked && !this.destroyed) {
      this.batchCorked = false;
      this.uncork();
    }
    return super.destroy(error);
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.#clearTimer();
    if (this.id < 0) return cb(err);
    const id = this.id;
    this.#backend.close(id, () => {
      this.id = -1;
      this.#host.closed(this, id);
      cb(err);
    });
  }

  /** Close the socket once everything written has been sent (net's destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  // Addresses are asked of the kernel on first use and kept (they outlive the fd; as with net, one
  // never asked before the close is unknown after it: no syscalls for them at every close).
  #remember(): void {
    if (this.id < 0) return;
    const fd = this.#backend.fd(this.id);
    try {
      this.#remote ??= sys.remoteAddress(fd);
    } catch {
      // not connected any more: no peer address
    }
    try {
      this.#local ??= sys.localAddress(fd);
    } catch {
      // the fd is gone
    }
  }

  #addr(peer: boolean): sys.SocketAddress | null {
    if ((peer ? this.#remote : this.#local) === null) this.#remember();
    return peer ? this.#remote : this.#local;
  }

  get remoteAddress(): string | undefined {
    return this.#addr(true)?.address;
  }

  get remotePort(): number | undefined {
    return this.#addr(true)?.port;
  }

  get remoteFamily(): string | undefined {
    return this.#addr(true)?.family;
  }

  get localAddress(): string | undefined {
    return this.#addr(false)?.address;
  }

  get localPort(): number | undefined {
    return this.#addr(false)?.port;
  }

  get localFamily(): string | undefined {
    return this.#addr(false)?.family;
  }

  address(): sys.SocketAddress | Record<string, never> {
    return this.#addr(false) ?? {};
  }

  /** net.Socket's readyState for a server's socket */
  get readyState(): "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.destroyed) return "closed";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    return this.writable ? "writeOnly" : "closed";
  }

  get pending(): boolean {
    return false;
  }

  get bufferSize(): number {
    return this.writableLength;
  }

  /** TCP_NODELAY: send small writes at once instead of waiting to coalesce them (Nagle). */
  setNoDelay(noDelay = true): this {
    if (this.id >= 0) sys.setsockopt(this.#backend.fd(this.id), "TCP_NODELAY", Boolean(noDelay));
    return this;
  }

  /** SO_KEEPALIVE, and TCP_KEEPIDLE from `initialDelay` milliseconds (whole seconds, at least 1). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    if (this.id < 0) return this;
    const fd = this.#backend.fd(this.id);
    sys.setsockopt(fd, "SO_KEEPALIVE", Boolean(enable));
    const ms = validate.integer("initialDelay", initialDelay, 0, validate.INT32_MAX, "non-negative integer");
    if (enable && ms > 0) sys.setsockopt(fd, "TCP_KEEPIDLE", Math.max(1, Math.floor(ms / 1000)));
    return this;
  }

  /** Emit 'timeout' after `ms` of inactivity (0 disables); the socket stays open (as in net). */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeoutMs = validate.integer("msecs", ms, 0, validate.INT32_MAX, "non-negative integer");
    if (callback !== undefined) {
      validate.func("callback", callback);
      if (ms === 0) this.removeListener("timeout", callback);
      else this.once("timeout", callback);
    }
    this.#clearTimer();
    if (ms > 0 && !this.destroyed) {
      // Kept after it fires: activity re-arms it (refresh), as in net.
      this.#timer = setTimeout(() => this.emit("timeout"), ms).unref();
    }
    return this;
  }

  get timeout(): number | undefined {
    return this.#timeoutMs === 0 ? undefined : this.#timeoutMs;
  }

  #touch(): void {
    this.#timer?.refresh();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  ref(): this {
    if (!this.refed) {
      this.refed = true;
      if (this.id >= 0) this.#host.refChanged(true);
    }
    return this;
  }

  unref(): this {
    if (this.refed) {
      this.refed = false;
      if (this.id >= 0) this.#host.refChanged(false);
    }
    return this;
  }
}
