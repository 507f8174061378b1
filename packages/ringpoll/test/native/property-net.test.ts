// Random operation sequences on ringpoll/net, both backends (fast-check): node:net clients connect,
// write, end and destroy; the server's sockets write, end, destroy, pause and resume; the server
// closes with connections open; GC in between. After each sequence: every socket closed on both
// sides, every error coded, the bytes each side received = what the other wrote (when neither side
// destroyed the connection), the server's close callback ran once, no fd left open.
import { once } from "node:events";
import net from "node:net";
import fc from "fast-check";
import { IoUring } from "ringpoll";
import { createServer, type Server, type Socket } from "ringpoll/net";
import { describe, it } from "vitest";
import { Tracker, checkSequences, countOutcome, requireCode, tick } from "./property.js";

const conn = fc.nat(3);
const command = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("connect" as const) }), weight: 6 },
  { arbitrary: fc.record({ k: fc.constant("clientWrite" as const), c: conn, n: fc.integer({ min: 1, max: 200_000 }) }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant("clientEnd" as const), c: conn }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("clientDestroy" as const), c: conn }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("serverWrite" as const), c: conn, n: fc.integer({ min: 1, max: 200_000 }) }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant("serverEnd" as const), c: conn }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("serverDestroy" as const), c: conn }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("pause" as const), c: conn, resumeLater: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("closeServer" as const) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("gc" as const) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("tick" as const), how: fc.constantFrom("immediate", "timer") }), weight: 4 },
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

const gc = (globalThis as { gc?: () => void }).gc!;
const bytes = (n: number, seed: number) => Buffer.alloc(n, 1 + (seed % 251));
const sum = (b: Buffer) => b.reduce((a, x) => a + x, 0);

/** One connection as both ends see it. */
interface Conn {
  client: net.Socket;
  /** the client's local port once connected (0 before) */
  port: number;
  /** bytes (and their sum) each side wrote and the kernel took (write callback without error) */
  clientWrote: [number, number];
  serverWrote: [number, number];
  clientGot: [number, number];
  /** a destroy or an error on either side: bytes in flight may be lost, as in net */
  broken: boolean;
}

function uringSkipReason(): string | null {
  try {
    void new IoUring({ entries: 2 }).close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

class Sequence {
  readonly t = new Tracker();
  readonly conns: Conn[] = [];
  /** the server's sockets and the bytes each received, by the client's port */
  readonly sockets = new Map<number, Socket>();
  readonly got = new Map<number, [number, number]>();
  server!: Server;
  port = 0;
  closing = false;
  n = 0;

  async listen(backend: "io_uring" | "epoll"): Promise<void> {
    this.server = createServer({ backend, recvBuffers: { count: 8, size: 4096 } }, (s) => this.accepted(s));
    this.server.on("error", (e) => requireCode(e, "server"));
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.port = this.server.address()!.port;
  }

  accepted(s: Socket): void {
    // Counted by the client's port: the client's 'connect' and the accept come in either order.
    const port = s.remotePort!;
    const got: [number, number] = [0, 0];
    this.got.set(port, got);
    this.sockets.set(port, s);
    s.on("error", (e) => {
      requireCode(e, "server socket");
      countOutcome(`server socket error: ${(e as { code?: string }).code}`);
      const c = this.conns.find((c) => c.port === port);
      if (c) c.broken = true;
    });
    s.on("data", (d: Buffer) => {
      got[0] += d.length;
      got[1] += sum(d);
    });
    this.t.track("server socket close", new Promise<void>((r) => s.once("close", () => r())));
  }

  serverOf(c: Conn): Socket | null {
    return c.port === 0 ? null : (this.sockets.get(c.port) ?? null);
  }

  connect(): Promise<void> | void {
    if (this.closing || this.conns.length >= 4) return;
    const client = net.connect(this.port, "127.0.0.1");
    const c: Conn = { client, port: 0, clientWrote: [0, 0], serverWrote: [0, 0], clientGot: [0, 0], broken: false };
    this.conns.push(c);
    client.on("error", (e) => {
      c.broken = true;
      requireCode(e, "client");
      countOutcome(`client error: ${(e as { code?: string }).code}`);
    });
    client.on("connect", () => (c.port = client.localPort!));
    client.on("data", (d: Buffer) => {
      c.clientGot[0] += d.length;
      c.clientGot[1] += sum(d);
    });
    this.t.track("client close", new Promise<void>((r) => client.once("close", () => r())));
    return this.established(c);
  }

  /** Until the client connected and the server accepted it (or either failed): ops then act on both ends. */
  async established(c: Conn): Promise<void> {
    await new Promise<void>((r) => {
      c.client.once("connect", () => r());
      c.client.once("close", () => r());
    });
    for (let i = 0; i < 200 && c.port !== 0 && !c.client.destroyed && !this.sockets.has(c.port); i++) await new Promise((r) => setTimeout(r, 1));
  }

  write(c: Conn, side: "client" | "server", n: number): void {
    const s = side === "client" ? c.client : this.serverOf(c);
    if (s === null || s.destroyed || s.writableEnded) return;
    const data = bytes(n, this.n++);
    const wrote = side === "client" ? c.clientWrote : c.serverWrote;
    s.write(data, (err) => {
      if (err) {
        c.broken = true;
        countOutcome(`${side} write: ${(err as { code?: string }).code}`);
        return requireCode(err, `${side} write`);
      }
      wrote[0] += n;
      wrote[1] += sum(data);
    });
  }

  run(cmd: Command): Promise<unknown> | void {
    switch (cmd.k) {
      case "gc":
        return gc();
      case "tick":
        return tick(cmd.how);
      case "connect":
        return this.connect();
      case "closeServer":
        if (this.closing) return;
        this.closing = true;
        this.t.track("server close", new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve()))));
        return;
    }
    const c = this.conns[cmd.c % Math.max(1, this.conns.length)];
    if (c === undefined) return;
    switch (cmd.k) {
      case "clientWrite":
        return this.write(c, "client", cmd.n);
      case "serverWrite":
        return this.write(c, "server", cmd.n);
      case "clientEnd":
        c.client.end();
        return;
      case "clientDestroy":
        c.broken = true;
        c.client.destroy();
        return;
      case "serverEnd":
        this.serverOf(c)?.end();
        return;
      case "serverDestroy": {
        const s = this.serverOf(c);
        if (s === null) return;
        c.broken = true;
        s.destroy();
        return;
      }
      case "pause": {
        const s = this.serverOf(c);
        if (s === null) return;
        s.pause();
        if (cmd.resumeLater) setTimeout(() => s.resume(), 2);
        return;
      }
    }
  }

  async finish(): Promise<void> {
    // Both sides read to the end and the clients end theirs: a server socket ends when its client
    // ends (allowHalfOpen false), so every connection closes cleanly.
    for (const s of this.sockets.values()) s.resume();
    for (const c of this.conns) c.client.end();
    if (!this.closing) this.run({ k: "closeServer" });
    await this.t.settle(20_000);
    for (const [i, c] of this.conns.entries()) {
      if (c.broken) continue;
      const got = this.got.get(c.port) ?? [0, 0];
      if (got[0] !== c.clientWrote[0] || got[1] !== c.clientWrote[1]) this.t.failures.push(`connection ${i}: client wrote ${c.clientWrote[0]} B, server got ${got[0]}`);
      if (c.clientGot[0] !== c.serverWrote[0] || c.clientGot[1] !== c.serverWrote[1]) this.t.failures.push(`connection ${i}: server wrote ${c.serverWrote[0]} B, client got ${c.clientGot[0]}`);
    }
    this.t.check();
  }
}

const uringSkip = uringSkipReason();
for (const backend of ["io_uring", "epoll"] as const) {
  const skip = backend === "io_uring" ? uringSkip : null;
  describe.skipIf(skip !== null)(`property: random operation sequences on ringpoll/net (${backend})${skip ? ` (skipped: ${skip})` : ""}`, () => {
    it("never crash, close every socket, coded errors, no byte lost, no fd leaked", { timeout: 600_000 }, async () => {
      // One connection with traffic first: what node:net opens lazily is not counted as a leak.
      const warm = new Sequence();
      await warm.listen(backend);
      await warm.connect();
      warm.run({ k: "clientWrite", c: 0, n: 10 });
      await warm.finish();
      await checkSequences(`property-net-${backend}`, command, { runs: 150, weight: 0.25, maxLength: 30 }, async () => {
        const s = new Sequence();
        await s.listen(backend);
        return s;
      });
    });
  });
}
