// node:http behaviour a user relies on, run once per transport: node:http's own listen() (proves the
// tests), attach() over node:net (proves the switch-on of Node's connection tracking), and ringpoll's
// io_uring and epoll listeners through serve().
import { once } from "node:events";
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import https from "node:https";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { openFdCount } from "./helpers.js";
import { HOST, RawClient, attachNodeNet, exchange, nodeListen, pattern, request, ringpollEpoll, ringpollIoUring, tls, until, type Transport } from "./http-helpers.js";

const transports: Transport[] = [nodeListen, attachNodeNet, ringpollIoUring, ringpollEpoll];

const HELLO = "Hello, World!";
const CHUNKS = [1, 100, 16384, 70000, 3];

/** Routes: / (13-byte hello), /fixed/<n> (n pattern bytes), /chunked, /hold (answers on release), /stream (until the client goes). */
function handler(held: ServerResponse[] = []) {
  return (req: IncomingMessage, res: ServerResponse) => {
    res.sendDate = false;
    const url = req.url ?? "/";
    if (url === "/") {
      res.writeHead(200, { "Content-Length": HELLO.length });
      res.end(HELLO);
    } else if (url.startsWith("/fixed/")) {
      const n = Number(url.slice(7));
      res.writeHead(200, { "Content-Length": n });
      res.end(pattern(n, n));
    } else if (url === "/chunked") {
      res.writeHead(200);
      CHUNKS.forEach((n, i) => res.write(pattern(n, i + 1)));
      res.end();
    } else if (url === "/hold") {
      held.push(res);
    } else if (url === "/stream") {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      const piece = pattern(64 * 1024, 7);
      let left = 1024; // 64 MiB at most, far more than socket buffers hold
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          left--;
          if (!res.write(piece)) return void res.once("drain", pump);
        }
        if (left === 0) res.end();
      };
      pump();
    } else {
      res.writeHead(404, { "Content-Length": 0 });
      res.end();
    }
  };
}

function fixedResponse(body: Buffer | string, keepAliveSeconds = 5): Buffer {
  const b = Buffer.from(body);
  const head = `HTTP/1.1 200 OK\r\nContent-Length: ${b.length}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), b]);
}

function chunkedResponse(): Buffer {
  const parts = [Buffer.from("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n")];
  CHUNKS.forEach((n, i) => parts.push(Buffer.from(`${n.toString(16)}\r\n`), pattern(n, i + 1), Buffer.from("\r\n")));
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

describe.each(transports)("http server [$name]", (transport) => {
  const servers: Server[] = [];
  const clients: RawClient[] = [];

  async function start(server: Server): Promise<number> {
    servers.push(server);
    return transport.start(server);
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      if (s.listening) await new Promise((r) => s.close(r));
    }
  });

  async function client(port: number): Promise<RawClient> {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  }

  /** A keep-alive server (60 s) with one idle connection (one request answered) and one busy one (a request held). */
  async function idleAndBusy() {
    const held: ServerResponse[] = [];
    const server = http.createServer({ keepAliveTimeout: 60_000 }, handler(held));
    const port = await start(server);
    const idle = await client(port);
    idle.write(request("/"));
    expect(await idle.read(fixedResponse(HELLO, 60).length)).toEqual(fixedResponse(HELLO, 60));
    const busy = await client(port);
    busy.write(request("/hold"));
    await until("the held request", () => held.length === 1);
    return { server, idle, busy, held };
  }

  it.skipIf(transport.skip !== null)(`address(), listening and close(cb) behave as after listen()${transport.skip ? ` (skipped: ${transport.skip})` : ""}`, async () => {
    const server = http.createServer(handler());
    let listeningEvents = 0;
    server.on("listening", () => listeningEvents++);
    const port = await start(server);
    expect(server.listening).toBe(true);
    expect(server.address()).toEqual({ address: HOST, family: "IPv4", port });
    expect(listeningEvents).toBe(1);
    expect(() => server.listen(0)).toThrow(expect.objectContaining({ code: "ERR_SERVER_ALREADY_LISTEN" }));

    const closed = await new Promise<Error | undefined>((r) => server.close(r));
    expect(closed).toBeUndefined();
    expect(server.listening).toBe(false);
    expect(server.address()).toBeNull();
    const again = await new Promise<Error | undefined>((r) => server.close(r));
    expect(again).toMatchObject({ code: "ERR_SERVER_NOT_RUNNING" });
    // The port is free again: nothing is listening on it.
    const refused = net.connect(port, HOST);
    const [err] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(err.code).toBe("ECONNREFUSED");
  });

  it.skipIf(transport.skip !== null)("slowloris: headers trickled byte by byte get 408 and a closed socket at headersTimeout", async () => {
    const server = http.createServer({ headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 }, handler());
    const port = await start(server);
    const c = await client(port);
    c.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`);
    // One byte every 100 ms for up to 9 s: far longer than headersTimeout, so only the server can end it.
    const header = "X-Slow: " + "a".repeat(80);
    let sent = 0;
    while (!c.closed && sent < header.length) {
      c.write(header[sent++]!);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(c.closed).toBe(true);
    expect((await c.rest()).toString()).toBe("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
    expect(sent).toBeLessThan(header.length);
  });

  it.skipIf(transport.skip !== null)("a body trickled past requestTimeout gets 408 and a closed socket", async () => {
    const server = http.createServer({ headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 }, (req, res) => {
      req.resume();
      req.on("end", () => res.end("late"));
    });
    const port = await start(server);
    const c = await client(port);
    c.write(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 80\r\n\r\n`);
    let sent = 0;
    while (!c.closed && sent < 80) {
      c.write("b");
      sent++;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(c.closed).toBe(true);
    expect((await c.rest()).toString()).toBe("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
    expect(sent).toBeLessThan(80);
  });

  it.skipIf(transport.skip !== null)("closeIdleConnections() closes idle keep-alive sockets and spares one with a request in flight", async () => {
    const { server, idle, busy, held } = await idleAndBusy();

    server.closeIdleConnections();
    await until("the idle socket to close", () => idle.closed);
    expect(busy.closed).toBe(false);
    held[0]!.writeHead(200, { "Content-Length": HELLO.length }).end(HELLO);
    expect(await busy.read(fixedResponse(HELLO, 60).length)).toEqual(fixedResponse(HELLO, 60));
  });

  it.skipIf(transport.skip !== null)("keepAliveTimeout: the server closes a keep-alive connection left idle after its response", async () => {
    const port = await start(http.createServer({ keepAliveTimeout: 200 }, handler()));
    const c = await client(port);
    c.write(request("/"));
    // Keep-Alive: timeout=0 — node:http announces whole seconds, rounded down.
    const expected = fixedResponse(HELLO, 0);
    expect(await c.read(expected.length)).toEqual(expected);
    await until("the server to close the idle connection", () => c.closed);
    expect((await c.rest()).length).toBe(0);
  });

  it.skipIf(transport.skip !== null)("a malformed request gets node:http's 400 and a closed socket", async () => {
    const port = await start(http.createServer(handler()));
    const reply = await exchange(port, "THIS IS NOT HTTP\r\n\r\n");
    expect(reply.toString()).toBe("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    const badHeader = await exchange(port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nNo colon here\r\n\r\n`);
    expect(badHeader.toString()).toBe("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });

  it.skipIf(transport.skip !== null)("keep-alive: sequential and pipelined responses arrive byte-exact on one connection", async () => {
    const port = await start(http.createServer(handler()));
    const paths = ["/", "/fixed/16384", "/chunked", "/fixed/1048576", "/"];
    const expected = paths.map((p) => (p === "/chunked" ? chunkedResponse() : p === "/" ? fixedResponse(HELLO) : fixedResponse(pattern(Number(p.slice(7)), Number(p.slice(7))))));
    const c = await client(port);
    for (let i = 0; i < paths.length; i++) {
      c.write(request(paths[i]!));
      expect((await c.read(expected[i]!.length)).equals(expected[i]!)).toBe(true);
    }
    c.write(paths.map((p) => request(p)).join(""));
    const all = Buffer.concat(expected);
    expect((await c.read(all.length)).equals(all)).toBe(true);
    expect(c.closed).toBe(false);
  });

  it.skipIf(transport.skip !== null)("TLS: https.createServer serves byte-exact bodies over the socket", async () => {
    const port = await start(https.createServer({ ...tls }, handler()));
    const get = (path: string) =>
      new Promise<{ status: number; body: Buffer; protocol: string }>((resolve, reject) => {
        https
          .get({ host: HOST, port, path, ca: tls.cert, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (d: Buffer) => chunks.push(d));
            res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), protocol: (res.socket as import("node:tls").TLSSocket).getProtocol() ?? "" }));
          })
          .on("error", reject);
      });
    const hello = await get("/");
    expect(hello).toMatchObject({ status: 200, body: Buffer.from(HELLO) });
    expect(hello.protocol).toMatch(/^TLSv1\.[23]$/);
    const big = await get("/fixed/1048576");
    expect(big.body.equals(pattern(1048576, 1048576))).toBe(true);
    const chunked = await get("/chunked");
    expect(chunked.body.equals(Buffer.concat(CHUNKS.map((n, i) => pattern(n, i + 1))))).toBe(true);
  });

  it.skipIf(transport.skip !== null)("a plain (req, res) function as the handler (express-style)", async () => {
    const app = (req: IncomingMessage, res: ServerResponse) => res.end(`you asked for ${req.url}`);
    const port = await start(http.createServer(app));
    const reply = await exchange(port, request("/x", { Connection: "close" }));
    expect(reply.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nyou asked for \/x$/);
  });

  it.skipIf(transport.skip !== null)("a client that resets mid-response: the response closes, the server keeps serving, no fd leaks", async () => {
    const server = http.createServer(handler());
    const port = await start(server);
    await exchange(port, request("/", { Connection: "close" }));
    const fdsBefore = openFdCount();
    const closedResponses: boolean[] = [];
    server.on("request", (_req, res: ServerResponse) => res.on("close", () => closedResponses.push(res.writableFinished)));

    const c = await client(port);
    c.write(request("/stream"));
    await c.read(256 * 1024);
    c.socket.resetAndDestroy();
    await until("the response to close", () => closedResponses.length === 1);
    expect(closedResponses).toEqual([false]);
    await until("no connections left", () => new Promise((r) => server.getConnections((_e, n) => r(n === 0))));

    const reply = await exchange(port, request("/", { Connection: "close" }));
    expect(reply.toString()).toMatch(/\r\n\r\nHello, World!$/);
    await until("fds back to the count before", () => openFdCount() === fdsBefore);
  });

  it.skipIf(transport.skip !== null)("close() with keep-alive connections: idle ones close at once, a busy one finishes its response, cb when the last goes", async () => {
    const { server, idle, busy, held } = await idleAndBusy();

    const events: string[] = [];
    server.close((err) => events.push(err ? `close error ${err.message}` : "close cb"));
    expect(server.listening).toBe(false);
    await until("the idle socket to close", () => idle.closed);
    events.push("idle closed");
    expect(busy.closed).toBe(false);
    held[0]!.writeHead(200, { "Content-Length": HELLO.length }).end(HELLO);
    // node:http keeps a connection that was busy at close() open until keepAliveTimeout or the client goes.
    expect(await busy.read(fixedResponse(HELLO, 60).length)).toEqual(fixedResponse(HELLO, 60));
    await new Promise((r) => setTimeout(r, 50));
    events.push("busy answered");
    busy.close();
    await until("the close callback", () => events.includes("close cb"));
    expect(events).toEqual(["idle closed", "busy answered", "close cb"]);
  });

  it.skipIf(transport.skip !== null)("10,000 short connections leak no fd", { timeout: 120_000 }, async () => {
    const server = http.createServer(handler());
    const port = await start(server);
    await exchange(port, request("/", { Connection: "close" }));
    const fdsBefore = openFdCount();
    const total = 10_000;
    const parallel = 32;
    let next = 0;
    let ok = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        const reply = await exchange(port, request("/", { Connection: "close" }));
        if (reply.toString().endsWith(`\r\n\r\n${HELLO}`)) ok++;
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    expect(ok).toBe(total);
    await until("no connections left", () => new Promise((r) => server.getConnections((_e, n) => r(n === 0))));
    await until("fds back to the count before", () => openFdCount() === fdsBefore);
  });
});
