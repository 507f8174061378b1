// The result file every bench run writes and compare/report read (issue: the PPS and IOPS bench).
// Change SCHEMA on any incompatible change; readers refuse other schemas with a clear message.
export const SCHEMA = "ringpoll.bench.v1";

export type Scenario = "pps" | "udp-rr" | "iops" | "http";
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
  /** 0-based position in the interleaved order (A B C A B C …) */
  round: number;
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
}

export interface ResultFile {
  schema: typeof SCHEMA;
  createdAt: string;
  tool: { name: "ringpoll"; version: string; commit: string | null };
  /** true when run under QEMU TCG: timings are emulated, not comparable to hardware */
  emulated: boolean;
  /** environment capture: kernel, CPU, SMAP, mitigations, governor, boost, SMT, versions, warnings */
  env: Record<string, unknown> & { kernel: { release: string; version: string }; warnings: string[] };
  results: ScenarioResult[];
}
