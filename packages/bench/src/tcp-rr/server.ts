// The tcp-rr bench's server process: an echo server of the kind argv[2] names (or, with argv[4],
// a server that writes that many bytes to each connection: the slow-reader case); prints its port
// as one JSON line on stdout, exits when stdin closes.
import net from "node:net";
import { sys } from "ringpoll";
import { createServer, type Socket } from "ringpoll/net";
import { engine } from "../engine.js";
import { writePattern } from "./slow-reader.js";

export const TCP_RR_SERVERS = ["node", "duplex-io_uring", "duplex-epoll", "batch-io_uring", "native-io_uring"] as const;
export type TcpRrServerName = (typeof TCP_RR_SERVERS)[number];

// The client resets connections it closes with a request in flight: not the server's concern.
const ignore = () => {};

/** A running echo server: its port, what it runs on, and how to stop it. */
interface Echo {
  port: number;
  backend: string;
  stop(): Promise<void>;
}

type JsServer = net.Server | ReturnType<typeof createServer>;

function jsServer(name: Exclude<TcpRrServerName, "native-io_uring">, writeBytes: number): { server: JsServer; backend: () => string } {
  const serve = (c: net.Socket | Socket) => {
    c.on("error", ignore);
    if (writeBytes > 0) void writePattern(c, writeBytes);
    else c.on("data", (d: Buffer) => c.write(d));
  };
  switch (name) {
    case "node": {
      const s = net.createServer(serve);
      return { server: s, backend: () => "libuv (epoll)" };
    }
    case "duplex-io_uring":
    case "duplex-epoll": {
      const s = createServer({ backend: name === "duplex-epoll" ? "epoll" : "io_uring" }, serve);
      return { server: s, backend: () => s.backend!.name };
    }
    case "batch-io_uring": {
      const s = createServer({
        backend: "io_uring",
        batch: {
          data(b) {
            for (let i = 0; i < b.length; i++) s.send(b.conn[i]!, b.data[i]!);
          },
        },
      });
      return { server: s, backend: () => `${s.backend!.name} batch` };
    }
  }
}

async function start(name: TcpRrServerName, host: string, writeBytes: number): Promise<Echo> {
  if (name === "native-io_uring") {
    if (writeBytes > 0) throw new Error("native-io_uring only echoes");
    // The ceiling: the C++ loop on a thread of this process, no JS per request.
    const fd = sys.tcpSocket({ host, port: 0, reuse: true });
    sys.listen(fd, 4096);
    const cancel = new Int32Array(1);
    const running = engine.tcpEchoServer({ fd, cancel });
    running.catch((err: Error) => {
      console.error(`${name}: ${err.message}`);
      process.exit(1);
    });
    return { port: sys.localPort(fd), backend: "C++ io_uring", stop: () => ((cancel[0] = 1), running) };
  }
  if (writeBytes > 0 && name === "batch-io_uring") throw new Error("batch-io_uring only echoes");
  const { server: s, backend } = jsServer(name, writeBytes);
  s.on("error", (err) => {
    console.error(`${name}: ${err.message}`);
    process.exit(1);
  });
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  return { port: (s.address() as net.AddressInfo).port, backend: backend(), stop: async () => {} };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const name = process.argv[2] as TcpRrServerName;
  if (!TCP_RR_SERVERS.includes(name)) {
    console.error(`Expected one of ${TCP_RR_SERVERS.join(", ")} for the server but received ${name}`);
    process.exit(2);
  }
  const echo = await start(name, process.argv[3] ?? "127.0.0.1", Number(process.argv[4] ?? 0));
  process.stdout.write(JSON.stringify({ port: echo.port, backend: echo.backend }) + "\n");
  process.stdin.resume();
  process.stdin.on("end", () => void echo.stop().finally(() => process.exit(0)));
}
