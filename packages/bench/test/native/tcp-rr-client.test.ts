// The tcp-rr client's counts against an echo server that counts what it received: after the
// client's drain every request it sent was answered, and the server saw exactly those bytes; a
// response that differs from its request or is longer fails the run. No timing assertions.
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const dist = (p: string): string => fileURLToPath(new URL(`../../dist/${p}`, import.meta.url));
const { engine } = (await import(dist("engine.js"))) as typeof import("../../src/engine.js");

interface Echo {
  port: number;
  received: () => number;
}

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

// `answer` turns what arrived into what goes back (default: the same bytes).
async function echo(answer: (d: Buffer, total: number) => Buffer | null = (d) => d): Promise<Echo> {
  let received = 0;
  const server = net.createServer((c) => {
    c.setNoDelay(true);
    c.on("error", () => {});
    c.on("data", (d: Buffer) => {
      received += d.length;
      const out = answer(d, received);
      if (out) c.write(out);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, received: () => received };
}

const run = (port: number, size: number, more: Partial<Parameters<typeof engine.tcpRr>[0]> = {}) =>
  engine.tcpRr({ host: "127.0.0.1", port, connections: 8, size, warmup: 0.05, seconds: 0.2, cpu: -1, serverPid: process.pid, ...more });

const CLIENTS = [
  { name: "io_uring", options: {}, kind: /^io_uring (multishot|recv)$/ },
  { name: "io_uring-spin", options: { spin: true }, kind: /^io_uring (multishot|recv)$/ },
  { name: "io_uring plain recv", options: { multishot: false }, kind: /^io_uring recv$/ },
  // a higher nice value needs no privilege
  { name: "io_uring at nice 5", options: { nice: 5 }, kind: /^io_uring (multishot|recv)$/ },
  { name: "epoll", options: { epoll: true }, kind: /^epoll$/ },
  { name: "epoll churn", options: { churn: true, epoll: true }, kind: /^epoll$/ },
  { name: "io_uring churn", options: { churn: true }, kind: /^io_uring churn$/ },
];

describe("tcp-rr client", () => {
  for (const client of CLIENTS) {
    // 65536 B responses arrive in several pieces
    for (const size of [64, 65536]) {
      it(`${client.name}, ${size} B: every request answered, the server saw exactly the bytes sent, responses byte-exact`, { timeout: 30_000 }, async () => {
        const server = await echo();
        const r = await run(server.port, size, client.options);
        expect(r.client).toMatch(client.kind);
        expect(r.responses).toBeGreaterThan(0);
        expect(r.requests).toBe(r.responses);
        expect(r.bytes).toBe(r.responses * size);
        expect(server.received()).toBe(r.requests * size);
        expect(r.transactions).toBeGreaterThan(0);
        expect(r.transactions).toBeLessThanOrEqual(r.responses);
        expect(r.p50Us).toBeGreaterThan(0);
        expect(r.p99Us).toBeGreaterThanOrEqual(r.p50Us);
        expect(r.serverCpuNs).toBeGreaterThan(0);
        expect(r.serverWaitNs).toBeGreaterThanOrEqual(0);
        expect(r.clientCpuNs).toBeGreaterThan(0);
      });
    }
  }

  // In churn every request is on a new connection: the server's count spans them.
  for (const client of CLIENTS) {
    it(`${client.name}: a response byte that differs from its request fails the run with EPROTO`, { timeout: 30_000 }, async () => {
      // the 100th request's last byte comes back changed
      const server = await echo((d, total) => {
        if (total !== 100 * 64) return d;
        const out = Buffer.from(d);
        out[out.length - 1]! ^= 1;
        return out;
      });
      await expect(run(server.port, 64, client.options)).rejects.toMatchObject({ code: "EPROTO", message: expect.stringMatching(/differs/) });
    });

    it(`${client.name}: a byte more than asked fails the run with EPROTO`, { timeout: 30_000 }, async () => {
      const server = await echo((d, total) => (total === 50 * 64 ? Buffer.concat([d, Buffer.from("x")]) : d));
      await expect(run(server.port, 64, client.options)).rejects.toMatchObject({ code: "EPROTO", message: expect.stringMatching(/more bytes/) });
    });

    it(`${client.name}: a server that never answers fails the run with ETIMEDOUT`, { timeout: 30_000 }, async () => {
      const server = await echo(() => null);
      await expect(run(server.port, 64, { ...client.options, firstTimeout: 0.3 })).rejects.toMatchObject({ code: "ETIMEDOUT" });
    });
  }
});
