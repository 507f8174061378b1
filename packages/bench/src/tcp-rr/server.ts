// The tcp-rr bench's server process: an echo server of the kind argv[2] names; prints its port as
// one JSON line on stdout, exits when stdin closes.
import net from "node:net";
import { createServer } from "ringpoll/net";

export const TCP_RR_SERVERS = ["node", "duplex-io_uring", "duplex-epoll", "batch-io_uring"] as const;
export type TcpRrServerName = (typeof TCP_RR_SERVERS)[number];

// The client resets connections it closes with a request in flight: not the server's concern.
const ignore = () => {};

type Echo = { listen(port: number, host: string, cb: () => void): unknown; address(): unknown; on(e: "error", f: (err: Error) => void): unknown };

function server(name: TcpRrServerName): { server: Echo; backend: () => string } {
  switch (name) {
    case "node": {
      const s = net.createServer((c) => c.on("data", (d) => c.write(d)).on("error", ignore));
      return { server: s, backend: () => "libuv (epoll)" };
    }
    case "duplex-io_uring":
    case "duplex-epoll": {
      const s = createServer({ backend: name === "duplex-epoll" ? "epoll" : "io_uring" }, (c) => c.on("data", (d) => c.write(d)).on("error", ignore));
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

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const name = process.argv[2] as TcpRrServerName;
  if (!TCP_RR_SERVERS.includes(name)) {
    console.error(`Expected one of ${TCP_RR_SERVERS.join(", ")} for the server but received ${name}`);
    process.exit(2);
  }
  const { server: s, backend } = server(name);
  s.on("error", (err) => {
    console.error(`${name}: ${err.message}`);
    process.exit(1);
  });
  s.listen(0, process.argv[3] ?? "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ port: (s.address() as net.AddressInfo).port, backend: backend() }) + "\n");
  });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
