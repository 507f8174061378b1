// Server: net.Server's habits over a ringpoll backend (io_uring or epoll).
import { EventEmitter } from "node:events";
import * as sys from "../sys.js";
import * as validate from "../validate.js";
import type { Backend, BackendEvents } from "./backend.js";
import { DataBatch, type BatchHandler } from "./batch.js";
import { createBackend, type BackendInfo } from "./choose-backend.js";
import { invalidArgType, invalidArgValue } from "../errors.js";
import { listenSocket } from "./listen.js";
import { listenArgs, serverOptions, type ResolvedOptions, type ServerOptions } from "./options.js";
import { Socket, type SocketHost } from "./socket.js";
import { UringBackend } from "./uring-backend.js";

const EMPTY = new Uint8Array(0);

function notRunning(): Error {
  return Object.assign(new Error("Server is not running."), { code: "ERR_SERVER_NOT_RUNNING" });
}

export class Server extends EventEmitter implements BackendEvents {
  readonly #options: ResolvedOptions;
  #backend: Backend | null = null;
  #info: BackendInfo | null = null;
  #host: SocketHost | null = null;
  readonly #sockets: Array<Socket | undefined> = [];
  /** sockets corked while a batch is delivered, uncorked on the next tick */
  readonly #corked: Socket[] = [];
  #connections = 0;
  #listenFd = -1;
  #address: sys.SocketAddress | null = null;
  #starting = false;
  #refed = true;
  /** sockets with unref() called (net: each socket is a handle of its own, ref'd by default) */
  #unrefedSockets = 0;
  /** what the backend was last told */
  #backendRef: boolean | null = null;
  // batch mode (options.batch)
  readonly #batch: BatchHandler | null;
  readonly #received = new DataBatch();
  /** connections open in batch mode (not closing) */
  readonly #open: boolean[] = [];
  readonly #ended: number[] = [];
  readonly #failed: Array<[number, Error]> = [];
  /** Refuse connections beyond this many (net's maxConnections); Infinity by default. */
  maxConnections = Number.POSITIVE_INFINITY;

  constructor(options: ServerOptions = {}, connectionListener?: (socket: Socket) => void) {
    super();
    this.#options = serverOptions(options);
    this.#batch = this.#options.batch;
    if (connectionListener !== undefined) this.on("connection", validate.func("connectionListener", connectionListener));
  }

  /** @internal send syscalls or SQEs the backend made (tests: queued writes leave as one send) */
  get sendCalls(): number {
    return this.#backend?.sendCalls ?? 0;
  }

  /** @internal io_uring: whether receives are bundled, and how many receive CQEs filled several buffers */
  get recvBundles(): { enabled: boolean; multiBufferCqes: number } | null {
    const b = this.#backend;
    return b instanceof UringBackend ? { enabled: b.bundles, multiBufferCqes: b.multiBufferCqes } : null;
  }

  /** Which backend runs and why (null until listen() set one up). */
  get backend(): BackendInfo | null {
    return this.#info;
  }

  get listening(): boolean {
    return this.#listenFd >= 0;
  }

  listen(...args: unknown[]): this {
    const { spec, cb } = listenArgs(args);
    if (this.#listenFd >= 0 || this.#starting) throw Object.assign(new Error("Listen method has been called more than once without closing."), { code: "ERR_SERVER_ALREADY_LISTEN" });
    if (cb !== undefined) this.once("listening", cb);
    this.#starting = true;
    listenSocket(spec).then(
      (fd) => {
        this.#starting = false;
        try {
          this.#start(fd);
        } catch (err) {
          sys.close(fd);
          this.emit("error", err);
          return;
        }
        this.emit("listening");
      },
      (err: unknown) => {
        this.#starting = false;
        this.emit("error", err);
      },
    );
    return this;
  }

  #start(fd: number): void {
    if (this.#backend === null) {
      const { backend, info } = createBackend(this.#options.backend, this, { bufferCount: this.#options.bufferCount, bufferSize: this.#options.bufferSize, bundle: this.#options.bundle });
      this.#backend = backend;
      this.#info = info;
      this.#host = {
        backend,
        closed: (s, id) => this.#socketClosed(s, id),
        corked: (s) => {
          // after the batch's JS call (even one a handler's exception cut short)
          if (this.#corked.push(s) === 1) process.nextTick(this.#uncorkAll);
        },
        refChanged: (refed) => {
          this.#unrefedSockets += refed ? -1 : 1;
          this.#updateRef();
        },
      };
    }
    this.#address = sys.localAddress(fd);
    this.#backend.startAccept(fd);
    this.#listenFd = fd;
    this.#updateRef();
  }

  readonly #uncorkAll = (): void => {
    for (const s of this.#corked.splice(0)) {
      s.batchCorked = false;
      s.uncork();
    }
  };

  address(): sys.SocketAddress | null {
    return this.#listenFd >= 0 ? this.#address : null;
  }

  /** Stop accepting; 'close' (and `cb`) once every connection has closed, as net does. */
  close(cb?: (err?: Error) => void): this {
    if (cb !== undefined) {
      validate.func("cb", cb);
      if (this.#listenFd < 0) this.once("close", () => cb(notRunning()));
      else this.once("close", cb);
    }
    if (this.#listenFd >= 0) {
      this.#backend!.stopAccept();
      this.#listenFd = -1;
    }
    this.#closeIfDrained();
    return this;
  }

  #closeIfDrained(): void {
    if (this.#listenFd >= 0 || this.#starting || this.#connections > 0) return;
    if (this.#backend !== null) {
      this.#backend.destroy();
      this.#backend = null;
      this.#backendRef = null;
      this.#host = null;
    }
    process.nextTick(() => this.emit("close"));
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    validate.func("cb", cb);
    const n = this.#connections;
    process.nextTick(() => cb(null, n));
    return this;
  }

  ref(): this {
    this.#refed = true;
    this.#updateRef();
    return this;
  }

  unref(): this {
    this.#refed = false;
    this.#updateRef();
    return this;
  }

  /** Alive while listening (unless unref'd) or while a connection is open that is not unref'd. */
  #updateRef(): void {
    if (this.#backend === null) return;
    const ref = (this.#refed && this.#listenFd >= 0) || this.#connections - this.#unrefedSockets > 0;
    if (ref === this.#backendRef) return;
    this.#backendRef = ref;
    this.#backend.setRef(ref);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#listenFd < 0 && this.#connections === 0) return;
    await new Promise<void>((resolve) => this.close(() => resolve()));
  }

  // BackendEvents: called by the backend, one batch of completions at a time.

  /** @internal */
  accept(id: number): boolean {
    if (this.#connections >= this.maxConnections) {
      this.emit("drop", { localAddress: this.#address?.address, localPort: this.#address?.port });
      return false;
    }
    if (this.#batch !== null) {
      this.#open[id] = true;
      this.#connections++;
      this.#updateRef();
      this.#batch.open?.(id);
      return true;
    }
    const o = this.#options;
    const socket = new Socket(this.#host!, id, { allowHalfOpen: o.allowHalfOpen, readableHighWaterMark: o.highWaterMark, writableHighWaterMark: o.highWaterMark });
    this.#sockets[id] = socket;
    this.#connections++;
    this.#updateRef();
    if (o.noDelay) socket.setNoDelay(true);
    if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay);
    if (o.pauseOnConnect) socket.holdReceive();
    this.emit("connection", socket);
    return true;
  }

  /** @internal */
  data(id: number, data: Buffer): void {
    if (this.#batch !== null) this.#received.add(id, data);
    else this.#sockets[id]?.onData(data);
  }

  /** @internal the peer ended (in batch mode, or a Duplex socket `id`) */
  end(id: number): void {
    if (this.#batch !== null) this.#ended.push(id);
    else this.#sockets[id]?.onEnd();
  }

  /** @internal */
  error(id: number, err: Error): void {
    if (this.#batch !== null) this.#failed.push([id, err]);
    else this.#sockets[id]?.onError(err);
  }

  /** @internal batch mode: the batch's bytes first, then the ends and failures that followed them */
  batchEnd(): void {
    const h = this.#batch;
    if (h === null) return;
    if (this.#received.length > 0) {
      try {
        h.data(this.#received);
      } finally {
        this.#received.clear();
      }
    }
    for (const id of this.#ended.splice(0)) {
      if (!this.#open[id]) continue;
      if (h.end !== undefined) h.end(id);
      else this.endConnection(id);
    }
    for (const [id, err] of this.#failed.splice(0)) this.#closeConnection(id, err);
  }

  #backendFor(conn: number): Backend {
    if (this.#batch === null) throw Object.assign(new Error("send/endConnection/destroyConnection need options.batch (sockets have their own)"), { code: "ERR_RINGPOLL_INVALID_STATE" });
    if (typeof conn !== "number") throw invalidArgType("conn", "connection id", conn);
    if (!this.#open[conn] || this.#backend === null) throw invalidArgValue("conn", "an open connection", conn);
    return this.#backend;
  }

  /**
   * Batch mode: queue `data` on connection `conn` (in order; one kernel submit per loop iteration).
   * `cb` runs once the kernel has taken every byte. Views of a DataBatch may be sent as they are.
   */
  send(conn: number, data: Uint8Array, cb?: (err: Error | null) => void): void {
    const backend = this.#backendFor(conn);
    validate.bytes("data", data);
    if (cb !== undefined) validate.func("cb", cb);
    backend.send(conn, data, (err) => {
      if (err !== null) this.#closeConnection(conn, err);
      cb?.(err);
    });
  }

  /** Batch mode: send what is queued, shut the write side down, then close the connection. */
  endConnection(conn: number): void {
    const backend = this.#backendFor(conn);
    // Nothing left to send (a churning client's end usually): no empty send through the ring first.
    // After the peer's end of stream nothing is left unread either: close() alone sends the FIN
    // that shutdown() would, one syscall less.
    if (!backend.sendsPending(conn)) {
      if (!backend.peerEnded(conn)) backend.shutdown(conn);
      return this.#closeConnection(conn, null);
    }
    backend.send(conn, EMPTY, (err) => {
      if (err === null && this.#open[conn]) backend.shutdown(conn);
      this.#closeConnection(conn, err);
    });
  }

  /** Batch mode: close at once (what is queued is dropped). */
  destroyConnection(conn: number): void {
    this.#backendFor(conn);
    this.#closeConnection(conn, null);
  }

  /** Batch mode: stop receiving on `conn` until resumeConnection(). */
  pauseConnection(conn: number): void {
    this.#backendFor(conn).pause(conn);
  }

  resumeConnection(conn: number): void {
    this.#backendFor(conn).resume(conn);
  }

  #closeConnection(id: number, err: Error | null): void {
    if (!this.#open[id] || this.#backend === null) return;
    this.#open[id] = false;
    this.#backend.close(id, () => {
      this.#connections--;
      this.#updateRef();
      this.#batch?.close?.(id, err);
      this.#closeIfDrained();
    });
  }

  /** @internal */
  acceptError(err: Error): void {
    this.emit("error", err);
  }

  #socketClosed(socket: Socket, id: number): void {
    // The backend may have given the id to a new connection already (it frees the id before the
    // socket's close callback runs): the closed socket still counts.
    if (this.#sockets[id] === socket) this.#sockets[id] = undefined;
    this.#connections--;
    if (!socket.refed) this.#unrefedSockets--;
    this.#updateRef();
    this.#closeIfDrained();
  }
}
