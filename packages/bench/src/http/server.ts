// The HTTP bench's server process: one node:http server with the bench's handler, listening the way
// `--server` says; prints its port as one JSON line on stdout, exits when stdin closes.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HTTP_SERVERS, listenHttp, type HttpServerName } from "./servers.js";

export const HELLO = Buffer.from("Hello, World!");
const BIG = Buffer.alloc(16 * 1024, "x");

/** `/` answers 13 bytes, `/16k` 16 KiB: the two bodies of the issue. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const body = req.url === "/16k" ? BIG : HELLO;
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": body.length });
  res.end(body);
}

const name = process.argv[2] as HttpServerName;
if (!HTTP_SERVERS.includes(name)) {
  console.error(`Expected one of ${HTTP_SERVERS.join(", ")} for the server but received ${name}`);
  process.exit(2);
}
const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
server.on("error", (err) => {
  console.error(`${name}: ${err.message}`);
  process.exit(1);
});
const describe = await listenHttp(name, server, process.argv[3] ?? "127.0.0.1");
process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, backend: describe }) + "\n");
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
