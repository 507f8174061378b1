// Vectored sends: sys.sendv, and ringpoll/net's queued writes leaving as one sendmsg over all their
// buffers (no copy) on each backend. Real sockets on loopback.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { sys } from "ringpoll";
import { createServer, type DataBatch, type Server, type ServerOptions, type Socket } from "ringpoll/net";
import { afterEach, describe, expect, it } from "vitest";
import { Fds, collect as collectGarbage, turns, uringSkipReason } from "./helpers.js";

const fds = new Fds();
const servers: Server[] = [];
const sockets: Array<net.Socket | Socket> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  fds.closeAll();
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const detachedArg = expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringMatching(/detached/) });
const detachedShape = { code: "ERR_INVALID_ARG_VALUE", message: expect.stringMatching(/detached/) };
const tcpMax = (f: string) => Number(readFileSync(`/proc/sys/net/ipv4/${f}`, "utf8").trim().split(/\s+/)[2]);

/** Everything `c` receives until its end. */
function receiveAll(c: net.Socket): Promise<Buffer> {
  const got: Buffer[] = [];
  c.on("data", (d: Buffer) => got.push(d));
  return once(c, "end").then(() => Buffer.concat(got));
}

/** Resolves on 'close' (events.once would reject on the 'error' before it). */
const closeOf = (s: Socket) => new Promise<void>((resolve) => s.once("close", () => resolve()));

/** A Buffer over an ArrayBuffer of its own, then transferred away (length 0 from then on). */
function detachedBuffer(): Buffer {
  const ab = new ArrayBuffer(16);
  const b = Buffer.from(ab);
  structuredClone(ab, { transfer: [ab] });
  return b;
}

/** A connected loopback TCP pair of nonblocking sys sockets; the client's receive buffer is small. */
async function tcpPair(): Promise<{ client: number; accepted: number; port: number }> {
  const listener = fds.track(sys.tcpSocket({ port: 0 }));
  sys.listen(listener);
  const port = sys.localPort(listener);
  const client = fds.track(sys.tcpSocket({ recvBufferSize: 64 * 1024 }));
  sys.connect(client, port);
  for (let i = 0; i < 1000; i++) {
    const accepted = sys.accept(listener);
    if (accepted !== null) return { client, accepted: fds.track(accepted), port };
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error("no connection accepted");
}

/** Reads `fd` until end of stream (or `limit` bytes), waiting while nothing is there. */
async function readAll(fd: number, limit: number): Promise<Buffer> {
  const out = Buffer.alloc(limit);
  let got = 0;
  for (let idle = 0; got < limit && idle < 20_000; ) {
    let r: number | null;
    try {
      r = sys.read(fd, out, got, limit - got);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ECONNRESET") break;
      throw err;
    }
    if (r === 0) break;
    if (r === null) {
      idle++;
      await new Promise((res) => setTimeout(res, 1));
      continue;
    }
    idle = 0;
    got += r;
  }
  return out.subarray(0, got);
}

/** `count` random chunks of about `size` bytes, of sizes that differ (partial sends stop mid-chunk). */
function chunks(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => randomBytes(size + ((i * 7919) % 1013)));
}

describe("sys.sendv", () => {
  it("sends several buffers in one sendmsg, the first from an offset", async () => {
    const { client, accepted } = await tcpPair();
    const parts = [Buffer.from("hello "), new Uint8Array(0), Buffer.from("vectored "), Buffer.from("world")];
    expect(sys.sendv(accepted, parts, 0)).toBe(20);
    expect(sys.sendv(accepted, [Buffer.from("..tail"), Buffer.from("!")], 2)).toBe(5);
    sys.shutdown(accepted, 1);
    expect((await readAll(client, 64)).toString()).toBe("hello vectored worldtail!");
  });

  it("a partial send reports the bytes the kernel took: the peer has exactly that prefix", async () => {
    const { client, accepted } = await tcpPair();
    // More than the sender's send buffer can grow to plus the client's small receive buffer.
    const parts = chunks(64, Math.ceil((tcpMax("tcp_wmem") + 2 * 1024 * 1024) / 64));
    const all = Buffer.concat(parts);
    const r = sys.sendv(accepted, parts, 0, 0x40 /* MSG_DONTWAIT */)!;
    expect(r).toBeGreaterThan(0);
    expect(r).toBeLessThan(all.length);
    // Nothing more goes in until the client reads.
    expect(sys.sendv(accepted, parts, 0, 0x40)).toBeNull();
    const got = await readAll(client, r);
    expect(got.length).toBe(r);
    expect(sha(got)).toBe(sha(all.subarray(0, r)));
  });

  it("refuses bad input with one-line errors, and reports the kernel's errno", async () => {
    const { accepted } = await tcpPair();
    const b = Buffer.from("x");
    expect(() => sys.sendv(accepted, [b, detachedBuffer()])).toThrow(detachedArg);
    expect(() => sys.sendv(accepted, [])).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => sys.sendv(accepted, Array.from({ length: sys.IOV_MAX + 1 }, () => b))).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => sys.sendv(accepted, [b], 2)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => sys.sendv(accepted, b as unknown as Uint8Array[])).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    expect(() => sys.sendv(accepted, ["x" as unknown as Uint8Array])).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    const [r] = fds.pipe();
    expect(() => sys.sendv(r, [b, b])).toThrow(expect.objectContaining({ code: "ENOTSOCK", syscall: "sendmsg" }));
  });
});

const uringSkip = uringSkipReason();

const sendCalls = (server: Server) => (server as unknown as { sendCalls: number }).sendCalls;

for (const backend of ["io_uring", "epoll"] as const) {
  const skip = backend === "io_uring" ? uringSkip : null;
  describe.skipIf(skip !== null)(`ringpoll/net vectored writes on ${backend}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    async function listen(options: ServerOptions = {}): Promise<{ server: Server; port: number }> {
      const server = createServer({ backend, ...options });
      servers.push(server);
      server.on("connection", (s) => sockets.push(s));
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      return { server, port: server.address()!.port };
    }

    /** A server, one connection to it from a node:net client, and the server's socket. */
    async function connected(): Promise<{ server: Server; s: Socket; c: net.Socket }> {
      const { server, port } = await listen();
      const conn = once(server, "connection");
      const c = net.connect(port, "127.0.0.1");
      sockets.push(c);
      await once(c, "connect");
      const [s] = (await conn) as [Socket];
      return { server, s, c };
    }

    /** Writes every chunk corked, uncorks; resolves when every write's callback ran. */
    function corkedWrites(s: Socket, parts: Buffer[]): Promise<void> {
      s.cork();
      const done = parts.map((p) => new Promise<void>((resolve, reject) => s.write(p, (err) => (err ? reject(err) : resolve()))));
      s.uncork();
      return Promise.all(done).then(() => undefined);
    }

    it("cork()/uncork() of many chunks arrives byte for byte and leaves as one send", async () => {
      const { server, s, c } = await connected();
      const received = receiveAll(c);
      const parts = chunks(40, 100);
      const before = sendCalls(server);
      await corkedWrites(s, parts);
      expect(sendCalls(server) - before).toBe(1);
      const total = parts.reduce((n, p) => n + p.length, 0);
      expect(s.bytesWritten).toBe(total);
      s.end();
      expect(sha(await received)).toBe(sha(Buffer.concat(parts)));
    });

    it("more chunks than one vectored send takes (64) leave in several sends, in order", async () => {
      const { server, s, c } = await connected();
      const received = receiveAll(c);
      const parts = chunks(100, 50);
      const before = sendCalls(server);
      await corkedWrites(s, parts);
      expect(sendCalls(server) - before).toBe(2);
      s.end();
      expect(sha(await received)).toBe(sha(Buffer.concat(parts)));
    });

    it("a partial vectored send (a peer that does not read) continues from the byte where it stopped, and all arrives once the peer reads", { timeout: 60_000 }, async () => {
      const { server, port } = await listen();
      const conn = once(server, "connection");
      const client = fds.track(sys.tcpSocket({ recvBufferSize: 64 * 1024 }));
      sys.connect(client, port);
      const [s] = (await conn) as [Socket];
      // More than the server's send buffer can grow to plus the client's receive buffer: the
      // kernel cannot take it in one go.
      const parts = chunks(64, Math.ceil((tcpMax("tcp_wmem") + 2 * 1024 * 1024) / 64));
      const total = parts.reduce((n, p) => n + p.length, 0);
      let written = false;
      const writes = corkedWrites(s, parts).then(() => (written = true));
      await turns(5);
      expect(written).toBe(false);
      const got = readAll(client, total + 1);
      await writes;
      expect(s.bytesWritten).toBe(total);
      s.end();
      const all = await got;
      expect(all.length).toBe(total);
      expect(sha(all)).toBe(sha(Buffer.concat(parts)));
      // epoll's nonblocking sendmsg stops where the buffer is full and goes on from there; io_uring's
      // SENDMSG may retry inside the kernel until done.
      if (backend === "epoll") expect(sendCalls(server)).toBeGreaterThan(1);
    });

    it("destroy() with a vectored send in flight: close follows, the peer gets an exact prefix, nothing read freed memory", { timeout: 60_000 }, async () => {
      const { server, port } = await listen();
      const conn = once(server, "connection");
      const client = fds.track(sys.tcpSocket({ recvBufferSize: 64 * 1024 }));
      sys.connect(client, port);
      const [s] = (await conn) as [Socket];
      let copy = Buffer.alloc(0);
      const errors: Error[] = [];
      // The chunks are referenced only by the socket (and native code) from here on; the test
      // keeps a copy of their bytes in memory of its own.
      (() => {
        const parts = chunks(64, Math.ceil((tcpMax("tcp_wmem") + 2 * 1024 * 1024) / 64));
        copy = Buffer.concat(parts);
        void corkedWrites(s, parts).catch((err: Error) => errors.push(err));
      })();
      await turns(5);
      const closed = once(s, "close");
      s.destroy();
      await collectGarbage();
      await closed;
      await collectGarbage();
      const got = await readAll(client, copy.length);
      expect(got.length).toBeLessThan(copy.length);
      // What arrived is exactly the start of what was written: the kernel read live memory.
      expect(sha(got)).toBe(sha(copy.subarray(0, got.length)));
      // destroy() drops the writes' callbacks with the stream (as net does): none failed
      expect(errors).toEqual([]);
      // the server still serves others
      const conn2 = once(server, "connection");
      const c2 = net.connect(port, "127.0.0.1");
      sockets.push(c2);
      const [s2] = (await conn2) as [Socket];
      const reply = receiveAll(c2);
      s2.end("still here");
      expect((await reply).toString()).toBe("still here");
    });

    it("a detached (transferred) buffer in a corked write fails the socket with the usual error, no crash", async () => {
      const { s, c } = await connected();
      c.on("error", () => {});
      const ab = new ArrayBuffer(16);
      const b = Buffer.from(ab);
      s.cork();
      s.write("ok");
      s.write(b);
      structuredClone(ab, { transfer: [ab] });
      const error = once(s, "error");
      const closed = closeOf(s);
      s.uncork();
      const [err] = (await error) as [Error];
      expect(err).toMatchObject(detachedShape);
      expect(err.message.split("\n")).toHaveLength(1);
      await closed;
    });

    it("a detached buffer written alone fails the same way", async () => {
      const { s, c } = await connected();
      c.on("error", () => {});
      const error = once(s, "error");
      const closed = closeOf(s);
      s.write(detachedBuffer());
      const [err] = (await error) as [Error];
      expect(err).toMatchObject(detachedShape);
      await closed;
    });

    it("batch handler: the pieces sent for one request leave as one send, so Nagle has no second segment to hold", async () => {
      let server!: Server;
      ({ server } = await listen({
        batch: {
          data(batch: DataBatch) {
            for (let i = 0; i < batch.length; i++) {
              const d = batch.data[i]!;
              for (let k = 0; k < d.length; k += 100) server.send(batch.conn[i]!, d.subarray(k, k + 100));
            }
          },
        },
      }));
      const c = net.connect(server.address()!.port, "127.0.0.1");
      sockets.push(c);
      await once(c, "connect");
      const before = sendCalls(server);
      for (let round = 0; round < 5; round++) {
        const request = randomBytes(300);
        const got: Buffer[] = [];
        let n = 0;
        const answered = new Promise<void>((resolve) => {
          const onData = (d: Buffer) => {
            got.push(d);
            if ((n += d.length) >= request.length) {
              c.off("data", onData);
              resolve();
            }
          };
          c.on("data", onData);
        });
        c.write(request);
        await answered;
        expect(Buffer.concat(got).equals(request)).toBe(true);
      }
      // one request of 300 bytes arrives in one read on loopback: three pieces, one send each time
      expect(sendCalls(server) - before).toBe(5);
    });

    it("batch handler: send() refuses a detached buffer before queueing anything", async () => {
      let thrown: unknown = null;
      let server!: Server;
      const { port } = await listen({
        batch: {
          data(batch: DataBatch) {
            for (let i = 0; i < batch.length; i++) {
              try {
                server.send(batch.conn[i]!, detachedBuffer());
              } catch (err) {
                thrown = err;
              }
              server.send(batch.conn[i]!, batch.data[i]!);
            }
          },
        },
      }).then((r) => ((server = r.server), r));
      const c = net.connect(port, "127.0.0.1");
      sockets.push(c);
      await once(c, "connect");
      c.write("echo");
      const [d] = (await once(c, "data")) as [Buffer];
      expect(d.toString()).toBe("echo");
      expect(thrown).toMatchObject(detachedShape);
    });
  });
}
