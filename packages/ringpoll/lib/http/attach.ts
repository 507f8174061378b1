// Puts an http/https Server behind a listener that is not its own (a ringpoll/net Server, or any
// object with net.Server habits) so that it behaves as after listen().
//
// node:http sets up its connection tracking (headersTimeout, requestTimeout, closeIdleConnections,
// close() closing idle keep-alive sockets) in a 'listening' listener (setupConnectionsTracking in
// lib/_http_server.js), and net.Server derives listening, address(), close(cb), ref/unref and
// getConnections from `_handle` and `_connections`. So the server gets a small handle of ours and
// one 'listening' event: Node's own code then runs unchanged, for http, https and user listeners.
import type { EventEmitter } from "node:events";
import type { AddressInfo, Server as NetServer } from "node:net";
import { constants } from "node:os";
import type { Duplex } from "node:stream";
import { stateError } from "../errors.js";

/** What attach() needs of a listener: net.Server's habits. */
export interface Listener extends EventEmitter {
  listen(options: ListenOptions): unknown;
  address(): AddressInfo | string | null;
  close(callback?: (err?: Error) => void): unknown;
  ref(): unknown;
  unref(): unknown;
}

export interface ListenOptions {
  port: number;
  host?: string;
  backlog?: number;
  reusePort?: boolean;
}

/** The socket surface attach() touches (a net.Socket or a ringpoll/net socket). */
type Socket = Duplex & {
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
};

/** What each accepted socket gets from the server's own options (http.Server sets noDelay, allowHalfOpen). */
export interface SocketOptions {
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  /** milliseconds */
  keepAliveInitialDelay: number;
  highWaterMark: number;
}

/** net.Server's fields that its own methods read; stable since Node 0.x and used by cluster. */
interface ServerInternals extends Omit<SocketOptions, "keepAliveInitialDelay"> {
  _handle: ListenerHandle | null;
  _connections: number;
  _connectionKey?: string;
  _unref?: boolean;
  _listeningId?: number;
  _emitCloseIfDrained(): void;
  /** seconds (net.Server stores what its handle takes) */
  keepAliveInitialDelay: number;
}

/** The per-socket options net.Server would apply to the sockets it accepts: the listener applies them. */
export function socketOptions(server: NetServer): SocketOptions {
  const s = server as NetServer & ServerInternals;
  return {
    allowHalfOpen: s.allowHalfOpen,
    pauseOnConnect: s.pauseOnConnect,
    noDelay: s.noDelay,
    keepAlive: s.keepAlive,
    keepAliveInitialDelay: s.keepAliveInitialDelay * 1000,
    highWaterMark: s.highWaterMark,
  };
}

/** Stands in for net.Server's TCPWrap: the calls net.Server makes on its handle. */
interface ListenerHandle {
  getsockname(out: Record<string, unknown>): number;
  close(): void;
  ref(): void;
  unref(): void;
}

const kListener = Symbol("ringpoll.http.listener");

/** The listener serving `server`, if serve() or attach() put it there and it was not closed. */
export function listenerOf<L extends Listener = Listener>(server: NetServer): L | null {
  return ((server as unknown as Record<symbol, L | undefined>)[kListener] ?? null) as L | null;
}

/**
 * Makes `server` listen through `listener`: every socket the listener accepts is counted and emitted
 * as the server's 'connection'; 'listening' (and `callback`) follow the listener's. The listener
 * applies socketOptions(server) to its sockets itself.
 */
export function attach(server: NetServer, listener: Listener, options: ListenOptions, callback?: () => void): void {
  const s = server as NetServer & ServerInternals;
  if (s._handle || listenerOf(server)) {
    throw Object.assign(stateError("Listen method has been called more than once without closing."), { code: "ERR_SERVER_ALREADY_LISTEN" });
  }
  if (typeof callback === "function") server.once("listening", callback);
  // net.Server.close() bumps _listeningId: a close() before the listener is bound cancels the listen.
  const listenId = s._listeningId;

  const handle: ListenerHandle = {
    getsockname(out) {
      const a = listener.address();
      if (a === null || typeof a === "string") return -constants.errno.EINVAL;
      Object.assign(out, a);
      return 0;
    },
    close() {
      detach();
      // net.Server's 'close' waits for its handle too: here, for the listener's own close.
      let listenerClosed = false;
      s._emitCloseIfDrained = function (this: ServerInternals) {
        if (!listenerClosed) return;
        delete (this as Partial<ServerInternals>)._emitCloseIfDrained;
        this._emitCloseIfDrained();
      };
      listener.close(() => {
        listenerClosed = true;
        s._emitCloseIfDrained();
      });
    },
    ref: () => void listener.ref(),
    unref: () => void listener.unref(),
  };

  const onConnection = (socket: Socket) => {
    if (server.maxConnections && s._connections >= server.maxConnections) {
      server.emit("drop", {
        localAddress: socket.localAddress,
        localPort: socket.localPort,
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        remoteFamily: socket.remoteFamily,
      });
      socket.destroy();
      return;
    }
    s._connections++;
    socket.once("close", () => {
      s._connections--;
      s._emitCloseIfDrained();
    });
    server.emit("connection", socket);
  };
  // As net.Server: listening, address() and close() work from the moment the socket is bound.
  const onListening = () => {
    if (s._listeningId !== listenId) {
      detach();
      listener.close();
      return;
    }
    const a = listener.address();
    s._connectionKey = a && typeof a === "object" ? `${a.family === "IPv6" ? 6 : 4}:${a.address}:${a.port}` : String(a);
    s._handle = handle;
    if (s._unref) handle.unref();
    server.emit("listening");
  };
  // A listen that fails leaves the server not listening, as net.Server.listen does.
  const onError = (err: Error) => {
    if (!s._handle) detach();
    server.emit("error", err);
  };
  const detach = () => {
    listener.off("connection", onConnection);
    listener.off("listening", onListening);
    if (!s._handle) listener.off("error", onError);
    delete (server as unknown as Record<symbol, unknown>)[kListener];
  };

  listener.on("connection", onConnection);
  listener.once("listening", onListening);
  listener.on("error", onError);
  (server as unknown as Record<symbol, unknown>)[kListener] = listener;
  try {
    listener.listen(options);
  } catch (err) {
    detach();
    listener.off("error", onError);
    throw err;
  }
}
