// The listening socket: address resolution, bind and listen with net's defaults and net's errors.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { errnoError, type RingpollSystemError } from "../errors.js";
import { native } from "../native.js";
import * as sys from "../sys.js";

export interface ListenSpec {
  port: number;
  host: string | undefined;
  backlog: number;
  reusePort: boolean;
  ipv6Only: boolean;
}

/** net's error for a failed bind/listen: `listen EADDRINUSE: address already in use :::8080`. */
function listenError(err: RingpollSystemError, address: string, port: number): RingpollSystemError {
  const e = errnoError(-err.errno, "listen");
  e.message = `${e.message} ${address}:${port}`;
  return Object.assign(e, { address, port });
}

async function resolve(host: string | undefined): Promise<string[]> {
  if (host === undefined) return ["::", "0.0.0.0"];
  if (isIP(host) !== 0) return [host];
  return [(await lookup(host)).address];
}

/** A nonblocking listening TCP socket bound as net binds: no host = `::` dual-stack, else 0.0.0.0. */
export async function listenSocket(spec: ListenSpec): Promise<number> {
  const addresses = await resolve(spec.host);
  let last: RingpollSystemError | null = null;
  for (const address of addresses) {
    const v6 = address.includes(":");
    // owned: closed by the environment if a worker ends while it listens
    const fd = native.fd.socket(1, v6 ? 6 : 4, true);
    if (fd < 0) {
      last = listenError(errnoError(-fd, "socket"), address, spec.port);
      // no IPv6 on this host: fall back to IPv4
      if (fd === -97 /* EAFNOSUPPORT */) continue;
      throw last;
    }
    try {
      sys.setsockopt(fd, "SO_REUSEADDR", true);
      if (spec.reusePort) sys.setsockopt(fd, "SO_REUSEPORT", true);
      if (v6) sys.setsockopt(fd, "IPV6_V6ONLY", spec.ipv6Only);
      const b = native.fd.bind(fd, spec.port, address);
      if (b < 0) throw errnoError(-b, "bind");
      sys.listen(fd, spec.backlog);
      return fd;
    } catch (err) {
      native.fd.close(fd);
      throw listenError(err as RingpollSystemError, address, spec.port);
    }
  }
  throw last!;
}
