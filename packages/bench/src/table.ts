// The readable end-of-run table: median, spread, ratio to the baseline receiver, CPU cost, drops.
import type { ScenarioResult } from "./schema.js";
import { median } from "./stats/describe.js";

function si(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(3)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
}

function med(values: (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
}

/** `baseline`: the receiver ratios are taken against (dgram for pps), if present. */
export function formatTable(results: ScenarioResult[], metric: "pps" | "tps" | "iops", baseline: string | null): string {
  const base = results.find((r) => r.receiver === baseline);
  const baseCpu = base ? med(base.runs.map((x) => x.cpuNsPerPacket)) : null;
  const rows = results.map((r) => {
    const vals = r.runs.map((x) => x[metric] ?? 0);
    const cpu = med(r.runs.map((x) => x.cpuNsPerPacket));
    const busy = med(r.runs.map((x) => x.receiverBusy));
    const drops = r.runs.reduce((s, x) => s + (x.kernel?.RcvbufErrors ?? 0), 0);
    const skew = med(r.runs.map((x) => (typeof x.extra?.countVsInDatagrams === "number" ? Math.abs(x.extra.countVsInDatagrams) : null)));
    return [
      r.receiver,
      si(r.summary.median),
      `${(r.summary.cv * 100).toFixed(1)} %`,
      `${si(Math.min(...vals))}–${si(Math.max(...vals))}`,
      base ? (r.summary.median / base.summary.median).toFixed(2) : "–",
      cpu === null ? "–" : cpu.toFixed(0),
      base && cpu !== null && baseCpu !== null ? (baseCpu / cpu).toFixed(2) : "–",
      busy === null ? "–" : `${(busy * 100).toFixed(0)} %`,
      metric === "iops" ? "–" : String(drops),
      skew === null ? "–" : `${(skew * 100).toFixed(2)} %`,
    ];
  });
  const head = [
    "receiver", `median ${metric}`, "cv", "min–max", baseline ? `× ${baseline}` : "ratio", "ns/pkt",
    baseline ? `cpu × ${baseline}` : "cpu ratio", "busy", "drops", "vs snmp",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
