// The servers the HTTP bench compares: node:http's own listen(), and node:http on ringpoll's
// listeners through serve(). Each runs in its own process so its CPU time and RSS are its own.
import { once } from "node:events";
import type { Server } from "node:http";
import { ringpollListener, serve } from "ringpoll/http";

export const HTTP_SERVERS = ["node", "ringpoll-io_uring", "ringpoll-epoll"] as const;
export type HttpServerName = (typeof HTTP_SERVERS)[number];

/** Listens on an ephemeral port; resolves to a short description of what serves the sockets. */
export async function listenHttp(name: HttpServerName, server: Server, host: string): Promise<string> {
  if (name === "node") {
    server.listen(0, host);
    await once(server, "listening");
    return "libuv (epoll)";
  }
  serve(server, { port: 0, host, backend: name === "ringpoll-io_uring" ? "io_uring" : "epoll" });
  await once(server, "listening");
  const b = ringpollListener(server)!.backend!;
  return `ringpoll ${b.name} (${b.reason})`;
}
