// The native bench engine (native/bench*.cpp) as typed functions. Runs resolve when the measured
// window is over and every bench thread has been joined.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { errnoError } from "ringpoll";

/** One measured window, as native/bench.cpp reports it. */
export interface NativeWindow {
  /** headline count: datagrams received, transactions, I/Os */
  count: number;
  /** datagrams sent (pps) or requests the server received (udp-rr) */
  secondary: number;
  seconds: number;
  /** CPU ns of the receiver's threads (+ io_uring workers) in the window */
  cpuNs: number;
  /** per-second rates of `count` */
  samples: number[];
  /** /proc/net/snmp Udp deltas of the receiving namespace, same window */
  kernel: { InDatagrams: number; OutDatagrams: number; RcvbufErrors: number; InErrors: number } | null;
  injectLoops?: number;
  bytes?: number;
  ringFlags?: number;
  /** udp-rr: the client's round trips over the window, in µs (bucket upper edges, ~3 % wide) */
  rttUs?: { p50: number; p90: number; p99: number; p999: number; max: number; count: number };
}

export interface PpsOptions {
  receiver: string;
  senderNetns: string;
  senderHost: string;
  receiverNetns: string;
  receiverHost: string;
  flows: number;
  port: number;
  size: number;
  senders: number;
  rate: number;
  rcvbuf: number;
  batch: number;
  maxEvents: number;
  injectNs: number;
  senderCpus: number[];
  receiverCpu: number;
  warmup: number;
  seconds: number;
  /** the run fails (ETIMEDOUT) when nothing is received within this many seconds of its start (default 10) */
  firstTimeout?: number;
  /** receiver "external": a JS receiver on these fds bumps externalCounter[0] per datagram */
  externalFds?: number[];
  externalCounter?: Uint32Array;
}

export interface RrOptions {
  /** "external": a JS server on externalFds answers, bumping externalCounter[0] per request */
  server: "epoll" | "uring" | "external";
  clientNetns: string;
  clientHost: string;
  serverNetns: string;
  serverHost: string;
  flows: number;
  size: number;
  clients: number;
  maxEvents: number;
  injectNs: number;
  clientCpus: number[];
  serverCpu: number;
  warmup: number;
  seconds: number;
  /** the run fails (ETIMEDOUT) when no transaction completes within this many seconds of its start (default 10) */
  firstTimeout?: number;
  externalFds?: number[];
  externalCounter?: Uint32Array;
}

export interface IopsOptions {
  path: string;
  blockSize: number;
  depth: number;
  batchSubmit: number;
  batchComplete: number;
  fixedBuffers: boolean;
  fixedFiles: boolean;
  polled: boolean;
  cpu: number;
  warmup: number;
  seconds: number;
  /** the run fails (ETIMEDOUT) when no read completes within this many seconds of its start (default 10) */
  firstTimeout?: number;
}

export interface TcpRrOptions {
  host: string;
  port: number;
  connections: number;
  size: number;
  warmup: number;
  seconds: number;
  /** CPU of the client thread (-1: unpinned) */
  cpu: number;
  /** every transaction on a new connection: connect, one request, close (latency from connect) */
  churn?: boolean;
  /** the epoll client (a recv and a send per transaction) instead of io_uring */
  epoll?: boolean;
  /** the io_uring client polls its ring instead of sleeping in it */
  spin?: boolean;
  /** nice value of the client thread during the run (0: unchanged; below 0 needs CAP_SYS_NICE) */
  nice?: number;
  /** false: the io_uring client receives with plain recv, as on kernels without multishot receive (default true) */
  multishot?: boolean;
  /** the server process, whose CPU time the client reads at the window's edges */
  serverPid?: number;
  /** the run fails (ETIMEDOUT) when no response arrives within this many seconds of its start (default 10) */
  firstTimeout?: number;
}

/** The tcp-rr client's figures for the measured window (latency of each transaction). */
export interface TcpRrWindow {
  transactions: number;
  seconds: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** whole run (warm-up and drain included): requests sent, responses completed, response bytes */
  requests: number;
  responses: number;
  bytes: number;
  /** the server's CPU time over the window (-1 without serverPid), and the client thread's */
  serverCpuNs: number;
  /** the server's time runnable but waiting for a CPU other processes had, over the window (-1 without serverPid) */
  serverWaitNs: number;
  clientCpuNs: number;
  /** io_uring client: wake-ups (or spins) that reaped completions, whole run */
  passes: number;
  /** "io_uring multishot", "io_uring recv" or "epoll" */
  client: string;
}

export interface NativeBench {
  tcpRr(options: TcpRrOptions): Promise<TcpRrWindow>;
  /** The C++ io_uring echo server on listening socket `fd`, until cancel[0] = 1. */
  tcpEchoServer(options: { fd: number; cancel: Int32Array }): Promise<void>;
  pps(options: PpsOptions): Promise<NativeWindow>;
  udpRr(options: RrOptions): Promise<NativeWindow>;
  iops(options: IopsOptions): Promise<NativeWindow>;
  /** Bound nonblocking UDP sockets for a JS receiver, created in `netns` when given. */
  openReceivers(options: { netns: string; host: string; flows: number; port: number; rcvbuf: number }): Int32Array;
  threadCpuNs(): number;
  /** pins the calling thread to these CPUs; 0 or a positive errno */
  setAffinity(cpus: number[]): number;
  /** an ArrayBuffer aligned to 4096 bytes (O_DIRECT) */
}

// The bench engine is its own addon (ringpoll_bench.node, packages/bench/native), so library users
// never load it. Its errors come from the library's factory and carry code/errno/syscall.
function loadEngine(): NativeBench {
  const require = createRequire(import.meta.url);
  const bindings = require("bindings") as (opts: { bindings: string; module_root: string }) => unknown;
  const root = fileURLToPath(new URL("..", import.meta.url));
  let addon: { bench: NativeBench; setErrorFactory(f: typeof errnoError): void };
  try {
    addon = bindings({ bindings: "ringpoll_bench", module_root: root }) as typeof addon;
  } catch (err) {
    throw new Error(
      `ringpoll-bench: the bench engine addon is not built (${(err as Error).message.split("\n")[0]}); run \`npm run build:native\``,
      { cause: err },
    );
  }
  addon.setErrorFactory(errnoError);
  return addon.bench;
}
const raw = loadEngine();

// Every run gets a cancel flag (Int32Array(1)) the coordinator polls; cancelRuns() ends them all
// within ~50 ms, so a signal handler can exit without waiting out the window (process exit joins
// libuv's worker threads, one of which coordinates each run).
const active = new Set<Int32Array>();

function cancellable<O extends object>(run: (o: O & { cancel: Int32Array }) => Promise<NativeWindow>) {
  return async (options: O): Promise<NativeWindow> => {
    const cancel = new Int32Array(1);
    active.add(cancel);
    try {
      return await run({ ...options, cancel });
    } finally {
      active.delete(cancel);
    }
  };
}

export function cancelRuns(): void {
  for (const flag of active) flag[0] = 1;
}

export const engine: NativeBench = {
  ...raw,
  pps: cancellable<PpsOptions>((o) => raw.pps(o)),
  udpRr: cancellable<RrOptions>((o) => raw.udpRr(o)),
  iops: cancellable<IopsOptions>((o) => raw.iops(o)),
};
