// serve(): node:http (or https) on a ringpoll/net listener — io_uring, or epoll where io_uring is
// refused — with the behaviour of listen(): timeouts, closeIdleConnections(), close(cb), address().
import http, { type RequestListener } from "node:http";
import { Server as NetServer } from "node:net";
import { invalidArgType } from "../errors.js";
import { createServer, type Server as RingpollServer, type ServerOptions } from "../net/index.js";
import * as validate from "../validate.js";
import { attach, listenerOf, socketOptions } from "./attach.js";

export interface ServeOptions {
  /** default 0: an ephemeral port (see address()) */
  port?: number;
  host?: string;
  backlog?: number;
  /** SO_REUSEPORT: several processes or workers listen on one port, the kernel spreads connections */
  reusePort?: boolean;
  /** 'auto' (default): io_uring where the kernel allows it, else epoll */
  backend?: ServerOptions["backend"];
  /** io_uring: the provided buffers receives select from */
  recvBuffers?: ServerOptions["recvBuffers"];
}

const KEYS = ["port", "host", "backlog", "reusePort", "backend", "recvBuffers"];

/**
 * Listens for `app` (an http.Server, an https.Server, or a `(req, res)` handler that gets an
 * http.Server) on ringpoll sockets. Returns the server; 'listening' and `callback` follow.
 */
export function serve<S extends NetServer>(app: S, options?: ServeOptions, callback?: () => void): S;
export function serve(app: RequestListener, options?: ServeOptions, callback?: () => void): http.Server;
export function serve(app: NetServer | RequestListener, options: ServeOptions = {}, callback?: () => void): NetServer {
  const server = typeof app === "function" ? http.createServer(app) : app;
  if (!(server instanceof NetServer)) throw invalidArgType("app", "http.Server, https.Server or a (req, res) function", app);
  validate.object("options", options);
  validate.knownKeys("options", options, KEYS);
  if (callback !== undefined) validate.func("callback", callback);
  const listener = createServer({ ...socketOptions(server), backend: options.backend, recvBuffers: options.recvBuffers });
  attach(server, listener, { port: options.port ?? 0, host: options.host, backlog: options.backlog, reusePort: options.reusePort }, callback);
  return server;
}

/** The ringpoll/net listener serving `server` (its `backend` says io_uring or epoll, and why), or null. */
export function ringpollListener(server: NetServer): RingpollServer | null {
  return listenerOf<RingpollServer>(server);
}
