// The servers the HTTP bench compares: node:http's own listen(), and node:http on ringpoll's
// listeners. Each runs in its own process so its CPU time and RSS are its own.
import { once } from "node:events";
import type { Server } from "node:http";

export const HTTP_SERVERS = ["node"] as const;
export type HttpServerName = (typeof HTTP_SERVERS)[number];

/** Listens on an ephemeral port; resolves to a short description of what serves the sockets. */
export async function listenHttp(name: HttpServerName, server: Server, host: string): Promise<string> {
  switch (name) {
    case "node":
      server.listen(0, host);
      await once(server, "listening");
      return "libuv (epoll)";
  }
}
