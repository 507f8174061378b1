// Helpers for the HTTP suite: ways to make an http.Server listen, and raw TCP clients that see the
// exact bytes a server sends.
import { once } from "node:events";
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import net from "node:net";
import { probe } from "ringpoll";
import { attach, serve, socketOptions } from "ringpoll/http";

export const HOST = "127.0.0.1";

/** One way to put an http/https server on a port; the suite runs once per way. */
export interface Transport {
  name: string;
  /** set when this transport cannot run here */
  skip: string | null;
  start(server: Server): Promise<number>;
}

async function listening(server: Server): Promise<number> {
  if (!server.listening) await once(server, "listening");
  return (server.address() as net.AddressInfo).port;
}

export const nodeListen: Transport = {
  name: "node:http listen()",
  skip: null,
  start(server) {
    server.listen(0, HOST);
    return listening(server);
  },
};

/** attach() over node:net: proves the switch-on of connection tracking with a listener that is not the server's own. */
export const attachNodeNet: Transport = {
  name: "attach() over node:net",
  skip: null,
  start(server) {
    attach(server, net.createServer(socketOptions(server)), { port: 0, host: HOST });
    return listening(server);
  },
};

const io = probe().ioUring;

/** node:http on ringpoll/net through serve(), one backend each. */
export const ringpollIoUring: Transport = {
  name: "serve() io_uring",
  skip: io.available ? null : `io_uring unavailable here: ${io.reason}`,
  start(server) {
    serve(server, { port: 0, host: HOST, backend: "io_uring" });
    return listening(server);
  },
};

export const ringpollEpoll: Transport = {
  name: "serve() epoll",
  skip: null,
  start(server) {
    serve(server, { port: 0, host: HOST, backend: "epoll" });
    return listening(server);
  },
};

export const tls = {
  key: readFileSync(new URL("fixtures/tls-key.pem", import.meta.url)),
  cert: readFileSync(new URL("fixtures/tls-cert.pem", import.meta.url)),
};

/** Connects, writes `request` (pieces written one by one), collects everything until the server closes. */
export async function exchange(port: number, request: string | Buffer | (string | Buffer)[]): Promise<Buffer> {
  const socket = net.connect(port, HOST);
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  await once(socket, "connect");
  for (const piece of Array.isArray(request) ? request : [request]) socket.write(piece);
  await once(socket, "close");
  return Buffer.concat(chunks);
}

/** A raw client that reads exactly as many bytes as asked, for keep-alive byte-exact checks. */
export class RawClient {
  readonly socket: net.Socket;
  #buffered: Buffer[] = [];
  #length = 0;
  #wake: (() => void) | null = null;
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.#buffered.push(d);
      this.#length += d.length;
      this.#wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, HOST);
    await once(socket, "connect");
    return new RawClient(socket);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Exactly `n` bytes, or fewer if the server closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.#length < n && !this.closed) {
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = null;
    }
    const all = Buffer.concat(this.#buffered);
    const out = all.subarray(0, n);
    this.#buffered = [all.subarray(out.length)];
    this.#length = all.length - out.length;
    return out;
  }

  /** Everything until the server closes. */
  async rest(): Promise<Buffer> {
    while (!this.closed) {
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = null;
    }
    return this.read(this.#length);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Deterministic bytes (no RNG state shared between tests). */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export function request(path: string, headers: Record<string, string> = {}): string {
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${HOST}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return lines.join("\r\n") + "\r\n\r\n";
}

export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
