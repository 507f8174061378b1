// Which number of a run is compared, and which direction is better.
import type { Run, Scenario, ScenarioResult } from "../schema.js";

export type MetricName = "pps" | "tps" | "iops" | "cpuNsPerPacket";
export const METRICS: readonly MetricName[] = ["pps", "tps", "iops", "cpuNsPerPacket"];

// http: requests per second are its transactions per second. slow-reader: bytes per second while the
// client drains (its runs count bytes as packets).
const HEADLINE: Record<Scenario, MetricName> = { pps: "pps", "udp-rr": "tps", iops: "iops", http: "tps", "tcp-rr": "tps", "slow-reader": "pps" };

export function headlineMetric(scenario: string): MetricName {
  return HEADLINE[scenario as Scenario] ?? "pps";
}

/** Throughput: higher is better. CPU time per packet: lower is better. */
export function higherIsBetter(metric: MetricName): boolean {
  return metric !== "cpuNsPerPacket";
}

/** The run's value, or a reason it has none. Throughput falls back to packets / seconds. */
export function runValue(run: Run, metric: MetricName): number | string {
  const v = run[metric];
  if (typeof v === "number" && Number.isFinite(v)) return v > 0 ? v : `${metric} ${v} is not positive`;
  if (metric !== "cpuNsPerPacket" && typeof run.packets === "number" && run.seconds > 0) {
    const derived = run.packets / run.seconds;
    return derived > 0 ? derived : `${metric} 0 (no packets)`;
  }
  return `no ${metric} value`;
}

export interface Values {
  values: number[];
  problems: string[];
}

export function resultValues(result: ScenarioResult, metric: MetricName): Values {
  const values: number[] = [];
  const problems: string[] = [];
  result.runs.forEach((run, i) => {
    const v = run === null || typeof run !== "object" ? "not an object" : runValue(run, metric);
    if (typeof v === "number") values.push(v);
    else problems.push(`run ${i}: ${v}`);
  });
  return { values, problems };
}
