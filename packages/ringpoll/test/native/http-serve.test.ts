// serve() itself, per backend: what it returns, which backend runs, bad options, a port in use,
// and serving again after close().
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ringpollListener, serve } from "ringpoll/http";
import { HOST, exchange, request, ringpollEpoll, ringpollIoUring } from "./http-helpers.js";

const backends = [
  { backend: "io_uring" as const, skip: ringpollIoUring.skip },
  { backend: "epoll" as const, skip: ringpollEpoll.skip },
];

describe.each(backends)("serve() [$backend]", ({ backend, skip }) => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      if (s.listening) await new Promise((r) => s.close(r));
    }
  });

  it.skipIf(skip !== null)(`a (req, res) function gets an http.Server on the requested backend${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    let called = false;
    const server = serve((req, res) => res.end(`hi ${req.url}`), { port: 0, host: HOST, backend }, () => (called = true));
    servers.push(server);
    expect(server).toBeInstanceOf(http.Server);
    await once(server, "listening");
    expect(called).toBe(true);
    expect(ringpollListener(server)?.backend).toEqual({ name: backend, reason: "requested" });
    const reply = await exchange((server.address() as AddressInfo).port, request("/there", { Connection: "close" }));
    expect(reply.toString()).toMatch(/\r\n\r\nhi \/there$/);
  });

  it.skipIf(skip !== null)("a port in use is an 'error' event with EADDRINUSE and the server is not listening", async () => {
    const first = serve(http.createServer(), { port: 0, host: HOST, backend });
    servers.push(first);
    await once(first, "listening");
    const second = serve(http.createServer(), { port: (first.address() as AddressInfo).port, host: HOST, backend });
    const [err] = (await once(second, "error")) as [NodeJS.ErrnoException];
    expect(err.code).toBe("EADDRINUSE");
    expect(second.listening).toBe(false);
    expect(ringpollListener(second)).toBeNull();
  });

  it.skipIf(skip !== null)("serves again after close(), as listen() after close() does", async () => {
    const server = http.createServer((_req, res) => res.end("again"));
    servers.push(server);
    serve(server, { port: 0, host: HOST, backend });
    await once(server, "listening");
    await new Promise((r) => server.close(r));
    serve(server, { port: 0, host: HOST, backend });
    await once(server, "listening");
    const reply = await exchange((server.address() as AddressInfo).port, request("/", { Connection: "close" }));
    expect(reply.toString()).toMatch(/\r\n\r\nagain$/);
  });
});

describe("serve() bad input", () => {
  it("unknown options, a bad port and a bad backend are one-line errors, and nothing listens", () => {
    const server = http.createServer();
    expect(() => serve(server, { prot: 80 } as never)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringMatching(/options\.prot/) }));
    expect(() => serve(server, { port: 70000 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => serve(server, { backend: "kqueue" as never })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => serve(42 as never)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    expect(server.listening).toBe(false);
    expect(ringpollListener(server)).toBeNull();
  });

  it("a server that is listening already is refused with ERR_SERVER_ALREADY_LISTEN", async () => {
    const server = http.createServer();
    server.listen(0, HOST);
    await once(server, "listening");
    try {
      expect(() => serve(server, { port: 0, host: HOST, backend: "epoll" })).toThrow(expect.objectContaining({ code: "ERR_SERVER_ALREADY_LISTEN" }));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
