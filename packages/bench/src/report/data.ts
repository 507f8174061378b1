// Rows behind the report's charts, computed from the result files.
import type { Comparison } from "../compare/files.js";
import type { LoadedFile } from "../compare/input.js";
import { describeResult, paramsKey } from "../compare/match.js";
import { resultValues, runValue, type MetricName } from "../compare/metric.js";
import { reportMetric } from "./matching.js";
import { medianCi } from "../stats/median-ci.js";

export interface MedianRow {
  group: string;
  receiver: string;
  kernel: string;
  median: number;
  lo: number;
  hi: number;
  coverage: number;
  runs: number;
}

export interface SeriesRow {
  group: string;
  receiver: string;
  kernel: string;
  run: string;
  /** position in the session: the run's round, plus the sample's share of the run */
  t: number;
  value: number;
}

export interface RatioRow {
  /** receiver, metric and the params that differ between rows */
  label: string;
  head: string;
  ratio: number;
  lo: number;
  hi: number;
  verdict: string;
}

export interface Group {
  /** scenario and params, e.g. "pps (flows=1000 size=64)" */
  name: string;
  metric: MetricName;
  medians: MedianRow[];
  series: SeriesRow[];
  /** every k-th point of the series is drawn when there are too many */
  thinnedBy?: number;
}

export const MAX_SERIES_POINTS = 20_000;

function groupName(scenario: string, params: Record<string, unknown>): string {
  const p = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(" ");
  return p ? `${scenario} (${p})` : scenario;
}

/** Medians with CIs and per-second series, grouped by scenario + params (one chart each). */
export function groups(files: readonly LoadedFile[], labels: Map<string, string>): Group[] {
  const byName = new Map<string, Group>();
  for (const f of files) {
    const kernel = labels.get(f.path)!;
    for (const r of f.data.results) {
      const key = `${r.scenario}\u0000${paramsKey(r.params)}`;
      let g = byName.get(key);
      if (!g) byName.set(key, (g = { name: groupName(r.scenario, r.params), metric: reportMetric(r), medians: [], series: [] }));
      const { values } = resultValues(r, g.metric);
      if (values.length) {
        const ci = medianCi(values);
        g.medians.push({ group: g.name, receiver: r.receiver, kernel, median: ci.median, lo: ci.lo, hi: ci.hi, coverage: ci.coverage, runs: values.length });
      }
      r.runs.forEach((run, i) => {
        const round = Number.isFinite(run.round) ? run.round : i;
        const point = (t: number, value: number): void => {
          if (Number.isFinite(value)) g!.series.push({ group: g!.name, receiver: r.receiver, kernel, run: `${kernel} #${round}`, t, value });
        };
        // per-second samples are of the throughput; CPU per packet is one figure per run
        if (g!.metric === "cpuNsPerPacket") {
          const v = runValue(run, "cpuNsPerPacket");
          if (typeof v === "number") point(round + 0.5, v);
        } else {
          const samples: unknown = run.samples;
          if (!Array.isArray(samples)) return;
          samples.forEach((value, s) => typeof value === "number" && point(round + (s + 0.5) / samples.length, value));
        }
      });
    }
  }
  // an SVG with more points than this is slow to draw and no clearer: keep every k-th
  for (const g of byName.values()) {
    if (g.series.length <= MAX_SERIES_POINTS) continue;
    const k = Math.ceil(g.series.length / MAX_SERIES_POINTS);
    g.thinnedBy = k;
    g.series = g.series.filter((_, i) => i % k === 0);
  }
  return [...byName.values()];
}

/** Params equal in every comparison: said once in the chart's subtitle instead of on every row. */
export function commonParams(comparisons: readonly Comparison[]): Record<string, unknown> {
  const [first, ...rest] = comparisons;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first.params).filter(([k, v]) => rest.every((c) => c.params[k] === v)));
}

export function ratioRows(comparisons: readonly Comparison[], labels: Map<string, string>): RatioRow[] {
  const common = commonParams(comparisons);
  return comparisons
    .filter((c) => c.ratio !== null && c.ci !== null)
    .map((c) => ({
      label: `${describeResult({ scenario: c.scenario, receiver: c.receiver, params: Object.fromEntries(Object.entries(c.params).filter(([k]) => !(k in common))) })} ${c.metric}`,
      head: `${labels.get(c.head.file)} / ${labels.get(c.base.file)}`,
      ratio: c.ratio!,
      lo: c.ci![0],
      hi: c.ci![1],
      verdict: c.verdict,
    }));
}
