// ringpoll/net: TCP servers on io_uring (or epoll where io_uring is refused) with net's API.
import { Server } from "./server.js";
import type { ServerOptions } from "./options.js";
import type { Socket } from "./socket.js";

export function createServer(connectionListener?: (socket: Socket) => void): Server;
export function createServer(options?: ServerOptions, connectionListener?: (socket: Socket) => void): Server;
export function createServer(a?: ServerOptions | ((socket: Socket) => void), b?: (socket: Socket) => void): Server {
  return typeof a === "function" ? new Server({}, a) : new Server(a, b);
}

export { Server, type ServerOptions };
export { Socket } from "./socket.js";
export { DataBatch, type BatchHandler } from "./batch.js";
export type { BackendInfo, BackendChoice } from "./choose-backend.js";
export type { BackendName } from "./backend.js";
