// ringpoll/net: one suite, run on each backend. Real sockets on loopback, node:net as the client.
import { createHash, randomBytes } from "node:crypto";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import net from "node:net";
import { probe } from "ringpoll";
import { createServer, type DataBatch, type Server, type ServerOptions, type Socket } from "ringpoll/net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openFdCount, seccompDenyUring, turns, uringSkipReason } from "./helpers.js";

const uringSkip = uringSkipReason();
const hasBundles = uringSkip === null && probe().ioUring.features.includes("RECVSEND_BUNDLE");

const servers: Server[] = [];
const sockets: Array<net.Socket | Socket> = [];
afterEach(async () => {
  // Sockets a test left open would keep its server's close() waiting (as in net).
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
});

function connect(port: number, host = "127.0.0.1"): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, host, () => resolve(c));
    sockets.push(c);
    c.once("error", reject);
  });
}

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on("data", (d: Buffer) => chunks.push(d));
  return new Promise((resolve, reject) => {
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

/** Resolves on 'close' (events.once would reject on the 'error' before it). */
const closeOf = (s: Socket) => new Promise<void>((resolve) => s.once("close", () => resolve()));

/** Writes `data` in chunks of random sizes (1 B to 100 kB), honouring backpressure, then ends. */
async function writeInRandomChunks(c: net.Socket, data: Buffer): Promise<void> {
  for (let off = 0; off < data.length; ) {
    const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * 100_000));
    if (!c.write(data.subarray(off, off + n))) await once(c, "drain");
    off += n;
  }
  c.end();
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** The open-file flags (fdinfo) of this process's established TCP sockets whose local port is `port`. */
function acceptedSocketFlags(port: number): number[] {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; st 01 is ESTABLISHED; field 9 is the inode
      if (f.length > 9 && Number.parseInt(f[1]!.split(":")[1]!, 16) === port && f[3] === "01") inodes.add(f[9]!);
    }
  }
  const flags: number[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (readdir's own fd)
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m === null || !inodes.has(m[1]!)) continue;
    flags.push(Number.parseInt(/^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8));
  }
  return flags;
}
const O_NONBLOCK = 0o4000;

for (const backend of ["io_uring", "epoll"] as const) {
  const skip = backend === "io_uring" ? uringSkip : null;
  describe.skipIf(skip !== null)(`ringpoll/net on ${backend}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    async function listen(options: ServerOptions = {}, onConnection?: (s: Socket) => void, host = "127.0.0.1"): Promise<{ server: Server; port: number }> {
      const server = createServer({ backend, ...options }, onConnection);
      servers.push(server);
      server.on("connection", (s) => sockets.push(s));
      server.listen(0, host);
      await once(server, "listening");
      return { server, port: server.address()!.port };
    }

    const nextConnection = (server: Server) => once(server, "connection").then(([s]) => s as Socket);

    it("reports the backend it runs and why", async () => {
      const { server } = await listen();
      expect(server.backend).toEqual({ name: backend, reason: "requested" });
    });

    it(`accepted sockets are ${backend === "io_uring" ? "blocking: a send the kernel retries from io-wq waits instead of failing with EAGAIN" : "non-blocking, as epoll needs"}`, async () => {
      let accepted = 0;
      const { port } = await listen({}, () => accepted++);
      await connect(port);
      await connect(port);
      for (let i = 0; i < 100 && accepted < 2; i++) await turns(1);
      const flags = acceptedSocketFlags(port);
      expect(flags.length).toBe(2);
      for (const f of flags) expect((f & O_NONBLOCK) !== 0).toBe(backend === "epoll");
    });

    it("echoes 10 MiB written in random chunk sizes byte for byte", async () => {
      const { port } = await listen({}, (s) => s.pipe(s));
      const c = await connect(port);
      const data = randomBytes(10 * 1024 * 1024);
      const received = collect(c);
      await writeInRandomChunks(c, data);
      const got = await received;
      expect(got.length).toBe(data.length);
      expect(sha(got)).toBe(sha(data));
    });

    it("half-close: the client ends first and still receives what the server writes after (allowHalfOpen)", async () => {
      const { server, port } = await listen({ allowHalfOpen: true });
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      const closed = closeOf(s);
      const fromClient = collect(s);
      c.end("request");
      expect((await fromClient).toString()).toBe("request");
      const toClient = collect(c);
      s.write("after ");
      s.end("your end");
      expect((await toClient).toString()).toBe("after your end");
      await closed;
    });

    it("half-close: the server ends first and still receives what the client writes after (allowHalfOpen)", async () => {
      const { server, port } = await listen({ allowHalfOpen: true });
      const conn = nextConnection(server);
      const c = await connect(port);
      c.on("end", () => c.end("late bytes"));
      const s = await conn;
      const closed = closeOf(s);
      const fromClient = collect(s);
      const toClient = collect(c);
      s.end("bye");
      expect((await toClient).toString()).toBe("bye");
      expect((await fromClient).toString()).toBe("late bytes");
      await closed;
    });

    it("without allowHalfOpen the server ends its side when the client ends", async () => {
      const { server, port } = await listen();
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      const closed = closeOf(s);
      s.resume();
      const toClient = collect(c);
      c.end();
      expect((await toClient).length).toBe(0);
      await closed;
    });

    it("write() returns false at the high-water mark, drain follows, and every byte arrives", async () => {
      const { server, port } = await listen({ highWaterMark: 64 * 1024 });
      const conn = nextConnection(server);
      const c = await connect(port);
      c.pause();
      const s = await conn;
      const chunk = randomBytes(256 * 1024);
      let writes = 0;
      while (s.write(chunk)) writes++;
      writes++;
      expect(s.writableLength).toBeGreaterThanOrEqual(64 * 1024);
      const drained = once(s, "drain");
      const received = collect(c);
      c.resume();
      await drained;
      s.end();
      const got = await received;
      expect(got.length).toBe(writes * chunk.length);
      expect(got.subarray(got.length - chunk.length).equals(chunk)).toBe(true);
    });

    it("a paused reader stops receiving: memory stays bounded while the client is blocked, then every byte arrives", async () => {
      const recvBuffers = { count: 16, size: 16384 };
      const hwm = 64 * 1024;
      const { server, port } = await listen({ highWaterMark: hwm, recvBuffers });
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn; // nobody reads s: it buffers up to its high-water mark, then stops
      const data = randomBytes(48 * 1024 * 1024);
      c.end(data);
      // Wait until the sender is stuck: the kernel buffers are full and the server took no more.
      let last = -1;
      for (let stable = 0; stable < 20; ) {
        await new Promise((r) => setTimeout(r, 10));
        stable = s.bytesRead === last && c.writableLength > 0 ? stable + 1 : 0;
        last = s.bytesRead;
      }
      const bound = hwm + (backend === "io_uring" ? recvBuffers.count * recvBuffers.size : 256 * 1024);
      expect(s.bytesRead).toBeLessThanOrEqual(bound);
      expect(s.readableLength).toBeLessThanOrEqual(bound);
      expect(c.writableLength).toBeGreaterThan(0);
      const got = await collect(s);
      expect(got.length).toBe(data.length);
      expect(sha(got)).toBe(sha(data));
    });

    it("a slow reader: a writer that honours write() stops while the client reads nothing, and all of 64 MiB or more arrives intact when it resumes", { timeout: 60_000 }, async () => {
      const hwm = 64 * 1024;
      const { server, port } = await listen({ highWaterMark: hwm });
      const conn = nextConnection(server);
      const c = await connect(port);
      c.pause();
      const s = await conn;
      // What the kernel may hold between the two (server send buffer + client receive buffer, at
      // their autotuned maximum); the data is larger than 4 times that, so a bound means something.
      const tcpMax = (f: string) => Number(readFileSync(`/proc/sys/net/ipv4/${f}`, "utf8").trim().split(/\s+/)[2]);
      const inKernel = tcpMax("tcp_rmem") + tcpMax("tcp_wmem");
      const chunk = 64 * 1024;
      const total = Math.max(64 * 1024 * 1024, Math.ceil((4 * inKernel) / chunk) * chunk);
      const block = randomBytes(1024 * 1024 + chunk);
      const sent = createHash("sha256");
      let produced = 0;
      const writer = (async () => {
        for (let i = 0; produced < total; i++) {
          const piece = block.subarray((i * 4099) % (1024 * 1024)).subarray(0, chunk);
          produced += piece.length;
          sent.update(piece);
          if (!s.write(piece)) await once(s, "drain");
        }
        s.end();
      })();
      // Wait until the writer is stuck: the kernel buffers are full and no drain comes.
      let last = -1;
      for (let stable = 0; stable < 20; ) {
        await new Promise((r) => setTimeout(r, 10));
        stable = produced === last ? stable + 1 : 0;
        last = produced;
      }
      // the client's own stream buffer: its high-water mark plus one 64 KiB read
      const clientSide = c.readableHighWaterMark + 64 * 1024;
      expect(produced).toBeLessThan(total);
      expect(produced).toBeLessThanOrEqual(inKernel + hwm + chunk + clientSide);
      const received = createHash("sha256");
      let got = 0;
      c.on("data", (d: Buffer) => {
        got += d.length;
        received.update(d);
      });
      const ended = once(c, "end");
      c.resume();
      await writer;
      await ended;
      expect(got).toBe(total);
      expect(received.digest("hex")).toBe(sent.digest("hex"));
    });

    it("cork/uncork sends what was written in between", async () => {
      const { server, port } = await listen();
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      const received = collect(c);
      s.cork();
      s.write("a");
      s.write("bc");
      s.write(Buffer.from("def"));
      process.nextTick(() => s.uncork());
      s.end();
      expect((await received).toString()).toBe("abcdef");
    });

    it("a peer reset is an ECONNRESET error event, then close", async () => {
      const { server, port } = await listen();
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      s.resume();
      const closed = closeOf(s);
      const error = once(s, "error");
      c.write("x", () => c.resetAndDestroy());
      const [err] = (await error) as [NodeJS.ErrnoException];
      expect(err.code).toBe("ECONNRESET");
      expect(err.syscall).toBe("read");
      await closed;
    });

    it("a reset while the server writes ends in an error event (ECONNRESET or EPIPE), no crash", async () => {
      const { server, port } = await listen();
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      const chunk = Buffer.alloc(1024 * 1024, 7);
      const closed = closeOf(s);
      const error = once(s, "error");
      const pump = () => {
        while (!s.destroyed && s.write(chunk));
      };
      s.on("drain", pump);
      pump();
      c.once("data", () => c.resetAndDestroy());
      const [err] = (await error) as [NodeJS.ErrnoException];
      expect(["ECONNRESET", "EPIPE"]).toContain(err.code);
      await closed;
    });

    it("destroy() with sends in flight closes the socket once the kernel is done with them", async () => {
      const { server, port } = await listen();
      const conn = nextConnection(server);
      const c = await connect(port);
      c.pause();
      c.on("error", () => {});
      const s = await conn;
      for (let i = 0; i < 16; i++) s.write(Buffer.alloc(1024 * 1024, i));
      await turns(3);
      s.destroy();
      await once(s, "close");
      expect(s.destroyed).toBe(true);
      // the server still serves others
      const conn2 = nextConnection(server);
      const c2 = await connect(port);
      const s2 = await conn2;
      s2.end("still here");
      expect((await collect(c2)).toString()).toBe("still here");
      c.destroy();
    });

    it("close() stops accepting and waits for open connections, like net", async () => {
      const { server, port } = await listen();
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      s.resume();
      let closed = false;
      const done = new Promise<void>((resolve) =>
        server.close(() => {
          closed = true;
          resolve();
        }),
      );
      await turns(5);
      expect(closed).toBe(false);
      expect(server.listening).toBe(false);
      await expect(connect(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      s.write("served after close()");
      c.end();
      expect((await collect(c)).toString()).toBe("served after close()");
      await done;
      expect(closed).toBe(true);
    });

    it("close() of a server that is not listening calls back with ERR_SERVER_NOT_RUNNING", async () => {
      const server = createServer({ backend });
      const [err] = await new Promise<[Error | undefined]>((resolve) => server.close((e) => resolve([e])));
      expect(err).toMatchObject({ code: "ERR_SERVER_NOT_RUNNING" });
    });

    it("a port in use is an EADDRINUSE error event as net gives it", async () => {
      const taken = net.createServer();
      await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
      const port = (taken.address() as net.AddressInfo).port;
      const server = createServer({ backend });
      server.listen(port, "127.0.0.1");
      const [err] = (await once(server, "error")) as [NodeJS.ErrnoException & { address: string; port: number }];
      expect(err).toMatchObject({ code: "EADDRINUSE", syscall: "listen", address: "127.0.0.1", port });
      expect(err.message).toBe(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
      expect(server.listening).toBe(false);
      taken.close();
    });

    it("refuses bad options and listen arguments with one-line errors", () => {
      expect(() => createServer({ backend: "kqueue" as "epoll" })).toThrow("Expected 'auto', 'io_uring' or 'epoll' for options.backend but received \"kqueue\"");
      expect(() => createServer({ allowHalfOpen: 1 as unknown as boolean })).toThrow(/Expected boolean for options.allowHalfOpen/);
      expect(() => createServer({ nodelay: true } as ServerOptions)).toThrow(/options.nodelay/);
      expect(() => createServer({ recvBuffers: { count: 3 } })).toThrow(/power of two/);
      expect(() => createServer({ recvBuffers: { bundle: "yes" as unknown as boolean } })).toThrow(/Expected boolean for options.recvBuffers.bundle/);
      const server = createServer({ backend });
      expect(() => server.listen(70000)).toThrow(/Expected >= 0 and <= 65535 for port but received 70000/);
      expect(() => server.listen(-1)).toThrow(/for port/);
      expect(() => server.listen({ port: 0, hots: "x" })).toThrow(/options.hots/);
      expect(() => server.listen(0, 5 as unknown as string)).toThrow(/Expected string for host/);
      expect(server.listening).toBe(false);
    });

    it("reports addresses: server.address(), remote and local address/port/family", async () => {
      const { server, port } = await listen();
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      expect(server.address()).toEqual({ family: "IPv4", address: "127.0.0.1", port });
      expect([s.remoteAddress, s.remotePort, s.remoteFamily]).toEqual(["127.0.0.1", c.localPort, "IPv4"]);
      expect([s.localAddress, s.localPort]).toEqual(["127.0.0.1", port]);
      const clientPort = c.localPort;
      const closed = closeOf(s);
      s.resume();
      c.destroy();
      await closed;
      expect(s.remotePort).toBe(clientPort); // kept after close
    });

    it("listens on IPv6", async () => {
      let v6 = true;
      try {
        await new Promise<void>((resolve, reject) => {
          const t = net.createServer().once("error", reject).listen(0, "::1", () => t.close(() => resolve()));
        });
      } catch {
        v6 = false;
      }
      if (!v6) return; // loopback has no IPv6 here
      const { server, port } = await listen({}, (s) => s.pipe(s), "::1");
      expect(server.address()).toMatchObject({ family: "IPv6", address: "::1" });
      const conn = nextConnection(server);
      const c = await connect(port, "::1");
      const s = await conn;
      expect(s.remoteFamily).toBe("IPv6");
      const got = collect(c);
      c.end("six");
      expect((await got).toString()).toBe("six");
    });

    it("setTimeout emits 'timeout' on an idle socket and leaves it open", async () => {
      const { server, port } = await listen();
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      s.setTimeout(20);
      expect(s.timeout).toBe(20);
      await once(s, "timeout");
      expect(s.destroyed).toBe(false);
      s.setTimeout(0);
      expect(s.timeout).toBeUndefined();
      s.end("ok");
      expect((await collect(c)).toString()).toBe("ok");
    });

    it("setNoDelay and setKeepAlive apply to the socket", async () => {
      const { server, port } = await listen({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 5000 });
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      expect(s.setNoDelay(false)).toBe(s);
      expect(s.setKeepAlive(true, 2000)).toBe(s);
      s.end();
      c.resume();
      await once(c, "end");
    });

    it("getConnections counts open sockets; maxConnections refuses beyond it", async () => {
      const { server, port } = await listen();
      server.maxConnections = 1;
      const conn = nextConnection(server);
      const c1 = await connect(port);
      const s1 = await conn;
      const dropped = once(server, "drop");
      const c2 = await connect(port);
      await dropped;
      const c2ended = new Promise((r) => c2.on("close", r).on("error", () => {}).resume());
      await c2ended;
      const n = await new Promise<number>((resolve) => server.getConnections((_e, count) => resolve(count)));
      expect(n).toBe(1);
      s1.destroy();
      c1.destroy();
    });

    it("pauseOnConnect: nothing is read until the socket is resumed", async () => {
      const { server, port } = await listen({ pauseOnConnect: true });
      const conn = nextConnection(server);
      const c = await connect(port);
      const s = await conn;
      c.write("held");
      await new Promise((r) => setTimeout(r, 20));
      expect(s.bytesRead).toBe(0);
      const got = collect(s);
      c.end();
      s.resume();
      expect((await got).toString()).toBe("held");
    });

    it("batch handler: echoes 10 MiB byte for byte from many connections, sending the batch's views as they are", async () => {
      const opened: number[] = [];
      const closed: Array<[number, Error | null]> = [];
      let batches = 0;
      const { server, port } = await listen({
        batch: {
          open: (conn) => opened.push(conn),
          data(batch: DataBatch) {
            batches++;
            for (let i = 0; i < batch.length; i++) server.send(batch.conn[i]!, batch.data[i]!);
          },
          close: (conn, err) => closed.push([conn, err]),
        },
      });
      const echo = async (size: number) => {
        const c = await connect(port);
        const data = randomBytes(size);
        const received = collect(c);
        await writeInRandomChunks(c, data);
        expect(sha(await received)).toBe(sha(data));
      };
      await Promise.all([echo(10 * 1024 * 1024), echo(1024 * 1024), echo(1), echo(64 * 1024)]);
      for (let i = 0; i < 50 && closed.length < 4; i++) await turns(1);
      expect(opened.length).toBe(4);
      expect(closed.map(([conn]) => conn).sort()).toEqual(opened.slice().sort());
      expect(closed.every(([, err]) => err === null)).toBe(true);
      expect(batches).toBeGreaterThan(0);
    });

    it.skipIf(backend !== "io_uring" || !hasBundles)("io_uring: one receive fills several buffers (bundles, Linux 6.10), and every byte arrives in order, through the Duplex and the batch handler", async () => {
      const recvBuffers = { count: 64, size: 4096 };
      // A reader that falls behind lets data pile up in the socket, so receives find several buffers' worth.
      const { server: duplex, port } = await listen({ recvBuffers }, (s) => s.pipe(s));
      const echoBatch: { server?: Server } = {};
      const { server: batch, port: batchPort } = await listen({
        recvBuffers,
        batch: { data: (b: DataBatch) => { for (let i = 0; i < b.length; i++) echoBatch.server!.send(b.conn[i]!, b.data[i]!); } },
      });
      echoBatch.server = batch;
      for (const [server, p] of [[duplex, port], [batch, batchPort]] as const) {
        expect(server.recvBundles).toEqual({ enabled: true, multiBufferCqes: 0 });
        const c = await connect(p);
        const data = randomBytes(16 * 1024 * 1024);
        const received = collect(c);
        await writeInRandomChunks(c, data);
        expect(sha(await received)).toBe(sha(data));
        expect(server.recvBundles!.multiBufferCqes).toBeGreaterThan(0);
      }
    });

    it.skipIf(backend !== "io_uring")("io_uring: recvBuffers.bundle false receives one buffer per CQE; true where the kernel lacks bundles is refused with the cause", async () => {
      const { server, port } = await listen({ recvBuffers: { count: 64, size: 4096, bundle: false } }, (s) => s.pipe(s));
      const c = await connect(port);
      const data = randomBytes(4 * 1024 * 1024);
      const received = collect(c);
      await writeInRandomChunks(c, data);
      expect(sha(await received)).toBe(sha(data));
      expect(server.recvBundles).toEqual({ enabled: false, multiBufferCqes: 0 });
      if (!hasBundles) {
        const refused = createServer({ backend, recvBuffers: { bundle: true } });
        refused.listen(0, "127.0.0.1");
        const [err] = (await once(refused, "error")) as [Error & { code: string }];
        expect(err.code).toBe("ERR_RINGPOLL_UNSUPPORTED");
        expect(err.message).toMatch(/lacks IORING_FEAT_RECVSEND_BUNDLE \(Linux 6\.10\)/);
      }
    });

    it("batch handler: a view sent in two pieces (two sends out of one received buffer) echoes byte for byte", async () => {
      const { server, port } = await listen({
        batch: {
          data(batch: DataBatch) {
            for (let i = 0; i < batch.length; i++) {
              const d = batch.data[i]!;
              const half = d.length >> 1;
              server.send(batch.conn[i]!, d.subarray(0, half));
              server.send(batch.conn[i]!, d.subarray(half));
            }
          },
        },
      });
      const c = await connect(port);
      const data = randomBytes(4 * 1024 * 1024);
      const received = collect(c);
      await writeInRandomChunks(c, data);
      expect(sha(await received)).toBe(sha(data));
    });

    it("batch handler: a peer that stops reading while its echoes pile up starves no other connection, and every byte arrives once it reads", async () => {
      // Few buffers: the echoes waiting on the stalled peer hold their share of them, then are copied.
      const { server, port } = await listen({
        recvBuffers: { count: 16, size: 4096 },
        batch: {
          data(batch: DataBatch) {
            for (let i = 0; i < batch.length; i++) server.send(batch.conn[i]!, batch.data[i]!);
          },
        },
      });
      const stalled = await connect(port);
      stalled.pause();
      const bigData = randomBytes(24 * 1024 * 1024);
      const written = writeInRandomChunks(stalled, bigData);
      const other = await connect(port);
      const small = randomBytes(1024 * 1024);
      const echoed = collect(other);
      await writeInRandomChunks(other, small);
      expect(sha(await echoed)).toBe(sha(small));
      const big = collect(stalled);
      stalled.resume();
      await written;
      expect(sha(await big)).toBe(sha(bigData));
    });

    it("batch handler: a reset closes the connection with the error; per-connection calls outside batch mode are refused", async () => {
      const closed: Array<[number, Error | null]> = [];
      const { server, port } = await listen({ batch: { data() {}, close: (conn, err) => closed.push([conn, err]) } });
      const c = await connect(port);
      c.write("x", () => c.resetAndDestroy());
      for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(closed).toHaveLength(1);
      expect(closed[0]![1]).toMatchObject({ code: "ECONNRESET" });
      expect(() => server.send(closed[0]![0], Buffer.from("late"))).toThrow(/an open connection/);
      const plain = createServer({ backend });
      expect(() => plain.send(0, Buffer.alloc(1))).toThrow(/need options.batch/);
      expect(() => createServer({ batch: {} as never })).toThrow(/Expected function for options.batch.data/);
      expect(() => createServer({ batch: { data() {}, onData() {} } as never })).toThrow(/options.batch.onData/);
    });

    it("a worker_threads server terminated mid-traffic takes nothing down with it and leaves no fd open", async () => {
      await turns(5); // rings and fds of earlier tests' servers are gone
      const before = openFdCount();
      const w = new Worker(new URL("./fixtures/net-worker.mjs", import.meta.url), { workerData: { backend } });
      const [port] = (await once(w, "message")) as [number];
      let echoed = 0;
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (let i = 0; i < 8; i++) {
        const c = net.connect(port, "127.0.0.1");
        sockets.push(c);
        c.on("error", () => {});
        c.on("data", (d: Buffer) => (echoed += d.length));
        c.on("connect", () => {
          const pump = () => {
            while (!c.destroyed && c.write(chunk));
          };
          c.on("drain", pump);
          pump();
        });
      }
      while (echoed < 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
      const exited = once(w, "exit");
      await w.terminate();
      await exited;
      // The worker's listening socket and accepted connections were closed with it: once this
      // thread's client sockets are closed too, the fd count is back where it started.
      for (const s of sockets.splice(0)) s.destroy();
      for (let i = 0; i < 50 && openFdCount() !== before; i++) await turns(1);
      expect(openFdCount()).toBe(before);
      // this thread's own server still serves
      const { port: p2 } = await listen({}, (s) => s.pipe(s));
      const c = await connect(p2);
      const got = collect(c);
      c.end("alive");
      expect((await got).toString()).toBe("alive");
    });

    describe("keeping the process alive, as net does", () => {
      const fixture = fileURLToPath(new URL("./fixtures/net-ref.mjs", import.meta.url));

      /** A child serving one connection in `mode`: its output lines, and this side of the connection. */
      async function serveInChild(mode: string) {
        const p = spawn(process.execPath, [fixture, backend, mode], { stdio: ["ignore", "pipe", "inherit"] });
        const exited = new Promise<number | null>((resolve) => p.once("exit", (code) => resolve(code)));
        const lines: string[] = [];
        createInterface({ input: p.stdout }).on("line", (l) => lines.push(l));
        const until = async (done: () => boolean) => {
          for (let i = 0; i < 2000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
        };
        await until(() => lines.length > 0 || p.exitCode !== null);
        const client = await connect(Number(lines[0]));
        client.on("error", () => {});
        await until(() => lines.includes("connection") || p.exitCode !== null);
        return { client, lines, exited, hasExited: () => p.exitCode !== null, until };
      }

      for (const mode of ["server-closed", "server-unref", "server-unref-first"]) {
        it(`an open connection keeps it alive (${mode}) until the peer closes`, async () => {
          const { client, lines, exited, hasExited } = await serveInChild(mode);
          // Long enough for a child with nothing keeping its loop alive to have exited.
          await new Promise((r) => setTimeout(r, 300));
          expect(hasExited()).toBe(false);
          client.destroy();
          expect(await exited).toBe(0);
          expect(lines.slice(1)).toEqual(["connection", "end", "socket-close", "exit"]);
        });
      }

      it("socket.unref() and server.unref() let it exit with the connection open", async () => {
        const { lines, exited } = await serveInChild("all-unref");
        // (this side never closes: its socket closes because the child exited)
        expect(await exited).toBe(0);
        expect(lines.slice(1)).toEqual(["connection", "exit"]);
      });

      it("a half-open connection with nothing to receive or send does not keep it alive", async () => {
        const { client, lines, exited, until } = await serveInChild("half-open");
        client.end();
        await until(() => lines.includes("end"));
        expect(await exited).toBe(0);
        expect(lines.slice(1)).toEqual(["connection", "end", "exit"]);
      });
    });

    it("10,000 connect/close cycles leak no fd", { timeout: 120_000 }, async () => {
      await turns(5); // rings and fds of earlier tests' servers are gone
      const before = openFdCount();
      const { server, port } = await listen({}, (s) => {
        s.resume();
        s.on("error", () => {});
      });
      let left = 10_000;
      const worker = async () => {
        while (left-- > 0) {
          const c = await connect(port);
          c.destroy();
          await once(c, "close");
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      sockets.length = 0;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (let i = 0; i < 20 && openFdCount() !== before; i++) await turns(1);
      expect(openFdCount()).toBe(before);
    });
  });
}

describe("backend: 'auto'", () => {
  const dir = mkdtempSync(join(tmpdir(), "ringpoll-net-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const helper = seccompDenyUring(dir);
  // A child serves one echo on 'auto' and prints which backend ran and why.
  const script =
    'import net from "node:net"; import { createServer } from "ringpoll/net";' +
    "const server = createServer((s) => s.pipe(s));" +
    'server.listen(0, "127.0.0.1", () => { const c = net.connect(server.address().port, "127.0.0.1"); let got = "";' +
    'c.on("data", (d) => (got += d)); c.on("end", () => { console.log(JSON.stringify({ backend: server.backend, got })); server.close(); }); c.end("echo"); });';
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const run = (argv: string[]) => JSON.parse(execFileSync(argv[0]!, argv.slice(1), { cwd: root, encoding: "utf8" })) as { backend: { name: string; reason: string }; got: string };

  it.skipIf(uringSkip !== null)(`runs io_uring where the kernel allows it${uringSkip ? ` (skipped: ${uringSkip})` : ""}`, () => {
    expect(run([process.execPath, "--input-type=module", "-e", script])).toEqual({ backend: { name: "io_uring", reason: "auto: io_uring available" }, got: "echo" });
  });

  it.skipIf(helper === null)(`falls back to epoll under a seccomp filter that refuses io_uring_setup, and says why${helper ? "" : " (skipped: no C compiler)"}`, () => {
    for (const errno of [1, 38]) {
      const r = run([helper!, String(errno), process.execPath, "--input-type=module", "-e", script]);
      expect(r.got).toBe("echo");
      expect(r.backend.name).toBe("epoll");
      expect(r.backend.reason).toMatch(errno === 1 ? /^auto: io_uring_setup EPERM: .*seccomp/ : /^auto: io_uring_setup ENOSYS/);
    }
  });

  it.skipIf(helper === null)(`backend: 'io_uring' under that filter is an error, not a fallback${helper ? "" : " (skipped: no C compiler)"}`, () => {
    const s = 'import { createServer } from "ringpoll/net"; const server = createServer({ backend: "io_uring" }); server.on("error", (e) => console.log(JSON.stringify({ code: e.code }))); server.listen(0);';
    const out = execFileSync(helper!, ["1", process.execPath, "--input-type=module", "-e", s], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ code: "EPERM" });
  });
});
