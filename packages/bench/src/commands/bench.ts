import { accessSync, constants as fsConstants, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { captureEnv } from "../env.js";
import { HTTP_MODES, runHttp, type HttpCase, type HttpMode } from "../http/run.js";
import { HTTP_SERVERS, type HttpServerName } from "../http/servers.js";
import { straceMissing } from "../http/syscalls.js";
import { formatHttpTable } from "../http/table.js";
import { wrkMissing } from "../http/wrk.js";
import { runTcpRr, TCP_CHURN_CLIENTS, TCP_RR_CLIENTS, type TcpChurnClient, type TcpRrClient } from "../tcp-rr/run.js";
import { formatSlowReader, runSlowReader, slowReaderResults, type SlowReaderResult } from "../tcp-rr/slow-reader.js";
import { TCP_RR_SERVERS, type TcpRrServerName } from "../tcp-rr/server.js";

const TCP_RR_MODES = ["rr", "churn"] as const;
type TcpRrMode = (typeof TCP_RR_MODES)[number];
import { IOPS_ENGINES, fioAvailable, runIops, type IopsEngine } from "../iops/run.js";
import { createNetnsPair, netnsAvailable, type NetnsPair } from "../netns.js";
import { progressBar } from "../progress.js";
import { PPS_RECEIVERS, runPps } from "../pps/run.js";
import { RR_SERVERS, rttLines, runRr, type RrServer } from "../pps/udp-rr.js";
import { newSession, SCHEMA, type ResultFile, type ScenarioResult } from "../schema.js";
import { formatTable } from "../table.js";

/** Bad input found after option parsing: one line on stderr, exit 2. */
class BadInput extends Error {}

// Errors from the engine that mean "this input cannot work here", not a bench bug.
const INPUT_ERRNOS = new Set(["EADDRINUSE", "EADDRNOTAVAIL", "EINVAL", "ENOENT", "EACCES", "EPERM", "EOPNOTSUPP", "ENOTBLK", "EISDIR", "ENODEV", "ENOTDIR", "EEXIST", "EROFS"]);

function integer(what: string, min: number, max: number) {
  return (text: string): number => {
    const v = Number(text);
    if (text.trim() === "" || !Number.isInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`Expected an integer from ${min} to ${max} for ${what} but received ${text}`);
    }
    return v;
  };
}

function number(what: string, min: number, max: number, minExclusive = false) {
  return (text: string): number => {
    const v = Number(text);
    if (text.trim() === "" || !Number.isFinite(v) || v > max || (minExclusive ? v <= min : v < min)) {
      throw new InvalidArgumentError(`Expected a number ${minExclusive ? "above" : "from"} ${min}${minExclusive ? " and up to" : " to"} ${max} for ${what} but received ${text}`);
    }
    return v;
  };
}

function list<T extends string>(what: string, allowed: readonly T[]) {
  return (text: string): T[] => {
    const names = text.split(",").map((s) => s.trim());
    for (const n of names) {
      if (!allowed.includes(n as T)) throw new InvalidArgumentError(`Expected one of ${allowed.join(", ")} for ${what} but received ${n}`);
    }
    return [...new Set(names)] as T[];
  };
}

function oneOf<T extends string>(what: string, allowed: readonly T[]) {
  return (text: string): T => {
    if (!allowed.includes(text as T)) throw new InvalidArgumentError(`Expected one of ${allowed.join(", ")} for ${what} but received ${text}`);
    return text as T;
  };
}

function cpuList(what: string) {
  const nproc = availableParallelism();
  return (text: string): number[] => text.split(",").map((s) => integer(what, 0, nproc - 1)(s.trim()));
}

const nproc = availableParallelism();
const DEFAULT_SENDER_CPU = nproc >= 2 ? [0] : [];
const DEFAULT_RECEIVER_CPU = nproc >= 2 ? 1 : -1;

interface Common {
  duration: number;
  warmup: number;
  runs: number;
  netns?: boolean;
  out?: string;
  progress: boolean;
  injectPercent: number;
}

function common(cmd: Command, duration: number, runs: number): Command {
  return cmd
    .option("--duration <seconds>", "measured seconds per run", number("--duration", 0, 3600, true), duration)
    .option("--warmup <seconds>", "unmeasured seconds before each window", number("--warmup", 0, 60), 0.5)
    .option("--runs <n>", "runs per receiver, interleaved A B C A B C", integer("--runs", 1, 1000), runs)
    .option("--out <file>", "result file (default results/<scenario>-<time>.json)")
    .option("--no-progress", "no progress bar")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
}

function withNetns<T>(want: boolean | undefined, fn: (pair: NetnsPair | null) => Promise<T>): Promise<T> {
  if (!want) return fn(null);
  const why = netnsAvailable();
  if (why) throw new BadInput(why);
  const pair = createNetnsPair();
  return fn(pair).finally(() => pair.remove());
}

function loopback(): { netns: string; host: string } {
  return { netns: "", host: "127.0.0.1" };
}

function writeResults(scenario: string, results: ScenarioResult[], opts: Pick<Common, "out">, pinning: { sender: number[]; receiver: number }, threads: number): string {
  const env = captureEnv(pinning, threads);
  const file: ResultFile = {
    schema: SCHEMA,
    createdAt: new Date().toISOString(),
    // one process = one session; several receivers took turns round by round
    session: newSession(results.length > 1, new Date(Date.now() - process.uptime() * 1000)),
    tool: { name: "ringpoll", version: env.versions.ringpoll, commit: env.versions.commit },
    emulated: env.emulated,
    env,
    results,
  };
  const path = opts.out ?? `results/${scenario}-${file.createdAt.replace(/[:.]/g, "-")}.json`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(file, null, 2) + "\n");
  for (const w of env.warnings) console.error(`warning: ${w}`);
  return path;
}

/** Runs a bench action; bad input → one line on stderr and exit 2, other failures exit 1. */
async function guarded(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = err as Error & { code?: string };
    const bad = err instanceof BadInput || (e.code !== undefined && INPUT_ERRNOS.has(e.code));
    console.error(`ringpoll bench: ${e.message.split("\n")[0]}`);
    process.exitCode = bad ? 2 : 1;
  }
}

interface PpsFlags extends Common {
  receivers: string[];
  flows: number;
  size: number;
  senders: number;
  rate: number;
  port: number;
  rcvbuf: number;
  cpuSender: number[];
  cpuReceiver: number;
}

export const DEFAULT_PPS_RECEIVERS = ["recvmmsg", "epoll", "uring", "js-epoll", "js-uring", "dgram"];

async function pps(opts: PpsFlags): Promise<void> {
  if (opts.cpuSender.includes(opts.cpuReceiver)) throw new BadInput(`--cpu-sender and --cpu-receiver share CPU ${opts.cpuReceiver}`);
  const bar = progressBar(opts.progress);
  const results = await withNetns(opts.netns, (pair) =>
    runPps(
      {
        receivers: opts.receivers,
        duration: opts.duration,
        warmup: opts.warmup,
        runs: opts.runs,
        flows: opts.flows,
        size: opts.size,
        senders: opts.senders,
        rate: opts.rate,
        port: opts.port,
        rcvbuf: opts.rcvbuf,
        injectPercent: opts.injectPercent,
        cpuSender: opts.cpuSender,
        cpuReceiver: opts.cpuReceiver,
        sender: pair?.sender ?? loopback(),
        receiver: pair?.receiver ?? loopback(),
      },
      bar.update,
    ),
  ).finally(() => bar.stop());
  const path = writeResults("pps", results, opts, { sender: opts.cpuSender, receiver: opts.cpuReceiver }, opts.senders + 1);
  console.log(formatTable(results, "pps", results.some((r) => r.receiver === "dgram") ? "dgram" : null));
  console.log(`\nresults: ${path}`);
}

function ppsCommand(cmd: Command): Command {
  return common(cmd, 2, 3)
    .option("--receivers <list>", `comma-separated: ${PPS_RECEIVERS.join(", ")}`, list("--receivers", PPS_RECEIVERS), DEFAULT_PPS_RECEIVERS)
    .option("--flows <n>", "flows (socket pairs, distinct source ports)", integer("--flows", 1, 4096), 8)
    .option("--size <bytes>", "UDP payload bytes", integer("--size", 1, 1472), 64)
    .option("--senders <n>", "sender threads", integer("--senders", 1, 64), 1)
    .option("--rate <pps>", "total send rate, 0 = as fast as possible", number("--rate", 0, 1e9), 0)
    .option("--port <n>", "first receiver port (0 = ephemeral)", integer("--port", 0, 65535), 0)
    .option("--rcvbuf <bytes>", "receive buffer per socket", integer("--rcvbuf", 0, 1 << 30), 4 << 20)
    .option("--netns", "sender and receiver in two network namespaces over veth (root)")
    .option("--inject-percent <p>", "extra per-packet work in native receivers, % of their own cost", number("--inject-percent", 0, 1000), 0)
    .option("--cpu-sender <cpus>", "CPU(s) for sender threads", cpuList("--cpu-sender"), DEFAULT_SENDER_CPU)
    .option("--cpu-receiver <cpu>", "CPU for the receiver (thread or Node main thread)", integer("--cpu-receiver", -1, nproc - 1), DEFAULT_RECEIVER_CPU);
}

interface RrFlags extends Common {
  servers: RrServer[];
  flows: number;
  size: number;
  clients: number;
  maxEvents: number;
  cpuClient: number[];
  cpuServer: number;
}

async function udpRr(opts: RrFlags): Promise<void> {
  const bar = progressBar(opts.progress);
  const results = await withNetns(opts.netns, (pair) =>
    runRr(
      {
        servers: opts.servers,
        duration: opts.duration,
        warmup: opts.warmup,
        runs: opts.runs,
        flows: opts.flows,
        size: opts.size,
        clients: opts.clients,
        maxEvents: opts.maxEvents,
        injectPercent: opts.injectPercent,
        cpuClient: opts.cpuClient,
        cpuServer: opts.cpuServer,
        client: pair?.sender ?? loopback(),
        server: pair?.receiver ?? loopback(),
      },
      bar.update,
    ),
  ).finally(() => bar.stop());
  const path = writeResults("udp-rr", results, opts, { sender: opts.cpuClient, receiver: opts.cpuServer }, opts.clients + 1);
  console.log(formatTable(results, "tps", "epoll"));
  console.log(rttLines(results).join("\n"));
  console.log(`\nresults: ${path}`);
}

interface IopsFlags extends Common {
  file?: string;
  device?: string;
  engines: IopsEngine[];
  size: number;
  depth: number;
  batch: number;
  fixedBuffers?: boolean;
  fixedFiles?: boolean;
  polled?: boolean;
  cpu: number;
}

async function iops(opts: IopsFlags): Promise<void> {
  if ((opts.file === undefined) === (opts.device === undefined)) throw new BadInput("Expected exactly one of --file or --device");
  if (opts.batch > opts.depth) throw new BadInput(`Expected --batch (${opts.batch}) no larger than --depth (${opts.depth})`);
  // an unreadable path is the error to report, before any note about optional tools
  accessSync((opts.file ?? opts.device)!, fsConstants.R_OK);
  let engines = opts.engines;
  if (engines.includes("fio") && !fioAvailable()) {
    console.error("note: fio is not installed; running without the fio comparison");
    engines = engines.filter((e) => e !== "fio");
  }
  const bar = progressBar(opts.progress);
  const results = await runIops(
    {
      path: (opts.file ?? opts.device)!,
      engines,
      blockSize: opts.size,
      depth: opts.depth,
      batch: opts.batch,
      fixedBuffers: opts.fixedBuffers === true,
      fixedFiles: opts.fixedFiles === true,
      polled: opts.polled === true,
      duration: opts.duration,
      warmup: opts.warmup,
      runs: opts.runs,
      cpu: opts.cpu,
    },
    bar.update,
  ).finally(() => bar.stop());
  const path = writeResults("iops", results, opts, { sender: [], receiver: opts.cpu }, 1);
  console.log(formatTable(results, "iops", engines.includes("fio") ? "fio" : null));
  console.log(`\nresults: ${path}`);
}

interface HttpFlags extends Common {
  servers: HttpServerName[];
  modes: HttpMode[];
  connections: number[];
  churnConnections: number;
  body: string[];
  wrkThreads: number;
  cpuClient: number[];
  cpuServer: number;
  syscalls?: boolean;
}

async function http(opts: HttpFlags): Promise<void> {
  const missing = wrkMissing();
  if (missing) throw new BadInput(missing);
  if (opts.cpuClient.includes(opts.cpuServer)) throw new BadInput(`--cpu-client and --cpu-server share CPU ${opts.cpuServer}`);
  const noStrace = opts.syscalls ? straceMissing() : null;
  if (noStrace) throw new BadInput(`--syscalls: ${noStrace}`);
  const bodies = opts.body.map(Number);
  const cases: HttpCase[] = opts.modes.flatMap((mode) =>
    (mode === "close" ? [opts.churnConnections] : opts.connections).flatMap((connections) => bodies.map((body) => ({ mode, connections, body }))),
  );
  const bar = progressBar(opts.progress);
  const results = await runHttp(
    {
      servers: opts.servers,
      cases,
      duration: opts.duration,
      warmup: opts.warmup,
      runs: opts.runs,
      wrkThreads: opts.wrkThreads,
      cpuClient: opts.cpuClient,
      cpuServer: opts.cpuServer,
      host: "127.0.0.1",
      syscalls: opts.syscalls === true,
    },
    bar.update,
  ).finally(() => bar.stop());
  const path = writeResults("http", results, opts, { sender: opts.cpuClient, receiver: opts.cpuServer }, opts.wrkThreads + 1);
  console.log(formatHttpTable(results, "node"));
  console.log(`\nresults: ${path}`);
}

interface TcpRrFlags extends Common {
  servers: TcpRrServerName[];
  modes: TcpRrMode[];
  connections: number[];
  churnConnections: number;
  size: number[];
  cpuClient: number[];
  cpuServer: number;
  client: TcpRrClient;
  churnClient: TcpChurnClient;
  nice: number;
}

async function tcpRr(opts: TcpRrFlags): Promise<void> {
  if (opts.cpuClient.includes(opts.cpuServer)) throw new BadInput(`--cpu-client and --cpu-server share CPU ${opts.cpuServer}`);
  const rr = opts.modes.includes("rr") ? opts.connections.flatMap((connections) => opts.size.map((size) => ({ connections, size, churn: false }))) : [];
  const churn = opts.modes.includes("churn") ? opts.size.map((size) => ({ connections: opts.churnConnections, size, churn: true })) : [];
  const cases = [...rr, ...churn];
  const bar = progressBar(opts.progress);
  const results = await runTcpRr(
    { servers: opts.servers, cases, duration: opts.duration, warmup: opts.warmup, runs: opts.runs, cpuClient: opts.cpuClient[0] ?? -1, cpuServer: opts.cpuServer, host: "127.0.0.1", client: opts.client, churnClient: opts.churnClient, nice: opts.nice },
    bar.update,
  ).finally(() => bar.stop());
  const path = writeResults("tcp-rr", results, opts, { sender: opts.cpuClient, receiver: opts.cpuServer }, 1);
  // a transaction: one request and its response (in churn: one connection, connect to close)
  console.log(formatHttpTable(results, "node", "txn"));
  console.log(`\nresults: ${path}`);
}

const SLOW_READER_SERVERS = ["node", "duplex-io_uring", "duplex-epoll"] as const;

interface SlowReaderFlags {
  servers: Array<(typeof SLOW_READER_SERVERS)[number]>;
  bytes: number;
  stall: number;
  runs: number;
  cpuServer: number;
  out?: string;
}

async function slowReader(opts: SlowReaderFlags): Promise<void> {
  const rows: SlowReaderResult[] = [];
  for (let round = 0; round < opts.runs; round++) {
    for (const server of opts.servers) rows.push(await runSlowReader(server, opts.bytes, opts.stall, opts.cpuServer, "127.0.0.1"));
  }
  const path = writeResults("slow-reader", slowReaderResults(rows, opts.servers, opts.stall), opts, { sender: [], receiver: opts.cpuServer }, 1);
  console.log(formatSlowReader(rows));
  console.log(`\nresults: ${path}`);
  if (rows.some((r) => !r.intact)) process.exitCode = 1;
}

/** How an action runs: by default guarded (exit codes of a CLI run); the guest's round server keeps the job and runs it itself. */
export type BenchDispatch = (job: () => Promise<void>) => Promise<void> | void;

export function registerBench(program: Command, dispatch: BenchDispatch = guarded): void {
  // `bench` has options of its own (the default run) and subcommands with the same option names:
  // options after a subcommand name must go to the subcommand.
  program.enablePositionalOptions();
  const bench = ppsCommand(
    program
      .command("bench")
      .enablePositionalOptions()
      .description("measure: no subcommand = the short default pps run across the main receivers")
      .allowExcessArguments(false),
  ).action((opts: PpsFlags) => dispatch(() => pps(opts)));

  ppsCommand(bench.command("pps").description("UDP packets per second through native and JS receivers, one native sender")).action((opts: PpsFlags) =>
    dispatch(() => pps(opts)),
  );

  common(bench.command("udp-rr").description("neper-style udp_rr: 1000 flows, one server thread in epoll_wait(1000) or io_uring, or a JS server (ringpoll) on the Node main thread"), 2, 3)
    .option("--servers <list>", `comma-separated: ${RR_SERVERS.join(", ")}`, list("--servers", RR_SERVERS), [...RR_SERVERS])
    .option("--flows <n>", "flows, one socket each side", integer("--flows", 1, 4096), 1000)
    .option("--size <bytes>", "request and response payload", integer("--size", 1, 1472), 64)
    .option("--clients <n>", "client threads", integer("--clients", 1, 64), 1)
    .option("--max-events <n>", "epoll_wait maxevents", integer("--max-events", 1, 65536), 1000)
    .option("--netns", "client and server in two network namespaces over veth (root)")
    .option("--inject-percent <p>", "extra per-request work in the server, % of its own cost", number("--inject-percent", 0, 1000), 0)
    .option("--cpu-client <cpus>", "CPU(s) for client threads", cpuList("--cpu-client"), DEFAULT_SENDER_CPU)
    .option("--cpu-server <cpu>", "CPU for the server thread", integer("--cpu-server", -1, nproc - 1), DEFAULT_RECEIVER_CPU)
    .action((opts: RrFlags) => dispatch(() => udpRr(opts)));

  common(bench.command("iops").description("4 KiB random O_DIRECT reads: native io_uring vs fs.promises vs fio (io_uring engine)"), 2, 3)
    .option("--file <path>", "read from this file (on a filesystem with O_DIRECT)")
    .option("--device <path>", "read from this block device")
    .option("--engines <list>", `comma-separated: ${IOPS_ENGINES.join(", ")}`, list("--engines", IOPS_ENGINES), [...IOPS_ENGINES])
    .option("--size <bytes>", "block size", integer("--size", 512, 1 << 20), 4096)
    .option("--depth <n>", "reads in flight", integer("--depth", 1, 4096), 128)
    .option("--batch <n>", "submit and complete batch", integer("--batch", 1, 4096), 32)
    .option("--fixed-buffers", "registered buffers (read_fixed)")
    .option("--fixed-files", "registered file")
    .option("--polled", "IORING_SETUP_IOPOLL (needs a device with poll queues)")
    .option("--cpu <cpu>", "CPU for the reading thread", integer("--cpu", -1, nproc - 1), DEFAULT_RECEIVER_CPU)
    .action((opts: IopsFlags) => dispatch(() => iops(opts)));

  common(bench.command("http").description("node:http vs node:http on ringpoll listeners, load from wrk (keep-alive and Connection: close)"), 2, 3)
    .option("--servers <list>", `comma-separated: ${HTTP_SERVERS.join(", ")}`, list("--servers", HTTP_SERVERS), [...HTTP_SERVERS])
    .option("--modes <list>", `comma-separated: ${HTTP_MODES.join(", ")} (close = a new connection per request)`, list("--modes", HTTP_MODES), [...HTTP_MODES])
    .option("--connections <list>", "keep-alive connections, comma-separated", (t: string) => t.split(",").map((c) => integer("--connections", 1, 100_000)(c.trim())), [1, 50, 256])
    .option("--churn-connections <n>", "concurrent connections in close mode", integer("--churn-connections", 1, 100_000), 50)
    .option("--body <list>", "response body bytes, comma-separated: 13, 16384", list("--body", ["13", "16384"] as const), ["13", "16384"])
    .option("--wrk-threads <n>", "wrk threads (each on the client CPUs)", integer("--wrk-threads", 1, 64), 1)
    .option("--cpu-client <cpus>", "CPU(s) for wrk", cpuList("--cpu-client"), DEFAULT_SENDER_CPU)
    .option("--cpu-server <cpu>", "CPU for the server process (-1 = unpinned)", integer("--cpu-server", -1, nproc - 1), DEFAULT_RECEIVER_CPU)
    .option("--syscalls", "after the runs, one window per server and case under strace -c: syscalls per request (not timed)")
    .action((opts: HttpFlags) => dispatch(() => http(opts)));

  const sizes = (flag: string) => (t: string) => t.split(",").map((c) => integer(flag, 1, 1 << 20)(c.trim()));
  common(bench.command("tcp-rr").description("neper-style tcp_rr against echo servers: node:net, ringpoll/net Duplex on io_uring and epoll, the batch handler, a C++ io_uring ceiling; and connection churn"), 2, 3)
    .option("--servers <list>", `comma-separated: ${TCP_RR_SERVERS.join(", ")}`, list("--servers", TCP_RR_SERVERS), [...TCP_RR_SERVERS])
    .option("--modes <list>", `comma-separated: ${TCP_RR_MODES.join(", ")} (churn = connect, one request, close)`, list("--modes", TCP_RR_MODES), [...TCP_RR_MODES])
    .option("--connections <list>", "connections, one request outstanding each, comma-separated", sizes("--connections"), [1, 64, 512])
    .option("--churn-connections <n>", "connections in flight at once in churn mode", integer("--churn-connections", 1, 4096), 16)
    .option("--size <list>", "request and response bytes, comma-separated", sizes("--size"), [64, 4096])
    .option(
      "--client <loop>",
      "the client's loop in rr mode: io_uring (one enter per wake-up sends and receives for every connection), io_uring-spin (the same, never sleeping: the server never wakes it; the client CPU is then always busy), epoll (a recv and a send per transaction)",
      oneOf("--client", TCP_RR_CLIENTS),
      "io_uring",
    )
    .option(
      "--churn-client <loop>",
      "the client's loop in churn mode: io_uring (a blocking connect and send, then the recv and the close through the ring; no epoll registration per connection; epoll where the kernel lacks IORING_FEAT_CQE_SKIP), epoll (a blocking connect, then a send, a recv and a close per connection)",
      oneOf("--churn-client", TCP_CHURN_CLIENTS),
      "io_uring",
    )
    .option("--nice <n>", "nice value of the servers, the client thread and, with sched autogroup, this session's group for the run: -20 keeps other sessions' processes on a shared host from taking the CPUs (needs CAP_SYS_NICE; see srv wait)", integer("--nice", -20, 19), 0)
    .option("--cpu-client <cpu>", "CPU for the client thread", cpuList("--cpu-client"), DEFAULT_SENDER_CPU)
    .option("--cpu-server <cpu>", "CPU for the server process (-1 = unpinned)", integer("--cpu-server", -1, nproc - 1), DEFAULT_RECEIVER_CPU)
    .action((opts: TcpRrFlags) => dispatch(() => tcpRr(opts)));

  bench
    .command("slow-reader")
    .description("a client that reads nothing while the server writes (honouring write()), then everything: server RSS while it stalls, and every byte checked")
    .option("--servers <list>", `comma-separated: ${SLOW_READER_SERVERS.join(", ")}`, list("--servers", SLOW_READER_SERVERS), [...SLOW_READER_SERVERS])
    .option("--bytes <n>", "bytes the server writes to the connection", integer("--bytes", 1, 2 ** 40), 2 ** 30)
    .option("--stall <seconds>", "how long the client reads nothing", number("--stall", 0, 600), 2)
    .option("--runs <n>", "rounds, servers interleaved", integer("--runs", 1, 100), 1)
    .option("--cpu-server <cpu>", "CPU for the server process (-1 = unpinned)", integer("--cpu-server", -1, nproc - 1), DEFAULT_RECEIVER_CPU)
    .option("--out <file>", "result file (default results/slow-reader-<time>.json)")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action((opts: SlowReaderFlags) => dispatch(() => slowReader(opts)));
}
