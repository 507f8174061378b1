// The result file every bench run writes and compare/report read. Bump SCHEMA_VERSION on any
// incompatible change; readers refuse other versions with a clear message.
export const SCHEMA_VERSION = 1;

export type Scenario = "udp-pps" | "udp-rr" | "iops";

/** Kernel counters from /proc/net/snmp (Udp:) over the same window as the bench's own count. */
export interface SnmpUdpDelta {
  inDatagrams: number;
  outDatagrams: number;
  rcvbufErrors: number;
  inErrors: number;
}

/** One measured run of one receiver (or one IOPS job). */
export interface Run {
  /** receiver or engine, e.g. "recvmmsg", "epoll", "epoll-1", "uring", "js-epoll", "dgram", "io_uring", "fs" */
  receiver: string;
  /** 0-based position in the interleaved order (A B A B …) */
  round: number;
  startedAt: string;
  durationS: number;
  /** the headline figure: "pps" (packets/s), "tps" (transactions/s) or "iops" */
  metric: "pps" | "tps" | "iops";
  value: number;
  /** per-second values of the headline metric */
  samples: number[];
  /** packets (or I/Os) the bench counted in the window */
  count: number;
  /** CPU time (user+system) of every thread working for the receiver, per packet (or I/O), ns */
  cpuNsPerPacket: number | null;
  /** receiver CPU busy fraction, 1.0 = one core fully busy */
  receiverCpuUtil: number | null;
  snmp: SnmpUdpDelta | null;
  /** datagrams lost in the window (RcvbufErrors + InErrors), never hidden */
  drops: number | null;
  /** anything else the scenario records (latency percentiles, injected work, …) */
  extra?: Record<string, number | string | boolean | null>;
}

export interface ResultFile {
  schema: "ringpoll-result";
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: "ringpoll"; version: string; commit: string | null };
  createdAt: string;
  /** true when run under QEMU TCG: timings are emulated, not comparable to hardware */
  emulated: boolean;
  scenario: Scenario;
  /** the parameters that define the workload: two runs compare only when these are equal */
  params: Record<string, number | string | boolean>;
  /** environment capture (kernel, CPU, SMAP, mitigations, governor, versions, warnings…) */
  environment: Record<string, unknown> & { kernel: { release: string; version: string }; warnings: string[] };
  runs: Run[];
}
