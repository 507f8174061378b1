// The result file every bench run writes and compare/report read (issue: the PPS and IOPS bench).
// Change SCHEMA on any incompatible change; readers refuse other schemas with a clear message.
// v2 (issues 13, 17): the file names its session, and `round` is the round number, so runs that took
// turns can be paired. v1 files are still read: no session (each file is its own), never paired.
import { randomUUID } from "node:crypto";

export const SCHEMA = "ringpoll.bench.v2";
export const SCHEMAS_READ = ["ringpoll.bench.v1", SCHEMA] as const;

export type Scenario = "pps" | "udp-rr" | "iops" | "http" | "tcp-rr" | "slow-reader";
export type Metric = "pps" | "tps" | "iops";

/** Kernel counters (/proc/net/snmp, Udp:) over the same window as the bench's own count. */
export interface KernelCounters {
  InDatagrams: number;
  OutDatagrams: number;
  RcvbufErrors: number;
  InErrors: number;
}

/** One measured run of one receiver (or one IOPS job). */
export interface Run {
  /** v2: 0-based round; every side measured once per round (A B C, then the next round). v1: position in the interleaved order */
  round: number;
  /** v2: position of this run within its round (0 = measured first) */
  slot?: number;
  pps?: number;
  tps?: number;
  iops?: number;
  /** packets (or I/Os) the bench counted in the window */
  packets: number;
  seconds: number;
  /** CPU time (user+system) of every thread working for the receiver, per packet (or I/O), ns */
  cpuNsPerPacket: number | null;
  /** receiver CPU busy fraction, 1.0 = one core fully busy */
  receiverBusy: number | null;
  kernel: KernelCounters | null;
  /** per-second values of the headline metric */
  samples?: number[];
  /** anything else the scenario records (drops, latency percentiles, injected work, …) */
  extra?: Record<string, number | string | boolean | null>;
}

export interface ScenarioResult {
  scenario: Scenario;
  /** e.g. "recvmmsg", "epoll", "epoll-1", "uring", "uring-recvmsg", "js-epoll", "js-uring", "dgram", "io_uring", "fio", "fs"; http: "node", "ringpoll-io_uring", "ringpoll-epoll" */
  receiver: string;
  /** what defines the workload: results compare only when scenario, receiver and params are equal */
  params: Record<string, number | string | boolean>;
  runs: Run[];
  summary: { median: number; cv: number };
  /** measured outside the timed runs (e.g. http --syscalls: kernel entries per request under strace) */
  diagnostics?: Record<string, number | string | boolean | null | Record<string, number>>;
}

/**
 * One sitting of the bench: the runs measured together, on one boot, minutes apart at most. Files of
 * one interleaved session (e.g. one per kernel from `matrix --interleave`) share the id.
 */
export interface Session {
  id: string;
  startedAt: string;
  /** true when the sides took turns round by round, so runs of one round can be paired */
  interleaved: boolean;
}

export function newSession(interleaved: boolean, startedAt = new Date()): Session {
  return { id: randomUUID(), startedAt: startedAt.toISOString(), interleaved };
}

export interface ResultFile {
  schema: (typeof SCHEMAS_READ)[number];
  createdAt: string;
  /** absent in v1 files */
  session?: Session;
  tool: { name: "ringpoll"; version: string; commit: string | null };
  /** true when run under QEMU TCG: timings are emulated, not comparable to hardware */
  emulated: boolean;
  /** environment capture: kernel, CPU, SMAP, mitigations, governor, boost, SMT, versions, warnings */
  env: Record<string, unknown> & { kernel: { release: string; version: string }; warnings: string[] };
  results: ScenarioResult[];
}
